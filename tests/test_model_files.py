"""Model files (issue #3): SB2's legacy .pkl (the RL zoo's), zips written by SB2 after training,
our own zip/pkl round trips, parameters, VecNormalize statistics and set_env.

Reference data: ``tests/data/sb2-zoo`` (the zoo's PPO2 agents with SB2's outputs and scores) and
``tests/fixtures/sb2_zips`` (made by ``tools/sb2/make_zip_fixtures.py`` with the original SB2).
Everything here loads under the safe default (no ``trust_file``).
"""
import glob
import io
import json
import os
import warnings
import zipfile

import gymnasium as gym
import numpy as np
import pytest
from gymnasium import spaces

from stable_ppo2 import PPO2
from stable_ppo2.common.policies import FeedForwardPolicy, MlpPolicy
from stable_ppo2.common.running_mean_std import RunningMeanStd
from stable_ppo2.common.safe_pickle import FallbackWarning, UnsafeFileError
from stable_ppo2.common.schedules import LinearFn, linear_schedule
from stable_ppo2.common.tf_util import tf
from stable_ppo2.common.vec_env import DummyVecEnv, VecNormalize
from tests.helpers import FIXTURES, SB2_ZOO, read_json

ZOO_AGENTS = sorted(os.path.basename(p)[:-len(".pkl")] for p in glob.glob(os.path.join(SB2_ZOO, "*.pkl")))
TODAYS_ENV_ID = {"Pendulum-v0": "Pendulum-v1"}
SB2_ZIPS = os.path.join(FIXTURES, "sb2_zips")
ZIP_CASES = sorted(os.path.basename(p)[:-len(".json")] for p in glob.glob(os.path.join(SB2_ZIPS, "*.json")))
SB2_DATA_KEYS = ["gamma", "n_steps", "vf_coef", "ent_coef", "max_grad_norm", "learning_rate", "lam",
                 "nminibatches", "noptepochs", "cliprange", "cliprange_vf", "verbose", "policy",
                 "observation_space", "action_space", "n_envs", "n_cpu_tf_sess", "seed",
                 "_vectorize_action", "policy_kwargs"]
FAST = dict(n_steps=16, nminibatches=2, noptepochs=2)


class CustomPolicy(FeedForwardPolicy):
    """The class SB2's ``custom_policy_class`` fixture was trained with (SB2's docs example)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs, net_arch=[8, dict(vf=[8, 8], pi=[8, 8])], feature_extraction="mlp")


def _load_quietly(*args, **kwargs):
    """``PPO2.load`` recording warnings; fails on anything but the expected kinds."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model = PPO2.load(*args, **kwargs)
    fallbacks = [str(w.message) for w in caught if issubclass(w.category, FallbackWarning)]
    return model, fallbacks


def _compare_outputs(model, ref, obs):
    """SB2's outputs for ``obs`` (as in test_sb2_equivalence); returns the largest difference."""
    diffs = {}
    value = model.value(obs)
    np.testing.assert_allclose(value, ref["value"], atol=1e-5, rtol=1e-6)
    diffs["value"] = float(np.max(np.abs(value - ref["value"])))
    det_action, _ = model.predict(obs, deterministic=True)
    logp = model.action_probability(obs, actions=ref["fixed_actions"], logp=True).reshape(-1)
    np.testing.assert_allclose(logp, ref["fixed_actions_logp"], atol=1e-5, rtol=1e-5)
    diffs["logp"] = float(np.max(np.abs(logp - ref["fixed_actions_logp"])))
    proba = model.action_probability(obs)
    if "proba" in ref.files:
        np.testing.assert_allclose(proba, ref["proba"], atol=1e-5, rtol=0)
        diffs["proba"] = float(np.max(np.abs(proba - ref["proba"])))
        np.testing.assert_array_equal(det_action, ref["det_action"])
    elif "proba_mean" in ref.files:
        np.testing.assert_allclose(proba[0], ref["proba_mean"], atol=1e-5, rtol=0)
        np.testing.assert_allclose(proba[1], ref["proba_std"], atol=1e-5, rtol=0)
        diffs["proba"] = float(max(np.max(np.abs(proba[0] - ref["proba_mean"])),
                                   np.max(np.abs(proba[1] - ref["proba_std"]))))
        np.testing.assert_allclose(det_action, ref["det_action"], atol=1e-5, rtol=0)
        diffs["det_action"] = float(np.max(np.abs(det_action - ref["det_action"])))
    else:  # MultiDiscrete: one probability array per dimension
        for i, dim_proba in enumerate(proba):
            np.testing.assert_allclose(dim_proba, ref[f"proba_{i}"], atol=1e-5, rtol=0)
            diffs[f"proba_{i}"] = float(np.max(np.abs(dim_proba - ref[f"proba_{i}"])))
        np.testing.assert_array_equal(det_action, ref["det_action"])
    return diffs


