"""Policy export (issue #11): TF SavedModel and TFLite give ``predict(deterministic=True)``'s actions.

Every (policy, action space) case is built and exported once per module (TFLite conversion takes
about a second a model); its parameters are perturbed so that actions vary with the observation.
The SavedModels are also loaded in a subprocess that never imports stable_ppo2, which also plays
gymnasium's CartPole-v1 with the RL zoo's SB2 agent exported from its 2019 ``.pkl`` file.
"""
import json
import os
import subprocess
import sys
import warnings

import numpy as np
import pytest
from gymnasium import spaces

from stable_ppo2 import PPO2, cli
from stable_ppo2.common.export import INFO_FILE, ExportWarning
from stable_ppo2.common.identity_env import IdentityEnv
from stable_ppo2.common.tf_util import tf
from stable_ppo2.common.vec_env import DummyVecEnv, VecNormalize
from stable_ppo2.zoo.normalization import find_statistics, wrap_with_statistics
from tests.helpers import SB2_ZOO, model_for_spaces

N_OBS = 1000
N_ENVS, N_STEPS = 20, 50  # recurrent: 1,000 observations as 50 steps of 20 envs
BOX_TOL = 1e-5

OBS_BOX = spaces.Box(-3.0, 3.0, (6,), np.float32)
OBS_IMAGE = spaces.Box(0, 255, (36, 36, 1), np.uint8)
ACTION_SPACES = {
    "Discrete": spaces.Discrete(4),
    # one unbounded dimension: clipped like predict where bounded, passed through where not
    "Box": spaces.Box(np.array([-1.0, -0.5, -np.inf], np.float32), np.array([1.0, 2.0, np.inf], np.float32)),
    "MultiDiscrete": spaces.MultiDiscrete([3, 2, 4]),
    "MultiBinary": spaces.MultiBinary(3),
}
POLICY_OBS = {"MlpPolicy": OBS_BOX, "CnnPolicy": OBS_IMAGE, "MlpLstmPolicy": OBS_BOX}
CASES = {f"{policy}-{action}": (policy, obs_space, action)
         for policy, obs_space in POLICY_OBS.items() for action in ACTION_SPACES}
# other observation spaces (one-hot preprocessing and int inputs in the graph)
CASES.update({
    "MlpPolicy-Discrete-obsDiscrete": ("MlpPolicy", spaces.Discrete(7), "Discrete"),
    "MlpPolicy-Box-obsMultiDiscrete": ("MlpPolicy", spaces.MultiDiscrete([3, 5]), "Box"),
    "MlpPolicy-MultiBinary-obsMultiBinary": ("MlpPolicy", spaces.MultiBinary(5), "MultiBinary"),
    "MlpLstmPolicy-Discrete-obsDiscrete": ("MlpLstmPolicy", spaces.Discrete(7), "Discrete"),
})

# Runs in a fresh interpreter: stable_ppo2 cannot be imported there (a meta-path hook refuses it).
STANDALONE = r"""
import json, sys
class NoStablePPO2:
    def find_spec(self, name, path=None, target=None):
        if name.split('.')[0] == 'stable_ppo2':
            raise ImportError('stable_ppo2 must not be imported here')
sys.meta_path.insert(0, NoStablePPO2())
import numpy as np
import tensorflow as tf
import gymnasium as gym

manifest = json.load(open(sys.argv[1]))
report = {'cases': {}}
for name, case in manifest['cases'].items():
    serve = tf.saved_model.load(case['saved_model']).signatures['serving_default']
    data = np.load(case['data'])
    if case['recurrent']:
        state = np.zeros(case['state_shape'], np.float32)
        actions = []
        for t in range(data['obs'].shape[0]):
            out = serve(obs=tf.constant(data['obs'][t]), state=tf.constant(state),
                        mask=tf.constant(data['masks'][t].astype(np.float32)))
            actions.append(out['action'].numpy())
            state = out['state'].numpy()
        actions = np.stack(actions)
    else:
        actions = serve(obs=tf.constant(data['obs']))['action'].numpy()
    expected = data['actions']
    report['cases'][name] = {
        'shape_ok': actions.shape == expected.shape,
        'max_diff': float(np.max(np.abs(actions.astype(np.float64) - expected))),
        'dtype': actions.dtype.name}

serve = tf.saved_model.load(manifest['cartpole']).signatures['serving_default']
env = gym.make('CartPole-v1')
returns = []
for episode in range(manifest['episodes']):
    obs, _ = env.reset(seed=episode)
    total, done = 0.0, False
    while not done:
        action = serve(obs=tf.constant(obs[None], tf.float32))['action'].numpy()[0]
        obs, reward, terminated, truncated, _ = env.step(int(action))
        total += reward
        done = terminated or truncated
    returns.append(total)
report['cartpole_returns'] = returns
assert 'stable_ppo2' not in sys.modules and not any(m.startswith('stable_ppo2') for m in sys.modules)
report['stable_ppo2_imported'] = False
print(json.dumps(report))
"""


