"""``gym.wrappers``: the old-API wrappers legacy code uses most."""
from typing import Any, Callable, Dict, Optional, Tuple, cast

import numpy as np
from gymnasium import spaces

from stable_ppo2.legacy.gym.core import ActionWrapper, ObservationWrapper, RewardWrapper, Wrapper

__all__ = ["TimeLimit", "FlattenObservation", "TransformObservation", "TransformReward", "ClipAction"]


class TimeLimit(Wrapper):
    """Ends an episode after ``max_episode_steps`` steps (default: the env spec's), setting
    ``info["TimeLimit.truncated"] = not done`` on that step."""

    def __init__(self, env: Any, max_episode_steps: Optional[int] = None) -> None:
        super().__init__(env)
        if max_episode_steps is None and self.env.spec is not None:
            max_episode_steps = self.env.spec.max_episode_steps
        self._max_episode_steps = max_episode_steps
        self._elapsed_steps: Optional[int] = None

    def step(self, action: Any) -> Tuple[Any, float, bool, Dict[str, Any]]:
        assert self._elapsed_steps is not None, "Cannot call env.step() before calling reset()"
        observation, reward, done, info = self.env.step(action)
        self._elapsed_steps += 1
        if self._max_episode_steps is not None and self._elapsed_steps >= self._max_episode_steps:
            info["TimeLimit.truncated"] = not done
            done = True
        return observation, reward, done, info

    def reset(self, **kwargs: Any) -> Any:
        self._elapsed_steps = 0
        return self.env.reset(**kwargs)


class FlattenObservation(ObservationWrapper):
    """Observations flattened into one vector (``gymnasium.spaces.flatten``)."""

    def __init__(self, env: Any) -> None:
        super().__init__(env)
        self._original_space = self.env.observation_space
        self.observation_space = spaces.flatten_space(self._original_space)

    def observation(self, observation: Any) -> np.ndarray:
        return cast(np.ndarray, spaces.flatten(self._original_space, observation))  # flatten_space gave a Box


class TransformObservation(ObservationWrapper):
    """Observations passed through ``f``."""

    def __init__(self, env: Any, f: Callable[[Any], Any]) -> None:
        super().__init__(env)
        self.f = f

    def observation(self, observation: Any) -> Any:
        return self.f(observation)


class TransformReward(RewardWrapper):
    """Rewards passed through ``f``."""

    def __init__(self, env: Any, f: Callable[[float], float]) -> None:
        super().__init__(env)
        self.f = f

    def reward(self, reward: float) -> float:
        return self.f(reward)


class ClipAction(ActionWrapper):
    """Continuous actions clipped to the action space's bounds."""

    def action(self, action: Any) -> np.ndarray:
        return np.clip(action, self.action_space.low, self.action_space.high)
