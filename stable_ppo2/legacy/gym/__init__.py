"""The old gym API (gym <= 0.21) over gymnasium, which legacy scripts get as ``gym``.

``python -m stable_ppo2.legacy SCRIPT`` (or ``stable_ppo2.legacy.install_gym()``) makes ``import gym``
give this package when the real ``gym`` is not installed:

- ``gym.make(id)``: the gymnasium env through the old API (``reset() -> obs``, 4-value ``step``,
  ``seed()``, ``render(mode)``), retired ids mapped to today's (``Pendulum-v0`` -> ``Pendulum-v1``);
- ``gym.Env``, ``gym.Wrapper``, ``gym.ObservationWrapper``, ``gym.ActionWrapper``,
  ``gym.RewardWrapper``: old-style base classes to subclass;
- ``gym.spaces``, ``gym.error``, ``gym.logger``: gymnasium's modules (the spaces are gymnasium's
  classes, so ``isinstance`` checks agree everywhere);
- ``gym.register``/``gym.envs.registration.register`` for old-API envs; ``gym.wrappers.TimeLimit``
  and a few other wrappers; ``gym.utils.seeding``.

``__version__`` is the last gym version with this API.
"""
from gymnasium import error, logger, spaces
from gymnasium.spaces import Space

from stable_ppo2.legacy.gym import envs, utils, wrappers
from stable_ppo2.legacy.gym.core import ActionWrapper, Env, ObservationWrapper, OldApiEnv, RewardWrapper, Wrapper
from stable_ppo2.legacy.gym.envs.registration import make, register, spec

__version__ = "0.21.0"

__all__ = ["Env", "Wrapper", "ObservationWrapper", "ActionWrapper", "RewardWrapper", "OldApiEnv", "Space",
           "make", "register", "spec", "spaces", "error", "logger", "envs", "utils", "wrappers"]
