"""Fuzzing the model-file loader (issue #8): mutated model files fed to ``PPO2.load`` and
``load_parameters`` either load or raise :class:`~stable_ppo2.common.save_util.ModelFileError`
(or one of its documented subclasses), within a few seconds each, and a failed
``load_parameters`` leaves the model's parameters as they were.

The mutations come from a seeded generator (no new dependency): byte flips and truncations of the
whole file, byte flips, truncations, removals, renames and swaps of zip entries (re-zipped, so
they pass the zip's CRC check and reach the JSON, pickle and npz readers), corrupted JSON values,
corrupted pickles inside the JSON, parameter arrays of other shapes, dtypes and names, broken
``parameter_list`` entries, format versions in the zip comment, legacy pickles, and files that are
no model at all. The counts per outcome are printed (``pytest -s``) and kept in ``FUZZ_COUNTS``.
"""
import base64
import collections
import io
import json
import os
import pickle
import random
import signal
import time
import warnings
import zipfile

import numpy as np
import pytest
from gymnasium import spaces

from stable_ppo2 import PPO2
from stable_ppo2.common.save_util import ModelDataError, ModelFileError, UnsafeFileError, UnsupportedFormatError
from stable_ppo2.common.schedules import linear_schedule
from tests.helpers import model_for_spaces

# A deeper run: STABLE_PPO2_FUZZ_FILES=20000 STABLE_PPO2_FUZZ_SEED=1 pytest tests/test_fuzz_loading.py -s
N_FILES = int(os.environ.get("STABLE_PPO2_FUZZ_FILES", 1200))
SEED = int(os.environ.get("STABLE_PPO2_FUZZ_SEED", 20240808))
PER_FILE_LIMIT_S = 5.0  # measured wall time per call; a real hang is cut by the alarm below
ALARM_S = 20
#: The errors docs/model_files.md documents for PPO2.load and load_parameters (the last three
#: subclass the first); any other exception, or another subclass, fails the test.
DOCUMENTED = (ModelFileError, ModelDataError, UnsafeFileError, UnsupportedFormatError)
FUZZ_COUNTS = {}


class _Hang(BaseException):
    """Raised by the alarm: a load took longer than ``ALARM_S`` (never caught as an Exception)."""


def _on_alarm(signum, frame):
    raise _Hang()


# ---------------------------------------------------------------------------------- zip helpers

def _entries(blob):
    with zipfile.ZipFile(io.BytesIO(blob)) as archive:
        return collections.OrderedDict((name, archive.read(name)) for name in archive.namelist()), archive.comment


def _zip(entries, comment=b""):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_STORED) as archive:
        for name, content in entries.items():
            archive.writestr(name, content)
        archive.comment = comment
    return buffer.getvalue()


def _flip(rng, data, n_max=4):
    data = bytearray(data)
    if not data:
        return bytes(data)
    for _ in range(rng.randint(1, n_max)):
        position = rng.randrange(len(data))
        data[position] = rng.randrange(256) if rng.random() < 0.5 else data[position] ^ (1 << rng.randrange(8))
    return bytes(data)


def _truncate(rng, data):
    return data[:rng.randrange(len(data))] if data else data


# ---------------------------------------------------------------------------------- mutators
# Each takes (rng, blob) and returns the mutated file's bytes.

def m_flip_file(rng, blob):
    return _flip(rng, blob)


def m_truncate_file(rng, blob):
    return _truncate(rng, blob)


def m_append_garbage(rng, blob):
    return blob + rng.randbytes(rng.randint(1, 64))


def m_flip_entry(rng, blob):
    entries, comment = _entries(blob)
    name = rng.choice(list(entries))
    entries[name] = _flip(rng, entries[name])
    return _zip(entries, comment)


def m_truncate_entry(rng, blob):
    entries, comment = _entries(blob)
    name = rng.choice(list(entries))
    entries[name] = _truncate(rng, entries[name])
    return _zip(entries, comment)


def m_remove_entry(rng, blob):
    entries, comment = _entries(blob)
    del entries[rng.choice(list(entries))]
    return _zip(entries, comment)


def m_swap_entries(rng, blob):
    entries, comment = _entries(blob)
    first, second = rng.sample(list(entries), 2)
    entries[first], entries[second] = entries[second], entries[first]
    return _zip(entries, comment)


