"""Reliability (issue #8): bad input gives one clear error naming what was expected and what came;
NaN/inf are caught; interrupted training leaves a model that saves and loads; a killed run resumes
from its last checkpoint (VecNormalize statistics included); damaged model files give one
documented error and change nothing.

Worker faults: ``tests/test_subproc_faults.py``; the loader fuzz: ``tests/test_fuzz_loading.py``.
"""
import io
import json
import os
import re
import signal
import subprocess
import sys
import textwrap
import time
import warnings
import zipfile

import gymnasium as gym
import numpy as np
import pytest
from gymnasium import spaces

from stable_ppo2 import PPO2
from stable_ppo2.common.callbacks import BaseCallback, latest_checkpoint
from stable_ppo2.common.save_util import FORMAT_VERSION, ModelDataError, ModelFileError, UnsupportedFormatError
from stable_ppo2.common.vec_env import DummyVecEnv, VecCheckNan
from tests.helpers import FIXTURES, model_for_spaces
from tests.test_nan_updates import RewardTurnsNan

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CARTPOLE_OBS = gym.make("CartPole-v1").observation_space
TINY = dict(n_steps=16, nminibatches=1, noptepochs=1, policy_kwargs=dict(net_arch=[8]), seed=0)
_MODELS = {}


def tiny_model(observation_space, action_space, n_envs=1):
    """Models without an env (nothing compiled), cached per pair of spaces."""
    key = (repr(observation_space), repr(action_space), n_envs)
    if key not in _MODELS:
        _MODELS[key] = model_for_spaces("MlpPolicy", observation_space, action_space, n_envs=n_envs, **TINY)
    return _MODELS[key]


def cartpole(n_envs=1):
    return DummyVecEnv([lambda: gym.make("CartPole-v1") for _ in range(n_envs)])


# ---------------------------------------------------------------------------------- 1. input validation

@pytest.mark.parametrize("space,bad,expected", [
    (CARTPOLE_OBS, np.array(["a", "b", "c", "d"]), r"needs numbers \(dtype float32\); got a ndarray .*dtype <U1"),
    (CARTPOLE_OBS, ["a", "b", "c", "d"], r"needs numbers .*got a list .*dtype <U1"),
    (CARTPOLE_OBS, np.array([object()] * 4), r"needs numbers .*dtype object"),
    (CARTPOLE_OBS, {"obs": np.zeros(4)}, r"needs numbers .*got a dict .*dtype object"),
    (CARTPOLE_OBS, [[0.0, 1.0], [1.0, 2.0, 3.0]], r"observation \(list\) is not an array of numbers"),
    (CARTPOLE_OBS, np.zeros(4, np.complex64), r"dtype complex64"),
    (CARTPOLE_OBS, np.zeros(5), r"Unexpected observation shape \(5,\) .*\(4,\) or \(n_env, 4\)"),
    (CARTPOLE_OBS, np.zeros((2, 3)), r"Unexpected observation shape \(2, 3\)"),
    (spaces.Discrete(5), 5,
     r"observations outside the Discrete\(5\) space: got \[5\], expected whole numbers in \[0, 5\)"),
    (spaces.Discrete(5), np.array([0, -1]), r"outside the Discrete\(5\) space: got \[-1\]"),
    (spaces.Discrete(5), 1.5, r"observations for the Discrete\(5\) space must be whole numbers; got \[1.5\]"),
    (spaces.Discrete(5), np.array([[1, 2]]), r"Unexpected observation shape \(1, 2\) for Discrete"),
    (spaces.MultiDiscrete([3, 4]), np.array([2, 4]),
     r"outside the MultiDiscrete\(\[3 4\]\) space: got \[4\], .*\[0, \[3, 4\]\)"),
    (spaces.MultiBinary(3), np.array([0, 1, 2]),
     r"outside the MultiBinary\(3\) space: got \[2\], expected whole numbers in \[0, 2\)"),
], ids=["strings", "string-list", "objects", "dict", "ragged", "complex", "box-shape", "box-batch-shape",
        "discrete-high", "discrete-negative", "discrete-fraction", "discrete-shape", "multidiscrete", "multibinary"])
