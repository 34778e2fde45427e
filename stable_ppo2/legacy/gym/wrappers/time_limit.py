"""``gym.wrappers.time_limit``: where gym's ``TimeLimit`` lived."""
from stable_ppo2.legacy.gym.wrappers import TimeLimit

__all__ = ["TimeLimit"]
