"""Math helpers: explained variance, discounting and action scaling."""
import numpy as np
import pytest
from gymnasium.spaces import Box

from stable_ppo2.common.math_util import (
    discount_with_boundaries,
    explained_variance,
    safe_mean,
    scale_action,
    unscale_action,
)


def test_explained_variance():
    y_true = np.array([1.0, 2.0, 3.0, 4.0])
    assert explained_variance(y_true, y_true) == 1.0
    assert np.isclose(explained_variance(np.full(4, y_true.mean()), y_true), 0.0)
    y_pred = np.array([1.5, 1.5, 3.5, 3.5])
    assert np.isclose(explained_variance(y_pred, y_true), 1 - np.var(y_true - y_pred) / np.var(y_true))
    assert np.isnan(explained_variance(y_pred, np.ones(4)))  # no variance to explain
    with pytest.raises(ValueError):
        explained_variance(np.ones((2, 2)), np.ones((2, 2)))


def test_safe_mean():
    assert np.isnan(safe_mean([]))
    assert safe_mean([1, 2]) == 1.5


def test_discount_with_boundaries():
    gamma = 0.9
    rewards = np.array([1.0, 2.0, 3.0, 4.0], "float32")
    episode_starts = [1.0, 0.0, 0.0, 1.0]
    discounted = discount_with_boundaries(rewards, episode_starts, gamma)
    assert np.allclose(discounted, [1 + gamma * 2 + gamma ** 2 * 3, 2 + gamma * 3, 3, 4])
    assert discounted.dtype == np.float32


def _check_scaling(low, high, scalar=False):
    if scalar:
        ones = 1.0
        space = Box(low, high, shape=(1,), dtype=np.float64)
    else:
        low, high = np.atleast_1d(low).astype(float), np.atleast_1d(high).astype(float)
        ones = np.ones_like(low)
        space = Box(low, high, dtype=np.float64)
    mid = 0.5 * (low + high)
    for raw, scaled in [(low, -ones), (mid, 0.0 * ones), (high, ones)]:
        assert np.allclose(scale_action(space, raw), scaled)
        assert np.allclose(unscale_action(space, scaled), raw)


RANGES = [(-1, 1), (-10, 10), (-10, 5), (-10, 0), (-10, -5), (0, 10), (5, 10)]


def test_scaling_action():
    for low, high in RANGES:
        _check_scaling(low, high, scalar=True)
        _check_scaling(low, high)
    for low1, high1 in RANGES:
        for low2, high2 in RANGES:
            _check_scaling(np.array([low1, low2]), np.array([high1, high2]))


def test_batch_shape_invariant_to_scaling():
    import tensorflow as tf

    space = Box(np.array([-10.0, -5.0, -1.0], np.float32), np.array([10.0, 3.0, 2.0], np.float32))
    for batch in (tf.constant(1.0, shape=[2, 3]), np.ones((2, 3))):
        assert tuple(scale_action(space, batch).shape) == (2, 3)
        assert tuple(unscale_action(space, batch).shape) == (2, 3)


# misc_util's small helpers live next door and are checked here.

def test_set_global_seeds_seeds_python_numpy_and_tensorflow():
    import random

    import tensorflow as tf

    from stable_ppo2.common.misc_util import set_global_seeds

    def draw():
        return random.random(), np.random.rand(), float(tf.random.uniform(()))

    set_global_seeds(3)
    first = draw()
    set_global_seeds(3)
    assert draw() == first


def test_zipsame_boolean_flag_and_rank():
    import argparse

    from stable_ppo2.common.misc_util import boolean_flag, mpi_rank_or_zero, zipsame

    assert list(zipsame([1, 2], "ab")) == [(1, "a"), (2, "b")]
    with pytest.raises(ValueError):
        zipsame([1, 2], [1])
    parser = argparse.ArgumentParser()
    boolean_flag(parser, "render-env", default=True)
    assert parser.parse_args([]).render_env is True
    assert parser.parse_args(["--no-render-env"]).render_env is False
    assert mpi_rank_or_zero() == 0