def test_bad_observations_give_a_clear_error(space, bad, expected):
    model = tiny_model(space, spaces.Discrete(2))
    for call in (model.predict, model.action_probability):
        with pytest.raises(ValueError, match=expected):
            call(bad)


def test_good_observations_still_pass():
    model = tiny_model(spaces.Discrete(5), spaces.Discrete(2))
    assert model.predict(4)[0].shape == ()
    assert model.predict(np.array([0, 4], np.int8))[0].shape == (2,)
    assert model.predict(3.0)[0].shape == ()  # a whole float is accepted
    assert tiny_model(CARTPOLE_OBS, spaces.Discrete(2)).predict([1, 2, 3, 4])[0].shape == ()
    assert tiny_model(spaces.MultiBinary(3), spaces.Discrete(2)).predict(np.array([True, False, True]))[0].shape == ()


BOX2 = spaces.Box(-1.0, 1.0, (2,), np.float32)


@pytest.mark.parametrize("action_space,actions,expected", [
    (spaces.Discrete(3), 3, r"actions outside the Discrete\(3\) space: got \[3\], expected whole numbers in \[0, 3\)"),
    (spaces.Discrete(3), -1, r"actions outside the Discrete\(3\) space: got \[-1\]"),
    (spaces.Discrete(3), 0.5, r"actions for the Discrete\(3\) space must be whole numbers; got \[0.5\]"),
    (spaces.Discrete(3), np.nan, r"must be whole numbers; got \[nan\]"),
    (spaces.Discrete(3), "1", r"needs numeric actions; got an array of dtype <U1"),
    (spaces.Discrete(3), [0, 1], r"batch sizes differ for actions and observations \(2 actions, 1 observations\)"),
    (spaces.MultiDiscrete([2, 3]), [1, 3], r"actions outside the MultiDiscrete\(\[2 3\]\) space: got \[3\]"),
    (spaces.MultiDiscrete([2, 3]), [1, 1, 1],
     r"actions of shape \(3,\) do not fit .*expected \(2,\) for one observation"),
    (spaces.MultiBinary(2), [1, 2], r"actions outside the MultiBinary\(2\) space: got \[2\]"),
    (spaces.MultiBinary(2), [1], r"actions of shape \(1,\) do not fit the action space MultiBinary\(2\)"),
    (BOX2, [0.1, 0.2, 0.3], r"actions of shape \(3,\) do not fit the action space Box.*expected \(2,\)"),
    (BOX2, np.zeros((3, 2)), r"batch sizes differ for actions and observations \(3 actions, 1 observations\)"),
    (BOX2, [], r"actions of shape \(0,\) do not fit"),
], ids=["discrete-high", "discrete-negative", "discrete-fraction", "discrete-nan", "discrete-string",
        "discrete-batch", "multidiscrete-value", "multidiscrete-width", "multibinary-value", "multibinary-width",
        "box-width", "box-batch", "box-empty"])
def test_actions_outside_the_space_give_a_clear_error(action_space, actions, expected):
    model = tiny_model(CARTPOLE_OBS, action_space)
    with pytest.raises(ValueError, match=expected):
        model.action_probability(np.zeros((1, 4), np.float32), actions=actions)


def test_valid_actions_still_pass():
    obs = np.zeros((2, 4), np.float32)
    assert tiny_model(CARTPOLE_OBS, spaces.Discrete(3)).action_probability(obs, actions=[0, 2]).shape == (2, 1)
    assert tiny_model(CARTPOLE_OBS, spaces.Discrete(3)).action_probability(obs, actions=[0.0, 2.0]).shape == (2, 1)
    model = tiny_model(CARTPOLE_OBS, spaces.MultiBinary(2))
    assert model.action_probability(obs, actions=[[0, 1], [1, 1]]).shape == (2, 1)
    # Box: one action broadcast over the batch (SB2), values outside the bounds have a density
    assert tiny_model(CARTPOLE_OBS, BOX2).action_probability(obs, actions=[5.0, -5.0], logp=True).shape == (2, 1)


