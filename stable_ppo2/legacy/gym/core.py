"""Old-API ``gym.Env`` and wrappers (gym <= 0.21), and :class:`OldApiEnv`, a gymnasium env seen through them.

The old contract: ``reset() -> observation``; ``step(action) -> (observation, reward, done, info)`` with
``info["TimeLimit.truncated"]`` set when a time limit ended the episode; ``seed(seed) -> [seed]``;
``render(mode="human")``; ``close()``. These classes are plain Python classes (not ``gymnasium.Env``):
stable_ppo2's VecEnvs, Monitor and ``evaluate_policy`` recognise them as old-API envs and convert them
(``stable_ppo2.common.gym_compat.to_gymnasium``).
"""
from __future__ import annotations

import os
import sys
from typing import Any, Dict, List, Optional, Tuple

import gymnasium
import numpy as np

from stable_ppo2.common.gym_compat import LegacyEnvAdapter

__all__ = ["Env", "Wrapper", "ObservationWrapper", "RewardWrapper", "ActionWrapper", "OldApiEnv"]


class Env:
    """Base class of old-API environments: subclasses set ``action_space`` and ``observation_space``
    (``gym.spaces``, which are gymnasium's) and implement ``step`` and ``reset``.

    ``seed(seed)`` seeds ``self.np_random`` (a ``numpy.random.RandomState``, as in gym 0.21) and returns
    ``[seed]``; override it when the env has other random state.
    """

    metadata: Dict[str, Any] = {"render.modes": []}
    reward_range = (-float("inf"), float("inf"))
    spec = None
    action_space = None
    observation_space = None
    _np_random: Optional[np.random.RandomState] = None

    @property
    def np_random(self) -> np.random.RandomState:
        if self._np_random is None:
            self.seed()
        assert self._np_random is not None  # seed() sets it
        return self._np_random

    @np_random.setter
    def np_random(self, value: np.random.RandomState) -> None:
        self._np_random = value

    def step(self, action: Any) -> Tuple[Any, float, bool, Dict[str, Any]]:
        raise NotImplementedError

    def reset(self) -> Any:
        raise NotImplementedError

    def render(self, mode: str = "human") -> Any:
        raise NotImplementedError

    def close(self) -> None:
        pass

    def seed(self, seed: Optional[int] = None) -> List[Optional[int]]:
        from stable_ppo2.legacy.gym.utils import seeding

        self._np_random, seed = seeding.np_random(seed)
        return [seed]

    @property
    def unwrapped(self) -> "Env":
        return self

    def __str__(self) -> str:
        if self.spec is None:
            return f"<{type(self).__name__} instance>"
        return f"<{type(self).__name__}<{self.spec.id}>>"

    def __enter__(self) -> "Env":
        return self

    def __exit__(self, *args: Any) -> None:
        self.close()


