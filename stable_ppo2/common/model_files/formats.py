"""SB2's model file formats: the zip (``data`` JSON, ``parameters`` npz, ``parameter_list``) and the
legacy cloudpickle ``.pkl``; reading them safely.

Entries of the data dict that JSON cannot hold (classes, spaces, schedules) are stored as
``{":type:": ..., ":serialized:": base64(cloudpickle)}`` plus readable first-level fields, as SB2
does. Saving to a path is atomic: the archive is written beside the target and moved into place.

Reading never runs code carried by the file unless ``trust=True``: every pickle goes through
:mod:`~stable_ppo2.common.model_files.unpickler`. Schedules pickled by value (SB2's ``constfn`` closures) fall
back to their constant, or to the constructor's default, with a :class:`FallbackWarning`; any other
failure is one :class:`ModelFileError` (a RuntimeError) naming the file and the entry.
"""
from __future__ import annotations

import base64
import io
import json
import os
import warnings
import zipfile
from collections import OrderedDict
from typing import IO, Any, Dict, Optional, Tuple, Union

import cloudpickle
import numpy as np
from gymnasium import spaces as gym_spaces

from stable_ppo2.common.model_files.atomic import atomic_write
from stable_ppo2.common.model_files.errors import (
    FallbackWarning,
    ModelFileError,
    UnsafeFileError,
    UnsupportedFormatError,
)
from stable_ppo2.common.model_files.unpickler import (
    NO_FALLBACK,
    check_entry,
    read_pickle,
    recover_schedule,
    refused_reason,
)

PathOrFile = Union[str, os.PathLike, IO[bytes]]

#: The zip format this version writes, recorded in the archive's comment as JSON
#: ``{"stable_ppo2_format": "1.0", "stable_ppo2_version": ...}`` (SB2 ignores comments; SB2's files
#: have none and read as they are). A file whose major format is newer is refused
#: (:class:`UnsupportedFormatError`); a newer minor format only adds things and loads.
FORMAT_VERSION = (1, 0)


def is_json_serializable(item: Any) -> bool:
    try:
        json.dumps(item)
    except (TypeError, ValueError, OverflowError):
        return False
    return True


def data_to_json(data: Dict[str, Any]) -> str:
    """SB2's JSON encoding of the data dict (non-JSON values cloudpickled and base64-encoded)."""
    serializable = OrderedDict()
    for key, value in data.items():
        if is_json_serializable(value):
            serializable[key] = value
            continue
        entry = OrderedDict([(":type:", str(type(value))),
                             (":serialized:", base64.b64encode(cloudpickle.dumps(value)).decode())])
        fields = value if isinstance(value, dict) else (vars(value) if hasattr(value, "__dict__") else None)
        if fields is not None:  # SB2: a dict's items, or vars() of an object or class
            for name, field in fields.items():
                entry[str(name)] = field if is_json_serializable(field) else str(field)
        serializable[key] = entry
    return json.dumps(serializable, indent=4)


#: Entries that hold a schedule: a function pickled by value there falls back to a constant.
SCHEDULE_ENTRIES = ("learning_rate", "cliprange", "cliprange_vf")


def json_to_data(json_string: str, custom_objects: Optional[Dict[str, Any]] = None, *,
                 trust: bool = False, file_name: str = "the model file",
                 defaults: Optional[Dict[str, Any]] = None) -> Dict[str, Any]:
    """Decode :func:`data_to_json`.

    Entries named in ``custom_objects`` are used as given and never deserialised (so an object
    that cannot be unpickled any more can be replaced). The others are unpickled safely (see
    :mod:`~stable_ppo2.common.model_files.unpickler`; ``trust=True`` lifts the allow-list); ``defaults``
    gives the fallback of schedule entries whose function cannot be rebuilt.
    """
    if custom_objects is not None and not isinstance(custom_objects, dict):
        raise ValueError("custom_objects argument must be a dict or None")
    custom_objects = custom_objects or {}
    try:
        raw = json.loads(json_string)
    except ValueError as error:
        raise ModelFileError(f"Could not read model file {file_name}: its 'data' entry is not valid "
                             f"JSON ({error})") from error
    if not isinstance(raw, dict):
        raise ModelFileError(f"Could not read model file {file_name}: its 'data' entry is not a JSON object")
    data = OrderedDict()
    for key, value in raw.items():
        if key in custom_objects:
            data[key] = custom_objects[key]
        elif isinstance(value, dict) and ":serialized:" in value:
            data[key] = _deserialize_entry(key, value[":serialized:"], trust, file_name, defaults)
        else:
            data[key] = value
    return data