def m_rename_entry(rng, blob):
    entries, comment = _entries(blob)
    name = rng.choice(list(entries))
    new_name = rng.choice(["Data", "params", "parameters.npz", name + "_old", "data/", "x"])
    entries = collections.OrderedDict((new_name if key == name else key, value) for key, value in entries.items())
    return _zip(entries, comment)


def m_duplicate_entry(rng, blob):
    entries, comment = _entries(blob)
    name = rng.choice(list(entries))
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # zipfile: "Duplicate name"
        with zipfile.ZipFile(buffer, "w") as archive:
            for key, value in entries.items():
                archive.writestr(key, value)
            archive.writestr(name, _flip(rng, entries[name]))
            archive.comment = comment
    return buffer.getvalue()


_JSON_VALUES = [None, -1, 0, 1, 3, -0.5, 0.5, 2.0, 1e308, 10 ** 30, "x", "", [], [1, 2], {}, {"a": 1},
                True, False, float("nan"), float("inf"), {":type:": "x", ":serialized:": "!!!"},
                {":serialized:": base64.b64encode(b"not a pickle").decode()},
                {":serialized:": base64.b64encode(pickle.dumps([1, 2])).decode()},
                {":serialized:": base64.b64encode(pickle.dumps(spaces.Discrete(3))).decode()},
                {":serialized:": base64.b64encode(pickle.dumps(spaces.Box(-1, 1, (7,)))).decode()},
                {":serialized:": base64.b64encode(pickle.dumps(spaces.Dict({"a": spaces.Discrete(2)}))).decode()}]


def _mutate_data(rng, blob, change):
    entries, comment = _entries(blob)
    data = json.loads(entries["data"])
    result = change(rng, data)  # the new data dict, or the entry's new text (str or bytes)
    if isinstance(result, str):
        result = result.encode()
    entries["data"] = result if isinstance(result, bytes) else json.dumps(result, indent=4).encode()
    return _zip(entries, comment)


def _set_value(rng, data):
    key = rng.choice(list(data))
    if key == "n_cpu_tf_sess":  # a valid thread count would change this test process's thread pools
        data[key] = rng.choice(["x", -1, 0, [], 1.5])
    else:
        data[key] = rng.choice(_JSON_VALUES)
    return data


def m_json_value(rng, blob):
    return _mutate_data(rng, blob, _set_value)


def m_json_delete(rng, blob):
    def change(rng, data):
        del data[rng.choice(list(data))]
        return data
    return _mutate_data(rng, blob, change)


def m_json_not_object(rng, blob):
    return _mutate_data(rng, blob, lambda rng, data: json.dumps(rng.choice([[1, 2], 42, "str", None, [data]])))


def m_json_text(rng, blob):
    return _mutate_data(rng, blob, lambda rng, data: _flip(rng, json.dumps(data).encode(), 2))


def _serialized_keys(data):
    return [key for key, value in data.items() if isinstance(value, dict) and ":serialized:" in value]


def m_pickle_flip(rng, blob):
    def change(rng, data):
        key = rng.choice(_serialized_keys(data))
        raw = base64.b64decode(data[key][":serialized:"])
        raw = _flip(rng, raw, 3) if rng.random() < 0.7 else _truncate(rng, raw)
        data[key][":serialized:"] = base64.b64encode(raw).decode()
        return data
    return _mutate_data(rng, blob, change)


def m_pickle_swap(rng, blob):
    def change(rng, data):
        keys = _serialized_keys(data)
        first, second = rng.sample(keys, 2) if len(keys) > 1 else (keys[0], keys[0])
        data[first], data[second] = data[second], data[first]
        return data
    return _mutate_data(rng, blob, change)


def _params(entries):
    with np.load(io.BytesIO(entries["parameters"])) as arrays:
        return collections.OrderedDict((name, arrays[name]) for name in arrays.files)


def _npz(params):
    buffer = io.BytesIO()
    np.savez(buffer, **params)
    return buffer.getvalue()


