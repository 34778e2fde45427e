#!/usr/bin/env python
"""Recurrent PPO2 on CartPole-v1 without velocities (a memory task), stable_ppo2 or the original SB2.

The policy observes only the cart position and the pole angle, so it must infer the velocities from
what it remembers. Setting (the RL zoo's CartPole PPO2 hyperparameters with an LSTM): n_envs 8
(``make_vec_env(..., seed=seed)``), n_steps 32, nminibatches 1, noptepochs 20, lam 0.8, gamma 0.98,
ent_coef 0, learning_rate lin 1e-3, cliprange lin 0.2, ``MlpLstmPolicy`` with ``n_lstm=64``, model
``seed=seed, n_cpu_tf_sess=1``, 200,000 steps. Score: the mean return of the 100 episodes that ended
last, from the Monitor files. Prints one JSON line per seed. ``--library sb2`` runs the original SB2
and needs its venv (Python 3.7, TF 1.15, stable-baselines 2.10.2, gym 0.17.3); this file stays
Python 3.7 code for that reason.

    python benchmarks/cartpole_novel.py --seeds 0 1 2 3 4 --json benchmarks/results/cartpole_novel.jsonl
    .bench/sb2-venv/bin/python benchmarks/cartpole_novel.py --library sb2 --seeds 0 1 2 3 4
"""
import argparse
import json
import os
import tempfile
import time
import warnings

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402

SETTING = dict(n_steps=32, nminibatches=1, noptepochs=20, lam=0.8, gamma=0.98, ent_coef=0.0)


def no_velocity_wrapper(gym):
    """The observation wrapper for ``gym`` (gymnasium, or SB2's gym): only the cart position and
    the pole angle of CartPole's observation."""

    class NoVelocity(gym.ObservationWrapper):
        def __init__(self, env):
            super().__init__(env)
            space = env.observation_space
            self.observation_space = gym.spaces.Box(space.low[[0, 2]], space.high[[0, 2]], dtype=np.float32)

        def observation(self, obs):
            return obs[[0, 2]]

    return NoVelocity


def _library(name):
    """``(gym module, PPO2, make_vec_env, load_results)`` of stable_ppo2 or of SB2 (same APIs)."""
    if name == "sb2":
        warnings.filterwarnings("ignore")
        import gym
        from stable_baselines import PPO2
        from stable_baselines.bench.monitor import load_results
        from stable_baselines.common import make_vec_env
    else:
        import gymnasium as gym
        from stable_ppo2 import PPO2
        from stable_ppo2.bench.monitor import load_results
        from stable_ppo2.common.cmd_util import make_vec_env
    return gym, PPO2, make_vec_env, load_results


def run(library, seed, timesteps):
    gym, PPO2, make_vec_env, load_results = _library(library)
    with tempfile.TemporaryDirectory() as monitor_dir:
        env = make_vec_env("CartPole-v1", n_envs=8, seed=seed, monitor_dir=monitor_dir,
                           wrapper_class=no_velocity_wrapper(gym))
        model = PPO2("MlpLstmPolicy", env, learning_rate=lambda frac: frac * 1e-3,
                     cliprange=lambda frac: frac * 0.2, seed=seed, n_cpu_tf_sess=1,
                     policy_kwargs=dict(n_lstm=64), **SETTING)
        start = time.time()
        model.learn(total_timesteps=timesteps)
        seconds = time.time() - start
        env.close()
        score = float(np.mean(load_results(monitor_dir)["r"].values[-100:]))
    return dict(library=library, seed=seed, timesteps=model.num_timesteps, last100_mean_return=score,
                learn_s=round(seconds, 1))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--library", choices=("stable_ppo2", "sb2"), default="stable_ppo2")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--timesteps", type=int, default=200000)
    parser.add_argument("--json", help="also append the JSON lines to this file")
    args = parser.parse_args()
    for seed in args.seeds:
        line = json.dumps(run(args.library, seed, args.timesteps))
        print(line, flush=True)
        if args.json:
            with open(args.json, "a") as handle:
                handle.write(line + "\n")


if __name__ == "__main__":
    main()
