"""``gym.envs.classic_control``: gymnasium's classic_control envs as old-API classes (``old_api_classes``)."""
from stable_ppo2.legacy.gym.envs.old_api_classes import module_getattr

__getattr__, __dir__ = module_getattr("gymnasium.envs.classic_control", __name__)
