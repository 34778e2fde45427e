"""The safe unpickler's former module path: re-exports :mod:`stable_ppo2.common.model_files.unpickler`
(the allow-listed unpickler and its helpers) and the model-file errors."""
from stable_ppo2.common.model_files.errors import (
    TRUST_HINT,
    FallbackWarning,
    ModelDataError,
    ModelFileError,
    UnsafeFileError,
    UnsupportedFormatError,
)
from stable_ppo2.common.model_files.unpickler import (
    FileUnpickler,
    Report,
    allowed_global,
    check_entry,
    code_error,
    describe_code,
    finalize_entry,
    load_object,
    load_object_from_path,
    load_running_mean_std,
    map_module,
    read_pickle,
    recover_schedule,
    unpickle,
)

__all__ = ["TRUST_HINT", "FallbackWarning", "ModelDataError", "ModelFileError", "UnsafeFileError",
           "UnsupportedFormatError", "FileUnpickler", "Report", "allowed_global", "check_entry", "code_error",
           "describe_code", "finalize_entry", "load_object", "load_object_from_path", "load_running_mean_std",
           "map_module", "read_pickle", "recover_schedule", "unpickle"]
