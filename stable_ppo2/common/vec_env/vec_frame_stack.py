"""VecFrameStack: the last ``n_stack`` observations of each env, concatenated on the last axis."""
import warnings
from typing import Any, List, Tuple

import numpy as np
from gymnasium import spaces

from stable_ppo2.common.vec_env.base_vec_env import VecEnv, VecEnvWrapper


class VecFrameStack(VecEnvWrapper):
    """Stacks ``n_stack`` consecutive Box observations along their last axis (oldest first, zeros after a reset).

    As in SB2 the space bounds are ``np.repeat``-ed on the last axis, and the returned observation is the internal
    buffer, not a copy (``reset`` overwrites it in place).

    :param venv: the VecEnv to wrap (Box observations)
    :param n_stack: number of observations to stack
    """

    def __init__(self, venv: VecEnv, n_stack: int) -> None:
        wrapped_obs_space = venv.observation_space
        if not isinstance(wrapped_obs_space, spaces.Box):
            raise TypeError(f"VecFrameStack needs a Box observation space, got {wrapped_obs_space}")
        self.n_stack = n_stack
        low = np.repeat(wrapped_obs_space.low, n_stack, axis=-1)
        high = np.repeat(wrapped_obs_space.high, n_stack, axis=-1)
        self.stackedobs = np.zeros((venv.num_envs,) + low.shape, low.dtype)
        observation_space = spaces.Box(low=low, high=high, dtype=wrapped_obs_space.dtype)
        VecEnvWrapper.__init__(self, venv, observation_space=observation_space)

    def step_wait(self) -> Tuple[np.ndarray, np.ndarray, np.ndarray, List[dict]]:
        observations, rewards, dones, infos = self.venv.step_wait()
        last_ax_size = observations.shape[-1]
        self.stackedobs = np.roll(self.stackedobs, shift=-last_ax_size, axis=-1)
        for i in np.flatnonzero(dones):
            if "terminal_observation" in infos[i]:
                old_terminal = infos[i]["terminal_observation"]
                infos[i]["terminal_observation"] = np.concatenate(
                    (self.stackedobs[i, ..., :-last_ax_size], old_terminal), axis=-1
                )
            else:
                warnings.warn("VecFrameStack wraps a VecEnv that does not put terminal_observation into infos")
            self.stackedobs[i] = 0
        self.stackedobs[..., -last_ax_size:] = observations
        return self.stackedobs, rewards, dones, infos

    def reset(self) -> np.ndarray:
        obs: Any = self.venv.reset()
        self.stackedobs[...] = 0
        self.stackedobs[..., -obs.shape[-1]:] = obs
        return self.stackedobs
