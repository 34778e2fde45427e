"""``stable-ppo2 train --save-freq`` then ``kill -9`` and ``--resume``: the same final parameters, bit for bit,
as the uninterrupted run, and Monitor files and ``progress.csv`` without gaps or duplicates; the training
state in the model file through ``PPO2.save(..., include_training_state=True)`` / ``PPO2.load``."""
import os
import signal
import subprocess
import sys
import time
import zipfile

import numpy as np
import pandas
import pytest

from stable_ppo2 import PPO2
from stable_ppo2.common.callbacks import BaseCallback, CallbackList, latest_checkpoint
from stable_ppo2.common.cmd_util import make_vec_env
from stable_ppo2.common.schedules import linear_schedule
from stable_ppo2.common.training_state import TrainingCheckpointCallback, read_training_state
from stable_ppo2.common.vec_env import VecNormalize
from tests.test_cli import run_cli

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _monitor_rows(run_dir):
    folder = os.path.join(run_dir, "monitor")
    return {name: pandas.read_csv(os.path.join(folder, name), skiprows=1)[["r", "l"]].to_numpy()
            for name in sorted(os.listdir(folder)) if name.endswith("monitor.csv")}


def _same_parameters(path_a, path_b):
    a, b = PPO2.load(path_a).get_parameters(), PPO2.load(path_b).get_parameters()
    return list(a) == list(b) and all(np.array_equal(a[key], b[key]) for key in a)


@pytest.mark.parametrize("env_id, params", [
    ("CartPole-v1", ["n_steps:32"]),
    ("Pendulum-v1", ["n_steps:64", "nminibatches:4", "noptepochs:2", "normalize:true", "learning_rate:lin_3e-4"]),
])
def test_kill_9_and_resume_ends_with_the_uninterrupted_parameters(tmp_path, capsys, env_id, params):
    args = ["train", env_id, "--n-timesteps", 8192, "--save-freq", 1024, "--no-progress-bar", "-params", *params]
    code, _out, err = run_cli([*args, "--log-dir", tmp_path / "whole"], capsys)
    assert code == 0, err
    whole = tmp_path / "whole" / f"{env_id}_1"

    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""), TF_CPP_MIN_LOG_LEVEL="3")
    killed_dir = tmp_path / "killed" / f"{env_id}_1"
    process = subprocess.Popen([sys.executable, "-m", "stable_ppo2", *map(str, args), "--log-dir",
                                str(tmp_path / "killed")], env=env, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    deadline = time.time() + 240
    while not (killed_dir / "rl_model_2048_steps.zip").exists() and time.time() < deadline:
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    assert process.wait() == -signal.SIGKILL, "the run ended before it could be killed"
    assert not (killed_dir / "model.zip").exists()

    code, out, err = run_cli(["train", "--resume", tmp_path / "killed" / env_id, "--no-progress-bar"], capsys)
    assert code == 0, err
    assert "resuming" in out
    assert _same_parameters(str(whole / "model.zip"), str(killed_dir / "model.zip"))
    whole_rows, resumed_rows = _monitor_rows(whole), _monitor_rows(killed_dir)
    assert list(whole_rows) == list(resumed_rows)
    for name in whole_rows:
        np.testing.assert_array_equal(whole_rows[name], resumed_rows[name])
    steps = pandas.read_csv(killed_dir / "progress.csv")["total_timesteps"].tolist()
    assert steps == pandas.read_csv(whole / "progress.csv")["total_timesteps"].tolist()
    code, _out, err = run_cli(["train", "--resume", killed_dir], capsys)
    assert code == 2 and "nothing to resume" in err


class _StopAt(BaseCallback):
    def __init__(self, steps):
        super().__init__()
        self.steps = steps

    def _on_step(self):
        if self.num_timesteps >= self.steps:
            raise KeyboardInterrupt
        return True


def test_save_with_training_state_and_load_continue_exactly(tmp_path):
    def make_model():
        env = VecNormalize(make_vec_env("Pendulum-v1", n_envs=2, seed=3))
        return PPO2("MlpPolicy", env, n_steps=32, nminibatches=2, noptepochs=2, seed=3,
                    learning_rate=linear_schedule(1e-3))

    whole = make_model().learn(1024)
    interrupted = make_model()
    with pytest.raises(KeyboardInterrupt):
        interrupted.learn(1024, callback=CallbackList([TrainingCheckpointCallback(256, str(tmp_path)),
                                                       _StopAt(700)]))
    checkpoint = latest_checkpoint(str(tmp_path))
    assert checkpoint.num_timesteps == 512 and checkpoint.vec_normalize_path is not None
    with zipfile.ZipFile(checkpoint.path) as archive:  # SB2's entries plus one it ignores
        assert set(archive.namelist()) == {"data", "parameters", "parameter_list", "training_state"}
    assert read_training_state(checkpoint.path)["updates_done"] == 8
    resumed = PPO2.load(checkpoint.path, env=VecNormalize(make_vec_env("Pendulum-v1", n_envs=2, seed=3)))
    assert resumed.num_timesteps == 512
    resumed.learn(1024, reset_num_timesteps=False)
    expected, got = whole.get_parameters(), resumed.get_parameters()
    assert all(np.array_equal(expected[key], got[key]) for key in expected)
    plain = tmp_path / "plain.zip"
    whole.save(str(plain))
    assert read_training_state(str(plain)) is None


def test_an_env_that_cannot_be_saved_restarts_its_episode(tmp_path):
    from stable_ppo2.common.training_state import TrainingStateWarning

    class Unsaveable:  # a simulator handle pickle cannot save safely
        pass

    def make_env():
        env = make_vec_env("CartPole-v1", n_envs=2, seed=1)
        for single in env.envs:
            single.unwrapped.simulator = Unsaveable()
        return env

    model = PPO2("MlpPolicy", make_env(), n_steps=16, seed=1)
    model.learn(64)
    path = tmp_path / "state.zip"
    model.save(str(path), include_training_state=True)
    with pytest.warns(TrainingStateWarning, match=r"env\(s\) \[0, 1\] cannot be saved mid-episode"):
        loaded = PPO2.load(str(path), env=make_env())
    assert loaded.runner.dones.all()