# ------------------------------------------------------------------------------------ RL zoo .pkl


def test_zoo_present():
    assert len(ZOO_AGENTS) >= 5, f"SB2 zoo files missing under {SB2_ZOO}"


def _zoo_stats_dir(agent):
    folder = os.path.join(SB2_ZOO, agent)
    return folder if os.path.isfile(os.path.join(folder, "obs_rms.pkl")) else None


@pytest.mark.parametrize("agent", ZOO_AGENTS)
def test_zoo_pkl_loads_safely_and_matches_sb2(agent):
    meta = read_json(os.path.join(SB2_ZOO, f"{agent}.reference.json"))
    ref = np.load(os.path.join(SB2_ZOO, f"{agent}.reference.npz"))
    model, fallbacks = _load_quietly(os.path.join(SB2_ZOO, agent))  # finds agent.pkl
    # SB2's constfn closures (Python 3.6 code objects) fall back to their constant, with a warning
    assert model.learning_rate == pytest.approx(meta["data"]["learning_rate"]["value_at_progress_1"])
    assert model.cliprange == pytest.approx(meta["data"]["cliprange"]["value_at_progress_1"])
    assert len(fallbacks) == 2 and all("constfn.<locals>.func" in m for m in fallbacks)
    assert any("'learning_rate'" in m for m in fallbacks) and any("'cliprange'" in m for m in fallbacks)
    assert model.policy is MlpPolicy
    assert model.n_envs == meta["data"]["n_envs"] and model.n_steps == meta["data"]["n_steps"]
    assert list(model.get_parameters()) == [name for name, _ in meta["param_names_shapes"]]
    # old gym spaces became gymnasium spaces with working random generators
    assert isinstance(model.observation_space, spaces.Box) and model.observation_space.shape == tuple(
        meta["observation_space"]["shape"])
    assert model.observation_space.contains(model.observation_space.sample())
    assert model.action_space.contains(model.action_space.sample())

    obs = ref["obs"]
    stats = _zoo_stats_dir(agent)
    if stats is not None:
        venv = VecNormalize(DummyVecEnv([lambda: gym.make(agent)]), training=False, norm_reward=False)
        with pytest.warns(DeprecationWarning):
            venv.load_running_average(stats)
        assert isinstance(venv.obs_rms, RunningMeanStd) and isinstance(venv.ret_rms, RunningMeanStd)
        np.testing.assert_array_equal(venv.obs_rms.mean, ref["obs_rms_mean"])
        np.testing.assert_array_equal(venv.obs_rms.var, ref["obs_rms_var"])
        assert venv.obs_rms.count == ref["obs_rms_count"]
        np.testing.assert_allclose(venv.normalize_obs(ref["obs_raw"]), obs, atol=1e-5, rtol=0)
        assert float(np.max(np.abs(venv.normalize_obs(ref["obs_raw"]) - obs))) < 1e-12
    _compare_outputs(model, ref, obs)