BAD_HYPERPARAMETERS = [
    ("n_steps", 0, "n_steps must be an int >= 1, got 0"),
    ("n_steps", -5, "n_steps must be an int >= 1, got -5"),
    ("n_steps", 12.5, "n_steps must be an int >= 1, got 12.5"),
    ("n_steps", "128", "n_steps must be an int >= 1, got '128'"),
    ("n_steps", True, "n_steps must be an int >= 1, got True"),
    ("nminibatches", 0, "nminibatches must be an int >= 1, got 0"),
    ("noptepochs", 0, "noptepochs must be an int >= 1, got 0"),
    ("gamma", -0.1, r"gamma must be in \[0, 1\], got -0.1"),
    ("gamma", 1.5, r"gamma must be in \[0, 1\], got 1.5"),
    ("gamma", float("nan"), r"gamma must be in \[0, 1\], got nan"),
    ("gamma", "0.99", r"gamma must be in \[0, 1\], got '0.99'"),
    ("lam", -0.01, r"lam must be in \[0, 1\], got -0.01"),
    ("lam", 1.01, r"lam must be in \[0, 1\], got 1.01"),
    ("learning_rate", -1e-4, "learning_rate must be a finite number >= 0 or a schedule, got -0.0001"),
    ("learning_rate", float("inf"), "learning_rate must be a finite number >= 0 or a schedule, got inf"),
    ("cliprange", -0.2, "cliprange must be a finite number >= 0 or a schedule, got -0.2"),
    ("cliprange_vf", float("nan"), r"cliprange_vf must be None, a finite number \(negative: no value clipping\)"),
    ("ent_coef", -0.01, "ent_coef must be a finite number >= 0, got -0.01"),
    ("vf_coef", -0.5, "vf_coef must be a finite number >= 0, got -0.5"),
    ("max_grad_norm", 0, r"max_grad_norm must be None \(no clipping\) or a number > 0, got 0"),
    ("max_grad_norm", -1.0, r"max_grad_norm must be None \(no clipping\) or a number > 0, got -1.0"),
    ("n_cpu_tf_sess", 0, "n_cpu_tf_sess must be an int >= 1, got 0"),
    ("seed", -1, "seed must be an int >= 0, got -1"),
    ("policy_kwargs", [("net_arch", [8])], "policy_kwargs must be a dict"),
    ("verbose", "1", "verbose must be an int, got '1'"),
]


@pytest.mark.parametrize("name,value,expected", BAD_HYPERPARAMETERS,
                         ids=[f"{name}={value!r}" for name, value, _ in BAD_HYPERPARAMETERS])
def test_hyperparameters_out_of_range_fail_at_construction(name, value, expected):
    with pytest.raises(ValueError, match=expected):
        PPO2("MlpPolicy", cartpole(), **{name: value})


def test_nminibatches_larger_than_the_batch():
    with pytest.raises(ValueError, match=r"nminibatches=8 is larger than the batch n_envs \* n_steps = 1 \* 4 = 4"):
        PPO2("MlpPolicy", cartpole(), n_steps=4, nminibatches=8)
    model = tiny_model(CARTPOLE_OBS, spaces.Discrete(2), n_envs=4)  # n_steps 16, nminibatches 1
    model.nminibatches = 64
    with pytest.raises(ValueError, match="nminibatches=64 is larger than the batch"):
        model.set_env(cartpole(2))
    model.nminibatches = 1


def test_edge_values_are_accepted():
    model = PPO2("MlpPolicy", None, _init_setup_model=False, gamma=0, lam=1, ent_coef=0, vf_coef=np.float32(0.5),
                 max_grad_norm=None, cliprange_vf=-1, learning_rate=lambda frac: frac * 1e-3,
                 n_steps=np.int64(8), seed=np.int32(3), verbose=True)
    model._check_hyperparameters()


class Counting(BaseCallback):
    def _on_step(self):
        return True


