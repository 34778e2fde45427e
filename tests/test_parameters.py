"""``get_parameters`` / ``get_parameter_list`` / ``load_parameters`` (SB2's test_load_parameters and spec 4.4):
dict and list forms, files and file-like objects, ``exact_match``, all-or-nothing updates and errors.
"""
import io
import os
import warnings
from collections import OrderedDict

import numpy as np
import pytest

from stable_ppo2 import PPO2
from stable_ppo2.common.identity_env import IdentityEnv
from stable_ppo2.common.vec_env import DummyVecEnv

OBSERVATIONS = np.arange(10)  # every state of IdentityEnv(10)


@pytest.fixture
def model():
    np.random.seed(0)
    return PPO2("MlpPolicy", DummyVecEnv([lambda: IdentityEnv(10)]), n_steps=32, nminibatches=1, seed=0)


def _random_params(params, rng, sign=1.0):
    return {name: sign * rng.random_sample(size=value.shape) for name, value in params.items()}


def _assert_unchanged(model, before_params, before_probas):
    after = model.get_parameters()
    assert list(after) == list(before_params)
    for name in before_params:
        np.testing.assert_array_equal(after[name], before_params[name], err_msg=name)
    np.testing.assert_array_equal(model.action_probability(OBSERVATIONS), before_probas)


def test_load_parameters_sb2(model, tmp_path):
    """SB2 tests/test_load_parameters.py, step by step."""
    rng = np.random.RandomState(0)
    original_actions_probas = model.action_probability(OBSERVATIONS)
    params = model.get_parameters()

    # dict of random values: every probability changes, get_parameters returns the new values
    random_params = _random_params(params, rng)
    model.load_parameters(random_params)
    new_action_probas = model.action_probability(OBSERVATIONS)
    assert not np.any(np.isclose(original_actions_probas, new_action_probas))
    new_params = model.get_parameters()
    assert all(np.all(np.isclose(new_params[key], random_params[key])) for key in random_params)

    # list form, in get_parameter_list() order (deprecated)
    tf_param_list = model.get_parameter_list()
    random_param_list = [-rng.random_sample(size=tuple(v.shape)) for v in tf_param_list]
    with pytest.warns(DeprecationWarning):
        model.load_parameters(random_param_list)
    new_actions_probas_list = model.action_probability(OBSERVATIONS)
    assert not np.any(np.isclose(new_action_probas, new_actions_probas_list))
    for variable, value in zip(model.get_parameter_list(), random_param_list):
        np.testing.assert_allclose(variable.numpy(), value, rtol=1e-6)

    # from a file path and from a file-like object
    original_actions_probas = model.action_probability(OBSERVATIONS)
    model_fname = str(tmp_path / "test_model.zip")
    model.save(model_fname)
    b_io = io.BytesIO()
    model.save(b_io)
    model_bytes = b_io.getvalue()

    random_params = _random_params(params, rng)
    model.load_parameters(random_params)
    model.load_parameters(model_fname)
    np.testing.assert_allclose(model.action_probability(OBSERVATIONS), original_actions_probas, rtol=1e-6)

    model.load_parameters(random_params)
    model.load_parameters(io.BytesIO(model_bytes))
    np.testing.assert_allclose(model.action_probability(OBSERVATIONS), original_actions_probas, rtol=1e-6)

    # exact_match=True with a missing key: RuntimeError, nothing changes
    original_actions_probas = model.action_probability(OBSERVATIONS)
    before = model.get_parameters()
    params = model.get_parameters()
    missing_name = next(iter(params))
    del params[missing_name]
    params = {key: rng.random_sample(size=value.shape) for key, value in params.items()}
    with pytest.raises(RuntimeError, match="did not contain all variables") as error:
        model.load_parameters(params, exact_match=True)
    assert missing_name in str(error.value)
    _assert_unchanged(model, before, original_actions_probas)

    # exact_match=False: only the given ones change
    model.load_parameters(params, exact_match=False)
    new_actions_probas = model.action_probability(OBSERVATIONS)
    assert not np.any(np.isclose(original_actions_probas, new_actions_probas))
    after = model.get_parameters()
    np.testing.assert_array_equal(after[missing_name], before[missing_name])
    for key in params:
        np.testing.assert_allclose(after[key], params[key], rtol=1e-6)


def test_load_parameters_from_path_without_extension_and_pickle(model, tmp_path):
    rng = np.random.RandomState(1)
    original = model.action_probability(OBSERVATIONS)
    path = str(tmp_path / "saved")
    model.save(path)  # -> saved.zip
    assert os.path.exists(path + ".zip")
    model.save(str(tmp_path / "legacy"), cloudpickle=True)  # -> legacy.pkl
    assert os.path.exists(str(tmp_path / "legacy.pkl"))
    for source in (path, path + ".zip", str(tmp_path / "legacy.pkl")):
        model.load_parameters(_random_params(model.get_parameters(), rng))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            model.load_parameters(source)
        np.testing.assert_allclose(model.action_probability(OBSERVATIONS), original, rtol=1e-6, err_msg=source)


def test_wrong_shape_raises_and_changes_nothing(model):
    before, probas = model.get_parameters(), model.action_probability(OBSERVATIONS)
    bad = {name: np.ones_like(value) for name, value in before.items()}
    bad["model/pi/w:0"] = np.ones((64, 3))  # should be (64, 10)
    with pytest.raises(ValueError, match="model/pi/w:0"):
        model.load_parameters(bad)
    _assert_unchanged(model, before, probas)
    with pytest.raises(ValueError):
        model.load_parameters({"model/vf/b:0": np.ones((2,))}, exact_match=False)
    _assert_unchanged(model, before, probas)


def test_unknown_key_raises_key_error_and_changes_nothing(model):
    before, probas = model.get_parameters(), model.action_probability(OBSERVATIONS)
    params = {name: np.ones_like(value) for name, value in before.items()}
    params["model/does_not_exist/w:0"] = np.ones((2, 2))
    with pytest.raises(KeyError, match="does_not_exist"):
        model.load_parameters(params)
    _assert_unchanged(model, before, probas)
    with pytest.raises(KeyError):
        model.load_parameters({"model/pi/b:0": np.ones(10), "pi/b": np.ones(10)}, exact_match=False)
    _assert_unchanged(model, before, probas)


def test_list_of_wrong_length_raises(model):
    before, probas = model.get_parameters(), model.action_probability(OBSERVATIONS)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        with pytest.raises(ValueError):
            model.load_parameters(list(before.values())[:-1])
    _assert_unchanged(model, before, probas)


def test_values_cast_to_float32(model):
    model.load_parameters({"model/pi/b:0": np.arange(10, dtype=np.int64)}, exact_match=False)
    value = model.get_parameters()["model/pi/b:0"]
    assert value.dtype == np.float32
    np.testing.assert_array_equal(value, np.arange(10))


def test_parameter_list_names_equal_keys(model):
    params = model.get_parameters()
    assert isinstance(params, OrderedDict)
    variables = model.get_parameter_list()
    assert [v.name for v in variables] == list(params)
    assert all(name.startswith("model/") and name.endswith(":0") for name in params)
    for variable, (name, value) in zip(variables, params.items()):
        np.testing.assert_array_equal(variable.numpy(), value)
    # the q head is listed (and saved) although PPO2 never trains it
    assert "model/q/w:0" in params and "model/q/b:0" in params


def test_get_parameters_returns_copies(model):
    params = model.get_parameters()
    params["model/pi/b:0"][:] = 123.0
    assert not np.any(model.get_parameters()["model/pi/b:0"] == 123.0)

