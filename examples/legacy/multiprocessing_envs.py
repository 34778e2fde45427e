"""SB2 guide "Examples: Multiprocessing": several CartPoles in subprocesses (PPO2 in place of ACKTR).

The env factories run in the worker processes; the `if __name__ == '__main__':` guard is needed because
the workers import this script again (forkserver/spawn start methods).
"""
import gym
import numpy as np

from stable_baselines.common.policies import MlpPolicy
from stable_baselines.common.vec_env import SubprocVecEnv
from stable_baselines.common import set_global_seeds, make_vec_env
from stable_baselines import PPO2


def make_env(env_id, rank, seed=0):
    """Return a function that builds env number `rank`, seeded with seed + rank."""
    def _init():
        env = gym.make(env_id)
        env.seed(seed + rank)
        return env
    set_global_seeds(seed)
    return _init


if __name__ == '__main__':
    env_id = "CartPole-v1"
    num_cpu = 2  # number of worker processes
    env = SubprocVecEnv([make_env(env_id, i) for i in range(num_cpu)])

    model = PPO2(MlpPolicy, env, n_steps=256, verbose=1)
    model.learn(total_timesteps=2048)

    obs = env.reset()
    for _ in range(100):
        action, _states = model.predict(obs)
        obs, rewards, dones, info = env.step(action)
        env.render()
    env.close()

    # make_vec_env does the same in one call
    env = make_vec_env(env_id, n_envs=num_cpu, seed=0, vec_env_cls=SubprocVecEnv)
    model.set_env(env)
    model.learn(total_timesteps=1024)
    print("obs batch", np.asarray(env.reset()).shape, "after", model.num_timesteps, "steps")
    env.close()
