"""Safe loading (issue #3): files never run code unless the caller passes ``trust_file=True``.

Crafted files whose pickles would run a command (``touch`` of a marker file) are refused with a
clear error and the marker never appears; corrupt files give one clear error; a failed load leaves
the caller's objects unchanged. The allow-list maps SB2 and gym names onto ours without needing
``gym`` or ``stable_baselines``.
"""
import base64
import builtins
import io
import json
import os
import pickle
import subprocess
import sys
import uuid
import warnings
import zipfile

import cloudpickle
import gymnasium as gym
import numpy as np
import pytest
from gymnasium import spaces

from stable_ppo2 import PPO2
from stable_ppo2.common.model_files import unpickler
from stable_ppo2.common.policies import MlpPolicy
from stable_ppo2.common.running_mean_std import RunningMeanStd
from stable_ppo2.common.safe_pickle import FallbackWarning, ModelFileError, UnsafeFileError
from stable_ppo2.common.tf_util import tf
from stable_ppo2.common.vec_env import DummyVecEnv, VecNormalize
from tests.helpers import SB2_ZOO

FAST = dict(n_steps=16, nminibatches=2, noptepochs=2)


@pytest.fixture
def marker(tmp_path):
    """A file the crafted pickles would create; it must never appear."""
    return str(tmp_path / f"pwned_{uuid.uuid4().hex}")


def _system(marker):
    class RunsCommand:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))
    return RunsCommand()


def _eval(marker):
    class Evaluates:
        def __reduce__(self):
            return (builtins.eval, (f"__import__('os').system('touch {marker}')",))
    return Evaluates()


def _popen(marker):
    class Spawns:
        def __reduce__(self):
            return (subprocess.Popen, (["touch", marker],))
    return Spawns()


def _in_closure(marker):
    """A schedule closure whose cell holds the command: SB2-like, but poisoned."""
    payload = _system(marker)
    return lambda frac: frac * (payload is not None)


PAYLOADS = {"os.system": _system, "eval": _eval, "subprocess": _popen, "closure": _in_closure}


@pytest.fixture(scope="module")
def model_zip():
    model = PPO2("MlpPolicy", "CartPole-v1", **FAST)
    buffer = io.BytesIO()
    model.save(buffer)
    return model, buffer.getvalue()


def _with_entry(zip_bytes, key, pickled: bytes, path):
    with zipfile.ZipFile(io.BytesIO(zip_bytes)) as archive:
        data = json.loads(archive.read("data"))
        data[key] = {":type:": "<class 'object'>", ":serialized:": base64.b64encode(pickled).decode()}
        with zipfile.ZipFile(path, "w") as out:
            out.writestr("data", json.dumps(data))
            for name in ("parameters", "parameter_list"):
                out.writestr(name, archive.read(name))
    return str(path)


# ------------------------------------------------------------------------------------ crafted files


@pytest.mark.parametrize("payload", sorted(PAYLOADS))
@pytest.mark.parametrize("key", ["policy", "learning_rate", "observation_space", "policy_kwargs", "extra"])
def test_command_in_zip_entry_is_refused(model_zip, tmp_path, marker, key, payload):
    path = _with_entry(model_zip[1], key, cloudpickle.dumps(PAYLOADS[payload](marker)), tmp_path / "evil.zip")
    with pytest.raises(UnsafeFileError) as info:
        PPO2.load(path)
    message = str(info.value)
    assert f"Could not deserialize object {key} of model file {path}" in message
    assert "trust_file=True" in message and "safe loading does not allow" in message
    assert isinstance(info.value, RuntimeError)
    assert not os.path.exists(marker)


@pytest.mark.parametrize("payload", sorted(PAYLOADS))
def test_command_in_legacy_pkl_is_refused(model_zip, tmp_path, marker, payload):
    model = model_zip[0]
    data, params = model._get_save_data(), model.get_parameters()
    data["gamma"] = PAYLOADS[payload](marker)
    path = tmp_path / "evil.pkl"
    path.write_bytes(cloudpickle.dumps((data, params)))
    with pytest.raises(UnsafeFileError, match=rf"object gamma of model file {path}.*trust_file=True"):
        PPO2.load(str(path))
    assert not os.path.exists(marker)


def test_command_in_legacy_pkl_parameters_is_refused(model_zip, tmp_path, marker):
    model = model_zip[0]
    params = list(model.get_parameters().values())
    params[0] = _system(marker)
    path = tmp_path / "evil_params.pkl"
    path.write_bytes(cloudpickle.dumps((model._get_save_data(), params)))
    before = model.get_parameters()
    with pytest.raises(UnsafeFileError, match="object params"):
        PPO2.load(str(path))
    with pytest.raises(UnsafeFileError):
        model.load_parameters(str(path))  # a failed load changes nothing
    for name, value in model.get_parameters().items():
        np.testing.assert_array_equal(value, before[name])
    assert not os.path.exists(marker)