# ------------------------------------------------------------------------------------ helpers
def perturb_parameters(model, seed=0):
    """Random parameters (fan-in scaled) so that actions depend clearly on the observation."""
    rng = np.random.default_rng(seed)
    params = {}
    for name, value in model.get_parameters().items():
        scale = 1.0 / np.sqrt(np.prod(value.shape[:-1])) if value.ndim >= 2 else 0.3
        params[name] = (value + rng.normal(0.0, scale, value.shape)).astype(np.float32)
    model.load_parameters(params)


def sample_observations(space, n, rng):
    if isinstance(space, spaces.Discrete):
        return rng.integers(0, space.n, size=n).astype(np.int32)
    if isinstance(space, spaces.MultiDiscrete):
        return rng.integers(0, space.nvec, size=(n,) + space.nvec.shape).astype(np.int32)
    if isinstance(space, spaces.MultiBinary):
        return rng.integers(0, 2, size=(n, space.n)).astype(np.int32)
    if space.dtype == np.uint8:
        return rng.integers(0, 256, size=(n,) + space.shape, dtype=np.uint8)
    return rng.uniform(space.low, space.high, size=(n,) + space.shape).astype(space.dtype)


def assert_same_actions(got, expected, action_space, what):
    got = np.asarray(got)
    assert got.shape == expected.shape, (what, got.shape, expected.shape)
    if isinstance(action_space, spaces.Box):
        assert got.dtype == np.float32, what
        np.testing.assert_allclose(got, expected, rtol=0, atol=BOX_TOL, err_msg=what)
    else:
        np.testing.assert_array_equal(got, expected, err_msg=what)


def saved_model_caller(path):
    serve = tf.saved_model.load(path).signatures["serving_default"]

    def call(**inputs):
        return {key: value.numpy() for key, value in serve(**{k: tf.constant(v) for k, v in inputs.items()}).items()}
    return call


def tflite_caller(path):
    runner = tf.lite.Interpreter(model_path=path).get_signature_runner("serving_default")

    def call(**inputs):
        return {key: np.array(value) for key, value in runner(**inputs).items()}
    return call


def run_recurrent(call, obs, masks, state_size):
    """Actions for a ``[steps, envs]`` sequence, the exported state fed back; and the last state."""
    state = np.zeros((obs.shape[1], state_size), np.float32)
    actions = []
    for t in range(obs.shape[0]):
        out = call(obs=obs[t], state=state, mask=masks[t].astype(np.float32))
        actions.append(out["action"])
        state = out["state"]
    return np.stack(actions), state


def build_case(case_id, root):
    policy, obs_space, action_name = CASES[case_id]
    action_space = ACTION_SPACES[action_name]
    # LSTMs of 64 units (numpy's SVD for the orthogonal init of 256 units takes seconds on a busy
    # machine), except one case with SB2's default 256
    policy_kwargs = dict(n_lstm=64) if "Lstm" in policy and case_id != "MlpLstmPolicy-Box" else None
    model = model_for_spaces(policy, obs_space, action_space, nminibatches=1, seed=0, policy_kwargs=policy_kwargs)
    perturb_parameters(model)
    rng = np.random.default_rng(1)
    case = {"model": model, "action_space": action_space, "recurrent": model.act_model.recurrent}
    if case["recurrent"]:
        obs = sample_observations(obs_space, N_ENVS * N_STEPS, rng).reshape((N_STEPS, N_ENVS) + obs_space.shape)
        masks = rng.random((N_STEPS, N_ENVS)) < 0.15
        masks[0] = True
        state, actions = None, []
        for t in range(N_STEPS):
            action, state = model.predict(obs[t], state=state, mask=masks[t], deterministic=True)
            actions.append(action)
        case.update(obs=obs, masks=masks, actions=np.stack(actions), state=state)
    else:
        obs = sample_observations(obs_space, N_OBS, rng)
        case.update(obs=obs, actions=model.predict(obs, deterministic=True)[0])
    case["saved_model"] = model.export_policy(str(root / f"{case_id}_saved_model"))
    case["tflite"] = model.export_policy(str(root / f"{case_id}.tflite"), format="tflite")
    case["data"] = str(root / f"{case_id}.npz")
    np.savez(case["data"], **{k: case[k] for k in ("obs", "masks", "actions") if k in case})
    return case


