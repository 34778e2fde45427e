"""``stable-ppo2 train --eval-freq``: ``evaluations.npz``, ``best_model.zip`` (with its VecNormalize statistics),
the evaluations in the returns plot, and ``enjoy --load-best / --load-checkpoint / --load-last-checkpoint``."""
import numpy as np

from stable_ppo2.common.evaluation import evaluate_on_envs
from stable_ppo2.plotting import evaluation_returns
from tests.test_cli import run_cli


def test_eval_freq_writes_evaluations_and_best_model_that_enjoy_plays(tmp_path, capsys):
    code, out, err = run_cli(["train", "Pendulum-v1", "--n-timesteps", 2048, "--eval-freq", 512, "--eval-episodes",
                              2, "--n-eval-envs", 2, "--save-freq", 1024, "--log-dir", tmp_path,
                              "--no-progress-bar", "-params", "n_steps:64", "n_envs:2", "normalize:true"], capsys)
    assert code == 0, err
    run_dir = tmp_path / "Pendulum-v1_1"
    with np.load(run_dir / "evaluations.npz") as data:
        assert data["timesteps"].tolist() == [512, 1024, 1536, 2048]
        assert np.asarray(data["results"]).reshape(4, -1).shape == (4, 2)
        assert (np.asarray(data["ep_lengths"]) == 200).all()
    assert (run_dir / "best_model.zip").is_file() and (run_dir / "best_model_vecnormalize.pkl").is_file()
    timesteps, means = evaluation_returns(str(run_dir))  # drawn into plots/returns.png
    assert timesteps.tolist() == [512, 1024, 1536, 2048] and means.shape == (4,)

    code, out, err = run_cli(["enjoy", run_dir, "--load-best", "--episodes", 1], capsys)
    assert code == 0, err
    assert "best_model.zip" in out and "best_model_vecnormalize.pkl" in out and "mean return" in out
    code, out, err = run_cli(["enjoy", tmp_path / "Pendulum-v1", "--load-checkpoint", 1024, "--episodes", 1], capsys)
    assert code == 0, err
    assert "rl_model_1024_steps.zip" in out and "rl_model_1024_steps_vecnormalize.pkl" in out
    code, out, err = run_cli(["enjoy", run_dir, "--load-last-checkpoint", "--episodes", 1], capsys)
    assert code == 0 and "rl_model_1024_steps.zip" in out  # the last one before the end (2048 is model.zip)
    code, out, err = run_cli(["enjoy", run_dir, "--load-checkpoint", 999], capsys)
    assert code == 2 and "it has: 1024" in err


def test_enjoy_load_best_without_evaluation_is_one_line(tmp_path, capsys):
    code, _out, err = run_cli(["train", "CartPole-v1", "--n-timesteps", 256, "--log-dir", tmp_path,
                               "--no-progress-bar"], capsys)
    assert code == 0, err
    code, _out, err = run_cli(["enjoy", tmp_path / "CartPole-v1", "--load-best"], capsys)
    assert code == 2 and "--eval-freq" in err


def test_evaluation_spreads_episodes_over_several_envs():
    from stable_ppo2 import PPO2
    from stable_ppo2.common.cmd_util import make_vec_env

    env = make_vec_env("CartPole-v1", n_envs=3, seed=0)
    model = PPO2("MlpPolicy", env, n_steps=16, seed=0)
    rewards, lengths = evaluate_on_envs(model, env, n_eval_episodes=7)
    assert len(rewards) == len(lengths) == 7
    assert rewards == [float(length) for length in lengths]  # CartPole: reward 1 per step
