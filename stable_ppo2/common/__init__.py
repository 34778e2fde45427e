"""SB2's ``stable_baselines.common``: shared building blocks.

Names are resolved lazily so that ``stable_ppo2.common.vec_env`` (imported by env worker
processes) does not import TensorFlow.
"""
import importlib

_LAZY = {
    "make_vec_env": "stable_ppo2.common.cmd_util",
    "set_global_seeds": "stable_ppo2.common.misc_util",
    "explained_variance": "stable_ppo2.common.math_util",
    "BaseRLModel": "stable_ppo2.common.base_class",
    "ActorCriticRLModel": "stable_ppo2.common.base_class",
    "SetVerbosity": "stable_ppo2.common.base_class",
    "TensorboardWriter": "stable_ppo2.common.base_class",
    "zipsame": "stable_ppo2.common.misc_util",
    "boolean_flag": "stable_ppo2.common.misc_util",
    "discount_with_boundaries": "stable_ppo2.common.math_util",
    "explained_variance_2d": "stable_ppo2.common.math_util",
}


def __getattr__(name):
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'stable_ppo2.common' has no attribute {name!r}")


__all__ = list(_LAZY)
