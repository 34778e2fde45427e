"""``gym.envs.box2d``: gymnasium's box2d envs as old-API classes (``old_api_classes``)."""
from stable_ppo2.legacy.gym.envs.old_api_classes import module_getattr

__getattr__, __dir__ = module_getattr("gymnasium.envs.box2d", __name__)
