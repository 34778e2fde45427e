"""Finding and loading the VecNormalize statistics that belong to a model file.

Two layouts are recognised, looked for beside the model:

- ours: ``vecnormalize.pkl`` (a pickled :class:`VecNormalize`, written by ``stable-ppo2 train``), or
  ``<model>_vecnormalize.pkl`` (written by :class:`CheckpointCallback`);
- the RL zoo's: ``obs_rms.pkl`` and ``ret_rms.pkl`` (pickled SB2 ``RunningMeanStd`` objects) in a folder
  named after the env or the model (``Acrobot-v1/`` beside ``Acrobot-v1.pkl``), or beside the model.

SB2's ``RunningMeanStd`` pickles are read with stable_ppo2's safe unpickler
(:mod:`stable_ppo2.common.model_files.unpickler`), so they need no ``stable_baselines`` module and cannot run code.
"""
from __future__ import annotations

import os
from typing import Any, List, Optional, Tuple

from stable_ppo2.common.model_files.unpickler import load_running_mean_std

__all__ = ["load_running_mean_std", "find_statistics", "wrap_with_statistics"]


def find_statistics(model_path: str, env_id: Optional[str] = None) -> Optional[Tuple[str, str]]:
    """``("vecnormalize", file)`` or ``("rms", folder)`` for the statistics beside ``model_path``, or None."""
    folder = os.path.dirname(os.path.abspath(model_path))
    stem = os.path.splitext(os.path.basename(model_path))[0]
    for candidate in (os.path.join(folder, f"{stem}_vecnormalize.pkl"), os.path.join(folder, "vecnormalize.pkl")):
        if os.path.isfile(candidate):
            return "vecnormalize", candidate
    folders: List[str] = [os.path.join(folder, stem)]
    if env_id:
        folders.append(os.path.join(folder, env_id))
    folders.append(folder)
    for candidate in folders:
        if os.path.isfile(os.path.join(candidate, "vecnormalize.pkl")):
            return "vecnormalize", os.path.join(candidate, "vecnormalize.pkl")
        if os.path.isfile(os.path.join(candidate, "obs_rms.pkl")):
            return "rms", candidate
    return None


def wrap_with_statistics(venv: Any, found: Tuple[str, str]) -> Any:
    """``venv`` in a VecNormalize for evaluation (frozen statistics, raw rewards) from ``find_statistics``."""
    from stable_ppo2.common.vec_env import VecNormalize

    kind, path = found
    if kind == "vecnormalize":
        vec_normalize = VecNormalize.load(path, venv)
    else:
        vec_normalize = VecNormalize(venv)
        vec_normalize.obs_rms = load_running_mean_std(os.path.join(path, "obs_rms.pkl"))
        ret_path = os.path.join(path, "ret_rms.pkl")
        if os.path.isfile(ret_path):
            vec_normalize.ret_rms = load_running_mean_std(ret_path)
    vec_normalize.training = False
    vec_normalize.norm_reward = False
    return vec_normalize