@pytest.fixture(scope="module")
def export_root(tmp_path_factory):
    return tmp_path_factory.mktemp("export")


@pytest.fixture(scope="module")
def exported(export_root):
    """``exported(case_id)``: the case's model, data and exports, built once per module."""
    cache = {}

    def get(case_id):
        if case_id not in cache:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                cache[case_id] = build_case(case_id, export_root)
        return cache[case_id]
    return get


@pytest.fixture(scope="module")
def zoo_cartpole(export_root):
    """The RL zoo's SB2 CartPole-v1 agent (2019 ``.pkl``) exported as a SavedModel."""
    path = os.path.join(SB2_ZOO, "CartPole-v1.pkl")
    assert os.path.isfile(path), f"no SB2 zoo agent at {path}"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = PPO2.load(path)
    rng = np.random.default_rng(2)
    obs = (rng.uniform(-1.0, 1.0, (N_OBS, 4)) * np.array([2.4, 2.0, 0.21, 2.0])).astype(np.float32)
    data = str(export_root / "cartpole.npz")
    np.savez(data, obs=obs, actions=model.predict(obs, deterministic=True)[0])
    return {"model": model, "saved_model": model.export_policy(str(export_root / "cartpole_saved_model")),
            "data": data}


# ------------------------------------------------------------------------------------ in-process
@pytest.mark.parametrize("case_id", list(CASES))
def test_saved_model_and_tflite_match_predict(exported, case_id):
    case = exported(case_id)
    policy = case["model"].act_model
    for fmt, caller in (("saved_model", saved_model_caller), ("tflite", tflite_caller)):
        call = caller(case[fmt])
        what = f"{case_id} {fmt}"
        if case["recurrent"]:
            actions, state = run_recurrent(call, case["obs"], case["masks"], policy.state_size)
            np.testing.assert_allclose(state, case["state"], rtol=0, atol=1e-5, err_msg=what)
        else:
            out = call(obs=case["obs"])
            actions = out["action"]
            np.testing.assert_allclose(out["value"], policy.value(case["obs"]), rtol=1e-5, atol=1e-5,
                                       err_msg=what)
        assert_same_actions(actions, case["actions"], case["action_space"], what)
    if isinstance(case["action_space"], spaces.Box):  # the clipping is exercised, where there are bounds
        space, actions = case["action_space"], case["actions"]
        assert np.any((actions[..., :2] == space.low[:2]) | (actions[..., :2] == space.high[:2]))


def test_saved_model_layout_and_batch_sizes(exported):
    case = exported("MlpLstmPolicy-Box")
    loaded = tf.saved_model.load(case["saved_model"])
    signature = loaded.signatures["serving_default"]
    assert set(signature.structured_input_signature[1]) == {"obs", "state", "mask"}
    assert set(signature.structured_outputs) == {"action", "value", "state"}
    assert signature.structured_input_signature[1]["obs"].shape.as_list() == [None, 6]
    with open(os.path.join(case["saved_model"], INFO_FILE)) as file:
        info = json.load(file)
    assert info["recurrent"] and info["inputs"]["state"]["shape"] == [None, 512]
    state_size = case["model"].act_model.state_size
    for batch in (1, 3):  # any batch size, also through the module's own function
        out = loaded.serve(np.zeros((batch, 6), np.float32), np.zeros((batch, state_size), np.float32),
                           np.ones(batch, np.float32))
        assert out["action"].shape == (batch, 3) and out["state"].shape == (batch, state_size)
    interpreter = tf.lite.Interpreter(model_path=case["tflite"])
    assert {d["op_name"] for d in interpreter._get_ops_details()}.isdisjoint({"FlexTensorListReserve", "WHILE"})


