"""SB2's ``common.tile_images`` import path (the function lives beside the VecEnv base class)."""
from stable_ppo2.common.vec_env.base_vec_env import tile_images

__all__ = ["tile_images"]
