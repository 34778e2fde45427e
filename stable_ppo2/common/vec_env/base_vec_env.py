"""SB2's vectorised-environment API: ``VecEnv``, ``VecEnvWrapper`` and their helpers.

A VecEnv steps ``num_envs`` environments as one batch and resets each of them automatically when its episode ends.
"""
import functools
import os
import pickle
import sys
import warnings
from abc import ABC, abstractmethod
from typing import Any, FrozenSet, Iterable, List, Optional, Sequence, Union

import cloudpickle
import numpy as np
from gymnasium import spaces

Indices = Union[None, int, Iterable[int]]


def _display_available() -> bool:
    """Whether a window can be opened (on Linux: an X11 or Wayland display is set)."""
    if sys.platform.startswith("linux"):
        return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
    return True


class AlreadySteppingError(Exception):
    """Raised when an asynchronous step is started while another one is still running."""

    def __init__(self) -> None:
        super().__init__("already running an async step")


class NotSteppingError(Exception):
    """Raised when an asynchronous step is awaited but none was started."""

    def __init__(self) -> None:
        super().__init__("not running an async step")


def tile_images(img_nhwc: Sequence[np.ndarray]) -> np.ndarray:
    """Arrange N images of shape (h, w, c) in a near-square grid: ``ceil(sqrt(N))`` rows, blank cells at the end."""
    imgs = np.asarray(img_nhwc)
    n_images, height, width, n_channels = imgs.shape
    n_rows = int(np.ceil(np.sqrt(n_images)))
    n_cols = int(np.ceil(n_images / n_rows))
    padding = np.zeros((n_rows * n_cols - n_images, height, width, n_channels), dtype=imgs.dtype)
    grid = np.concatenate([imgs, padding]).reshape(n_rows, n_cols, height, width, n_channels)
    return grid.transpose(0, 2, 1, 3, 4).reshape(n_rows * height, n_cols * width, n_channels)


def _qualified_name(obj: Any) -> str:
    return f"{type(obj).__module__}.{type(obj).__name__}"


@functools.lru_cache(maxsize=None)
def _class_attribute_names(cls: type) -> FrozenSet[str]:
    return frozenset(dir(cls))


class VecEnv(ABC):
    """A batch of ``num_envs`` environments sharing one observation and one action space.

    :param num_envs: number of environments
    :param observation_space: observation space of one environment
    :param action_space: action space of one environment
    """

    metadata = {"render.modes": ["human", "rgb_array"]}
    _warned_no_display = False

    def __init__(self, num_envs: int, observation_space: spaces.Space, action_space: spaces.Space) -> None:
        self.num_envs = num_envs
        self.observation_space = observation_space
        self.action_space = action_space

    @abstractmethod
    def reset(self) -> Any:
        """Reset every environment and return the batch of first observations."""

    @abstractmethod
    def step_async(self, actions: np.ndarray) -> None:
        """Start stepping every environment with its action; :meth:`step_wait` collects the results."""

    @abstractmethod
    def step_wait(self) -> Any:
        """Wait for the step started by :meth:`step_async`; return ``(obs, rewards, dones, infos)``."""

    @abstractmethod
    def close(self) -> None:
        """Release the environments' resources."""

    @abstractmethod
    def get_attr(self, attr_name: str, indices: Indices = None) -> List[Any]:
        """Attribute ``attr_name`` of the selected environments."""

    @abstractmethod
    def set_attr(self, attr_name: str, value: Any, indices: Indices = None) -> None:
        """Set attribute ``attr_name`` of the selected environments to ``value``."""

    @abstractmethod
    def env_method(
        self, method_name: str, *method_args: Any, indices: Indices = None, **method_kwargs: Any
    ) -> List[Any]:
        """Call ``method_name(*method_args, **method_kwargs)`` on the selected environments; return their results."""

    @abstractmethod
    def seed(self, seed: Optional[int] = None) -> List[Optional[int]]:
        """Seed environment ``i`` with ``seed + i`` (``None`` stays ``None``); return the seeds."""

    def step(self, actions: np.ndarray) -> Any:
        """Step every environment synchronously; return ``(obs, rewards, dones, infos)``."""
        self.step_async(actions)
        return self.step_wait()

    def get_images(self) -> Sequence[np.ndarray]:
        """One RGB image per environment."""
        raise NotImplementedError

    def render(self, mode: str = "human") -> Optional[np.ndarray]:
        """Tile the environments' images into one; ``'rgb_array'`` returns it, ``'human'`` shows it with OpenCV
        (and does nothing, with a warning the first time, where there is no display to show it on)."""
        if mode == "human" and not _display_available():
            if not VecEnv._warned_no_display:
                VecEnv._warned_no_display = True
                warnings.warn("VecEnv.render(mode='human') does nothing: there is no display (DISPLAY is not set)")
            return None
        try:
            imgs = self.get_images()
        except NotImplementedError:
            warnings.warn(f"Render not defined for {self}")
            return None
        bigimg = tile_images(imgs)
        if mode == "rgb_array":
            return bigimg
        if mode == "human":
            try:
                import cv2
            except ImportError as exc:
                raise ImportError("render(mode='human') on a VecEnv needs OpenCV (pip install opencv-python)") from exc
            cv2.imshow("vecenv", bigimg[:, :, ::-1])
            cv2.waitKey(1)
            return None
        raise NotImplementedError(f"Render mode {mode!r} is not supported by VecEnvs (use 'human' or 'rgb_array')")

    @property
    def unwrapped(self) -> "VecEnv":
        """The innermost VecEnv."""
        if isinstance(self, VecEnvWrapper):
            return self.venv.unwrapped
        return self

    def getattr_depth_check(self, name: str, already_found: bool) -> Optional[str]:
        """Class name of this VecEnv if it has ``name`` and a wrapper above already has it, else None."""
        if already_found and hasattr(self, name):
            return _qualified_name(self)
        return None

    def _get_indices(self, indices: Indices) -> Iterable[int]:
        """``None`` -> all environments, an int -> that one, anything else is used as given."""
        if indices is None:
            return range(self.num_envs)
        if isinstance(indices, (int, np.integer)):
            return [int(indices)]
        return indices


