"""Bridge from old-gym-API environments to the gymnasium API that stable_ppo2 uses internally.

SB2 code and user envs often follow the old gym contract (``reset() -> obs``, ``step() -> 4-tuple``, ``seed()``,
``render(mode)``) and may carry spaces from the legacy ``gym`` package. :func:`to_gymnasium` hides all of that behind a
``gymnasium.Env`` so that the vectorised envs only deal with one API.
"""
from collections import OrderedDict
from typing import Any, Dict, Optional, Tuple

import gymnasium
import numpy as np
from gymnasium import spaces
from gymnasium.envs.registration import EnvSpec


def convert_space(space: Any) -> spaces.Space:
    """Return ``space`` as a gymnasium space; legacy ``gym.spaces`` objects are rebuilt by class name.

    :raises TypeError: for a space type that has no gymnasium equivalent here
    """
    if isinstance(space, spaces.Space):
        return space
    kind = type(space).__name__
    if kind == "Box":
        return spaces.Box(low=np.asarray(space.low), high=np.asarray(space.high), dtype=space.dtype)
    if kind == "Discrete":
        return spaces.Discrete(int(space.n), start=int(getattr(space, "start", 0)))
    if kind == "MultiDiscrete":
        return spaces.MultiDiscrete(np.asarray(space.nvec), dtype=space.dtype)
    if kind == "MultiBinary":
        return spaces.MultiBinary(space.n)
    if kind == "Tuple":
        return spaces.Tuple(tuple(convert_space(sub) for sub in space.spaces))
    if kind == "Dict":
        return spaces.Dict(OrderedDict((key, convert_space(sub)) for key, sub in space.spaces.items()))
    raise TypeError(f"Cannot convert space {space!r} of type {type(space).__module__}.{kind} to a gymnasium space")


def _convert_spec(spec: Any) -> Optional[EnvSpec]:
    """A gymnasium ``EnvSpec`` carrying the id and limits of a legacy spec (gymnasium wrappers need the new class)."""
    if spec is None or isinstance(spec, EnvSpec):
        return spec
    try:
        return EnvSpec(
            id=spec.id,
            reward_threshold=getattr(spec, "reward_threshold", None),
            max_episode_steps=getattr(spec, "max_episode_steps", None),
        )
    except (AttributeError, TypeError, ValueError, gymnasium.error.Error):
        return None


class LegacyEnvAdapter(gymnasium.Env):
    """Presents an env that is not a ``gymnasium.Env`` through the gymnasium API.

    Works with the old API (``reset() -> obs``; ``step() -> (obs, reward, done, info)``) and, by looking at what the
    calls return, with duck-typed new-API envs (``reset() -> (obs, info)``; ``step() -> 5-tuple``). Old-API steps are
    split with the ``TimeLimit.truncated`` info key that gym's ``TimeLimit`` wrapper sets. Unknown attributes are
    looked up on the wrapped env.
    """

    def __init__(self, env: Any) -> None:
        self.env = env
        self.observation_space = convert_space(env.observation_space)
        self.action_space = convert_space(env.action_space)
        self.metadata = getattr(env, "metadata", {})
        self.spec = _convert_spec(getattr(env, "spec", None))
        # Old-API envs take the render mode per call; new-API ones fix it at construction.
        self.render_takes_mode = getattr(env, "old_gym_api", False) or not hasattr(env, "render_mode")
        self.render_mode = getattr(env, "render_mode", None)
        # A 2-tuple whose second item is a dict is a new-API reset, unless such a pair is a valid observation.
        obs_space = self.observation_space
        self._pair_obs = (
            isinstance(obs_space, spaces.Tuple) and len(obs_space.spaces) == 2 and isinstance(obs_space[1], spaces.Dict)
        )

    def reset(self, *, seed: Optional[int] = None, options: Optional[Dict[str, Any]] = None) -> Tuple[Any, Dict]:
        kwargs: Dict[str, Any] = {} if options is None else {"options": options}
        if seed is not None:
            if hasattr(self.env, "seed"):
                self.env.seed(seed)
            else:
                kwargs["seed"] = seed
        result = self.env.reset(**kwargs)
        if isinstance(result, tuple) and len(result) == 2 and isinstance(result[1], dict) and not self._pair_obs:
            return result
        return result, {}

    def step(self, action: Any) -> Tuple[Any, Any, bool, bool, Dict]:
        result = self.env.step(action)
        if len(result) == 5:
            return result
        obs, reward, done, info = result
        truncated = bool(done and info.get("TimeLimit.truncated", False))
        return obs, reward, bool(done) and not truncated, truncated, info

    def render(self, mode: Optional[str] = None) -> Any:
        """Render with ``mode`` (old-API envs, default ``'human'``) or with the env's own render mode."""
        if self.render_takes_mode:
            return self.env.render(mode=mode or "human")
        return self.env.render()

    def close(self) -> None:
        self.env.close()

    def set_wrapper_attr(self, name: str, value: Any, *, force: bool = True) -> bool:
        """Set ``name`` on the wrapped env (the adapter is meant to be invisible) unless the adapter owns it."""
        if name in self.__dict__ or hasattr(type(self), name):
            setattr(self, name, value)
        elif force or hasattr(self.env, name):
            setattr(self.env, name, value)
        else:
            return False
        return True

    def __getattr__(self, name: str) -> Any:
        # `env` and dunders are never forwarded: they are missing only while unpickling.
        if name == "env" or name.startswith("__"):
            raise AttributeError(name)
        if isinstance(self.env, gymnasium.Env):  # a gymnasium wrapper speaking the old API (Monitor): its chain
            return self.env.get_wrapper_attr(name)
        return getattr(self.env, name)

    def __repr__(self) -> str:
        return f"<LegacyEnvAdapter<{self.env!r}>>"


