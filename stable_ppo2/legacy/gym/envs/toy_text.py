"""``gym.envs.toy_text``: gymnasium's toy_text envs as old-API classes (``old_api_classes``)."""
from stable_ppo2.legacy.gym.envs.old_api_classes import module_getattr

__getattr__, __dir__ = module_getattr("gymnasium.envs.toy_text", __name__)