def test_schedules_are_checked_at_each_update():
    """A schedule is only a function: its values are checked when used, before the rollout of
    each update, with the update number and the progress in the message."""
    model = tiny_model(CARTPOLE_OBS, spaces.Discrete(2))
    model.set_env(cartpole())
    model.learning_rate = lambda frac: -1.0
    expected = (r"The learning_rate schedule returned -1.0 at update 1 \(progress remaining 1\); "
                r"expected a finite number >= 0")
    with pytest.raises(ValueError, match=expected):
        model.learn(32)
    assert model.num_timesteps == 0  # nothing ran
    model.learning_rate = 2.5e-4
    model.cliprange = lambda frac: float("nan") if frac < 1 else 0.2
    with pytest.raises(ValueError, match=r"The cliprange schedule returned nan at update 2 \(progress remaining 0.5\)"):
        model.learn(32)
    assert model.num_timesteps == 16  # one update done
    model.cliprange = 0.2


@pytest.mark.parametrize("observation_space", [
    spaces.Dict({"a": spaces.Discrete(2)}), spaces.Tuple([spaces.Discrete(2)]), spaces.Text(5),
    spaces.Discrete(4, start=1),
], ids=["dict", "tuple", "text", "discrete-start"])
def test_unsupported_observation_spaces(observation_space):
    with pytest.raises(NotImplementedError, match="Box, Discrete, MultiDiscrete, MultiBinary|start=1"):
        model_for_spaces("MlpPolicy", observation_space, spaces.Discrete(2))


@pytest.mark.parametrize("action_space", [
    spaces.Dict({"a": spaces.Discrete(2)}), spaces.Tuple([spaces.Discrete(2)]), spaces.Text(5),
    spaces.MultiDiscrete([3, 3], start=[1, 0]),
], ids=["dict", "tuple", "text", "multidiscrete-start"])
def test_unsupported_action_spaces(action_space):
    class Env(gym.Env):
        observation_space = CARTPOLE_OBS

        def reset(self, *, seed=None, options=None):
            return np.zeros(4, np.float32), {}

        def step(self, action):
            return np.zeros(4, np.float32), 0.0, False, False, {}

    Env.action_space = action_space
    with pytest.raises(NotImplementedError, match="Supported: Box, Discrete, MultiDiscrete, MultiBinary|start="):
        PPO2("MlpPolicy", DummyVecEnv([Env]))


def test_set_env_and_load_refuse_envs_with_other_spaces(tmp_path):
    model = tiny_model(CARTPOLE_OBS, spaces.Discrete(2))
    own_env = cartpole()
    model.set_env(own_env)
    path = str(tmp_path / "cartpole.zip")
    model.save(path)
    for other, role in ((DummyVecEnv([lambda: gym.make("Acrobot-v1")]), "observation"),
                        (DummyVecEnv([lambda: gym.make("MountainCarContinuous-v0")]), "observation")):
        with pytest.raises(ValueError, match=rf"environment's {role} space .* differs from the model's"):
            model.set_env(other)
        assert model.get_env() is own_env  # unchanged
        with pytest.raises(ValueError, match=rf"environment's {role} space .* differs from the model's"):
            PPO2.load(path, env=other)
    pendulum_like = DummyVecEnv([lambda: gym.wrappers.TransformObservation(
        gym.make("MountainCarContinuous-v0"), lambda obs: np.zeros(4, np.float32), CARTPOLE_OBS)])
    pendulum_like.observation_space = CARTPOLE_OBS
    with pytest.raises(ValueError, match=r"environment's action space Box.* differs from the model's Discrete\(2\)"):
        PPO2.load(path, env=pendulum_like)


# ---------------------------------------------------------------------------------- 2. NaN and inf

def test_vec_check_nan_stops_learn_before_the_nan_reaches_an_update():
    env = VecCheckNan(DummyVecEnv([lambda: RewardTurnsNan(bad_after=10)]), raise_exception=True)
    model = model_for_spaces("MlpPolicy", env.observation_space, env.action_space, **TINY)
    model.set_env(env)
    before = model.get_parameters()
    with pytest.raises(ValueError, match=r"(?s)found nan in rewards.*Originated from the environment.*action="):
        model.learn(64)
    assert model.num_timesteps == 10  # the 11th step raised, in the first rollout
    for name, value in model.get_parameters().items():
        np.testing.assert_array_equal(value, before[name])