def _entry_fail(key: str, file_name: str):
    """The error of one entry of a model file (see :data:`~.unpickler.Fail`)."""
    def fail(reason: str, unsafe: bool = False) -> ModelFileError:
        error_type = UnsafeFileError if unsafe else ModelFileError
        return error_type(f"Could not deserialize object {key} of model file {file_name}: {reason}. "
                          f"Consider using `custom_objects` argument to replace this object "
                          f"(custom_objects={{{key!r}: ...}}, or {key}=... as a load() keyword).")
    return fail


def _schedule_fallback(key: str, file_name: str, defaults: Optional[Dict[str, Any]]):
    """For schedule entries: the constant of SB2's ``constfn``, else the constructor's default
    (with a :class:`FallbackWarning`); other entries have no fallback."""
    if key not in SCHEDULE_ENTRIES:
        return None

    def fallback(node, why: str):
        found, constant, description = recover_schedule(node)
        if found:
            warnings.warn(f"Model file {file_name}: entry '{key}' is a function pickled by value "
                          f"({description}) that {why}; using its constant value {constant!r}, "
                          f"recovered from the function's closure.", FallbackWarning)
            return constant
        default = (defaults or {}).get(key, NO_FALLBACK)
        if default is not NO_FALLBACK:
            warnings.warn(f"Model file {file_name}: entry '{key}' is a function pickled by value "
                          f"({description}) that {why}, and no constant could be recovered from "
                          f"it; using the default {key}={default!r}. Pass {key}=... to load() to "
                          "set it.", FallbackWarning)
        return default
    return fallback


def _deserialize_entry(key: str, serialized: Any, trust: bool, file_name: str, defaults):
    fail = _entry_fail(key, file_name)
    try:
        raw = base64.b64decode(str(serialized).encode(), validate=False)
    except Exception as error:  # binascii.Error: corrupt base64
        raise fail(f"corrupt base64 ({error})") from error
    value, unpickler = read_pickle(raw, trust, fail, "not a valid pickle")
    return check_entry(value, unpickler, trust, fail, fallback=_schedule_fallback(key, file_name, defaults))


def params_to_bytes(params: Dict[str, np.ndarray]) -> bytes:
    buffer = io.BytesIO()
    # numpy's stub has an ``allow_pickle: bool`` keyword too, which mypy matches against the arrays
    np.savez(buffer, **params)  # type: ignore[arg-type]
    return buffer.getvalue()


def bytes_to_params(serialized: bytes, param_list: list) -> "OrderedDict[str, np.ndarray]":
    if not (isinstance(param_list, list) and all(isinstance(name, str) for name in param_list)):
        raise TypeError(f"parameter_list is not a list of names: {str(param_list)[:100]}")
    with np.load(io.BytesIO(serialized), allow_pickle=False) as arrays:
        return OrderedDict((name, arrays[name]) for name in param_list)


def format_comment() -> bytes:
    """The zip comment that records :data:`FORMAT_VERSION` (and the package version)."""
    from stable_ppo2 import __version__  # pylint: disable=import-outside-toplevel

    return json.dumps({"stable_ppo2_format": "%d.%d" % FORMAT_VERSION,
                       "stable_ppo2_version": __version__}).encode()


def check_format_version(comment: bytes, name: str) -> Optional[Tuple[int, int]]:
    """The ``(major, minor)`` format a zip comment declares (None: no declaration, as in SB2's
    files or comments that are not ours); :class:`UnsupportedFormatError` for a newer major."""
    try:
        declared = json.loads(comment.decode())
    except (ValueError, RecursionError):  # not JSON (or not UTF-8): not our declaration
        return None
    if not isinstance(declared, dict) or "stable_ppo2_format" not in declared:
        return None
    version = declared["stable_ppo2_format"]
    parts = version.split(".") if isinstance(version, str) else []
    if len(parts) != 2 or not all(part.isascii() and part.isdigit() for part in parts):
        raise ModelFileError(f"Could not load model file {name}: its format version {version!r} is "
                             "not of the form 'MAJOR.MINOR'")
    major, minor = int(parts[0]), int(parts[1])
    if major > FORMAT_VERSION[0]:
        written_by = declared.get("stable_ppo2_version", "a newer version")
        raise UnsupportedFormatError(
            f"Could not load model file {name}: it uses model-file format {major}.{minor} (written by "
            f"stable_ppo2 {written_by}), and this stable_ppo2 reads format "
            f"{FORMAT_VERSION[0]}.x and older. Upgrade stable_ppo2 to load it.")
    return major, minor


