#!/usr/bin/env python
"""The original SB2 on CartPole-v1 without velocities (run with the SB2 venv), to compare returns.

Same setting as ``tests/test_learning.py::test_lstm_remembers_what_mlp_cannot_see``: observations
keep the cart position and the pole angle; VecNormalize (observations); n_envs 8, n_steps 32,
nminibatches 1, noptepochs 20, lam 0.98, gamma 0.999, ent_coef 0, lr lin_1e-3, cliprange lin_0.2;
LSTM policy ``net_arch=['lstm', dict(pi=[64], vf=[64])]``, relu, n_lstm 64; MLP policy
``net_arch=[dict(pi=[64], vf=[64])]``, relu. Prints the mean return of the last 100 episodes.

    .bench/sb2-venv/bin/python benchmarks/sb2_cartpole_novel.py --policy lstm --seed 0
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
    parser.add_argument("--policy", choices=("lstm", "mlp"), default="lstm")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--timesteps", type=int, default=100000)
    args = parser.parse_args()

    import gym
    import tensorflow as tf
    from stable_baselines import PPO2
    from stable_baselines.common import make_vec_env
    from stable_baselines.common.vec_env import VecNormalize

    class NoVelocity(gym.ObservationWrapper):
        def __init__(self, env):
            super().__init__(env)
            low, high = env.observation_space.low[[0, 2]], env.observation_space.high[[0, 2]]
            self.observation_space = gym.spaces.Box(low, high, dtype=np.float32)

        def observation(self, obs):
            return obs[[0, 2]]

    def linear(initial):
        return lambda progress: progress * initial

    env = VecNormalize(make_vec_env("CartPole-v1", n_envs=8, seed=args.seed, wrapper_class=NoVelocity),
                       norm_reward=False)
    if args.policy == "lstm":
        policy, policy_kwargs = "MlpLstmPolicy", dict(n_lstm=64, net_arch=["lstm", dict(pi=[64], vf=[64])],
                                                      act_fun=tf.nn.relu)
    else:
        policy, policy_kwargs = "MlpPolicy", dict(net_arch=[dict(pi=[64], vf=[64])], act_fun=tf.nn.relu)
    model = PPO2(policy, env, n_steps=32, nminibatches=1, noptepochs=20, ent_coef=0.0, lam=0.98, gamma=0.999,
                 learning_rate=linear(1e-3), cliprange=linear(0.2), policy_kwargs=policy_kwargs,
                 seed=args.seed, n_cpu_tf_sess=1)
    start = time.time()
    model.learn(total_timesteps=args.timesteps)
    returns = [info["r"] for info in model.ep_info_buf]
    print(json.dumps(dict(policy=args.policy, seed=args.seed, last100_mean_return=float(np.mean(returns)),
                          steps_per_s=model.num_timesteps / (time.time() - start))))


if __name__ == "__main__":
    main()