def test_vec_check_nan_warns_and_the_update_guard_raises():
    """warn mode: one warning, training goes on until the NaN reward poisons an update, which
    raises FloatingPointError and keeps the last good parameters."""
    env = VecCheckNan(DummyVecEnv([lambda: RewardTurnsNan(bad_after=20)]))
    model = model_for_spaces("MlpPolicy", env.observation_space, env.action_space, **TINY)
    model.set_env(env)
    with pytest.warns(UserWarning, match="found nan in rewards"):
        with pytest.raises(FloatingPointError, match=r"Update 2 of 4 .*NaN or inf"):
            model.learn(64)
    assert all(np.all(np.isfinite(value)) for value in model.get_parameters().values())


def test_vec_check_nan_looks_inside_dict_observations():
    class DictEnv(gym.Env):
        observation_space = spaces.Dict({"a": spaces.Box(-1, 1, (2,)), "b": spaces.Box(-1, 1, (1,))})
        action_space = spaces.Discrete(2)

        def reset(self, *, seed=None, options=None):
            return {"a": np.zeros(2, np.float32), "b": np.zeros(1, np.float32)}, {}

        def step(self, action):
            return {"a": np.zeros(2, np.float32), "b": np.full(1, np.inf, np.float32)}, 0.0, False, False, {}

    env = VecCheckNan(DummyVecEnv([DictEnv]), raise_exception=True)
    env.reset()
    with pytest.raises(ValueError, match="found inf in observations"):
        env.step([0])


# ---------------------------------------------------------------------------------- 4. interrupted training

class RaiseAt(BaseCallback):
    def __init__(self, at_call, error):
        super().__init__()
        self.at_call, self.error = at_call, error

    def _on_step(self):
        if self.n_calls == self.at_call:
            raise self.error
        return True


@pytest.mark.parametrize("error", [RuntimeError("callback failed"), KeyboardInterrupt()], ids=["exception", "ctrl-c"])
def test_interrupted_learn_leaves_a_model_that_saves_loads_and_trains(tmp_path, error):
    model = model_for_spaces("MlpPolicy", CARTPOLE_OBS, spaces.Discrete(2), **TINY)
    model.set_env(cartpole())
    with pytest.raises(type(error)):
        model.learn(160, callback=RaiseAt(40, error))  # mid-rollout of the third update
    assert model.num_timesteps == 40
    obs = np.random.RandomState(0).randn(5, 4).astype(np.float32)
    path = str(tmp_path / "interrupted.zip")
    model.save(path)
    loaded = PPO2.load(path)
    np.testing.assert_array_equal(loaded.action_probability(obs), model.action_probability(obs))
    model.learn(32, reset_num_timesteps=False)  # the same model goes on
    assert model.num_timesteps == 72


def test_ctrl_c_during_the_update_keeps_the_numpy_weights_in_step(tmp_path):
    """Ctrl-C lands once the compiled update has run: the rollout path (numpy copies) and the
    saved file (TF variables) still agree."""
    model = model_for_spaces("MlpPolicy", CARTPOLE_OBS, spaces.Discrete(2), **TINY)
    model.set_env(cartpole())
    real_update = model._train_update

    def update_then_ctrl_c(*args):
        real_update(*args)
        raise KeyboardInterrupt

    model._train_update = update_then_ctrl_c
    before = model.get_parameters()
    with pytest.raises(KeyboardInterrupt):
        model.learn(32)
    model._train_update = real_update
    assert any(not np.array_equal(value, before[name]) for name, value in model.get_parameters().items())
    obs = np.random.RandomState(1).randn(5, 4).astype(np.float32)
    model.save(str(tmp_path / "m.zip"))
    np.testing.assert_array_equal(PPO2.load(str(tmp_path / "m.zip")).action_probability(obs),
                                  model.action_probability(obs))


