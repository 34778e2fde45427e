"""Model files: everything about reading and writing them, one job per module.

- :mod:`.errors`: one error hierarchy under :class:`ModelFileError` (and the warnings);
- :mod:`.atomic`: :func:`atomic_write`, used by every save;
- :mod:`.unpickler`: the safe unpickler and the one sequence that reads a pickle with it;
- :mod:`.formats`: SB2's zip and legacy pickle layouts (``stable_ppo2.common.save_util``);
- :mod:`.schema`: which ``data`` entries a model file may carry, and their checks.

``stable_ppo2.common.save_util`` and ``stable_ppo2.common.safe_pickle`` re-export these under
their earlier (SB2's) module paths.
"""
from stable_ppo2.common.model_files.atomic import atomic_write
from stable_ppo2.common.model_files.errors import (
    TRUST_HINT,
    FallbackWarning,
    IgnoredEntryWarning,
    ModelDataError,
    ModelFileError,
    UnsafeFileError,
    UnsupportedFormatError,
)
from stable_ppo2.common.model_files.formats import load_from_file, save_to_pickle, save_to_zip
from stable_ppo2.common.model_files.schema import DataSchema
from stable_ppo2.common.model_files.unpickler import load_object, load_object_from_path, load_running_mean_std

__all__ = ["atomic_write", "TRUST_HINT", "FallbackWarning", "IgnoredEntryWarning", "ModelDataError",
           "ModelFileError", "UnsafeFileError", "UnsupportedFormatError", "load_from_file", "save_to_pickle",
           "save_to_zip", "DataSchema", "load_object", "load_object_from_path", "load_running_mean_std"]