def test_vec_normalize_folded_in(exported, tmp_path):
    case = exported("MlpPolicy-Discrete")
    venv = VecNormalize(DummyVecEnv([lambda: IdentityEnv(space=OBS_BOX)]), clip_obs=2.0)
    rng = np.random.default_rng(3)
    venv.obs_rms.mean = rng.normal(0.0, 1.0, 6)
    venv.obs_rms.var = rng.uniform(0.05, 2.0, 6)
    obs = case["obs"] * 2.0  # also outside the clip range after normalisation
    expected = case["model"].predict(venv.normalize_obs(obs), deterministic=True)[0]
    path = case["model"].export_policy(str(tmp_path / "normalized"), vec_normalize=venv)
    actions = saved_model_caller(path)(obs=obs)["action"]
    np.testing.assert_array_equal(actions, expected)
    assert not np.array_equal(expected, case["model"].predict(obs, deterministic=True)[0])


def test_warns_when_vec_normalize_left_out(exported, tmp_path, monkeypatch):
    model = exported("MlpPolicy-Discrete")["model"]
    monkeypatch.setattr(model, "_vec_normalize_env", VecNormalize(DummyVecEnv([lambda: IdentityEnv(space=OBS_BOX)])))
    with pytest.warns(ExportWarning, match="vec_normalize"):
        model.export_policy(str(tmp_path / "m"))


@pytest.mark.parametrize("action", ["Discrete", "MultiDiscrete", "Box", "MultiBinary"])
def test_stochastic_export_samples_the_policy(exported, tmp_path, action):
    case = exported(f"MlpPolicy-{action}")
    model = case["model"]
    obs = np.repeat(case["obs"][:1], 20000, axis=0)
    path = model.export_policy(str(tmp_path / "stochastic"), stochastic=True, seed=7)
    call = saved_model_caller(path)
    first, second = call(obs=obs)["action"], call(obs=obs)["action"]
    assert not np.array_equal(first, second)  # a new draw at every call
    proba = model.action_probability(obs[:1])
    space = case["action_space"]
    if isinstance(space, spaces.Discrete):
        np.testing.assert_allclose(np.bincount(first, minlength=space.n) / len(first), proba[0], atol=0.02)
    elif isinstance(space, spaces.MultiDiscrete):
        for i, n in enumerate(space.nvec):
            np.testing.assert_allclose(np.bincount(first[:, i], minlength=n) / len(first), proba[i][0], atol=0.02)
    elif isinstance(space, spaces.MultiBinary):
        np.testing.assert_allclose(first.mean(axis=0), proba[0], atol=0.02)
    else:
        mean, std = proba[0][0], proba[1][0]
        assert np.all(first >= space.low) and np.all(first <= space.high)
        np.testing.assert_allclose(first[:, 2].mean(), mean[2], atol=0.05 * std[2])  # the unbounded dimension
        np.testing.assert_allclose(first[:, 2].std(), std[2], rtol=0.05)


def test_stochastic_tflite_uses_builtin_ops(exported, tmp_path):
    case = exported("MlpPolicy-Discrete")
    path = case["model"].export_policy(str(tmp_path / "stochastic.tflite"), format="tflite", stochastic=True)
    call = tflite_caller(path)
    obs = np.repeat(case["obs"][:1], 20000, axis=0)
    first = call(obs=obs)["action"]
    assert not np.array_equal(first, call(obs=obs)["action"])
    np.testing.assert_allclose(np.bincount(first, minlength=4) / len(first),
                               case["model"].action_probability(obs[:1])[0], atol=0.02)


def test_bad_arguments(exported, tmp_path):
    model = exported("MlpPolicy-Discrete")["model"]
    with pytest.raises(ValueError, match="format"):
        model.export_policy(str(tmp_path / "x"), format="onnx")
    with pytest.raises(ValueError, match="shape"):
        model.export_policy(str(tmp_path / "x"), vec_normalize=VecNormalize(
            DummyVecEnv([lambda: IdentityEnv(space=spaces.Box(-1, 1, (2,), np.float32))])))
    (tmp_path / "folder").mkdir()
    (tmp_path / "folder" / "keep.txt").write_text("mine")
    with pytest.raises(ValueError, match="not overwriting"):
        model.export_policy(str(tmp_path / "folder"))
    with pytest.raises(ValueError, match="folder"):
        model.export_policy(str(tmp_path / "folder"), format="tflite")