RUN_SCRIPT = textwrap.dedent("""
    import json, os, sys, time
    import gymnasium as gym
    from stable_ppo2 import PPO2
    from stable_ppo2.common.callbacks import BaseCallback, CheckpointCallback, latest_checkpoint
    from stable_ppo2.common.vec_env import DummyVecEnv, VecNormalize

    mode, folder, total = sys.argv[1], sys.argv[2], int(sys.argv[3])
    N_ENVS, N_STEPS = 2, 32           # a batch of 64 timesteps
    SAVE_FREQ = 2 * N_STEPS           # a checkpoint every 2 updates: 128 timesteps
    checkpoints = os.path.join(folder, "checkpoints")

    def make_env():
        return DummyVecEnv([lambda: gym.make("CartPole-v1") for _ in range(N_ENVS)])

    class Progress(BaseCallback):  # prints the timesteps done; slow enough to be killed mid-run
        def _on_step(self):
            print(self.num_timesteps, flush=True)
            time.sleep(0.004)
            return True

    if mode == "train":
        env = VecNormalize(make_env())
        model = PPO2("MlpPolicy", env, n_steps=N_STEPS, nminibatches=1, noptepochs=2, seed=0,
                     policy_kwargs=dict(net_arch=[16]))
        model.learn(total, callback=[CheckpointCallback(SAVE_FREQ, checkpoints), Progress()])
        print("finished", flush=True)
    else:
        checkpoint = latest_checkpoint(checkpoints)
        env = VecNormalize.load(checkpoint.vec_normalize_path, make_env())
        count_at_resume = float(env.obs_rms.count)
        model = PPO2.load(checkpoint.path, env=env)
        model.num_timesteps = checkpoint.num_timesteps
        model.learn(total - checkpoint.num_timesteps, reset_num_timesteps=False,
                    callback=CheckpointCallback(SAVE_FREQ, checkpoints))
        model.save(os.path.join(folder, "final"))
        print(json.dumps(dict(resumed_from=checkpoint.num_timesteps, num_timesteps=model.num_timesteps,
                              count_at_resume=count_at_resume, count=float(env.obs_rms.count))), flush=True)
""")


def test_killed_run_resumes_from_its_last_checkpoint(tmp_path):
    """A training process is SIGKILLed between two checkpoints; a new process resumes from the
    last checkpoint (model and VecNormalize statistics) and reaches the same total timesteps.
    At most one checkpoint interval (128 timesteps) is lost."""
    total, interval = 64 * 60, 128
    script = tmp_path / "run.py"
    script.write_text(RUN_SCRIPT)
    folder = tmp_path / "run"
    env = dict(os.environ, PYTHONPATH=REPO, STABLE_PPO2_XLA="0")
    log_path = tmp_path / "train.log"
    with open(log_path, "w") as log:
        trainer = subprocess.Popen([sys.executable, str(script), "train", str(folder), str(total)],
                                   stdout=log, stderr=subprocess.STDOUT, cwd=REPO, env=env)
        try:
            deadline = time.monotonic() + 150
            while time.monotonic() < deadline:
                found = latest_checkpoint(str(folder / "checkpoints"))
                if found is not None and found.num_timesteps >= 2 * interval:
                    break
                assert trainer.poll() is None, log_path.read_text()[-3000:]
                time.sleep(0.02)
            else:
                pytest.fail("no second checkpoint within 150 s:\n" + log_path.read_text()[-3000:])
            time.sleep(0.15)  # between two checkpoints
            trainer.send_signal(signal.SIGKILL)
            assert trainer.wait(timeout=30) == -signal.SIGKILL
        finally:
            if trainer.poll() is None:
                trainer.kill()
                trainer.wait()
    output = log_path.read_text()
    assert "finished" not in output
    reached = max(int(line) for line in re.findall(r"^\d+$", output, re.MULTILINE))
    checkpoint = latest_checkpoint(str(folder / "checkpoints"))
    assert checkpoint.vec_normalize_path is not None and checkpoint.num_timesteps % interval == 0
    lost = reached - checkpoint.num_timesteps
    print(f"\nkilled at {reached} timesteps, resuming from the checkpoint at {checkpoint.num_timesteps} "
          f"(lost {lost}, interval {interval})")
    assert 0 <= lost <= interval
    resumed = subprocess.run([sys.executable, str(script), "resume", str(folder), str(total)],
                             capture_output=True, text=True, timeout=240, cwd=REPO, env=env)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    result = json.loads(resumed.stdout.strip().splitlines()[-1])
    assert result["resumed_from"] == checkpoint.num_timesteps
    assert result["num_timesteps"] == total
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from stable_ppo2.common.vec_env import VecNormalize
        stats = VecNormalize.load(checkpoint.vec_normalize_path, cartpole())
    assert result["count_at_resume"] == float(stats.obs_rms.count) > checkpoint.num_timesteps / 2
    assert result["count"] > result["count_at_resume"]
    assert latest_checkpoint(str(folder / "checkpoints")).num_timesteps == total
    PPO2.load(str(folder / "final.zip"))


