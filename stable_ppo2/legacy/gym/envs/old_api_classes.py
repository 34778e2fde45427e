"""Old-API env classes under gym's module paths: ``gym.envs.classic_control.CartPoleEnv`` and the like.

Each is a subclass of :class:`~stable_ppo2.legacy.gym.core.OldApiEnv` that builds gymnasium's class of the
same name: ``CartPoleEnv()`` resets to an observation, steps with four values and seeds with ``seed()``;
attributes (``x_threshold``, ...) are the gymnasium env's, spaces can be replaced by assignment, and
legacy code subclasses it as it subclassed gym's (``super().step(action)`` gives four values). Like
gym's classes, and unlike ``gym.make``, it has no time limit. The classes are made on first access,
once, so pickles can name them (``stable_ppo2.legacy.gym.envs.classic_control.CartPoleEnv``).
"""
from __future__ import annotations

import importlib
import sys
from typing import Any, Callable, Dict, List, Tuple, Type, cast

import gymnasium
from gymnasium.envs.registration import load_env_creator

from stable_ppo2.legacy.gym.core import OldApiEnv

__all__ = ["old_api_env_class", "module_getattr"]


def old_api_env_class(gymnasium_class: Type[gymnasium.Env], module: str) -> type:
    """An :class:`OldApiEnv` subclass named like ``gymnasium_class`` whose constructor builds it (with
    ``render_mode="rgb_array"`` when the class can render frames and no mode is given)."""

    def __init__(self: OldApiEnv, *args: Any, **kwargs: Any) -> None:
        if "render_mode" not in kwargs and "rgb_array" in gymnasium_class.metadata.get("render_modes", ()):
            kwargs["render_mode"] = "rgb_array"
        OldApiEnv.__init__(self, gymnasium_class(*args, **kwargs))

    name = gymnasium_class.__name__
    doc = (f"gymnasium's ``{gymnasium_class.__module__}.{name}`` through the old gym API "
           f"(see :mod:`stable_ppo2.legacy.gym.envs.old_api_classes`).")
    return type(name, (OldApiEnv,), {"__init__": __init__, "__module__": module, "__qualname__": name, "__doc__": doc})


def _gymnasium_env_classes(gymnasium_module: str) -> Dict[str, str]:
    """Env class name -> ``module:Class`` entry point, for the env classes of ``gymnasium_module``: those it
    exports and those its registered ids name (mujoco's live in versioned submodules; the newest version wins)."""
    found: Dict[str, Tuple[int, str]] = {}
    for spec in gymnasium.registry.values():
        entry_point = spec.entry_point
        if isinstance(entry_point, str) and entry_point.startswith(gymnasium_module + "."):
            class_name = entry_point.rsplit(":", 1)[-1]
            version = spec.version or 0
            if class_name not in found or version > found[class_name][0]:
                found[class_name] = (version, entry_point)
    classes = {name: entry_point for name, (_, entry_point) in found.items()}
    source = importlib.import_module(gymnasium_module)  # raises gymnasium's DependencyNotInstalled if need be
    for name in dir(source):
        value = getattr(source, name)
        if not name.startswith("_") and isinstance(value, type) and issubclass(value, gymnasium.Env):
            classes[name] = f"{gymnasium_module}:{name}"
    return classes


def module_getattr(gymnasium_module: str, module: str) -> Tuple[Callable[[str], type], Callable[[], List[str]]]:
    """``__getattr__`` and ``__dir__`` for the module ``module``: its attribute ``X`` is the old-API class of
    gymnasium's env class ``gymnasium_module.X``, made on first access and kept on the module."""

    def __getattr__(name: str) -> type:
        if name.startswith("_"):
            raise AttributeError(f"module {module!r} has no attribute {name!r}")
        entry_point = _gymnasium_env_classes(gymnasium_module).get(name)
        if entry_point is None:
            raise AttributeError(f"module {module!r} has no attribute {name!r}: {gymnasium_module} has no env "
                                 f"class of that name (the old gym API offers gymnasium's env classes)")
        gymnasium_class = cast(Type[gymnasium.Env], load_env_creator(entry_point))  # an env class (see above)
        made = old_api_env_class(gymnasium_class, module)
        setattr(sys.modules[module], name, made)
        return made

    def __dir__() -> List[str]:
        return sorted(_gymnasium_env_classes(gymnasium_module))

    return __getattr__, __dir__
