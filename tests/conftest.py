import os

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def pytest_configure(config):
    config.addinivalue_line("markers", "slow: a learning test (minutes); runs in CI, skip locally with -m 'not slow'")


@pytest.fixture
def envs_to_close():
    """A list to put VecEnvs in; each is closed after the test, whatever happened."""
    made = []
    yield made
    for vec_env in made:
        vec_env.close()
