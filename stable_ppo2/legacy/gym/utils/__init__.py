"""``gym.utils``: ``seeding`` (gym 0.21's ``RandomState`` generators) and gymnasium's ``EzPickle``."""
from gymnasium.utils import EzPickle

from stable_ppo2.legacy.gym.utils import seeding

__all__ = ["EzPickle", "seeding"]
