#!/usr/bin/env python
"""The original SB2's recurrent PPO2 on CartPole-v1 without velocities; one JSON line per seed.

Run with the SB2 venv (Python 3.7, TF 1.15, stable-baselines 2.10.2, gym 0.17.3). The setting and the
score are those of ``cartpole_novel.py`` (stable_ppo2's run): n_envs 8, n_steps 32, nminibatches 1,
noptepochs 20, lam 0.8, gamma 0.98, ent_coef 0, learning_rate lin 1e-3, cliprange lin 0.2,
``MlpLstmPolicy`` with ``n_lstm=64``, 200,000 steps, mean return of the last 100 episodes in the
Monitor files.

    .bench/sb2-venv/bin/python benchmarks/sb2_cartpole_novel.py --seeds 0 1 2 3 4
"""
import argparse
import json
import os
import tempfile
import time
import warnings

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
warnings.filterwarnings("ignore")

import gym  # noqa: E402
import numpy as np  # noqa: E402

SETTING = dict(n_steps=32, nminibatches=1, noptepochs=20, lam=0.8, gamma=0.98, ent_coef=0.0)


class NoVelocity(gym.ObservationWrapper):
    """CartPole observing only the cart position and the pole angle."""

    def __init__(self, env):
        super().__init__(env)
        space = env.observation_space
        self.observation_space = gym.spaces.Box(space.low[[0, 2]], space.high[[0, 2]], dtype=np.float32)

    def observation(self, obs):
        return obs[[0, 2]]


def run(seed, timesteps):
    from stable_baselines import PPO2
    from stable_baselines.bench.monitor import load_results
    from stable_baselines.common import make_vec_env

    monitor_dir = tempfile.mkdtemp()
    env = make_vec_env("CartPole-v1", n_envs=8, seed=seed, monitor_dir=monitor_dir, wrapper_class=NoVelocity)
    model = PPO2("MlpLstmPolicy", env, learning_rate=lambda f: f * 1e-3, cliprange=lambda f: f * 0.2, seed=seed,
                 n_cpu_tf_sess=1, policy_kwargs=dict(n_lstm=64), **SETTING)
    start = time.time()
    model.learn(total_timesteps=timesteps)
    seconds = time.time() - start
    env.close()
    score = float(load_results(monitor_dir)["r"].values[-100:].mean())
    return dict(library="sb2", seed=seed, timesteps=model.num_timesteps, last100_mean_return=score,
                learn_s=round(seconds, 1))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--timesteps", type=int, default=200000)
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