def m_params_arrays(rng, blob):
    entries, comment = _entries(blob)
    params = _params(entries)
    name = rng.choice(list(params))
    value = params[name]
    kind = rng.randrange(8)
    if kind == 0:
        params[name] = value.T.copy() if value.ndim > 1 else value[:-1]
    elif kind == 1:
        params[name] = value[None]
    elif kind == 2:
        del params[name]
    elif kind == 3:
        params[name + "_extra"] = value
    elif kind == 4:
        params[name] = value.astype(rng.choice([np.float64, np.int32, np.complex64, np.bool_, np.float16]))
    elif kind == 5:
        params[name] = np.array(["abc"] * value.size).reshape(value.shape)
    elif kind == 6:
        params[name] = np.full_like(value, rng.choice([np.nan, np.inf, 1e30]))
    else:
        params[name] = np.zeros(())
    entries["parameters"] = _npz(params)
    if rng.random() < 0.5:  # keep parameter_list in step with the arrays
        entries["parameter_list"] = json.dumps(list(params)).encode()
    return _zip(entries, comment)


def m_params_npz_bytes(rng, blob):
    entries, comment = _entries(blob)
    entries["parameters"] = _flip(rng, entries["parameters"], 2)  # npy headers, inner zip
    return _zip(entries, comment)


def m_parameter_list(rng, blob):
    entries, comment = _entries(blob)
    names = json.loads(entries["parameter_list"])
    kind = rng.randrange(6)
    if kind == 0:
        names = names[:-1]
    elif kind == 1:
        names = names + ["model/unknown:0"]
    elif kind == 2:
        names = {"a": names}
    elif kind == 3:
        names = [1, 2, None]
    elif kind == 4:
        names = list(reversed(names))
    else:
        names = "model/pi/w:0"
    entries["parameter_list"] = json.dumps(names).encode()
    return _zip(entries, comment)


def m_version(rng, blob):
    entries, comment = _entries(blob)
    choice = rng.randrange(5)
    if choice == 0:
        version = f"{rng.randint(0, 5)}.{rng.randint(0, 9)}"
        comment = json.dumps({"stable_ppo2_format": version, "stable_ppo2_version": "9.9.9"}).encode()
    elif choice == 1:
        comment = json.dumps({"stable_ppo2_format": rng.choice([None, 2, [], "x", "1", "1.0.0", "-1.0"])}).encode()
    elif choice == 2:
        comment = _flip(rng, comment or b"{}", 2)
    elif choice == 3:
        comment = rng.randbytes(rng.randint(0, 40))
    else:
        comment = b""
    return _zip(entries, comment)


def m_not_a_model(rng, blob):
    choice = rng.randrange(7)
    if choice == 0:
        return b""
    if choice == 1:
        return rng.randbytes(rng.randint(1, 4000))
    if choice == 2:
        return b"hello, I am not a model\n" * rng.randint(1, 5)
    if choice == 3:
        return _zip({"readme.txt": b"no model"})
    if choice == 4:
        return pickle.dumps(rng.choice([(1, 2), ({}, []), ({"policy": 3}, {}), [1], ({"a": 1}, {"x": "y"})]))
    if choice == 5:
        return b"PK\x03\x04" + rng.randbytes(200)
    return _zip({})


def m_legacy_pickle(rng, blob):
    return _flip(rng, blob, 3) if rng.random() < 0.7 else _truncate(rng, blob)


def m_twice(rng, blob):
    first = rng.choice(ZIP_MUTATORS)(rng, blob)
    try:
        return rng.choice(ZIP_MUTATORS)(rng, first)
    except Exception:  # the first mutation left no readable zip for the second
        return first


ZIP_MUTATORS = [m_flip_file, m_truncate_file, m_append_garbage, m_flip_entry, m_truncate_entry,
                m_remove_entry, m_swap_entries, m_rename_entry, m_duplicate_entry, m_json_value,
                m_json_value, m_json_delete, m_json_not_object, m_json_text, m_pickle_flip,
                m_pickle_flip, m_pickle_swap, m_params_arrays, m_params_arrays, m_params_npz_bytes,
                m_parameter_list, m_version, m_not_a_model]


# ---------------------------------------------------------------------------------- the fuzz run

