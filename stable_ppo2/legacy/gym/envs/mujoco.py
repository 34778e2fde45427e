"""``gym.envs.mujoco``: gymnasium's mujoco envs as old-API classes (``old_api_classes``)."""
from stable_ppo2.legacy.gym.envs.old_api_classes import module_getattr

__getattr__, __dir__ = module_getattr("gymnasium.envs.mujoco", __name__)
