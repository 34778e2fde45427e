"""Rollout collection base (SB2's ``common/runners.py``)."""
from __future__ import annotations

from abc import ABC, abstractmethod
from typing import TYPE_CHECKING, Any, Optional

import numpy as np

from stable_ppo2.common.vec_env import VecEnv

if TYPE_CHECKING:
    from stable_ppo2.common.callbacks import BaseCallback


class AbstractEnvRunner(ABC):
    """Holds the env's current observations, recurrent states and done flags between rollouts.

    The env is reset once, here; later rollouts (and later ``learn`` calls) continue from where
    the previous one stopped.
    """

    def __init__(self, *, env: VecEnv, model: Any, n_steps: int) -> None:
        self.env = env
        self.model = model
        n_envs = env.num_envs
        obs_shape = env.observation_space.shape
        if obs_shape is None:
            raise TypeError(f"The runner stores observations as arrays; {env.observation_space} has no shape")
        self.batch_ob_shape = (n_envs * n_steps,) + tuple(obs_shape)
        self.obs = np.zeros((n_envs,) + tuple(obs_shape),
                            dtype=env.observation_space.dtype)
        self.obs[:] = env.reset()
        self.n_steps = n_steps
        self.states = model.initial_state
        self.dones = np.zeros(n_envs, dtype=bool)
        self.callback: Optional[Any] = None
        self.continue_training = True
        self.n_envs = n_envs

    def run(self, callback: Optional[BaseCallback] = None) -> Any:
        """Collect one rollout; ``callback.on_step()`` returning False stops it early."""
        self.callback = callback
        self.continue_training = True
        return self._run()

    @abstractmethod
    def _run(self):
        ...