def _base_models():
    """Small models (a few KB files), built once: only ``PPO2.load`` builds one per file."""
    cartpole = spaces.Box(-np.inf, np.inf, (4,), np.float32)
    made = [
        model_for_spaces("MlpPolicy", cartpole, spaces.Discrete(2), n_steps=16, nminibatches=1,
                         policy_kwargs=dict(net_arch=[4])),
        model_for_spaces("MlpPolicy", spaces.Box(-1, 1, (3,), np.float32), spaces.Box(-2, 2, (2,), np.float32),
                         n_steps=8, nminibatches=2, learning_rate=linear_schedule(1e-3), seed=3,
                         policy_kwargs=dict(net_arch=[dict(pi=[4], vf=[3])])),
    ]
    bases = []
    for model in made:
        zipped = io.BytesIO()
        model.save(zipped)
        bases.append((model, zipped.getvalue(), ZIP_MUTATORS + [m_twice]))
    legacy = io.BytesIO()
    made[0].save(legacy, cloudpickle=True)
    bases.append((made[0], legacy.getvalue(), [m_legacy_pickle, m_flip_file, m_truncate_file]))
    return bases


def _mutants(rng, bases, count):
    weights = [0.45, 0.35, 0.2]
    for index in range(count):
        model, blob, mutators = rng.choices(bases, weights)[0]
        mutator = rng.choice(mutators)
        yield index, model, mutator.__name__, mutator(rng, blob)


def _timed(function):
    """``(outcome, seconds)``: 'loaded', or the name of the documented error raised."""
    start = time.perf_counter()
    signal.setitimer(signal.ITIMER_REAL, ALARM_S)
    try:
        function()
        outcome = "loaded"
    except ModelFileError as error:
        if type(error) not in DOCUMENTED:
            raise
        outcome = type(error).__name__
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
    return outcome, time.perf_counter() - start


def test_fuzzed_model_files_load_or_raise_documented_errors():
    rng = random.Random(SEED)
    bases = _base_models()
    originals = {id(model): model.get_parameters() for model, _, _ in bases}
    counts = {"PPO2.load": collections.Counter(), "load_parameters": collections.Counter()}
    by_mutator = collections.defaultdict(collections.Counter)
    slowest = (0.0, None)
    previous_handler = signal.signal(signal.SIGALRM, _on_alarm)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # DeprecationWarning (legacy pickles), FallbackWarning
            for index, model, mutator, blob in _mutants(rng, bases, N_FILES):
                context = f"file {index} ({mutator}, seed {SEED})"
                for api, call in (("PPO2.load", lambda: PPO2.load(io.BytesIO(blob))),
                                  ("load_parameters", lambda: model.load_parameters(io.BytesIO(blob)))):
                    try:
                        outcome, seconds = _timed(call)
                    except _Hang:
                        pytest.fail(f"{api} hung on {context} (over {ALARM_S} s)")
                    except Exception as error:  # pylint: disable=broad-except
                        raise AssertionError(f"{api} raised an undocumented {type(error).__name__} on "
                                             f"{context}: {error}") from error
                    assert seconds < PER_FILE_LIMIT_S, f"{api} took {seconds:.1f} s on {context}"
                    slowest = max(slowest, (seconds, f"{api} on {context}"), key=lambda item: item[0])
                    counts[api][outcome] += 1
                    by_mutator[mutator][f"{api}: {outcome}"] += 1
                    if api == "load_parameters":
                        original = originals[id(model)]
                        current = model.get_parameters()
                        if outcome == "loaded":
                            model.load_parameters(original)
                        else:  # a failed load changes nothing
                            for name, value in current.items():
                                np.testing.assert_array_equal(value, original[name], err_msg=context)
    finally:
        signal.signal(signal.SIGALRM, previous_handler)
    FUZZ_COUNTS.update({api: dict(counter) for api, counter in counts.items()})
    print(f"\nfuzzed {N_FILES} files (seed {SEED}); slowest call {slowest[0]:.2f} s ({slowest[1]})")
    for api, counter in counts.items():
        print(f"  {api}: " + ", ".join(f"{name} {n}" for name, n in counter.most_common()))
    for mutator, counter in sorted(by_mutator.items()):
        print(f"  {mutator}: " + ", ".join(f"{name} {n}" for name, n in sorted(counter.items())))
    for api, counter in counts.items():
        assert sum(counter.values()) == N_FILES
        assert counter["loaded"] > 0 and counter["ModelFileError"] > 0, (api, counter)
    assert counts["PPO2.load"]["ModelDataError"] > 0 and counts["load_parameters"]["ModelDataError"] > 0
    assert counts["PPO2.load"]["UnsupportedFormatError"] > 0
