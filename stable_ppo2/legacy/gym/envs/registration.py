"""``gym.make`` / ``gym.register`` / ``gym.spec`` of the compatibility gym, over gymnasium's registry.

``make(id)`` makes the gymnasium env (retired SB2-era ids mapped to today's: ``Pendulum-v0`` ->
``Pendulum-v1``, ``LunarLander-v2`` -> ``LunarLander-v3``, ...; able to render ``rgb_array`` frames when
the env can) and returns it behind :class:`~stable_ppo2.legacy.gym.core.OldApiEnv`. ``register(id,
entry_point=...)`` registers an old-API env class with gymnasium too, so ``gymnasium.make``, PPO2 and
``make_vec_env`` accept the id.
"""
from __future__ import annotations

from typing import Any, Callable, Dict, Optional, Union

import gymnasium
from gymnasium.envs.registration import EnvSpec, load_env_creator

from stable_ppo2.common.gym_compat import to_gymnasium
from stable_ppo2.legacy.gym.core import OldApiEnv

__all__ = ["EnvSpec", "make", "register", "registry", "spec", "resolve_id", "load"]

#: gym 0.x's ``load("module:attr")`` (the RL zoo imports it): the object an entry point names
load = load_env_creator


def resolve_id(env_id: str) -> str:
    """The gymnasium id that makes the env ``env_id`` named in the gym 0.x days."""
    from stable_ppo2.zoo.envs import gymnasium_id

    return gymnasium_id(env_id)


def _render_modes(env_spec: EnvSpec) -> list:
    try:
        creator: Any = env_spec.entry_point  # an env class, a factory, or a 'module:attr' string
        if isinstance(creator, str):
            creator = load_env_creator(creator)
        return list(getattr(creator, "metadata", {}).get("render_modes", []))
    except Exception:  # pylint: disable=broad-except  (gymnasium.make reports a broken entry point itself)
        return []


def make(id: str, **kwargs: Any) -> OldApiEnv:  # pylint: disable=redefined-builtin
    """Make the env ``id`` with gymnasium and present it through the old gym API."""
    env_id = resolve_id(id)
    if "render_mode" not in kwargs:
        try:
            env_spec = gymnasium.spec(env_id)
        except gymnasium.error.Error:
            env_spec = None
        if env_spec is not None and "rgb_array" in _render_modes(env_spec):
            kwargs["render_mode"] = "rgb_array"
    return OldApiEnv(gymnasium.make(env_id, **kwargs))


def spec(id: str) -> EnvSpec:  # pylint: disable=redefined-builtin
    """The gymnasium spec of ``id`` (retired ids mapped to today's)."""
    return gymnasium.spec(resolve_id(id))


class OldApiEntryPoint:
    """Entry point that gymnasium calls for an env registered through the compatibility ``gym.register``:
    builds the old-API env and presents it through the gymnasium API."""

    def __init__(self, entry_point: Union[str, Callable[..., Any]]) -> None:
        self.entry_point = entry_point

    def __call__(self, **kwargs: Any) -> gymnasium.Env:
        creator = load_env_creator(self.entry_point) if isinstance(self.entry_point, str) else self.entry_point
        return to_gymnasium(creator(**kwargs))

    def __repr__(self) -> str:
        return f"OldApiEntryPoint({self.entry_point!r})"


def register(id: str, entry_point: Union[str, Callable[..., Any], None] = None,  # pylint: disable=redefined-builtin
             reward_threshold: Optional[float] = None, nondeterministic: bool = False,
             max_episode_steps: Optional[int] = None, kwargs: Optional[Dict[str, Any]] = None,
             **_ignored: Any) -> None:
    """Register an old-API env (``"module:Class"`` or a callable) under ``id``; gym 0.x's other arguments
    (``tags``, ``max_episode_seconds``, ...) are accepted and ignored."""
    if entry_point is None:
        raise gymnasium.error.Error(f"register({id!r}): an entry_point is needed")
    gymnasium.register(id=id, entry_point=OldApiEntryPoint(entry_point), reward_threshold=reward_threshold,
                       nondeterministic=nondeterministic, max_episode_steps=max_episode_steps,
                       kwargs=dict(kwargs or {}), disable_env_checker=True)


class _Registry:
    """gym 0.x's ``registry`` over gymnasium's (a dict of id -> EnvSpec): ``all()``, ``env_specs``, ``spec``,
    ``make``, ``register``, and the dict's own methods."""

    @property
    def env_specs(self) -> Dict[str, EnvSpec]:
        return gymnasium.registry

    def all(self):
        return gymnasium.registry.values()

    def spec(self, id: str) -> EnvSpec:  # pylint: disable=redefined-builtin
        return spec(id)

    def make(self, id: str, **kwargs: Any) -> OldApiEnv:  # pylint: disable=redefined-builtin
        return make(id, **kwargs)

    def register(self, id: str, **kwargs: Any) -> None:  # pylint: disable=redefined-builtin
        register(id, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(gymnasium.registry, name)

    def __contains__(self, env_id: str) -> bool:
        return env_id in gymnasium.registry

    def __getitem__(self, env_id: str) -> EnvSpec:
        return gymnasium.registry[env_id]

    def __iter__(self):
        return iter(gymnasium.registry)

    def __len__(self) -> int:
        return len(gymnasium.registry)


registry = _Registry()
