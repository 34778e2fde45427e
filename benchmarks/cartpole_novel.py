#!/usr/bin/env python
"""stable_ppo2's recurrent PPO2 on CartPole-v1 without velocities (a memory task); one JSON line per seed.

The policy observes only the cart position and the pole angle, so it must infer the velocities from
what it remembers. Setting (the RL zoo's CartPole PPO2 hyperparameters with an LSTM): n_envs 8,
n_steps 32, nminibatches 1, noptepochs 20, lam 0.8, gamma 0.98, ent_coef 0, learning_rate lin 1e-3,
cliprange lin 0.2, ``MlpLstmPolicy`` with ``n_lstm=64``, 200,000 steps. The score is the mean return of
the last 100 episodes in the Monitor files. ``sb2_cartpole_novel.py`` runs the same with the original
SB2 (its own venv), to compare.

    python benchmarks/cartpole_novel.py --seeds 0 1 2 3 4 --json benchmarks/results/cartpole_novel.json
"""
import argparse
import json
import os
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import gymnasium as gym  # noqa: E402
import numpy as np  # noqa: E402

from stable_ppo2 import PPO2  # noqa: E402
from stable_ppo2.bench.monitor import load_results  # noqa: E402
from stable_ppo2.common.cmd_util import make_vec_env  # noqa: E402
from stable_ppo2.common.schedules import linear_schedule  # noqa: E402

SETTING = dict(n_steps=32, nminibatches=1, noptepochs=20, lam=0.8, gamma=0.98, ent_coef=0.0)


class NoVelocity(gym.ObservationWrapper):
    """CartPole observing only the cart position and the pole angle."""

    def __init__(self, env):
        super().__init__(env)
        space = env.observation_space
        self.observation_space = gym.spaces.Box(space.low[[0, 2]], space.high[[0, 2]], dtype=np.float32)

    def observation(self, obs):
        return obs[[0, 2]]


def last_100_mean_return(monitor_dir: str) -> float:
    """Mean return of the 100 episodes that ended last, over all the envs' Monitor files."""
    return float(load_results(monitor_dir)["r"].to_numpy()[-100:].mean())


def run(seed: int, timesteps: int) -> dict:
    with tempfile.TemporaryDirectory() as monitor_dir:
        env = make_vec_env("CartPole-v1", n_envs=8, seed=seed, monitor_dir=monitor_dir, wrapper_class=NoVelocity)
        model = PPO2("MlpLstmPolicy", env, learning_rate=linear_schedule(1e-3), cliprange=linear_schedule(0.2),
                     seed=seed, n_cpu_tf_sess=1, policy_kwargs=dict(n_lstm=64), **SETTING)
        start = time.time()
        model.learn(total_timesteps=timesteps)
        seconds = time.time() - start
        env.close()
        score = last_100_mean_return(monitor_dir)
    return dict(library="stable_ppo2", seed=seed, timesteps=model.num_timesteps, last100_mean_return=score,
                learn_s=round(seconds, 1))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--timesteps", type=int, default=200_000)
    parser.add_argument("--json", help="also append the JSON lines to this file")
    args = parser.parse_args()
    for seed in args.seeds:
        line = json.dumps(run(seed, args.timesteps))
        print(line, flush=True)
        if args.json:
            with open(args.json, "a") as handle:
                handle.write(line + "\n")


if __name__ == "__main__":
    main()