def _evaluate(model, env_id, stats_dir, n_episodes=50, n_envs=10, seed=0):
    """Deterministic returns of ``n_episodes`` episodes, ``n_episodes / n_envs`` per env (no bias
    towards short episodes)."""
    per_env = n_episodes // n_envs
    venv = DummyVecEnv([lambda: gym.make(env_id) for _ in range(n_envs)])
    if stats_dir is not None:
        venv = VecNormalize(venv, training=False, norm_reward=False)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            venv.load_running_average(stats_dir)
    venv.seed(seed)
    obs = venv.reset()
    returns = [[] for _ in range(n_envs)]
    running = np.zeros(n_envs)
    while min(len(r) for r in returns) < per_env:
        action, _ = model.predict(obs, deterministic=True)
        obs, rewards, dones, _ = venv.step(action)
        running += rewards
        for i in np.flatnonzero(dones):
            if len(returns[i]) < per_env:
                returns[i].append(running[i])
            running[i] = 0.0
    venv.close()
    return np.concatenate(returns)


@pytest.mark.slow
@pytest.mark.parametrize("agent", ZOO_AGENTS)
def test_zoo_agent_scores_like_sb2_on_todays_env(agent):
    """50 deterministic episodes on today's env id: mean within one std of SB2's reference score."""
    meta = read_json(os.path.join(SB2_ZOO, f"{agent}.reference.json"))
    reference = meta["eval"]["deterministic"]
    model, _ = _load_quietly(os.path.join(SB2_ZOO, f"{agent}.pkl"))
    returns = _evaluate(model, TODAYS_ENV_ID.get(agent, agent), _zoo_stats_dir(agent))
    assert len(returns) == 50
    print(f"{agent}: ours {returns.mean():.2f} +- {returns.std():.2f}, "
          f"SB2 {reference['mean']:.2f} +- {reference['std']:.2f}")
    assert abs(returns.mean() - reference["mean"]) <= reference["std"] + 1e-6


@pytest.mark.parametrize("agent", ["Acrobot-v1", "CartPole-v1"])
def test_zoo_pkl_with_todays_env_continues_training(agent):
    """load(path, env=...) accepts today's env (CartPole's unbounded dims are inf now, float32 max in
    the file), recomputes the batch for another number of envs, and trains."""
    env = DummyVecEnv([lambda: gym.make(agent) for _ in range(2)])
    model, _ = _load_quietly(os.path.join(SB2_ZOO, f"{agent}.pkl"), env=env, n_steps=16, nminibatches=2,
                             verbose=0)
    assert model.n_envs == 2 and model.n_batch == 32
    before = model.get_parameters()
    model.learn(64)
    assert model.num_timesteps == 64
    after = model.get_parameters()
    assert not np.allclose(before["model/pi/w:0"], after["model/pi/w:0"])


def test_zoo_pkl_parameters_load_from_path_and_file():
    """load_parameters reads a legacy pkl (weights as a list in parameter order)."""
    ref = np.load(os.path.join(SB2_ZOO, "CartPole-v1.reference.npz"))
    model, _ = _load_quietly(os.path.join(SB2_ZOO, "CartPole-v1.pkl"))
    expected = model.get_parameters()
    for name in expected:
        np.testing.assert_array_equal(expected[name], ref["params/" + name])
    model.load_parameters({name: np.zeros_like(value) for name, value in expected.items()})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        model.load_parameters(os.path.join(SB2_ZOO, "CartPole-v1.pkl"))
        for name, value in model.get_parameters().items():
            np.testing.assert_array_equal(value, expected[name])
        model.load_parameters({name: np.zeros_like(value) for name, value in expected.items()})
        with open(os.path.join(SB2_ZOO, "CartPole-v1.pkl"), "rb") as file:
            model.load_parameters(file)
    for name, value in model.get_parameters().items():
        np.testing.assert_array_equal(value, expected[name])


# ------------------------------------------------------------------------------------ SB2 zips


