"""Helpers shared by the VecEnvs: observation buffers for Dict/Tuple spaces and SB2's per-env step contract."""
from collections import OrderedDict
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import gymnasium
import numpy as np
from gymnasium import spaces

ObsKey = Any  # None for a plain space, the key for Dict, the position for Tuple


def _subspaces(obs_space: spaces.Space) -> Dict[ObsKey, spaces.Space]:
    if isinstance(obs_space, spaces.Dict):
        return OrderedDict(obs_space.spaces.items())
    if isinstance(obs_space, spaces.Tuple):
        return OrderedDict(enumerate(obs_space.spaces))
    return OrderedDict([(None, obs_space)])


def obs_space_info(
    obs_space: spaces.Space,
) -> Tuple[List[ObsKey], Dict[ObsKey, Tuple[int, ...]], Dict[ObsKey, np.dtype]]:
    """Keys, shapes and dtypes of the arrays that hold an observation of ``obs_space``.

    Dict spaces give their keys, Tuple spaces their positions, any other space the single key ``None``.
    """
    subspaces = _subspaces(obs_space)
    keys = list(subspaces)
    shapes = {key: tuple(space.shape or ()) for key, space in subspaces.items()}
    dtypes = {key: np.dtype(space.dtype) for key, space in subspaces.items()}
    return keys, shapes, dtypes


def copy_obs_dict(obs: Dict[ObsKey, np.ndarray]) -> Dict[ObsKey, np.ndarray]:
    """Copy of an observation buffer dict, with copied arrays."""
    return OrderedDict((key, np.copy(value)) for key, value in obs.items())


def dict_to_obs(obs_space: spaces.Space, obs_dict: Dict[ObsKey, np.ndarray]) -> Any:
    """Turn a buffer dict back into what the space holds: OrderedDict for Dict, tuple for Tuple, else the array."""
    if isinstance(obs_space, spaces.Dict):
        return obs_dict
    if isinstance(obs_space, spaces.Tuple):
        return tuple(obs_dict[i] for i in range(len(obs_space.spaces)))
    assert set(obs_dict) == {None}, "a plain observation space must have a single buffer under the key None"
    return obs_dict[None]


def _join_obs(parts: Sequence[Any], obs_space: spaces.Space, join: Callable[[List[np.ndarray]], np.ndarray]) -> Any:
    """Apply ``join`` (``np.stack``, ``np.concatenate``) to each buffer of ``parts``, keeping the space's structure."""
    if isinstance(obs_space, spaces.Dict):
        return OrderedDict((key, join([part[key] for part in parts])) for key in obs_space.spaces)
    if isinstance(obs_space, spaces.Tuple):
        return tuple(join([part[i] for part in parts]) for i in range(len(obs_space.spaces)))
    return join(list(parts))


def stack_obs(obs_list: Sequence[Any], obs_space: spaces.Space) -> Any:
    """Stack per-env observations into a batch of the same structure (OrderedDict / tuple / array)."""
    return _join_obs(obs_list, obs_space, np.stack)


def concat_obs(batches: Sequence[Any], obs_space: spaces.Space) -> Any:
    """Join batches of observations (each as :func:`stack_obs` makes them) along the env axis, in order."""
    return _join_obs(batches, obs_space, np.concatenate)


class AutoResetEnv:
    """One gymnasium env driven with SB2's contract; shared by DummyVecEnv and SubprocVecEnv's workers.

    ``step`` returns ``(obs, reward, done, info)`` with ``done = terminated or truncated``. At the end of an episode
    the info gets ``terminal_observation`` (the last observation) and ``TimeLimit.truncated`` (cut by a time limit,
    not terminated), and the returned observation is the first one of the next episode. A seed given to :meth:`seed`
    is used by the env's next reset, automatic or not: gymnasium envs can only be seeded through ``reset``.
    """

    __slots__ = ("env", "pending_seed")

    def __init__(self, env: gymnasium.Env) -> None:
        self.env = env
        self.pending_seed: Optional[int] = None

    def reset(self) -> Any:
        seed, self.pending_seed = self.pending_seed, None
        obs, _ = self.env.reset(seed=seed)
        return obs

    def step(self, action: Any) -> Tuple[Any, Any, bool, Dict[str, Any]]:
        obs, reward, terminated, truncated, info = self.env.step(action)
        if terminated or truncated:
            info = dict(info)  # never write into a dict the env may reuse
            info["terminal_observation"] = obs
            info["TimeLimit.truncated"] = bool(truncated and not terminated)
            return self.reset(), reward, True, info
        return obs, reward, False, info

    def seed(self, seed: Optional[int]) -> Optional[int]:
        """Seed the next reset and the action space; return ``seed``."""
        self.pending_seed = seed
        if seed is not None:
            self.env.action_space.seed(seed)
        return seed
