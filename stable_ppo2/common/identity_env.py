"""Identity environments for tests: the reward is 1 when the action repeats the current observation.

Gymnasium API. Observation and action share one space; each step draws a new observation from that space's RNG,
so ``reset(seed=s)`` (which seeds the space) makes an episode reproducible. Episodes are cut after ``ep_length``
steps and reported as ``truncated`` (a time limit; SB2 returned ``done=True`` there).
"""
from typing import Any, Dict, Optional, Tuple

import gymnasium as gym
import numpy as np
from gymnasium.spaces import Box, Discrete, MultiBinary, MultiDiscrete, Space


class IdentityEnv(gym.Env):
    """Observation and action in ``Discrete(dim)`` (or in ``space``); reward 1 when ``action == observation``.

    :param dim: size of the Discrete space; give at most one of ``dim`` and ``space`` (both None -> ``dim=1``)
    :param space: the observation/action space to use instead of ``Discrete(dim)``
    :param ep_length: steps per episode
    """

    metadata: Dict[str, Any] = {"render_modes": []}

    def __init__(self, dim: Optional[int] = None, space: Optional[Space] = None, ep_length: int = 100) -> None:
        if space is None:
            space = Discrete(1 if dim is None else dim)
        else:
            if dim is not None:
                raise ValueError("arguments for both 'dim' and 'space' provided: at most one allowed")
        self.action_space = self.observation_space = space
        self.ep_length = ep_length
        self.current_step = 0
        self.num_resets = -1  # the reset below brings it to 0: only resets after construction count
        self.state: Any = None
        self.reset()

    def reset(
        self, *, seed: Optional[int] = None, options: Optional[Dict[str, Any]] = None
    ) -> Tuple[Any, Dict[str, Any]]:
        super().reset(seed=seed)
        if seed is not None:
            self.action_space.seed(seed)  # states come from the space's RNG, as in SB2
        self.current_step = 0
        self.num_resets += 1
        self._choose_next_state()
        return self.state, {}

    def step(self, action: Any) -> Tuple[Any, int, bool, bool, Dict[str, Any]]:
        reward = self._get_reward(action)
        self._choose_next_state()
        self.current_step += 1
        truncated = self.current_step >= self.ep_length
        return self.state, reward, False, truncated, {}

    def _choose_next_state(self) -> None:
        self.state = self.action_space.sample()

    def _get_reward(self, action: Any) -> int:
        return 1 if np.all(self.state == action) else 0

    def render(self) -> None:
        pass


class IdentityEnvBox(IdentityEnv):
    """``Box(low, high, (1,))`` float32 observation/action; reward 1 when ``|action - observation| <= eps``."""

    def __init__(self, low: float = -1, high: float = 1, eps: float = 0.05, ep_length: int = 100) -> None:
        space = Box(low=low, high=high, shape=(1,), dtype=np.float32)
        super().__init__(ep_length=ep_length, space=space)
        self.eps = eps

    def _get_reward(self, action: Any) -> int:
        inside = (self.state - self.eps <= action) & (action <= self.state + self.eps)
        return 1 if np.all(inside) else 0


class IdentityEnvMultiDiscrete(IdentityEnv):
    """``MultiDiscrete([dim, dim])`` observation/action; reward 1 when both components match."""

    def __init__(self, dim: int = 1, ep_length: int = 100) -> None:
        super().__init__(ep_length=ep_length, space=MultiDiscrete([dim, dim]))


class IdentityEnvMultiBinary(IdentityEnv):
    """``MultiBinary(dim)`` observation/action; reward 1 when all bits match."""

    def __init__(self, dim: int = 1, ep_length: int = 100) -> None:
        super().__init__(ep_length=ep_length, space=MultiBinary(dim))
