"""What the ``data`` of a model file may set on load (``DataSchema``; docs/model_files.md, "What a
file's data may hold"): crafted zips whose ``data`` names a method, holds a huge size, a wrong type
or an unknown entry each give the documented outcome, and a refused file changes nothing."""
import json
import warnings
import zipfile

import numpy as np
import pytest
from gymnasium import spaces

from stable_ppo2 import PPO2
from stable_ppo2.common.model_files import IgnoredEntryWarning, ModelDataError
from stable_ppo2.common.model_files.schema import MAX_LAYER_WIDTH, MAX_ROLLOUT_SAMPLES, DataSchema


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """The entries of a small CartPole model's zip."""
    path = tmp_path_factory.mktemp("model") / "model.zip"
    PPO2("MlpPolicy", "CartPole-v1", n_steps=16, nminibatches=2, noptepochs=1, seed=0).save(str(path))
    with zipfile.ZipFile(path) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def _crafted(saved, tmp_path, drop=(), **changes) -> str:
    data = json.loads(saved["data"])
    data.update(changes)
    for key in drop:
        del data[key]
    path = tmp_path / "crafted.zip"
    with zipfile.ZipFile(path, "w") as archive:
        for name, content in saved.items():
            archive.writestr(name, json.dumps(data) if name == "data" else content)
    return str(path)


@pytest.mark.parametrize("key, value, kind", [
    ("predict", 3, "a method"),
    ("_check_hyperparameters", 1, "a method"),
    ("learn", None, "a method"),
    ("sess", "x", "an attribute that is not data"),
    ("act_model", 0, "an attribute that is not data"),
    ("__class__", 0, "a method"),
])
def test_an_entry_naming_a_method_or_other_attribute_is_refused(saved, tmp_path, key, value, kind):
    expected = rf"data entry '{key}' names {kind} of PPO2, which a model file never sets"
    with pytest.raises(ModelDataError, match=expected):
        PPO2.load(_crafted(saved, tmp_path, **{key: value}))


def test_load_keywords_set_attributes_but_never_methods(saved, tmp_path):
    path = _crafted(saved, tmp_path)
    with pytest.raises(ValueError, match="load\\(\\) keyword 'predict' names a method of PPO2"):
        PPO2.load(path, predict=lambda obs: 0)
    model = PPO2.load(path, tensorboard_log="runs", verbose=1)  # SB2: any instance attribute
    assert model.tensorboard_log == "runs" and model.verbose == 1


def test_unknown_entries_are_ignored_with_one_warning(saved, tmp_path):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model = PPO2.load(_crafted(saved, tmp_path, favourite_colour="blue", n_layers=3))
    ignored = [str(w.message) for w in caught if issubclass(w.category, IgnoredEntryWarning)]
    assert len(ignored) == 1
    assert "ignoring data entries that PPO2 does not know: 'favourite_colour', 'n_layers'" in ignored[0]
    assert not hasattr(model, "favourite_colour") and not hasattr(model, "n_layers")
    assert model.n_steps == 16


@pytest.mark.parametrize("changes, message", [
    (dict(n_steps=1_000_000_000),
     rf"n_steps \* n_envs = 1000000000 samples per rollout, more than the {MAX_ROLLOUT_SAMPLES}"),
    (dict(n_envs=2 ** 20, n_steps=2 ** 10), r"n_steps \* n_envs = 1073741824 samples"),
    (dict(policy_kwargs={"net_arch": [1_000_000_000]}),
     rf"policy_kwargs\['net_arch'\]\[0\] = 1000000000 units, wider than the {MAX_LAYER_WIDTH}"),
    (dict(policy_kwargs={"net_arch": [64, {"pi": [64], "vf": [60000, 60000]}]}),
     r"policy_kwargs\['net_arch'\]\[1\]\['vf'\]\[1\] = 60000 units after 60000 inputs"),
    (dict(policy_kwargs={"layers": [8, 2 ** 30]}), r"policy_kwargs\['layers'\]\[1\] = 1073741824 units"),
    (dict(policy_kwargs={"n_lstm": 10 ** 9}), r"policy_kwargs\['n_lstm'\] = 1000000000 units"),
    (dict(policy_kwargs={"net_arch": ["64"]}),
     r"policy_kwargs\['net_arch'\]\[0\] must be a layer width \(an int\), got '64'"),
])
def test_sizes_that_cannot_be_allocated_are_refused(saved, tmp_path, changes, message):
    with pytest.raises(ModelDataError, match=message):
        PPO2.load(_crafted(saved, tmp_path, **changes))


def test_a_rollout_of_images_too_large_to_allocate_is_refused():
    """Atari-sized observations: 2 ** 18 samples of 84x84x4 values would take 110 GiB."""
    schema = PPO2._data_schema
    assert isinstance(schema, DataSchema)
    atari = spaces.Box(0, 255, (84, 84, 4), np.uint8)
    schema.check({"n_steps": 128, "n_envs": 8, "observation_space": atari})
    with pytest.raises(ModelDataError, match=r"n_steps \* n_envs = 262144 samples of 28224 observation values need"):
        schema.check({"n_steps": 2 ** 15, "n_envs": 8, "observation_space": atari})


@pytest.mark.parametrize("changes, message", [
    (dict(gamma="0.99"), r"gamma must be in \[0, 1\], got '0.99'"),
    (dict(n_steps=16.0), r"n_steps must be an int >= 1, got 16.0"),
    (dict(n_steps=-3), r"n_steps must be an int >= 1, got -3"),
    (dict(verbose="loud"), "verbose must be an int"),
    (dict(policy_kwargs=[64, 64]), "policy_kwargs must be a dict"),
    (dict(_vectorize_action="yes"), r"data entry '_vectorize_action' must be a bool, got 'yes'"),
])
def test_values_of_the_wrong_type_or_range_are_refused(saved, tmp_path, changes, message):
    with pytest.raises(ModelDataError, match=message):
        PPO2.load(_crafted(saved, tmp_path, **changes))


def test_a_refused_file_changes_nothing(saved, tmp_path):
    """The file is checked before the model is built: no seeding, no graph, the file as it was."""
    path = _crafted(saved, tmp_path, seed=7, predict=3)
    content = open(path, "rb").read()
    np.random.seed(123)
    state = np.random.get_state()[1].copy()
    with pytest.raises(ModelDataError):
        PPO2.load(path)
    assert np.array_equal(np.random.get_state()[1], state)
    assert open(path, "rb").read() == content


def test_a_file_without_optional_entries_loads(saved, tmp_path):
    """SB2's oldest files (the zoo's) lack cliprange_vf, n_cpu_tf_sess, seed and policy_kwargs."""
    model = PPO2.load(_crafted(saved, tmp_path, drop=("cliprange_vf", "n_cpu_tf_sess", "seed", "policy_kwargs")))
    assert model.policy_kwargs == {} and model.seed is None