def test_command_whose_result_is_discarded_is_refused(model_zip, tmp_path, marker):
    """A call whose result is popped off the stack (reachable from no entry) is still refused."""
    module, name = os.system.__module__, os.system.__name__
    prefix = f"c{module}\n{name}\n(S'touch {marker}'\ntR0".encode()
    buffer = io.BytesIO()
    model_zip[0].save(buffer, cloudpickle=True)
    path = tmp_path / "orphan.pkl"
    path.write_bytes(prefix + buffer.getvalue())
    with pytest.raises(UnsafeFileError, match=rf"{module}\.system"):
        PPO2.load(str(path))
    with pytest.raises(UnsafeFileError):
        PPO2.load(str(path), custom_objects={"gamma": 0.9})
    assert not os.path.exists(marker)


def test_setting_attributes_of_a_class_is_refused(model_zip, tmp_path):
    """BUILD on a class would patch it for the whole program: refused, the class is untouched."""
    crafted = b"cstable_ppo2.common.policies\nMlpPolicy\n(N}S'patched_by_file'\nI1\nstb."
    path = _with_entry(model_zip[1], "policy", crafted, tmp_path / "patch.zip")
    with pytest.raises(UnsafeFileError, match="setting attributes of stable_ppo2.common.policies.MlpPolicy"):
        PPO2.load(path)
    assert not hasattr(MlpPolicy, "patched_by_file")


def test_trust_file_is_the_explicit_opt_in(model_zip, tmp_path, marker):
    """With trust_file=True the file is unpickled as pickle does (here: the command runs)."""
    path = _with_entry(model_zip[1], "verbose", cloudpickle.dumps(_system(marker)), tmp_path / "trusted.zip")
    with pytest.raises(UnsafeFileError):
        PPO2.load(path)
    assert not os.path.exists(marker)
    loaded = PPO2.load(path, trust_file=True)
    assert os.path.exists(marker) and loaded.verbose == 0  # os.system's return code
    os.remove(marker)
    with pytest.raises(UnsafeFileError):  # never an attribute override
        PPO2.load(path, custom_objects={"trust_file": True})
    assert not os.path.exists(marker)


@pytest.mark.parametrize("module, name", [
    ("builtins", "getattr"), ("builtins", "exec"), ("importlib", "import_module"),
    ("stable_baselines.common.vec_env", "DummyVecEnv"),  # an SB2 name outside the allow-list
    ("stable_ppo2.common.save_util", "save_to_zip"),  # our own function, but writes files
    ("numpy", "load"), ("numpy.testing", "assert_equal"), ("tensorflow.io", "write_file"),
    ("collections", "defaultdict"), ("gym.envs.registration", "make"), ("shutil", "rmtree"),
])
def test_names_outside_the_allow_list_are_refused(module, name):
    crafted = f"c{module}\n{name}\n.".encode()
    with pytest.raises(UnsafeFileError, match=rf"{module}\.{name}|carries code"):
        unpickler.load_object(io.BytesIO(crafted), "crafted.pkl")


def test_vecnormalize_pickles_are_read_safely(tmp_path, marker):
    venv = VecNormalize(DummyVecEnv([lambda: gym.make("CartPole-v1")]))
    path = tmp_path / "vec_normalize.pkl"
    venv.save(str(path))
    evil = tmp_path / "evil_vec_normalize.pkl"
    evil.write_bytes(pickle.dumps(_system(marker)))
    with pytest.raises(UnsafeFileError, match="posix.system|nt.system"):
        VecNormalize.load(str(evil), DummyVecEnv([lambda: gym.make("CartPole-v1")]))
    wrong = tmp_path / "not_vec_normalize.pkl"
    wrong.write_bytes(pickle.dumps({"obs_rms": 1}))
    with pytest.raises(ModelFileError, match="holds a dict, expected VecNormalize"):
        VecNormalize.load(str(wrong), DummyVecEnv([lambda: gym.make("CartPole-v1")]))
    # a failed load_running_average leaves both statistics as they were
    stats_dir = tmp_path / "stats"
    stats_dir.mkdir()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        venv.save_running_average(str(stats_dir))
        (stats_dir / "ret_rms.pkl").write_bytes(pickle.dumps(_eval(marker)))
        obs_rms, ret_rms = venv.obs_rms, venv.ret_rms
        with pytest.raises(UnsafeFileError, match="builtins.eval"):
            venv.load_running_average(str(stats_dir))
    assert venv.obs_rms is obs_rms and venv.ret_rms is ret_rms
    assert VecNormalize.load(str(path), DummyVecEnv([lambda: gym.make("CartPole-v1")])).obs_rms.mean.shape == (4,)
    assert not os.path.exists(marker)