class Wrapper(Env):
    """Old-API wrapper: forwards everything to ``self.env``; spaces, ``reward_range`` and ``metadata`` are the
    env's unless set on the wrapper. A gymnasium env (a stable_ppo2 ``Monitor``, ``gymnasium.make(...)``) is
    first put behind an :class:`OldApiEnv`, so old-style wrappers can wrap it.
    """

    def __init__(self, env: Any) -> None:
        if isinstance(env, gymnasium.Env):
            env = OldApiEnv(env)
        self.env = env
        self._action_space = None
        self._observation_space = None
        self._reward_range = None
        self._metadata = None

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_") or name == "env":
            raise AttributeError(f"attempted to get missing private attribute '{name}'")
        return getattr(self.env, name)

    @classmethod
    def class_name(cls) -> str:
        return cls.__name__

    @property
    def spec(self) -> Any:  # type: ignore[override]
        return self.env.spec

    @property
    def np_random(self) -> Any:
        return self.env.np_random

    @np_random.setter
    def np_random(self, value: Any) -> None:
        self.env.np_random = value

    @property
    def action_space(self) -> Any:
        return self.env.action_space if self._action_space is None else self._action_space

    @action_space.setter
    def action_space(self, space: Any) -> None:
        self._action_space = space

    @property
    def observation_space(self) -> Any:
        return self.env.observation_space if self._observation_space is None else self._observation_space

    @observation_space.setter
    def observation_space(self, space: Any) -> None:
        self._observation_space = space

    @property
    def reward_range(self) -> Any:
        return getattr(self.env, "reward_range", Env.reward_range) if self._reward_range is None else self._reward_range

    @reward_range.setter
    def reward_range(self, value: Any) -> None:
        self._reward_range = value

    @property
    def metadata(self) -> Any:
        return self.env.metadata if self._metadata is None else self._metadata

    @metadata.setter
    def metadata(self, value: Any) -> None:
        self._metadata = value

    def step(self, action: Any) -> Tuple[Any, float, bool, Dict[str, Any]]:
        return self.env.step(action)

    def reset(self, **kwargs: Any) -> Any:
        return self.env.reset(**kwargs)

    def render(self, mode: str = "human", **kwargs: Any) -> Any:
        return self.env.render(mode, **kwargs)

    def close(self) -> None:
        return self.env.close()

    def seed(self, seed: Optional[int] = None) -> List[Optional[int]]:
        return self.env.seed(seed)

    def compute_reward(self, achieved_goal: Any, desired_goal: Any, info: Dict[str, Any]) -> float:
        return self.env.compute_reward(achieved_goal, desired_goal, info)

    @property
    def unwrapped(self) -> Any:
        return self.env.unwrapped

    def __str__(self) -> str:
        return f"<{type(self).__name__}{self.env}>"

    def __repr__(self) -> str:
        return str(self)


class ObservationWrapper(Wrapper):
    """Subclasses implement ``observation(observation)``, applied to what ``reset`` and ``step`` return."""

    def reset(self, **kwargs: Any) -> Any:
        return self.observation(self.env.reset(**kwargs))

    def step(self, action: Any) -> Tuple[Any, float, bool, Dict[str, Any]]:
        observation, reward, done, info = self.env.step(action)
        return self.observation(observation), reward, done, info

    def observation(self, observation: Any) -> Any:
        raise NotImplementedError


class RewardWrapper(Wrapper):
    """Subclasses implement ``reward(reward)``, applied to what ``step`` returns."""

    def step(self, action: Any) -> Tuple[Any, float, bool, Dict[str, Any]]:
        observation, reward, done, info = self.env.step(action)
        return observation, self.reward(reward), done, info

    def reward(self, reward: float) -> float:
        raise NotImplementedError


class ActionWrapper(Wrapper):
    """Subclasses implement ``action(action)``, applied to the action before it reaches the env."""

    def step(self, action: Any) -> Tuple[Any, float, bool, Dict[str, Any]]:
        return self.env.step(self.action(action))

    def action(self, action: Any) -> Any:
        raise NotImplementedError

    def reverse_action(self, action: Any) -> Any:
        raise NotImplementedError


def display_available() -> bool:
    """Whether a window can be opened (on Linux: an X11 or Wayland display is set)."""
    if sys.platform.startswith("linux"):
        return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
    return True


class FrameWindow:
    """Shows RGB frames in a pygame window (``render(mode="human")`` of envs made to render ``rgb_array``)."""

    def __init__(self, caption: str = "gym") -> None:
        self.caption = caption
        self.screen: Any = None  # a pygame Surface, once shown

    def show(self, frame: np.ndarray) -> None:
        import pygame  # gymnasium[classic-control] installs it

        frame = np.asarray(frame, dtype=np.uint8)
        if self.screen is None or self.screen.get_size() != (frame.shape[1], frame.shape[0]):
            pygame.display.init()
            self.screen = pygame.display.set_mode((frame.shape[1], frame.shape[0]))
            pygame.display.set_caption(self.caption)
        self.screen.blit(pygame.surfarray.make_surface(frame.swapaxes(0, 1)), (0, 0))
        pygame.event.pump()
        pygame.display.flip()

    def close(self) -> None:
        if self.screen is not None:
            import pygame

            pygame.display.quit()
            self.screen = None