def _write_zip(file: IO[bytes], data_json: Optional[str], params: Optional[Dict[str, np.ndarray]],
               extra_entries: Optional[Dict[str, bytes]] = None):
    with zipfile.ZipFile(file, "w", compression=zipfile.ZIP_STORED) as archive:
        archive.comment = format_comment()
        if data_json is not None:
            archive.writestr("data", data_json)
        if params is not None:
            archive.writestr("parameters", params_to_bytes(params))
            archive.writestr("parameter_list", json.dumps(list(params.keys()), indent=4))
        for name, payload in (extra_entries or {}).items():
            archive.writestr(name, payload)


def save_to_zip(save_path: PathOrFile, data: Optional[Dict[str, Any]],
                params: Optional[Dict[str, np.ndarray]],
                extra_entries: Optional[Dict[str, bytes]] = None) -> None:
    """Write SB2's zip layout; a ``str`` path without extension gets ``.zip`` appended.

    ``extra_entries``: more files in the zip (SB2 ignores entries it does not know)."""
    data_json = data_to_json(data) if data is not None else None
    if isinstance(save_path, (str, os.PathLike)):
        save_path = os.fspath(save_path)
        if not os.path.splitext(save_path)[1]:
            save_path += ".zip"
        atomic_write(save_path, lambda file: _write_zip(file, data_json, params, extra_entries))
    else:
        _write_zip(save_path, data_json, params, extra_entries)


def read_zip_entry(load_path: PathOrFile, name: str) -> Optional[bytes]:
    """The bytes of entry ``name`` of a model zip (a path, tried with ``.zip`` too, or a seekable
    file), or None if the file is not a zip or has no such entry."""
    if isinstance(load_path, (str, os.PathLike)):
        path = os.fspath(load_path)
        load_path = next((p for p in (path, path + ".zip") if os.path.isfile(p)), path)
    elif not load_path.seekable():
        return None
    else:
        load_path.seek(0)
    try:
        with zipfile.ZipFile(load_path) as archive:
            return archive.read(name) if name in archive.namelist() else None
    except (zipfile.BadZipFile, FileNotFoundError):
        return None


def save_to_pickle(save_path: PathOrFile, data: Dict[str, Any], params: Dict[str, np.ndarray]) -> None:
    """SB2's legacy format: ``cloudpickle.dump((data, params))``; ``.pkl`` appended to bare paths."""
    if isinstance(save_path, (str, os.PathLike)):
        save_path = os.fspath(save_path)
        if not os.path.splitext(save_path)[1]:
            save_path += ".pkl"
        atomic_write(save_path, lambda file: cloudpickle.dump((data, params), file))
    else:
        cloudpickle.dump((data, params), save_path)


def spaces_match(space_a: Any, space_b: Any) -> bool:
    """``space_a == space_b``, except that Box bounds at the dtype's largest finite value count as
    infinite: gym wrote unbounded dimensions as ``float32`` max (SB2's CartPole-v1 files),
    gymnasium writes ``inf``, and a model loaded from an old file must accept today's env."""
    if space_a == space_b:
        return True
    if not (isinstance(space_a, gym_spaces.Box) and isinstance(space_b, gym_spaces.Box)):
        return False
    if space_a.shape != space_b.shape or space_a.dtype != space_b.dtype:
        return False
    if not np.issubdtype(space_a.dtype, np.floating):
        return False
    big = np.finfo(space_a.dtype).max

    def unbounded(bound):
        bound = np.asarray(bound, np.float64)
        return np.where(np.abs(bound) >= big, np.sign(bound) * np.inf, bound)

    return bool(np.array_equal(unbounded(space_a.low), unbounded(space_b.low))
                and np.array_equal(unbounded(space_a.high), unbounded(space_b.high)))


def _resolve_path(load_path: str) -> str:
    """SB2's lookup: the path, then ``path.zip``, then ``path.pkl`` (quirk 19 fixed)."""
    for candidate in (load_path, load_path + ".zip", load_path + ".pkl"):
        if os.path.isfile(candidate):
            return candidate
    raise ValueError(f"Error: the file {load_path} could not be found")