def test_sb2_zip_fixtures_present():
    assert len(ZIP_CASES) >= 8, f"SB2 zip fixtures missing under {SB2_ZIPS}"
    for case in ZIP_CASES:
        for name in read_json(os.path.join(SB2_ZIPS, f"{case}.json"))["files"]:
            assert os.path.getsize(os.path.join(SB2_ZIPS, name)) < 2_000_000


def _load_zip_case(case, path=None, **kwargs):
    meta = read_json(os.path.join(SB2_ZIPS, f"{case}.json"))
    if meta["policy_pickled_by_value"]:
        kwargs.setdefault("policy", CustomPolicy)
    return _load_quietly(path or os.path.join(SB2_ZIPS, f"{case}.zip"), **kwargs), meta


@pytest.mark.parametrize("case", ZIP_CASES)
def test_sb2_zip_loads_safely_and_matches_sb2(case):
    (model, fallbacks), meta = _load_zip_case(case)
    ref = np.load(os.path.join(SB2_ZIPS, f"{case}.npz"))
    assert list(model.get_parameters()) == meta["param_names"]
    assert model.n_envs == meta["n_envs"] and model.n_steps == meta["train"]["n_steps"]
    # after learn() SB2 saved learning_rate/cliprange as cloudpickled closures (Python 3.7)
    assert meta["learning_rate"]["callable"] and meta["cliprange"]["callable"]
    assert model.cliprange == pytest.approx(meta["cliprange"]["at_1"])
    if case == "lambda_schedule":  # a lambda: no constant to recover -> PPO2's default
        assert model.learning_rate == 2.5e-4 and meta["learning_rate"]["at_1"] == 1e-3
        assert any("'learning_rate'" in m and "default learning_rate=0.00025" in m for m in fallbacks)
    else:
        assert model.learning_rate == pytest.approx(meta["learning_rate"]["at_1"])
    assert len(fallbacks) == 2
    if meta["policy_kwargs"] and meta["policy_kwargs"].get("act_fun") == "tf.nn.relu":
        assert model.policy_kwargs["act_fun"] is tf.nn.relu
        assert model.policy_kwargs["net_arch"] == meta["policy_kwargs"]["net_arch"]
    assert model.action_space.contains(model.action_space.sample())
    obs = ref["obs"]
    _compare_outputs(model, ref, obs)


def test_sb2_zip_custom_policy_class_needs_the_class():
    """A policy class defined in the user's script is pickled by value: refused under the default,
    loadable when the class is given (policy=... or custom_objects)."""
    path = os.path.join(SB2_ZIPS, "custom_policy_class.zip")
    with pytest.raises(UnsafeFileError, match=r"object policy .*class CustomPolicy.*custom_objects"):
        _load_quietly(path)
    model, _ = _load_quietly(path, custom_objects={"policy": CustomPolicy})
    assert model.policy is CustomPolicy


def test_sb2_legacy_pkl_written_by_sb2_2_10():
    """save(path, cloudpickle=True) in SB2 2.10 (cloudpickle 1.6, params as an OrderedDict)."""
    model, fallbacks = _load_quietly(os.path.join(SB2_ZIPS, "discrete_cartpole.pkl"))
    assert len(fallbacks) == 2 and model.learning_rate == pytest.approx(2.5e-4)
    _compare_outputs(model, np.load(os.path.join(SB2_ZIPS, "discrete_cartpole.npz")),
                     np.load(os.path.join(SB2_ZIPS, "discrete_cartpole.npz"))["obs"])
    zipped, _ = _load_quietly(os.path.join(SB2_ZIPS, "discrete_cartpole.zip"))
    for name, value in zipped.get_parameters().items():
        np.testing.assert_array_equal(model.get_parameters()[name], value)