# ---------------------------------------------------------------------------------- 5. the loader

@pytest.fixture(scope="module")
def saved():
    """A small model and its file's entries."""
    model = model_for_spaces("MlpPolicy", CARTPOLE_OBS, spaces.Discrete(2), **TINY)
    buffer = io.BytesIO()
    model.save(buffer)
    with zipfile.ZipFile(io.BytesIO(buffer.getvalue())) as archive:
        entries = {name: archive.read(name) for name in archive.namelist()}
        comment = archive.comment
    return model, buffer.getvalue(), entries, comment


def _zip(entries, comment=b""):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, content in entries.items():
            archive.writestr(name, content)
        archive.comment = comment
    return buffer.getvalue()


def _without(entries, name):
    return {key: value for key, value in entries.items() if key != name}


def _with(entries, name, content):
    return dict(entries, **{name: content})


def _wrong_shape(entries):
    with np.load(io.BytesIO(entries["parameters"])) as arrays:
        params = {name: arrays[name] for name in arrays.files}
    params["model/pi/w:0"] = params["model/pi/w:0"].T.copy()
    buffer = io.BytesIO()
    np.savez(buffer, **params)
    return _with(entries, "parameters", buffer.getvalue())


def _data_with(entries, **values):
    data = json.loads(entries["data"])
    data.update(values)
    return _with(entries, "data", json.dumps(data).encode())


