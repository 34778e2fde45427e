"""Rollout collection base (SB2's ``common/runners.py``)."""
from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, Optional

import numpy as np


class AbstractEnvRunner(ABC):
    """Holds the env's current observations, recurrent states and done flags between rollouts.

    The env is reset once, here; later rollouts (and later ``learn`` calls) continue from where
    the previous one stopped.
    """

    def __init__(self, *, env, model, n_steps: int):
        self.env = env
        self.model = model
        n_envs = env.num_envs
        self.batch_ob_shape = (n_envs * n_steps,) + tuple(env.observation_space.shape)
        self.obs = np.zeros((n_envs,) + tuple(env.observation_space.shape),
                            dtype=env.observation_space.dtype)
        self.obs[:] = env.reset()
        self.n_steps = n_steps
        self.states = model.initial_state
        self.dones = np.zeros(n_envs, dtype=bool)
        self.callback: Optional[Any] = None
        self.continue_training = True
        self.n_envs = n_envs

    def run(self, callback=None):
        """Collect one rollout; ``callback.on_step()`` returning False stops it early."""
        self.callback = callback
        self.continue_training = True
        return self._run()

    @abstractmethod
    def _run(self):
        ...