@pytest.mark.parametrize("case", ["discrete_cartpole", "custom_relu", "lambda_schedule"])
def test_sb2_zip_with_trust_file(case):
    """trust_file=True reads the same files; Python 3.7 code still cannot be rebuilt (fallback)."""
    (model, fallbacks), meta = _load_zip_case(case, trust_file=True)
    assert len(fallbacks) == 2 and all("could not be rebuilt on this Python" in m for m in fallbacks)
    ref = np.load(os.path.join(SB2_ZIPS, f"{case}.npz"))
    _compare_outputs(model, ref, ref["obs"])


def test_sb2_vecnormalize_pickles():
    """SB2's VecNormalize.save pickle and its save_running_average files, read safely."""
    ref = np.load(os.path.join(SB2_ZIPS, "box_pendulum_vecnorm.npz"))
    meta = read_json(os.path.join(SB2_ZIPS, "box_pendulum_vecnorm.json"))
    venv = DummyVecEnv([lambda: gym.make("Pendulum-v1")])
    vec_normalize = VecNormalize.load(os.path.join(SB2_ZIPS, "box_pendulum_vecnorm.vecnormalize.pkl"), venv)
    assert vec_normalize.venv is venv and vec_normalize.num_envs == 1
    assert vec_normalize.obs_rms.count == meta["vecnormalize"]["obs_rms_count"]
    assert isinstance(vec_normalize.observation_space, spaces.Box)
    vec_normalize.training = False
    np.testing.assert_allclose(vec_normalize.normalize_obs(ref["obs_raw"]), ref["obs"], atol=1e-6, rtol=0)
    other = VecNormalize(DummyVecEnv([lambda: gym.make("Pendulum-v1")]), training=False)
    with pytest.warns(DeprecationWarning):
        other.load_running_average(os.path.join(SB2_ZIPS, "box_pendulum_vecnorm"))
    np.testing.assert_array_equal(other.obs_rms.mean, vec_normalize.obs_rms.mean)
    np.testing.assert_array_equal(other.ret_rms.var, vec_normalize.ret_rms.var)
    model, _ = _load_quietly(os.path.join(SB2_ZIPS, "box_pendulum_vecnorm.zip"), env=vec_normalize)
    assert model.get_vec_normalize_env() is vec_normalize
    _compare_outputs(model, ref, vec_normalize.normalize_obs(ref["obs_raw"]).astype(np.float32))
    obs = vec_normalize.reset()
    action, _ = model.predict(obs, deterministic=True)
    vec_normalize.step(action)


# ------------------------------------------------------------------------------------ our files


@pytest.fixture(scope="module")
def trained():
    model = PPO2("MlpPolicy", "CartPole-v1", seed=0, learning_rate=linear_schedule(1e-3), **FAST)
    model.learn(64)
    return model


def _same_outputs(model_a, model_b, n_obs=7):
    obs = np.random.RandomState(3).randn(n_obs, *model_a.observation_space.shape).astype(np.float32)
    np.testing.assert_array_equal(model_a.action_probability(obs), model_b.action_probability(obs))
    np.testing.assert_array_equal(model_a.value(obs), model_b.value(obs))
    np.testing.assert_array_equal(model_a.predict(obs, deterministic=True)[0],
                                  model_b.predict(obs, deterministic=True)[0])


@pytest.mark.parametrize("form", ["path", "bytesio", "pkl-path", "pkl-bytesio"])
def test_save_load_round_trip_then_train(trained, tmp_path, form):
    legacy = form.startswith("pkl")
    if form.endswith("bytesio"):
        target = io.BytesIO()
        trained.save(target, cloudpickle=legacy)
        target.seek(0)
    else:
        trained.save(str(tmp_path / "model"), cloudpickle=legacy)
        assert os.listdir(tmp_path) == ["model.pkl" if legacy else "model.zip"]
        target = str(tmp_path / "model")  # load("x") finds x.zip / x.pkl
    with warnings.catch_warnings():
        warnings.simplefilter("error", FallbackWarning)  # our files need no fallback
        warnings.simplefilter("ignore", DeprecationWarning)
        loaded = PPO2.load(target, env=DummyVecEnv([lambda: gym.make("CartPole-v1")] * 2))
    _same_outputs(trained, loaded)
    for name, value in trained.get_parameters().items():
        np.testing.assert_array_equal(loaded.get_parameters()[name], value)
    assert isinstance(loaded.learning_rate, LinearFn) and loaded.learning_rate(0.5) == pytest.approx(5e-4)
    assert loaded.cliprange == 0.2  # as given: learn() keeps its schedules to itself
    assert loaded.n_batch == 32 and loaded.num_timesteps == 0  # not saved (quirk 25)
    before = loaded.get_parameters()["model/pi/w:0"]
    loaded.learn(64)
    assert loaded.num_timesteps == 64
    assert not np.allclose(before, loaded.get_parameters()["model/pi/w:0"])


