"""SB2 guide "Vectorized Environments": DummyVecEnv and SubprocVecEnv (automatic resets and
`terminal_observation`), and the wrappers VecFrameStack, VecNormalize and VecCheckNan.
"""
import gym
import numpy as np

from stable_baselines import PPO2
from stable_baselines.common.vec_env import (DummyVecEnv, SubprocVecEnv, VecCheckNan, VecFrameStack,
                                             VecNormalize)


def make_env(seed):
    def _init():
        env = gym.make('CartPole-v1')
        env.seed(seed)
        return env
    return _init


if __name__ == '__main__':
    for vec_env_class in (DummyVecEnv, SubprocVecEnv):
        env = vec_env_class([make_env(seed) for seed in range(4)])
        obs = env.reset()
        assert obs.shape == (4, 4)
        # Each env resets itself when its episode ends; the last observation of the episode is in the info
        finished = 0
        while finished < 4:
            obs, rewards, dones, infos = env.step(np.array([env.action_space.sample() for _ in range(4)]))
            for done, info in zip(dones, infos):
                if done:
                    finished += 1
                    assert "terminal_observation" in info
        print(vec_env_class.__name__, "episodes finished:", finished, "actions sent as a vector of", env.num_envs)
        env.close()

    # Frame stacking: the last 4 observations side by side
    env = VecFrameStack(DummyVecEnv([make_env(0), make_env(1)]), n_stack=4)
    print("stacked observation shape:", env.reset().shape)
    model = PPO2('MlpPolicy', env, n_steps=64).learn(256)

    # Normalization of observations and rewards, and the NaN checker on top
    env = VecCheckNan(VecNormalize(DummyVecEnv([make_env(0)])), raise_exception=True)
    model = PPO2('MlpPolicy', env, n_steps=64).learn(256)
    print("VecNormalize statistics after", model.num_timesteps, "steps:", env.venv.obs_rms.count)