class OldApiEnv(Wrapper):
    """A gymnasium env presented through the old API (what the compatibility ``gym.make`` returns).

    ``reset()`` returns the observation (the reset info is kept in ``last_reset_info``); ``step()`` returns
    ``(observation, reward, terminated or truncated, info)`` with ``info["TimeLimit.truncated"] = not
    terminated`` when the episode was truncated, as gym's ``TimeLimit`` did; ``seed(seed)`` seeds the next
    reset. ``render(mode)``: ``'rgb_array'`` returns a frame (``gym.make`` makes envs that can render one);
    ``'human'`` shows the frame in a window, and does nothing when there is no display. Other attributes are
    the gymnasium env's; ``unwrapped`` is the gymnasium env's base env.
    """

    def __init__(self, env: gymnasium.Env) -> None:  # pylint: disable=super-init-not-called
        self.env = env
        self._action_space = None
        self._observation_space = None
        self._reward_range = None
        self._metadata = None
        self._pending_seed: Optional[int] = None
        self._window: Optional[FrameWindow] = None
        self.last_reset_info: Dict[str, Any] = {}

    def __getattr__(self, name: str) -> Any:
        # An old-API env has no render_mode: stable_ppo2's adapters then pass the render mode per call.
        if name.startswith("_") or name in ("env", "render_mode"):
            raise AttributeError(f"attempted to get missing attribute '{name}'")
        return self.env.get_wrapper_attr(name)

    @property
    def metadata(self) -> Any:
        if self._metadata is None:
            metadata = dict(self.env.metadata)
            metadata.setdefault("render.modes", list(metadata.get("render_modes", [])))
            return metadata
        return self._metadata

    @metadata.setter
    def metadata(self, value: Any) -> None:
        self._metadata = value

    @property
    def reward_range(self) -> Any:
        if self._reward_range is None:
            return getattr(self.env.unwrapped, "reward_range", Env.reward_range)
        return self._reward_range

    @reward_range.setter
    def reward_range(self, value: Any) -> None:
        self._reward_range = value

    def seed(self, seed: Optional[int] = None) -> List[Optional[int]]:
        self._pending_seed = seed
        return [seed]

    def reset(self, **kwargs: Any) -> Any:
        if self._pending_seed is not None:
            kwargs.setdefault("seed", self._pending_seed)
            self._pending_seed = None
        observation, self.last_reset_info = self.env.reset(**kwargs)
        return observation

    def step(self, action: Any) -> Tuple[Any, float, bool, Dict[str, Any]]:
        observation, reward, terminated, truncated, info = self.env.step(action)
        if truncated:
            info["TimeLimit.truncated"] = not terminated
        return observation, reward, bool(terminated or truncated), info

    def render(self, mode: str = "human", **kwargs: Any) -> Any:
        base = self.env.unwrapped
        if isinstance(base, LegacyEnvAdapter) and base.render_takes_mode:
            return base.render(mode=mode)
        render_mode = getattr(self.env, "render_mode", None)
        if mode == render_mode:
            return self.env.render()
        if mode == "human":
            if render_mode == "rgb_array" and display_available():
                if self._window is None:
                    self._window = FrameWindow(str(self.env.spec.id if self.env.spec else type(base).__name__))
                self._window.show(self.env.render())
            return None
        raise ValueError(f"{self} cannot render in mode {mode!r}: it was made with render_mode={render_mode!r} "
                         f"(gym.make(..., render_mode={mode!r}) makes one that can)")

    def close(self) -> None:
        if self._window is not None:
            self._window.close()
            self._window = None
        self.env.close()

    @property
    def unwrapped(self) -> Any:
        return self.env.unwrapped

    def __str__(self) -> str:
        return f"<OldApiEnv{self.env}>"
