"""SB2's ``save_util`` module path: the model-file formats, errors and helpers, re-exported from
:mod:`stable_ppo2.common.model_files` (where they are implemented)."""
from stable_ppo2.common.model_files.errors import (
    FallbackWarning,
    IgnoredEntryWarning,
    ModelDataError,
    ModelFileError,
    UnsafeFileError,
    UnsupportedFormatError,
)
from stable_ppo2.common.model_files.formats import (
    FORMAT_VERSION,
    SCHEDULE_ENTRIES,
    PathOrFile,
    bytes_to_params,
    check_format_version,
    data_to_json,
    format_comment,
    is_json_serializable,
    json_to_data,
    load_from_file,
    params_to_bytes,
    save_to_pickle,
    save_to_zip,
    spaces_match,
)

__all__ = ["FORMAT_VERSION", "SCHEDULE_ENTRIES", "PathOrFile", "FallbackWarning", "IgnoredEntryWarning",
           "ModelDataError", "ModelFileError", "UnsafeFileError", "UnsupportedFormatError", "bytes_to_params",
           "check_format_version", "data_to_json", "format_comment", "is_json_serializable", "json_to_data",
           "load_from_file", "params_to_bytes", "save_to_pickle", "save_to_zip", "spaces_match"]
