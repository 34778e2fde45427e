#!/usr/bin/env python
"""Time the original SB2's PPO2 with MlpLstmPolicy on CartPole-v1 (run with the SB2 venv).

SB2's defaults (n_steps 128, nminibatches 4, noptepochs 4, ent_coef 0.01, lr 2.5e-4) on 4 envs,
one TF thread; prints one JSON line with the keys of ``shared/bench/sb2/ppo2_fps.py``'s output.

    .bench/sb2-venv/bin/python benchmarks/sb2_lstm_fps.py --seed 0 --timesteps 100000
"""
import argparse
import json
import os
import time
import warnings

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
warnings.filterwarnings("ignore")

import numpy as np  # noqa: E402


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--timesteps", type=int, default=100000)
    args = parser.parse_args()

    import tensorflow as tf
    from stable_baselines import PPO2
    from stable_baselines.common import make_vec_env

    t0 = time.time()
    env = make_vec_env("CartPole-v1", n_envs=4, seed=args.seed)
    model = PPO2("MlpLstmPolicy", env, seed=args.seed, n_cpu_tf_sess=1)
    build_s = time.time() - t0
    cpu0, t1 = time.process_time(), time.time()
    model.learn(total_timesteps=args.timesteps)
    wall_s, cpu_s = time.time() - t1, time.process_time() - cpu0
    returns = [info["r"] for info in model.ep_info_buf]
    print(json.dumps(dict(collected_timesteps=int(model.num_timesteps), build_s=build_s, learn_wall_s=wall_s,
                          learn_cpu_s=cpu_s, last100_mean_return=float(np.mean(returns)) if returns else None,
                          n_episodes_in_buf=len(returns), tf=tf.__version__)))


if __name__ == "__main__":
    main()