def _load_pickle(file: IO[bytes], name: str, load_data: bool, custom_objects: Dict[str, Any],
                 trust: bool, defaults):
    """SB2's legacy format: one pickle of ``(data, params)``, read safely.

    The whole pickle is read with placeholders for everything outside the allow-list (nothing
    runs), then each entry is checked as in a zip; entries replaced by ``custom_objects`` (or not
    loaded) are not used, but a refused name in them still refuses the file.
    """
    warnings.warn("It appears you are loading from a file with old format. Older cloudpickle "
                  "format has been replaced with zip-archived models. Consider saving the model "
                  "with the new format.", DeprecationWarning)

    def fail(reason: str, unsafe: bool = False) -> ModelFileError:
        return (UnsafeFileError if unsafe else ModelFileError)(f"Could not load model file {name}: {reason}")

    content, unpickler = read_pickle(file.read(), trust, fail, "it is neither a zip archive nor a "
                                     "complete pickle (truncated or corrupt file?)")
    if not (isinstance(content, tuple) and len(content) == 2 and isinstance(content[0], dict)):
        raise fail(f"the pickle does not hold SB2's (data, parameters) pair (got {type(content).__name__})")
    raw_data, params = content
    data: Optional[Dict[str, Any]] = None
    if load_data:
        data = OrderedDict()
        for key, value in raw_data.items():
            if key not in custom_objects:
                data[key] = check_entry(value, unpickler, trust, _entry_fail(key, name), all_refused=False,
                                        fallback=_schedule_fallback(key, name, defaults))
        data.update(custom_objects)  # SB2: data.update(custom_objects)
    params = check_entry(params, unpickler, trust, _entry_fail("params", name), all_refused=False)
    if unpickler.refused:  # in entries that were not used: the file is refused all the same
        raise fail(refused_reason(unpickler.refused), True)
    return data, _check_params(params, name)


def _check_params(params, name: str):
    if isinstance(params, dict):
        values = list(params.values())
    elif isinstance(params, (list, tuple)):
        values = list(params)
        params = list(params)
    else:
        raise ModelFileError(f"Could not load model file {name}: its parameters are a "
                             f"{type(params).__name__}, not a dict or list of arrays")
    for value in values:
        if not isinstance(value, (np.ndarray, np.generic, float, int, list)):
            raise ModelFileError(f"Could not load model file {name}: a parameter is a "
                                 f"{type(value).__name__}, not an array")
    return params


def load_from_file(load_path: PathOrFile, load_data: bool = True,
                   custom_objects: Optional[Dict[str, Any]] = None, *, trust: bool = False,
                   defaults: Optional[Dict[str, Any]] = None) -> Tuple[Optional[dict], Any]:
    """``(data, params)`` from a zip (or legacy pickle) path or file-like object.

    ``params`` is an OrderedDict in saved order (a list for the oldest pickles). A ``str`` path
    that does not exist is tried with ``.zip`` and ``.pkl`` appended. ``trust=True`` allows the
    file's pickles to name any function or class (and so to run code); ``defaults`` are the
    fallbacks of schedule entries (see :func:`json_to_data`).

    :raises ModelFileError: (a RuntimeError) the file or one of its entries cannot be read;
        :class:`UnsafeFileError` when safe loading refused it
    """
    if custom_objects is not None and not isinstance(custom_objects, dict):
        raise ValueError("custom_objects argument must be a dict or None")
    custom_objects = dict(custom_objects or {})
    if isinstance(load_path, (str, os.PathLike)):
        path = _resolve_path(os.fspath(load_path))
        with open(path, "rb") as file:
            return _load_from_open_file(file, load_data, custom_objects, path, trust, defaults)
    name = getattr(load_path, "name", None) or repr(load_path)
    return _load_from_open_file(load_path, load_data, custom_objects, str(name), trust, defaults)


def _load_from_open_file(file: IO[bytes], load_data: bool, custom_objects, name: str, trust: bool, defaults):
    start = file.tell() if file.seekable() else 0
    try:
        archive = zipfile.ZipFile(file, "r")
    except Exception:  # BadZipFile, or a damaged directory's UnicodeDecodeError, ValueError, ...
        file.seek(start)
        head = file.read(4)
        file.seek(start)
        if head.startswith(b"PK"):
            raise ModelFileError(f"Could not load model file {name}: it is a corrupt or truncated "
                                 "zip archive") from None
        return _load_pickle(file, name, load_data, custom_objects, trust, defaults)
    with archive:
        check_format_version(archive.comment, name)
        names = archive.namelist()
        data = None
        if "data" in names and load_data:
            try:
                text = archive.read("data").decode()
            except Exception as error:  # BadZipFile (CRC), UnicodeDecodeError, a damaged header's
                # NotImplementedError (compression method) or RuntimeError (encryption flag), ...
                raise ModelFileError(f"Could not load model file {name}: its 'data' entry cannot be "
                                     f"read ({type(error).__name__}: {error})") from error
            data = json_to_data(text, custom_objects=custom_objects, trust=trust, file_name=name,
                                defaults=defaults)
        params = None
        if "parameters" in names:
            if "parameter_list" not in names:
                raise ModelFileError(f"Model file {name} has 'parameters' but no 'parameter_list' entry")
            try:
                param_list = json.loads(archive.read("parameter_list").decode())
                params = bytes_to_params(archive.read("parameters"), param_list)
            except Exception as error:
                raise ModelFileError(f"Could not load model file {name}: its 'parameters' or "
                                     f"'parameter_list' entry cannot be read "
                                     f"({type(error).__name__}: {error})") from error
        return data, params
