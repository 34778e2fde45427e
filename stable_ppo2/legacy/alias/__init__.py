"""The module ``import stable_baselines`` gives under :mod:`stable_ppo2.legacy`.

Its attributes are stable_ppo2's (``PPO2``, and the submodules ``common``, ``ppo2``, ``bench``,
``logger``, ``gail``, ``results_plotter``, imported on first access as SB2's ``__init__`` imported
them); ``stable_baselines.X`` submodules are stable_ppo2's own modules (see the alias finder).
SB2's other algorithms are placeholders (``stable_ppo2.legacy.unported``). ``__version__`` is the SB2
version whose API stable_ppo2
follows (legacy code compares it); stable_ppo2's own version is ``stable_ppo2_version``.
"""
import importlib

from stable_ppo2 import __version__ as _own_version
from stable_ppo2.legacy import RETIRED_ALGORITHMS

__version__ = "2.10.2"
stable_ppo2_version = _own_version

_SUBMODULES = ("common", "ppo2", "bench", "logger", "gail", "results_plotter")


def __getattr__(name):
    if name == "PPO2":
        return importlib.import_module("stable_ppo2.ppo2").PPO2
    if name in RETIRED_ALGORITHMS:  # a placeholder: importable and subclassable, fails when used
        from stable_ppo2.legacy.unported import unported_attribute

        return unported_attribute(name)
    if name in _SUBMODULES:
        return importlib.import_module("stable_baselines." + name)
    raise AttributeError(f"module 'stable_baselines' has no attribute {name!r}")


def __dir__():
    return sorted(list(globals()) + ["PPO2"] + list(_SUBMODULES))


__all__ = ["PPO2", "__version__"]