DAMAGED = {
    # name: (make the file, error of PPO2.load, its message, error of load_parameters or None: loads)
    "empty": (lambda b, e, c: b"", ModelFileError, "neither a zip archive nor a complete pickle", ModelFileError),
    "truncated": (lambda b, e, c: b[:len(b) // 2], ModelFileError, "corrupt or truncated zip", ModelFileError),
    "not-a-zip": (lambda b, e, c: b"model: PPO2\n" * 10, ModelFileError, "neither a zip archive", ModelFileError),
    "no-data": (lambda b, e, c: _zip(_without(e, "data"), c), ModelFileError, "no 'data' entry", None),
    "no-parameters": (lambda b, e, c: _zip(_without(e, "parameters"), c), ModelFileError,
                      "has no 'parameters' entry", ModelFileError),
    "no-parameter-list": (lambda b, e, c: _zip(_without(e, "parameter_list"), c), ModelFileError,
                          "'parameters' but no 'parameter_list'", ModelFileError),
    "bad-json": (lambda b, e, c: _zip(_with(e, "data", b"{\"gamma\": 0.99,"), c), ModelFileError,
                 "'data' entry is not valid JSON", None),
    "json-not-object": (lambda b, e, c: _zip(_with(e, "data", b"[1, 2]"), c), ModelFileError,
                        "not a JSON object", None),
    "json-bad-value": (lambda b, e, c: _zip(_data_with(e, n_steps=-3), c), ModelDataError,
                       "does not describe a valid PPO2 model: n_steps must be an int >= 1, got -3", None),
    "json-wrong-type": (lambda b, e, c: _zip(_data_with(e, policy_kwargs="net_arch"), c), ModelDataError,
                        "policy_kwargs must be a dict", None),
    "json-space-is-not-a-space": (lambda b, e, c: _zip(_data_with(e, observation_space=[4]), c), ModelDataError,
                                  "its observation_space is a list, not a space", None),
    "bad-parameter-list": (lambda b, e, c: _zip(_with(e, "parameter_list", b"{\"a\": 1}"), c), ModelFileError,
                           "'parameters' or 'parameter_list' entry cannot be read", ModelFileError),
    "wrong-shape": (lambda b, e, c: _zip(_wrong_shape(e), c), ModelDataError,
                    r"Parameter model/pi/w:0 has shape \(2, 8\), the model expects \(8, 2\)", ModelDataError),
    "newer-format": (lambda b, e, c: _zip(e, json.dumps({"stable_ppo2_format": "2.0",
                                                         "stable_ppo2_version": "9.0.0"}).encode()),
                     UnsupportedFormatError, r"model-file format 2.0 \(written by stable_ppo2 9.0.0\), and this "
                     r"stable_ppo2 reads format 1.x", UnsupportedFormatError),
    "malformed-format": (lambda b, e, c: _zip(e, b'{"stable_ppo2_format": "one"}'), ModelFileError,
                         "format version 'one' is not of the form 'MAJOR.MINOR'", ModelFileError),
}


@pytest.mark.parametrize("damage", sorted(DAMAGED))
def test_damaged_files_give_one_clear_error_and_change_nothing(saved, damage):
    model, blob, entries, comment = saved
    make, load_error, message, parameters_error = DAMAGED[damage]
    damaged = make(blob, entries, comment)
    env = cartpole()
    env_state = (env.observation_space, env.action_space, env.num_envs)
    custom_objects = {"verbose": 0}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # non-zip files are tried as legacy pickles
        with pytest.raises(load_error, match=message) as info:
            PPO2.load(io.BytesIO(damaged), env=env, custom_objects=custom_objects)
        assert type(info.value) is load_error  # exactly that class, not a broader one
        assert (env.observation_space, env.action_space, env.num_envs) == env_state
        assert custom_objects == {"verbose": 0}
        before = model.get_parameters()
        if parameters_error is None:  # no parameter damage: load_parameters reads the file
            model.load_parameters(io.BytesIO(damaged))
        else:
            with pytest.raises(parameters_error):
                model.load_parameters(io.BytesIO(damaged))
    for name, value in model.get_parameters().items():
        np.testing.assert_array_equal(value, before[name], err_msg=name)


def test_model_data_errors_are_value_errors_and_model_file_errors():
    assert issubclass(ModelDataError, ValueError) and issubclass(ModelDataError, ModelFileError)
    assert issubclass(ModelFileError, RuntimeError) and issubclass(UnsupportedFormatError, ModelFileError)


def test_our_files_record_their_format_and_sb2_files_load_without_one(saved, tmp_path):
    _, blob, entries, comment = saved
    declared = json.loads(comment)
    assert declared["stable_ppo2_format"] == "%d.%d" % FORMAT_VERSION
    assert list(entries) == ["data", "parameters", "parameter_list"]  # SB2's entries, nothing more
    sb2_file = os.path.join(FIXTURES, "sb2_zips", "discrete_cartpole.zip")
    with zipfile.ZipFile(sb2_file) as archive:
        assert archive.comment == b""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        PPO2.load(sb2_file)
    newer_version = f"{FORMAT_VERSION[0]}.{FORMAT_VERSION[1] + 7}"
    newer_minor = _zip(entries, json.dumps({"stable_ppo2_format": newer_version}).encode())
    PPO2.load(io.BytesIO(newer_minor))  # a newer minor version only adds things: it loads
    foreign_comment = _zip(entries, b"made by some zip tool")
    PPO2.load(io.BytesIO(foreign_comment))


def test_non_finite_parameters_in_a_file_are_refused(saved):
    model, _, entries, comment = saved
    with np.load(io.BytesIO(entries["parameters"])) as arrays:
        params = {name: arrays[name] for name in arrays.files}
    params["model/vf/b:0"] = np.array([np.nan], np.float32)
    buffer = io.BytesIO()
    np.savez(buffer, **params)
    damaged = _zip(_with(entries, "parameters", buffer.getvalue()), comment)
    with pytest.raises(ModelDataError, match="model/vf/b:0 hold"):
        PPO2.load(io.BytesIO(damaged))
    with pytest.raises(ModelDataError, match="Parameter model/vf/b:0 holds NaN or inf"):
        model.load_parameters(io.BytesIO(damaged))
    assert np.isfinite(model.get_parameters()["model/vf/b:0"]).all()
