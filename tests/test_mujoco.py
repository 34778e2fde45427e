"""``python -m stable_ppo2.ppo2.run_mujoco``: SB2's MuJoCo script on gymnasium's ``mujoco`` envs."""
import os
import subprocess
import sys

import numpy as np
import pytest

from stable_ppo2.ppo2.run_mujoco import mujoco_env_id
from tests.helpers import run_training_script

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.mark.parametrize("old, new", [("Reacher-v2", "Reacher-v5"), ("HalfCheetah-v2", "HalfCheetah-v5"),
                                      ("Hopper-v3", "Hopper-v5"), ("HalfCheetah-v4", "HalfCheetah-v5"),
                                      ("Humanoid-v2", "Humanoid-v5"), ("HalfCheetah-v5", "HalfCheetah-v5"),
                                      ("CartPole-v0", "CartPole-v0"), ("NoSuchEnv-v1", "NoSuchEnv-v1")])
def test_retired_mujoco_ids_map_to_v5(old, new):
    assert mujoco_env_id(old) == new


def test_missing_mujoco_names_the_extra(tmp_path):
    code = ("import sys; sys.modules['mujoco'] = None\n"
            "from stable_ppo2.ppo2.run_mujoco import main\n"
            "main(['--env', 'HalfCheetah-v2', '--num-timesteps', '10'])\n")
    env = dict(os.environ, OPENAI_LOGDIR=str(tmp_path))
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, env=env,
                          timeout=300)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr[-2000:]
    assert 'pip install "stable_ppo2[mujoco]"' in proc.stderr


def test_run_mujoco_trains_logs_and_saves(tmp_path):
    """HalfCheetah-v5 (from SB2's ``--env HalfCheetah-v2``), 2 updates of 2048 steps: Monitor file with the
    4 episodes of 1000 steps, progress.csv, the model and the VecNormalize statistics."""
    proc, log_dir = run_training_script("stable_ppo2.ppo2.run_mujoco", ["--env", "HalfCheetah-v2",
                                        "--num-timesteps", "4096", "--seed", "3"], tmp_path)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert {"monitor.csv", "progress.csv", "log.txt", "model.zip", "vec_normalize.pkl"} <= set(os.listdir(log_dir))
    import pandas

    from stable_ppo2 import PPO2
    from stable_ppo2.bench import load_results
    from stable_ppo2.common.vec_env import DummyVecEnv, VecNormalize

    episodes = load_results(str(log_dir))
    assert list(episodes["l"]) == [1000] * 4
    with open(log_dir / "monitor.csv") as file:
        assert '"env_id": "HalfCheetah-v5"' in file.readline()
    progress = pandas.read_csv(log_dir / "progress.csv")
    assert list(progress["total_timesteps"]) == [2048, 4096]
    model = PPO2.load(str(log_dir / "model.zip"))
    assert (model.n_steps, model.nminibatches, model.noptepochs, model.lam, model.gamma, model.ent_coef) == (
        2048, 32, 10, 0.95, 0.99, 0.0)
    assert model.learning_rate == pytest.approx(3e-4) and model.cliprange == pytest.approx(0.2)  # saved as given
    import gymnasium

    venv = DummyVecEnv([lambda: gymnasium.make("HalfCheetah-v5")])
    stats = VecNormalize.load(str(log_dir / "vec_normalize.pkl"), venv)
    assert stats.obs_rms.count > 4000
    action, _ = model.predict(stats.reset(), deterministic=True)
    assert action.shape == (1, 6) and np.all(np.isfinite(action))
