"""``gym.envs``: the registry (gymnasium's, seen through gym's old functions)."""
from stable_ppo2.legacy.gym.envs.registration import EnvSpec, make, register, registry, spec

__all__ = ["EnvSpec", "make", "register", "registry", "spec"]
