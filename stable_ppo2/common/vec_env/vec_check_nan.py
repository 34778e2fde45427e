"""VecCheckNan: reports NaN/inf in actions, observations, rewards and dones, naming where they came from."""
import warnings
from collections.abc import Mapping
from typing import Any, Iterator, List, Optional, Tuple

import numpy as np

from stable_ppo2.common.vec_env.base_vec_env import VecEnv, VecEnvWrapper


def _arrays(value: Any) -> Iterator[np.ndarray]:
    """The arrays inside ``value`` (Dict and Tuple observations hold several)."""
    if isinstance(value, Mapping):
        for item in value.values():
            yield from _arrays(item)
    elif isinstance(value, tuple):
        for item in value:
            yield from _arrays(item)
    else:
        yield np.asarray(value)


class VecCheckNan(VecEnvWrapper):
    """Checks actions (in ``step_async``), observations, rewards, dones (``step_wait``) and reset observations.

    :param venv: the VecEnv to wrap
    :param raise_exception: raise ValueError instead of warning
    :param warn_once: warn only for the first problem found
    :param check_inf: look for infinities too
    """

    def __init__(
        self, venv: VecEnv, raise_exception: bool = False, warn_once: bool = True, check_inf: bool = True
    ) -> None:
        VecEnvWrapper.__init__(self, venv)
        self.raise_exception = raise_exception
        self.warn_once = warn_once
        self.check_inf = check_inf
        self._actions: Optional[np.ndarray] = None
        self._observations: Any = None
        self._user_warned = False

    def step_async(self, actions: np.ndarray) -> None:
        self._check_val(async_step=True, actions=actions)
        self._actions = actions
        self.venv.step_async(actions)

    def step_wait(self) -> Any:
        observations, rewards, news, infos = self.venv.step_wait()
        self._check_val(async_step=False, observations=observations, rewards=rewards, news=news)
        self._observations = observations
        return observations, rewards, news, infos

    def reset(self) -> Any:
        observations = self.venv.reset()
        self._actions = None
        self._check_val(async_step=False, observations=observations)
        self._observations = observations
        return observations

    def _find_invalid(self, **named_values: Any) -> List[Tuple[str, str]]:
        found = []
        for name, value in named_values.items():
            arrays = [arr for arr in _arrays(value) if np.issubdtype(arr.dtype, np.inexact)]
            if self.check_inf and any(np.isinf(arr).any() for arr in arrays):
                found.append((name, "inf"))
            if any(np.isnan(arr).any() for arr in arrays):
                found.append((name, "nan"))
        return found

    def _check_val(self, *, async_step: bool, **named_values: Any) -> None:
        if not self.raise_exception and self.warn_once and self._user_warned:
            return
        found = self._find_invalid(**named_values)
        if not found:
            return
        self._user_warned = True
        msg = ", ".join(f"found {kind} in {name}" for name, kind in found) + ".\r\nOriginated from the "
        if async_step:
            msg += f"RL model, Last given value was: \r\n\tobservations={self._observations}"
        elif self._actions is None:
            msg += "environment observation (at reset)"
        else:
            msg += f"environment, Last given value was: \r\n\taction={self._actions}"
        if self.raise_exception:
            raise ValueError(msg)
        warnings.warn(msg, UserWarning)
