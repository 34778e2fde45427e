"""The main job: train PPO2 on CartPole-v1 with the RL zoo's tuned hyperparameters, evaluate it,
and plot the learning curve.

Shows a progress bar while training, prints the evaluation score, and writes the model
(``ppo2_cartpole.zip``), the Monitor logs and the plot (``learning_curve.png``) to ``--out``.
Run: ``python examples/train_cartpole.py [--timesteps 100000] [--seed 0] [--out runs/cartpole]``
"""
import argparse
import os

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from stable_ppo2 import PPO2  # noqa: E402
from stable_ppo2.bench import load_results  # noqa: E402
from stable_ppo2.common.cmd_util import make_vec_env  # noqa: E402
from stable_ppo2.common.evaluation import evaluate_policy  # noqa: E402
from stable_ppo2.common.schedules import linear_schedule  # noqa: E402

# rl-baselines-zoo ppo2.yml, CartPole-v1
ZOO_HYPERPARAMS = dict(n_steps=32, nminibatches=1, lam=0.8, gamma=0.98, noptepochs=20, ent_coef=0.0,
                       learning_rate=linear_schedule(0.001), cliprange=linear_schedule(0.2))


def plot_learning_curve(monitor_dir: str, path: str) -> None:
    results = load_results(monitor_dir).sort_values("t")
    timesteps = np.cumsum(results["l"].to_numpy())
    returns = results["r"].to_numpy()
    rolling = results["r"].rolling(100, min_periods=1).mean().to_numpy()
    fig, ax = plt.subplots(figsize=(8, 4.5))
    ax.plot(timesteps, returns, ".", alpha=0.25, label="episode return")
    ax.plot(timesteps, rolling, linewidth=2, label="mean of the last 100 episodes")
    ax.axhline(475, color="grey", linestyle="--", label="solved (475)")
    ax.set(xlabel="timesteps", ylabel="episode return", title="PPO2 on CartPole-v1 (zoo hyperparameters)")
    ax.legend(loc="lower right")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--timesteps", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default=os.path.join("runs", "cartpole"))
    args = parser.parse_args()

    monitor_dir = os.path.join(args.out, "monitor")
    env = make_vec_env("CartPole-v1", n_envs=8, seed=args.seed, monitor_dir=monitor_dir)
    model = PPO2("MlpPolicy", env, seed=args.seed, n_cpu_tf_sess=1, **ZOO_HYPERPARAMS)
    model.learn(total_timesteps=args.timesteps, progress_bar=True)
    model_path = os.path.join(args.out, "ppo2_cartpole.zip")
    model.save(model_path)
    env.close()

    eval_env = make_vec_env("CartPole-v1", n_envs=1, seed=args.seed + 1000)
    mean_return, std_return = evaluate_policy(PPO2.load(model_path), eval_env, n_eval_episodes=20)
    plot_path = os.path.join(args.out, "learning_curve.png")
    plot_learning_curve(monitor_dir, plot_path)
    print(f"evaluation over 20 episodes: {mean_return:.1f} +/- {std_return:.1f}")
    print(f"model: {model_path}\nplot:  {plot_path}")


if __name__ == "__main__":
    main()
