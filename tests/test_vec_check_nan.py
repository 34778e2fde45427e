"""VecCheckNan: NaN/inf in actions, observations and rewards are reported with where they came from."""
import warnings

import gymnasium as gym
import numpy as np
import pytest
from gymnasium import spaces

from stable_ppo2.common.vec_env import DummyVecEnv, VecCheckNan


class NanAndInfEnv(gym.Env):
    """Observation NaN for positive actions, inf for negative ones, 0 otherwise; the reward is the action."""

    metadata = {}

    def __init__(self, reset_obs: float = 0.0) -> None:
        self.action_space = spaces.Box(low=-np.inf, high=np.inf, shape=(1,), dtype=np.float32)
        self.observation_space = spaces.Box(low=-np.inf, high=np.inf, shape=(1,), dtype=np.float32)
        self.reset_obs = reset_obs

    def step(self, action):
        action = np.asarray(action)
        if np.all(action > 0):
            obs = float("nan")
        elif np.all(action < 0):
            obs = float("inf")
        else:
            obs = 0.0
        return np.array([obs], dtype=np.float32), float(action.flat[0]), False, False, {}

    def reset(self, *, seed=None, options=None):
        return np.array([self.reset_obs], dtype=np.float32), {}


def test_check_nan_raises():
    env = VecCheckNan(DummyVecEnv([NanAndInfEnv]), raise_exception=True)
    env.reset()
    env.step([[0]])
    with pytest.raises(ValueError, match="(?s)found nan in actions.*Originated from the RL model"):
        env.step([[float("nan")]])
    with pytest.raises(ValueError, match="found inf in actions"):
        env.step([[float("inf")]])
    with pytest.raises(ValueError, match="(?s)found inf in observations.*Originated from the environment"):
        env.step([[-1]])
    with pytest.raises(ValueError, match=r"(?s)found nan in observations.*action=\[\[1\]\]"):
        env.step([[1]])
    env.step(np.array([[0, 1], [0, 1]]))


def test_check_nan_at_reset():
    env = VecCheckNan(DummyVecEnv([lambda: NanAndInfEnv(reset_obs=float("nan"))]), raise_exception=True)
    with pytest.raises(ValueError, match="(?s)found nan in observations.*environment observation \\(at reset\\)"):
        env.reset()


def test_check_inf_disabled():
    env = VecCheckNan(DummyVecEnv([NanAndInfEnv]), raise_exception=True, check_inf=False)
    env.reset()
    env.step([[-1]])  # inf observation, not checked
    with pytest.raises(ValueError, match="found nan in observations"):
        env.step([[1]])


def test_warns_once_by_default():
    env = VecCheckNan(DummyVecEnv([NanAndInfEnv]))
    env.reset()
    with pytest.warns(UserWarning, match="found nan in observations"):
        env.step([[1]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        env.step([[1]])  # already warned


def test_warns_every_time_without_warn_once():
    env = VecCheckNan(DummyVecEnv([NanAndInfEnv]), warn_once=False)
    env.reset()
    for _ in range(2):
        with pytest.warns(UserWarning, match="found inf in observations"):
            env.step([[-1]])


class NanRewardEnv(NanAndInfEnv):
    def step(self, action):
        obs, _, terminated, truncated, info = super().step(np.zeros(1))
        return obs, float("nan"), terminated, truncated, info


def test_reward_nan_is_reported():
    env = VecCheckNan(DummyVecEnv([NanRewardEnv]), raise_exception=True)
    env.reset()
    with pytest.raises(ValueError, match="found nan in rewards"):
        env.step([[0.0]])
