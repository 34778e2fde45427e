"""A NaN/inf update stops training with a clear error and keeps the last good parameters."""
import gymnasium as gym
import numpy as np
import pytest

from stable_ppo2 import PPO2
from stable_ppo2.common.vec_env import DummyVecEnv


class RewardTurnsNan(gym.Env):
    """Rewards of 1, then NaN after ``bad_after`` steps."""

    observation_space = gym.spaces.Box(-1, 1, (2,), np.float32)
    action_space = gym.spaces.Discrete(2)

    def __init__(self, bad_after=300):
        self.steps, self.bad_after = 0, bad_after

    def reset(self, *, seed=None, options=None):
        return np.zeros(2, np.float32), {}

    def step(self, action):
        self.steps += 1
        reward = np.nan if self.steps > self.bad_after else 1.0
        return np.full(2, 0.1, np.float32), reward, False, self.steps % 50 == 0, {}


def test_nan_update_raises_and_restores_the_last_good_parameters():
    model = PPO2("MlpPolicy", DummyVecEnv([RewardTurnsNan]), n_steps=128, seed=0)
    model.learn(256)
    good = model.get_parameters()
    obs = np.full((1, 2), 0.1, np.float32)
    good_proba = model.action_probability(obs)
    with pytest.raises(FloatingPointError, match=r"Update 1 of 4 .*NaN or inf.*VecCheckNan"):
        model.learn(512)
    for name, value in model.get_parameters().items():
        np.testing.assert_array_equal(value, good[name], err_msg=name)
    np.testing.assert_array_equal(model.action_probability(obs), good_proba)  # numpy path too
    assert all(np.all(np.isfinite(v.numpy())) for v in model._optimizer.state_variables())
    model.set_env(DummyVecEnv([lambda: RewardTurnsNan(bad_after=10 ** 9)]))
    model.learn(256)  # training goes on once the env is fixed
    assert all(np.all(np.isfinite(v)) for v in model.get_parameters().values())