def test_saved_zip_has_sb2_layout(trained, tmp_path):
    path = str(tmp_path / "layout.zip")
    trained.save(path)
    with zipfile.ZipFile(path) as archive:
        assert archive.namelist() == ["data", "parameters", "parameter_list"]
        assert all(info.compress_type == zipfile.ZIP_STORED for info in archive.infolist())
        data = json.loads(archive.read("data"))
        parameter_list = json.loads(archive.read("parameter_list"))
        with np.load(io.BytesIO(archive.read("parameters"))) as params:
            assert sorted(params.files) == sorted(parameter_list)
    assert list(data) == SB2_DATA_KEYS
    assert parameter_list == list(trained.get_parameters())
    assert data["gamma"] == 0.99 and data["n_steps"] == 16 and data["_vectorize_action"] is False
    policy = data["policy"]
    assert list(policy)[:2] == [":type:", ":serialized:"]
    assert policy["__module__"] == "stable_ppo2.common.policies"  # SB2: vars() of the class
    assert data["observation_space"][":type:"] == "<class 'gymnasium.spaces.box.Box'>"
    assert data["observation_space"]["dtype"] == "float32" and data["observation_space"]["_shape"] == [4]
    assert data["action_space"][":type:"] == "<class 'gymnasium.spaces.discrete.Discrete'>"
    assert data["learning_rate"][":type:"] == str(LinearFn) and data["learning_rate"]["initial_value"] == 1e-3


def test_save_is_atomic(trained, tmp_path, monkeypatch):
    """A save that fails half-way leaves the previous file intact and no temporary file."""
    from stable_ppo2.common.model_files import formats

    path = str(tmp_path / "model.zip")
    trained.save(path)
    original = open(path, "rb").read()

    def failing_write(file, *_entries):
        file.write(b"PK\x03\x04 half a zip")
        raise KeyboardInterrupt

    monkeypatch.setattr(formats, "_write_zip", failing_write)
    with pytest.raises(KeyboardInterrupt):
        trained.save(path)
    assert os.listdir(tmp_path) == ["model.zip"]
    assert open(path, "rb").read() == original


def test_vecnormalize_save_is_atomic(tmp_path, monkeypatch):
    """VecNormalize pickles go through the same atomic write as models: a failed save keeps the
    previous file."""
    import pickle

    from stable_ppo2.common.vec_env import vec_normalize

    venv = VecNormalize(DummyVecEnv([lambda: gym.make("CartPole-v1")]))
    path = tmp_path / "vecnormalize.pkl"
    venv.save(str(path))
    original = path.read_bytes()

    def failing_dump(obj, file):
        file.write(b"\x80\x04 half a pickle")
        raise OSError("disk full")

    monkeypatch.setattr(vec_normalize.pickle, "dump", failing_dump)
    with pytest.raises(OSError, match="disk full"):
        venv.save(str(path))
    monkeypatch.setattr(vec_normalize.pickle, "dump", pickle.dump)
    assert os.listdir(tmp_path) == ["vecnormalize.pkl"] and path.read_bytes() == original
    assert isinstance(VecNormalize.load(str(path), DummyVecEnv([lambda: gym.make("CartPole-v1")])), VecNormalize)