# ------------------------------------------------------------------------------------ no stable_ppo2
@pytest.fixture(scope="module")
def standalone_report(exported, zoo_cartpole, export_root):
    """Every case's SavedModel and the zoo's CartPole agent, run in a process without stable_ppo2."""
    manifest = {"cases": {}, "cartpole": zoo_cartpole["saved_model"], "episodes": 5}
    for case_id in CASES:
        case = exported(case_id)
        manifest["cases"][case_id] = {
            "saved_model": case["saved_model"], "data": case["data"], "recurrent": case["recurrent"],
            "state_shape": [N_ENVS, case["model"].act_model.state_size]}
    manifest["cases"]["zoo-CartPole-v1"] = {"saved_model": zoo_cartpole["saved_model"],
                                           "data": zoo_cartpole["data"], "recurrent": False}
    manifest_path = str(export_root / "manifest.json")
    with open(manifest_path, "w") as file:
        json.dump(manifest, file)
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    env.pop("PYTHONPATH", None)
    result = subprocess.run([sys.executable, "-c", STANDALONE, manifest_path], cwd=str(export_root), env=env,
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_saved_models_load_without_stable_ppo2(standalone_report):
    assert standalone_report["stable_ppo2_imported"] is False
    cases = standalone_report["cases"]
    assert set(cases) == set(CASES) | {"zoo-CartPole-v1"}
    for case_id, result in cases.items():
        box = case_id in CASES and CASES[case_id][2] == "Box"
        assert result["shape_ok"], case_id
        assert result["max_diff"] <= (BOX_TOL if box else 0.0), (case_id, result)


def test_zoo_cartpole_from_saved_model_alone_scores_500(standalone_report):
    returns = standalone_report["cartpole_returns"]
    assert len(returns) == 5 and all(r == 500.0 for r in returns), returns


# ------------------------------------------------------------------------------------ command line
def test_cli_export_folds_in_the_zoo_statistics(tmp_path, capsys):
    model_path = os.path.join(SB2_ZOO, "MountainCarContinuous-v0.pkl")
    assert os.path.isfile(model_path), f"no SB2 zoo agent at {model_path}"
    out_dir = str(tmp_path / "mcc")
    assert cli.main(["export", model_path, "--format", "saved_model", out_dir]) == 0
    out = capsys.readouterr().out
    assert "VecNormalize statistics folded in" in out and "serving_default" in out
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = PPO2.load(model_path)
        venv = wrap_with_statistics(DummyVecEnv([lambda: IdentityEnv(space=model.observation_space)]),
                                    find_statistics(model_path, "MountainCarContinuous-v0"))
    rng = np.random.default_rng(4)
    obs = np.stack([rng.uniform(-1.2, 0.6, N_OBS), rng.uniform(-0.07, 0.07, N_OBS)], axis=1).astype(np.float32)
    expected = model.predict(venv.normalize_obs(obs), deterministic=True)[0]
    out = saved_model_caller(out_dir)(obs=obs)
    np.testing.assert_allclose(out["action"], expected, rtol=0, atol=BOX_TOL)
    raw = model.predict(obs, deterministic=True)[0]
    assert np.abs(raw - expected).max() > 1e-3  # the statistics matter


def test_cli_export_tflite_and_errors(tmp_path, capsys, zoo_cartpole):
    model_path = os.path.join(SB2_ZOO, "CartPole-v1.pkl")
    out_file = str(tmp_path / "cartpole.tflite")
    assert cli.main(["export", model_path, out_file]) == 0  # the format follows the extension
    out = capsys.readouterr().out
    assert "tflite" in out and "VecNormalize" not in out
    data = np.load(zoo_cartpole["data"])
    np.testing.assert_array_equal(tflite_caller(out_file)(obs=data["obs"])["action"], data["actions"])
    capsys.readouterr()
    assert cli.main(["export", str(tmp_path / "nothing_here"), str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("stable-ppo2: error: ") and len(err.strip().splitlines()) == 1
    assert cli.main(["export", model_path, "--format", "saved_model", out_file]) == 2
    assert "is a file" in capsys.readouterr().err
