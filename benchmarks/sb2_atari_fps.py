#!/usr/bin/env python
"""Time the original SB2's PPO2 with CnnPolicy / CnnLstmPolicy (run with the SB2 venv).

SB2's ``ppo2/run_atari.py`` settings: 8 envs, ``VecFrameStack(..., 4)``, n_steps 128, nminibatches 4,
noptepochs 4, lam 0.95, gamma 0.99, ent_coef 0.01, learning_rate f * 2.5e-4, cliprange f * 0.1; one
TF thread by default. ``--env synthetic`` is ``benchmarks/synthetic_atari.py`` (gym 0.17 API); an Atari
id uses SB2's ``make_atari_env`` with the ROM from ``--rom-dir`` (atari-py 0.2.9 ships no ROMs; the
ROMs inside ale-py have the same md5 sums, so ``get_game_path`` is pointed there without touching the
SB2 venv). Prints one JSON line with the keys of ``shared/bench/sb2/ppo2_fps.py``'s output, plus
``train_s`` (seconds inside ``_train_step``, the gradient updates).

    .bench/sb2-venv/bin/python benchmarks/sb2_atari_fps.py --env synthetic --policy cnn --timesteps 10240
"""
import argparse
import json
import os
import sys
import time
import warnings

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
warnings.filterwarnings("ignore")

import numpy as np  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from call_timer import timed_learn  # noqa: E402


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--env", default="synthetic")
    parser.add_argument("--policy", choices=["cnn", "lstm"], default="cnn")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--timesteps", type=int, default=10240)
    parser.add_argument("--n-cpu-tf-sess", type=int, default=1)
    parser.add_argument("--rom-dir", default=None, help="folder with <game>.bin ROMs (ale-py's roms/)")
    args = parser.parse_args()

    import tensorflow as tf
    from stable_baselines import PPO2
    from stable_baselines.common.cmd_util import make_atari_env
    from stable_baselines.common.vec_env import DummyVecEnv, VecFrameStack
    from stable_baselines.bench import Monitor

    t0 = time.time()
    if args.env == "synthetic":
        from synthetic_atari import make_synthetic_env

        def make(rank):
            def _thunk():
                env = make_synthetic_env("gym")
                env.seed(args.seed + rank)
                return Monitor(env, None)
            return _thunk
        venv = DummyVecEnv([make(i) for i in range(8)])
    else:
        if args.rom_dir:
            import atari_py

            atari_py.get_game_path = lambda game: os.path.join(args.rom_dir, game + ".bin")
        venv = make_atari_env(args.env, 8, args.seed)
    env = VecFrameStack(venv, 4)
    policy = {"cnn": "CnnPolicy", "lstm": "CnnLstmPolicy"}[args.policy]
    model = PPO2(policy, env, n_steps=128, nminibatches=4, lam=0.95, gamma=0.99, noptepochs=4, ent_coef=.01,
                 learning_rate=lambda f: f * 2.5e-4, cliprange=lambda f: f * 0.1, seed=args.seed,
                 n_cpu_tf_sess=args.n_cpu_tf_sess)
    build_s = time.time() - t0

    wall_s, cpu_s, train_s = timed_learn(model, args.timesteps, "_train_step")
    returns = [info["r"] for info in model.ep_info_buf]
    env.close()
    print(json.dumps(dict(collected_timesteps=int(model.num_timesteps), build_s=build_s, learn_wall_s=wall_s,
                          learn_cpu_s=cpu_s, train_s=sum(train_s),
                          last100_mean_return=float(np.mean(returns)) if returns else None,
                          n_episodes_in_buf=len(returns), tf=tf.__version__)))


if __name__ == "__main__":
    main()
