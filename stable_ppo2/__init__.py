"""stable_ppo2: Stable-Baselines 2 PPO2 on TensorFlow 2, gymnasium and current Python.

TensorFlow is imported lazily (``from stable_ppo2 import PPO2`` triggers it), so env workers and
utilities that only need the VecEnv layer start fast. The log settings below are set before any
TensorFlow import so users see no start-up noise. TensorFlow's oneDNN kernels stay on (TF's default):
seeded runs are still repeatable, SB2's outputs and updates are still matched within 1e-6, and CNN
policies train about 1.5x faster; ``TF_ENABLE_ONEDNN_OPTS=0`` turns them off.
"""
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

__version__ = "0.1.0"

_LAZY = {"PPO2": "stable_ppo2.ppo2"}


def __getattr__(name):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'stable_ppo2' has no attribute {name!r}")


__all__ = ["PPO2", "__version__"]
