"""Vectorised environments with SB2's API (``stable_baselines.common.vec_env``) over gymnasium envs."""
from stable_ppo2.common.vec_env.base_vec_env import (
    AlreadySteppingError,
    CloudpickleWrapper,
    NotSteppingError,
    VecEnv,
    VecEnvWrapper,
)
from stable_ppo2.common.vec_env.dummy_vec_env import DummyVecEnv
from stable_ppo2.common.vec_env.envpool_vec_env import EnvPoolVecEnv
from stable_ppo2.common.vec_env.ray_vec_env import RayVecEnv
from stable_ppo2.common.vec_env.subproc_vec_env import SubprocVecEnv
from stable_ppo2.common.vec_env.vec_check_nan import VecCheckNan
from stable_ppo2.common.vec_env.vec_frame_stack import VecFrameStack
from stable_ppo2.common.vec_env.vec_normalize import VecNormalize, sync_envs_normalization, unwrap_vec_normalize
from stable_ppo2.common.vec_env.vec_video_recorder import VecVideoRecorder

__all__ = [
    "AlreadySteppingError",
    "CloudpickleWrapper",
    "DummyVecEnv",
    "EnvPoolVecEnv",
    "NotSteppingError",
    "RayVecEnv",
    "SubprocVecEnv",
    "VecCheckNan",
    "VecEnv",
    "VecEnvWrapper",
    "VecFrameStack",
    "VecNormalize",
    "VecVideoRecorder",
    "sync_envs_normalization",
    "unwrap_vec_normalize",
]