def to_gymnasium(env: Any) -> gymnasium.Env:
    """Return ``env`` unchanged if it is a ``gymnasium.Env``, else wrapped in a :class:`LegacyEnvAdapter`.

    A gymnasium wrapper that presents an old-API env through the old API (a ``Monitor`` around one: its
    ``old_gym_api`` is True) is wrapped too."""
    if isinstance(env, gymnasium.Env) and not getattr(env, "old_gym_api", False):
        return env
    return LegacyEnvAdapter(env)


def render_env(env: gymnasium.Env, mode: str) -> Any:
    """Render ``env`` in ``mode`` the way SB2's ``env.render(mode=mode)`` did.

    Old-API envs (behind a :class:`LegacyEnvAdapter`) take the mode per call. Gymnasium envs fix it at construction,
    so a different mode is an error rather than a silent ``None``.
    """
    base = env.unwrapped
    if isinstance(base, LegacyEnvAdapter) and base.render_takes_mode:
        return base.render(mode=mode)
    render_mode = getattr(env, "render_mode", None)
    if render_mode != mode:
        raise ValueError(
            f"Cannot render {env} in mode {mode!r}: gymnasium envs choose their render mode when they are made "
            f"and this one has render_mode={render_mode!r}; create it with render_mode={mode!r}"
        )
    return env.render()


# Env ids given as strings (``PPO2(policy, "CartPole-v1")``, ``make_vec_env("CartPole-v1")``) are made here.
# ``stable_ppo2.legacy`` replaces the maker while legacy scripts run, so that ids are made as SB2 made them:
# with the old-API ``gym.make`` of its gym compatibility module (which maps retired ids and renders rgb_array).
_env_id_maker: Optional[Any] = None


def set_env_id_maker(maker: Optional[Any]) -> Optional[Any]:
    """Make env ids with ``maker(env_id, **kwargs)`` from now on (None: ``gymnasium.make``).

    Returns the previous maker.
    """
    global _env_id_maker
    previous, _env_id_maker = _env_id_maker, maker
    return previous


def make_env_from_id(env_id: str, **kwargs: Any) -> Any:
    """The env an id names: ``gymnasium.make(env_id, **kwargs)``, or the maker set with :func:`set_env_id_maker`."""
    if _env_id_maker is not None:
        return _env_id_maker(env_id, **kwargs)
    return gymnasium.make(env_id, **kwargs)
