"""SB2's ``stable_baselines.ppo2`` package: the PPO2 model."""
from stable_ppo2.ppo2.ppo2 import PPO2

__all__ = ["PPO2"]