def test_lambda_schedule_of_our_own_file(tmp_path):
    """A lambda is pickled by value: the default load falls back (warning); trust_file rebuilds it."""
    model = PPO2("MlpPolicy", "CartPole-v1", learning_rate=lambda frac: frac * 1e-3, **FAST)
    path = str(tmp_path / "lam.zip")
    model.save(path)
    with pytest.warns(FallbackWarning, match=r"entry 'learning_rate' .*<lambda>.*default learning_rate=0.00025"):
        assert PPO2.load(path).learning_rate == 2.5e-4
    loaded = PPO2.load(path, trust_file=True)
    assert loaded.learning_rate(0.5) == pytest.approx(5e-4)
    assert PPO2.load(path, learning_rate=3e-4).learning_rate == 3e-4  # no warning: not deserialised


def test_policy_from_an_imported_module_loads_by_reference(tmp_path):
    model = PPO2(CustomPolicy, "CartPole-v1", **FAST)
    path = str(tmp_path / "custom.zip")
    model.save(path)
    loaded = PPO2.load(path)  # tests.test_model_files.CustomPolicy is imported: allowed
    assert loaded.policy is CustomPolicy
    _same_outputs(model, loaded)


def test_custom_objects_and_kwargs_replace_pkl_entries(tmp_path):
    """For a legacy pkl too, replaced entries are never converted or checked."""
    model = PPO2("MlpPolicy", "CartPole-v1", **FAST)
    path = str(tmp_path / "legacy.pkl")
    model.save(path, cloudpickle=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        loaded = PPO2.load(path, custom_objects={"gamma": 0.5}, ent_coef=0.3)
        assert loaded.gamma == 0.5 and loaded.ent_coef == 0.3
        with pytest.raises(ValueError, match="policy kwargs"):
            PPO2.load(path, policy_kwargs=dict(net_arch=[8]))
    zoo, _ = _load_quietly(os.path.join(SB2_ZOO, "CartPole-v1.pkl"), learning_rate=1e-4, cliprange=0.1)
    assert zoo.learning_rate == 1e-4 and zoo.cliprange == 0.1
    with pytest.raises(ValueError, match="policy kwargs"):
        _load_quietly(os.path.join(SB2_ZOO, "CartPole-v1.pkl"), policy_kwargs=dict(net_arch=[8]))
    zoo, _ = _load_quietly(os.path.join(SB2_ZOO, "CartPole-v1.pkl"), policy_kwargs={})


def test_load_tries_zip_then_pkl(tmp_path):
    model = PPO2("MlpPolicy", "CartPole-v1", **FAST)
    model.save(str(tmp_path / "only_pkl"), cloudpickle=True)
    assert os.listdir(tmp_path) == ["only_pkl.pkl"]
    with pytest.warns(DeprecationWarning, match="old format"):
        loaded = PPO2.load(str(tmp_path / "only_pkl"))
    _same_outputs(model, loaded)
    model.save(str(tmp_path / "custom.model"))  # other extensions are kept
    assert os.path.isfile(str(tmp_path / "custom.model"))
    _same_outputs(model, PPO2.load(str(tmp_path / "custom.model")))


# ------------------------------------------------------------------------------------ parameters


def test_load_parameters_all_forms(tmp_path):
    source = PPO2("MlpPolicy", "CartPole-v1", seed=1, **FAST)
    target = PPO2("MlpPolicy", "CartPole-v1", seed=2, **FAST)
    expected = source.get_parameters()
    zip_path, pkl_path = str(tmp_path / "m.zip"), str(tmp_path / "m.pkl")
    source.save(zip_path)
    source.save(pkl_path, cloudpickle=True)
    forms = [expected, list(expected.values()), zip_path, pkl_path]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        for form in forms + ["zip-file", "pkl-file"]:
            target.load_parameters({name: np.zeros_like(value) for name, value in expected.items()})
            if form in ("zip-file", "pkl-file"):
                with open(zip_path if form == "zip-file" else pkl_path, "rb") as file:
                    target.load_parameters(file)
            else:
                target.load_parameters(form)
            for name, value in target.get_parameters().items():
                np.testing.assert_array_equal(value, expected[name])
    assert [v.name for v in target.get_parameter_list()] == list(expected)


def test_load_parameters_missing_key_changes_nothing():
    model = PPO2("MlpPolicy", "CartPole-v1", **FAST)
    before = model.get_parameters()
    partial = {name: value + 1.0 for name, value in before.items() if name != "model/vf/b:0"}
    with pytest.raises(RuntimeError, match="Missing variables: model/vf/b:0"):
        model.load_parameters(partial, exact_match=True)
    for name, value in model.get_parameters().items():
        np.testing.assert_array_equal(value, before[name])
    model.load_parameters(partial, exact_match=False)
    after = model.get_parameters()
    np.testing.assert_array_equal(after["model/vf/b:0"], before["model/vf/b:0"])
    np.testing.assert_array_equal(after["model/pi/w:0"], before["model/pi/w:0"] + 1.0)


# ------------------------------------------------------------------------------------ VecNormalize


def test_vecnormalize_save_load_round_trip(tmp_path):
    venv = VecNormalize(DummyVecEnv([lambda: gym.make("Pendulum-v1")] * 2))
    venv.reset()
    for _ in range(20):
        venv.step(np.random.uniform(-2, 2, (2, 1)).astype(np.float32))
    path = str(tmp_path / "vec_normalize.pkl")
    venv.save(path)
    loaded = VecNormalize.load(path, DummyVecEnv([lambda: gym.make("Pendulum-v1")] * 3))
    assert loaded.num_envs == 3 and loaded.ret.shape == (3,)
    np.testing.assert_array_equal(loaded.obs_rms.mean, venv.obs_rms.mean)
    np.testing.assert_array_equal(loaded.ret_rms.var, venv.ret_rms.var)
    assert loaded.obs_rms.count == venv.obs_rms.count and loaded.clip_obs == venv.clip_obs
    with open(path, "rb") as file:  # file objects too
        VecNormalize.load(file, DummyVecEnv([lambda: gym.make("Pendulum-v1")]))
    with pytest.raises(ValueError, match="incompatible"):
        VecNormalize.load(path, DummyVecEnv([lambda: gym.make("CartPole-v1")]))


# ------------------------------------------------------------------------------------ set_env


def test_set_env_checks_spaces_and_recomputes_the_batch():
    model = PPO2("MlpPolicy", DummyVecEnv([lambda: gym.make("CartPole-v1")] * 2), **FAST)
    assert model.n_batch == 32
    with pytest.raises(ValueError, match="observation space"):
        model.set_env(DummyVecEnv([lambda: gym.make("Acrobot-v1")]))
    with pytest.raises(ValueError, match="action space"):
        model.set_env(DummyVecEnv([lambda: _CartPoleThreeActions()]))
    with pytest.raises(ValueError, match="not a vectorized environment"):
        model.set_env(gym.make("CartPole-v1"))
    with pytest.raises(ValueError, match="None"):
        model.set_env(None)
    assert model.n_envs == 2 and model.n_batch == 32  # unchanged by the failures
    model.set_env(DummyVecEnv([lambda: gym.make("CartPole-v1")] * 4))
    assert model.n_envs == 4 and model.n_batch == 64  # SB2 quirk 8 fixed
    model.learn(128)
    assert model.num_timesteps == 128
    model.set_env(DummyVecEnv([lambda: gym.make("CartPole-v1")]))
    assert model.n_batch == 16
    model.learn(32)
    assert model.num_timesteps == 32


class _CartPoleThreeActions(gym.Wrapper):
    def __init__(self):
        super().__init__(gym.make("CartPole-v1"))
        self.action_space = spaces.Discrete(3)