# ------------------------------------------------------------------------------------ corrupt files


@pytest.mark.parametrize("kind", ["truncated-zip", "truncated-pkl", "random", "empty", "text", "zip-of-other"])
def test_corrupt_or_foreign_files_give_a_clear_error(model_zip, tmp_path, kind):
    buffer = io.BytesIO()
    model_zip[0].save(buffer, cloudpickle=True)
    content = {
        "truncated-zip": model_zip[1][:len(model_zip[1]) // 2],
        "truncated-pkl": buffer.getvalue()[:len(buffer.getvalue()) // 2],
        "random": np.random.RandomState(0).bytes(1000),
        "empty": b"",
        "text": b"hello, I am not a model\n",
    }.get(kind)
    path = tmp_path / f"{kind}.zip"
    if kind == "zip-of-other":
        with zipfile.ZipFile(path, "w") as archive:
            archive.writestr("readme.txt", "no model here")
    else:
        path.write_bytes(content)
    with pytest.raises(RuntimeError, match=str(path)) as info:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            PPO2.load(str(path))
    assert isinstance(info.value, ModelFileError)
    expected = {"truncated-zip": "corrupt or truncated zip", "zip-of-other": "no 'data' entry"}.get(
        kind, "neither a zip archive nor a complete pickle")
    assert expected in str(info.value)


@pytest.mark.parametrize("damage", ["base64", "pickle", "json", "parameters"])
def test_damaged_entries_name_the_entry(model_zip, tmp_path, damage):
    path = tmp_path / "damaged.zip"
    with zipfile.ZipFile(io.BytesIO(model_zip[1])) as archive:
        entries = {name: archive.read(name) for name in archive.namelist()}
    data = json.loads(entries["data"])
    if damage == "base64":
        data["policy"][":serialized:"] = data["policy"][":serialized:"][:-3] + "!@#"
    elif damage == "pickle":
        data["action_space"][":serialized:"] = base64.b64encode(b"\x80\x04garbage").decode()
    entries["data"] = json.dumps(data).encode() if damage != "json" else b"{not json"
    if damage == "parameters":
        entries["parameters"] = entries["parameters"][:100]
    with zipfile.ZipFile(path, "w") as archive:
        for name, content in entries.items():
            archive.writestr(name, content)
    entry = {"base64": "object policy", "pickle": "object action_space", "json": "'data' entry",
             "parameters": "'parameters'"}[damage]
    with pytest.raises(ModelFileError, match=rf"{entry}.*|.*{entry}"):
        PPO2.load(str(path))


def test_failed_load_leaves_the_callers_objects_unchanged(model_zip, tmp_path, marker):
    path = _with_entry(model_zip[1], "policy", cloudpickle.dumps(_system(marker)), tmp_path / "evil.zip")
    custom_objects = {"verbose": 1}
    env = DummyVecEnv([lambda: gym.make("CartPole-v1")])
    with pytest.raises(UnsafeFileError):
        PPO2.load(path, env=env, custom_objects=custom_objects)
    assert custom_objects == {"verbose": 1}
    model = model_zip[0]
    before = model.get_parameters()
    with pytest.raises(ModelFileError):
        model.load_parameters(io.BytesIO(b"garbage"))
    for name, value in model.get_parameters().items():
        np.testing.assert_array_equal(value, before[name])
    assert not os.path.exists(marker)


# ------------------------------------------------------------------------------------ allow-list


def test_zoo_pkl_loads_without_gym_or_stable_baselines_and_builds_no_code(monkeypatch):
    """SB2 and gym names map onto ours; no ``gym``/``stable_baselines`` import, no code object."""
    monkeypatch.setitem(sys.modules, "gym", None)  # "import gym" raises ImportError
    monkeypatch.setitem(sys.modules, "stable_baselines", None)
    import cloudpickle.cloudpickle as cp_module

    def no_code(*args):
        raise AssertionError("cloudpickle helper called during a safe load")

    monkeypatch.setattr(cp_module, "_builtin_type", no_code)
    monkeypatch.setattr(cp_module, "_make_function", no_code, raising=False)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model = PPO2.load(os.path.join(SB2_ZOO, "Acrobot-v1.pkl"))
    assert sum(issubclass(w.category, FallbackWarning) for w in caught) == 2
    assert model.policy is MlpPolicy and model.learning_rate == pytest.approx(2.5e-4)
    assert isinstance(model.observation_space, spaces.Box) and isinstance(model.action_space, spaces.Discrete)
    model.action_space.seed(3)
    assert model.action_space.sample() in range(3)


def test_placeholders_for_the_zoo_closures():
    """The zoo's constfn closures (cloudpickle < 1.5 helpers) are read as placeholders, and only
    the closure constant is recovered."""
    with open(os.path.join(SB2_ZOO, "Pendulum-v0.pkl"), "rb") as file:
        (data, params), reader = unpickler.unpickle(file.read())
    assert reader.refused == [] and isinstance(params, list)
    node = data["learning_rate"]
    assert unpickler._is_placeholder(node) and "_fill_function" in node.label
    assert unpickler.recover_schedule(node) == (True, 3e-4, "constfn.<locals>.func")
    assert unpickler.describe_code(data["cliprange"]) == ("constfn.<locals>.func", [0.2])
    space = unpickler.finalize_entry(data["action_space"], unpickler.Report())
    assert isinstance(space, spaces.Box) and space.shape == (1,) and space.high[0] == 2.0


@pytest.mark.parametrize("module, name, expected", [
    ("stable_baselines.common.policies", "MlpPolicy", lambda: MlpPolicy),
    ("stable_baselines.common.running_mean_std", "RunningMeanStd", lambda: RunningMeanStd),
    ("stable_baselines.common.vec_env.vec_normalize", "VecNormalize", lambda: VecNormalize),
    ("tensorflow.python.ops.gen_nn_ops", "relu", lambda: tf.nn.relu),
    ("tensorflow.python.ops.math_ops", "tanh", lambda: tf.tanh),
    ("collections", "OrderedDict", lambda: __import__("collections").OrderedDict),
    ("gymnasium.spaces.box", "Box", lambda: spaces.Box),
    ("numpy.core.multiarray", "_reconstruct", lambda: unpickler._numpy_multiarray()._reconstruct),
])
def test_allowed_names(module, name, expected):
    assert unpickler.allowed_global(module, name) is expected()


def _gym_pickle(module, name, state, monkeypatch):
    """A pickle as gym wrote it: ``module.name`` by reference, NEWOBJ, then BUILD with the state."""
    import types as types_module

    cls = type(name, (), {"__module__": module})
    for prefix in ("gym", "gym.spaces", module):
        monkeypatch.setitem(sys.modules, prefix, types_module.ModuleType(prefix))
    setattr(sys.modules[module], name, cls)
    obj = cls.__new__(cls)
    obj.__dict__.update(state)
    raw = pickle.dumps(obj, protocol=3)
    for prefix in ("gym", "gym.spaces", module):
        monkeypatch.delitem(sys.modules, prefix)
    return raw


def test_gym_space_pickles_become_gymnasium_spaces(monkeypatch):
    """Old gym pickles (state dicts as gym 0.17 wrote them, np_random included) give gymnasium spaces
    with their own working generators."""
    legacy_rng = np.random.RandomState(0)
    raws = [
        _gym_pickle("gym.spaces.box", "Box", {"low": np.zeros(3, np.float32), "high": np.ones(3, np.float32),
                                              "shape": (3,), "dtype": np.dtype("float32"),
                                              "np_random": legacy_rng}, monkeypatch),
        _gym_pickle("gym.spaces.discrete", "Discrete", {"n": 4, "shape": (), "dtype": np.dtype("int64")},
                    monkeypatch),
        _gym_pickle("gym.spaces.multi_discrete", "MultiDiscrete",
                    {"nvec": np.array([2, 3]), "dtype": np.dtype("int64")}, monkeypatch),
        _gym_pickle("gym.spaces.multi_binary", "MultiBinary", {"n": 5}, monkeypatch),
    ]
    assert "gym" not in sys.modules
    results = [unpickler.load_object(io.BytesIO(raw), "space.pkl") for raw in raws]
    assert results[0] == spaces.Box(0, 1, (3,), np.float32)
    assert results[1] == spaces.Discrete(4)
    assert results[2] == spaces.MultiDiscrete([2, 3])
    assert results[3] == spaces.MultiBinary(5)
    for space in results:
        assert space.contains(space.sample())


@pytest.mark.parametrize("protocol", range(pickle.HIGHEST_PROTOCOL + 1))
def test_every_pickle_protocol_reads_statistics(protocol):
    """Protocols 0-2 use copyreg._reconstructor and _codecs.encode: both allowed, narrowly."""
    stats = RunningMeanStd(shape=(2,))
    stats.update(np.random.RandomState(0).randn(5, 2))
    loaded = unpickler.load_object(io.BytesIO(pickle.dumps(stats, protocol=protocol)), "rms.pkl",
                                     expected=(RunningMeanStd,))
    np.testing.assert_array_equal(loaded.mean, stats.mean)
    np.testing.assert_array_equal(loaded.var, stats.var)
    assert loaded.count == stats.count
