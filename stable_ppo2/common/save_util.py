"""SB2's model file format: a zip with ``data`` (JSON), ``parameters`` (npz) and ``parameter_list``.

Entries of the data dict that JSON cannot hold (classes, spaces, schedules) are stored as
``{":type:": ..., ":serialized:": base64(cloudpickle)}`` plus readable first-level fields, as SB2
does. Saving to a path is atomic: the archive is written beside the target and moved into place.
"""
from __future__ import annotations

import base64
import io
import json
import os
import pickle
import tempfile
import warnings
import zipfile
from collections import OrderedDict
from typing import IO, Any, Dict, Optional, Tuple, Union

import cloudpickle
import numpy as np

PathOrFile = Union[str, os.PathLike, IO[bytes]]


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
        fields = value if isinstance(value, dict) else getattr(value, "__dict__", None)
        if isinstance(fields, dict):
            for name, field in fields.items():
                entry[str(name)] = field if is_json_serializable(field) else str(field)
        serializable[key] = entry
    return json.dumps(serializable, indent=4)


def json_to_data(json_string: str, custom_objects: Optional[Dict[str, Any]] = None) -> Dict[str, Any]:
    """Decode :func:`data_to_json`; entries named in ``custom_objects`` are used as given and never
    deserialised (so an object that cannot be unpickled any more can be replaced)."""
    if custom_objects is not None and not isinstance(custom_objects, dict):
        raise ValueError("custom_objects argument must be a dict or None")
    custom_objects = custom_objects or {}
    raw = json.loads(json_string)
    data = OrderedDict()
    for key, value in raw.items():
        if key in custom_objects:
            data[key] = custom_objects[key]
        elif isinstance(value, dict) and ":serialized:" in value:
            try:
                data[key] = cloudpickle.loads(base64.b64decode(value[":serialized:"].encode()))
            except Exception as error:  # any failure: corrupt base64, pickle, Python version
                raise RuntimeError(f"Could not deserialize object {key}. Consider using "
                                   f"`custom_objects` argument to replace this object. "
                                   f"({type(error).__name__}: {error})") from error
        else:
            data[key] = value
    return data


def params_to_bytes(params: Dict[str, np.ndarray]) -> bytes:
    buffer = io.BytesIO()
    np.savez(buffer, **params)
    return buffer.getvalue()


def bytes_to_params(serialized: bytes, param_list: list) -> "OrderedDict[str, np.ndarray]":
    with np.load(io.BytesIO(serialized), allow_pickle=False) as arrays:
        return OrderedDict((name, arrays[name]) for name in param_list)


def _write_zip(file: IO[bytes], data_json: Optional[str], params: Optional[Dict[str, np.ndarray]]):
    with zipfile.ZipFile(file, "w", compression=zipfile.ZIP_STORED) as archive:
        if data_json is not None:
            archive.writestr("data", data_json)
        if params is not None:
            archive.writestr("parameters", params_to_bytes(params))
            archive.writestr("parameter_list", json.dumps(list(params.keys()), indent=4))


def _atomic_write(path: str, write) -> None:
    """Run ``write(file)`` on a temporary file next to ``path``, then move it into place."""
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    fd, tmp_path = tempfile.mkstemp(dir=directory, prefix=".tmp-", suffix=os.path.basename(path))
    try:
        with os.fdopen(fd, "wb") as file:
            write(file)
            file.flush()
            os.fsync(file.fileno())
        os.replace(tmp_path, path)
    except BaseException:
        if os.path.exists(tmp_path):
            os.remove(tmp_path)
        raise


def save_to_zip(save_path: PathOrFile, data: Optional[Dict[str, Any]],
                params: Optional[Dict[str, np.ndarray]]) -> None:
    """Write SB2's zip layout; a ``str`` path without extension gets ``.zip`` appended."""
    data_json = data_to_json(data) if data is not None else None
    if isinstance(save_path, (str, os.PathLike)):
        save_path = os.fspath(save_path)
        if not os.path.splitext(save_path)[1]:
            save_path += ".zip"
        _atomic_write(save_path, lambda file: _write_zip(file, data_json, params))
    else:
        _write_zip(save_path, data_json, params)


def save_to_pickle(save_path: PathOrFile, data: Dict[str, Any], params: Dict[str, np.ndarray]) -> None:
    """SB2's legacy format: ``cloudpickle.dump((data, params))``; ``.pkl`` appended to bare paths."""
    if isinstance(save_path, (str, os.PathLike)):
        save_path = os.fspath(save_path)
        if not os.path.splitext(save_path)[1]:
            save_path += ".pkl"
        _atomic_write(save_path, lambda file: cloudpickle.dump((data, params), file))
    else:
        cloudpickle.dump((data, params), save_path)


def _resolve_path(load_path: str) -> str:
    """SB2's lookup: the path, then ``path.zip``, then ``path.pkl`` (quirk 19 fixed)."""
    for candidate in (load_path, load_path + ".zip", load_path + ".pkl"):
        if os.path.isfile(candidate):
            return candidate
    raise ValueError(f"Error: the file {load_path} could not be found")


def _load_pickle(file: IO[bytes], custom_objects: Optional[Dict[str, Any]]):
    warnings.warn("It appears you are loading from a file with old format. Older cloudpickle "
                  "format has been replaced with zip-archived models. Consider saving the model "
                  "with the new format.", DeprecationWarning)
    data, params = pickle.load(file)
    if custom_objects:
        data = dict(data)
        data.update(custom_objects)
    return data, params


def load_from_file(load_path: PathOrFile, load_data: bool = True,
                   custom_objects: Optional[Dict[str, Any]] = None) -> Tuple[Optional[dict], Any]:
    """``(data, params)`` from a zip (or legacy pickle) path or file-like object.

    ``params`` is an OrderedDict in saved order (a list for the oldest pickles).
    """
    if isinstance(load_path, (str, os.PathLike)):
        path = _resolve_path(os.fspath(load_path))
        with open(path, "rb") as file:
            return _load_from_open_file(file, load_data, custom_objects, name=path)
    return _load_from_open_file(load_path, load_data, custom_objects, name=repr(load_path))


def _load_from_open_file(file: IO[bytes], load_data: bool, custom_objects, name: str):
    try:
        with zipfile.ZipFile(file, "r") as archive:
            names = archive.namelist()
            data = None
            if "data" in names and load_data:
                data = json_to_data(archive.read("data").decode(), custom_objects=custom_objects)
            params = None
            if "parameters" in names:
                if "parameter_list" not in names:
                    raise ValueError(f"Model file {name} has 'parameters' but no 'parameter_list' entry")
                param_list = json.loads(archive.read("parameter_list").decode())
                params = bytes_to_params(archive.read("parameters"), param_list)
            return data, params
    except zipfile.BadZipFile:
        file.seek(0)
        return _load_pickle(file, custom_objects)