class VecEnvWrapper(VecEnv):
    """Base class of VecEnv wrappers: forwards everything to ``venv``; subclasses implement ``reset``/``step_wait``.

    Attributes that are missing here are looked up down the wrapper chain; a name defined at two levels below the one
    asked is ambiguous and raises AttributeError instead of silently picking one.

    :param venv: the wrapped VecEnv
    :param observation_space: defaults to ``venv.observation_space``
    :param action_space: defaults to ``venv.action_space``
    """

    def __init__(
        self,
        venv: VecEnv,
        observation_space: Optional[spaces.Space] = None,
        action_space: Optional[spaces.Space] = None,
    ) -> None:
        self.venv = venv
        VecEnv.__init__(
            self,
            num_envs=venv.num_envs,
            observation_space=observation_space or venv.observation_space,
            action_space=action_space or venv.action_space,
        )

    def step_async(self, actions: np.ndarray) -> None:
        self.venv.step_async(actions)

    @abstractmethod
    def reset(self) -> Any:
        pass

    @abstractmethod
    def step_wait(self) -> Any:
        pass

    def close(self) -> None:
        return self.venv.close()

    def render(self, mode: str = "human") -> Optional[np.ndarray]:
        return self.venv.render(mode=mode)

    def get_images(self) -> Sequence[np.ndarray]:
        return self.venv.get_images()

    def get_attr(self, attr_name: str, indices: Indices = None) -> List[Any]:
        return self.venv.get_attr(attr_name, indices)

    def set_attr(self, attr_name: str, value: Any, indices: Indices = None) -> None:
        return self.venv.set_attr(attr_name, value, indices)

    def env_method(
        self, method_name: str, *method_args: Any, indices: Indices = None, **method_kwargs: Any
    ) -> List[Any]:
        return self.venv.env_method(method_name, *method_args, indices=indices, **method_kwargs)

    def seed(self, seed: Optional[int] = None) -> List[Optional[int]]:
        return self.venv.seed(seed)

    def __getattr__(self, name: str) -> Any:
        # `venv` and dunders are missing only while unpickling; looking them up below would recurse forever.
        if name == "venv" or name.startswith("__"):
            raise AttributeError(name)
        blocked_class = self.getattr_depth_check(name, already_found=False)
        if blocked_class is not None:
            raise AttributeError(
                f"Error: Recursive attribute lookup for {name} from {_qualified_name(self)} is ambiguous "
                f"and hides attribute from {blocked_class}"
            )
        return self.getattr_recursive(name)

    def _has_own_attr(self, name: str) -> bool:
        return name in self.__dict__ or name in _class_attribute_names(type(self))

    def getattr_recursive(self, name: str) -> Any:
        """``name`` from the first level of the wrapper chain (this one included) that defines it."""
        if self._has_own_attr(name):
            return getattr(self, name)
        if isinstance(self.venv, VecEnvWrapper):
            return self.venv.getattr_recursive(name)
        return getattr(self.venv, name)

    def getattr_depth_check(self, name: str, already_found: bool) -> Optional[str]:
        """Class name of the second level that defines ``name`` (counting from here), or None."""
        has_it = self._has_own_attr(name)
        if has_it and already_found:
            return _qualified_name(self)
        return self.venv.getattr_depth_check(name, already_found or has_it)


class CloudpickleWrapper:
    """Pickles its content with cloudpickle, so lambdas and closures can be sent to subprocesses."""

    def __init__(self, var: Any) -> None:
        self.var = var

    def __getstate__(self) -> bytes:
        return cloudpickle.dumps(self.var)

    def __setstate__(self, state: bytes) -> None:
        self.var = pickle.loads(state)
