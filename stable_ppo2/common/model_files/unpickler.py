"""Reading pickles from model and statistics files without running code they carry.

A pickle names the functions and classes it needs by module path (``os.system``,
``stable_baselines.common.policies.MlpPolicy``) and calls them while it is read, so reading an
untrusted pickle with :func:`pickle.load` can run any command. Every pickle that stable_ppo2 reads
from a file (the ``data`` entries of SB2's zips, SB2's legacy ``.pkl`` models, VecNormalize pickles,
``obs_rms.pkl``/``ret_rms.pkl``) goes through :class:`FileUnpickler` instead, whose ``find_class``
hands out only the names of an allow-list:

- stable_ppo2's policies, feature extractors, schedules, ``RunningMeanStd`` and ``VecNormalize``,
  under their own module paths and under SB2's (``stable_baselines.common.policies.MlpPolicy``, ...),
  plus policy classes from modules the program has already imported;
- gymnasium spaces, and old ``gym.spaces`` objects, which become gymnasium spaces (``gym`` need not be
  installed);
- numpy's array, scalar, dtype and random-generator reconstruction helpers;
- ``collections.OrderedDict``, plain builtin containers, and TensorFlow activation functions
  (``tensorflow.python.ops.gen_nn_ops.relu`` and the like) by name.

Anything else is not looked up: the unpickler hands out an inert placeholder that records what the
file asked for (calling it does nothing), and :func:`finalize_entry` reports it as a refused name
once the pickle has been read. Code pickled by value (cloudpickle's functions and classes, such as
the ``constfn`` closures SB2 stores for ``learning_rate`` and ``cliprange`` after ``learn()``) is
never built either: its parts become placeholders too, from which :func:`recover_schedule` can
still read the constant of SB2's ``constfn``. With ``trust=True`` (``PPO2.load(..., trust_file=True)``)
names are looked up for real and cloudpickle builds the code; code that cannot be built on this
Python (pickled by Python 3.6/3.7) still falls back to placeholders.
"""
from __future__ import annotations

import importlib
import io
import pickle
import sys
import types
from collections import OrderedDict
from typing import IO, Any, Callable, ClassVar, Dict, List, Optional, Sequence, Set, Tuple, Union, cast

import numpy as np
from gymnasium import spaces as gym_spaces

from stable_ppo2.common.model_files.errors import TRUST_HINT, ModelFileError, UnsafeFileError
from stable_ppo2.common.running_mean_std import RunningMeanStd

# ---------------------------------------------------------------------------------- placeholders


class _PlaceholderMeta(type):
    """Metaclass of placeholders. A placeholder is a class, so that pickle can use it wherever the
    file expects a callable or a class; every pickle operation on it only records its arguments."""

    def __call__(cls, *args, **kwargs):  # REDUCE / calls: a new placeholder, nothing runs
        return cls._derive(args, kwargs)

    def _derive(cls, args, kwargs):
        node = _new_placeholder(cls._kind, cls.label + "(...)", origin=cls, args=args, kwargs=kwargs)
        if args and _is_placeholder(args[0]):  # helpers like _function_setstate(func, state)
            args[0].linked.append(node)
        return node

    def __setstate__(cls, state):  # BUILD
        cls.state = state

    def append(cls, item):  # APPEND
        cls.items.append(item)

    def extend(cls, items):  # APPENDS
        cls.items.extend(items)

    def __setitem__(cls, key, value):  # SETITEM(S)
        cls.items.append((key, value))

    def __repr__(cls):
        return f"<placeholder {cls.label}>"


class _Placeholder(metaclass=_PlaceholderMeta):
    _kind = "placeholder"
    label = "?"

    def __new__(cls, *args, **kwargs):  # NEWOBJ: cls.__new__(cls, *args)
        return cls._derive(args, kwargs)


class _Refused(_Placeholder):
    """A name outside the allow-list (``global_name``)."""
    _kind = "refused"


class _Code(_Placeholder):
    """Part of a function or class pickled by value (never built in safe mode)."""
    _kind = "code"


class _GymSpace(_Placeholder):
    """An old ``gym.spaces`` object; :func:`finalize_entry` turns it into a gymnasium space."""
    _kind = "gym_space"


_KIND_BASES = {"refused": _Refused, "code": _Code, "gym_space": _GymSpace}


def _new_placeholder(kind: str, label: str, origin=None, args=(), kwargs=None, **extra):
    namespace = dict(label=label, origin=origin, args=tuple(args), kwargs=dict(kwargs or {}),
                     state=None, items=[], linked=[])
    if origin is not None:
        for name in ("global_name", "space_kind"):
            if name in vars(origin):
                namespace[name] = vars(origin)[name]
    namespace.update(extra)
    return _PlaceholderMeta(label, (_KIND_BASES[kind],), namespace)


def _is_placeholder(obj) -> bool:
    return isinstance(obj, type) and issubclass(obj, _Placeholder)


# ---------------------------------------------------------------------------------- allow-list

#: SB2 module paths whose names map onto stable_ppo2's module of the same path.
_SB2_PREFIX = "stable_baselines."
_OURS_PREFIX = "stable_ppo2."

_ALLOWED_OURS: Dict[str, Set[str]] = {
    "stable_ppo2.common.running_mean_std": {"RunningMeanStd"},
    "stable_ppo2.common.vec_env.vec_normalize": {"VecNormalize"},
    "stable_ppo2.common.vec_env": {"VecNormalize"},
    "stable_ppo2.common.schedules": {
        "ConstFn", "LinearFn", "ConstantSchedule", "LinearSchedule", "PiecewiseSchedule",
        "linear_interpolation", "constfn", "linear_schedule", "get_schedule_fn"},
}

#: The policies layer declares which of its names a file may ask for (``SAFE_PICKLE_NAMES``): they
#: are looked up there when a file asks for them, so this layer never imports the policies.
_POLICIES_MODULE = "stable_ppo2.common.policies"

_GYM_SPACE_MODULES = {
    "gym.spaces", "gym.spaces.box", "gym.spaces.discrete", "gym.spaces.multi_discrete",
    "gym.spaces.multi_binary", "gym.spaces.tuple", "gym.spaces.tuple_space", "gym.spaces.dict",
    "gym.spaces.dict_space"}
_GYM_SPACE_NAMES = {"Box", "Discrete", "MultiDiscrete", "MultiBinary", "Tuple", "Dict"}

_GYMNASIUM_SPACES = {"Box": gym_spaces.Box, "Discrete": gym_spaces.Discrete,
                     "MultiDiscrete": gym_spaces.MultiDiscrete, "MultiBinary": gym_spaces.MultiBinary,
                     "Tuple": gym_spaces.Tuple, "Dict": gym_spaces.Dict}

_BUILTINS = {name: getattr(__import__("builtins"), name) for name in (
    "set", "frozenset", "bytearray", "bytes", "complex", "slice", "range", "list", "dict", "tuple",
    "int", "float", "bool", "str", "object")}

_TF_ACTIVATIONS = {"relu", "relu6", "elu", "selu", "tanh", "sigmoid", "softplus", "softsign",
                   "leaky_relu", "swish", "silu", "gelu", "crelu", "identity"}

_NUMPY_RANDOM = {
    "__randomstate_ctor", "__generator_ctor", "__bit_generator_ctor", "RandomState", "Generator",
    "MT19937", "PCG64", "PCG64DXSM", "Philox", "SFC64", "SeedSequence", "__pyx_unpickle_SeedSequence"}

#: Names that only appear in pickles of code (functions, classes) pickled by value.
_CODE_MODULES = ("cloudpickle",)
_CODE_GLOBALS = {("builtins", "type"), ("abc", "ABCMeta"), ("enum", "EnumMeta"),
                 ("builtins", "getattr"), ("builtins", "setattr"), ("builtins", "classmethod"),
                 ("builtins", "staticmethod"), ("builtins", "property")}


def _numpy_multiarray():
    try:
        from numpy._core import multiarray  # numpy >= 2
    except ImportError:  # pragma: no cover - numpy 1.x
        from numpy.core import multiarray
    return multiarray


def _numpy_global(module: str, name: str):
    if module in ("numpy.core.multiarray", "numpy._core.multiarray") and name in ("_reconstruct", "scalar"):
        return getattr(_numpy_multiarray(), name)
    if module in ("numpy.core.numeric", "numpy._core.numeric") and name == "_frombuffer":
        try:
            numeric = importlib.import_module("numpy._core.numeric")
        except ImportError:  # pragma: no cover
            numeric = importlib.import_module("numpy.core.numeric")
        return numeric._frombuffer
    if module == "numpy" and name in ("ndarray", "dtype"):
        return getattr(np, name)
    if module == "numpy":
        value = getattr(np, name, None)
        if isinstance(value, type) and issubclass(value, np.generic):
            return value
    if module == "numpy.dtypes" and name.endswith("DType"):
        return getattr(np.dtypes, name, None)
    if module == "numpy.random" and name == "__RandomState_ctor":  # numpy < 1.17 pickles
        return np.random.RandomState
    if module.startswith("numpy.random") and name in _NUMPY_RANDOM:
        try:
            return getattr(importlib.import_module(module), name)
        except (ImportError, AttributeError):
            return None
    return None


def _latin1_encode(text, encoding="utf-8", errors="strict"):
    """``_codecs.encode`` as protocol 2 pickles use it for bytes (latin-1 only)."""
    if encoding not in ("latin1", "latin-1") or not isinstance(text, str):
        raise pickle.UnpicklingError(f"_codecs.encode is only allowed with latin1, got {encoding!r}")
    return text.encode("latin-1", errors)


def _reconstructor(cls, base, state):
    """``copyreg._reconstructor`` for allowed classes (``cls`` came through ``find_class``)."""
    if _is_placeholder(cls) or _is_placeholder(base):
        return _new_placeholder(cls._kind if _is_placeholder(cls) else base._kind, "copyreg._reconstructor",
                                args=(cls, base, state))
    if not isinstance(cls, type) or base not in (object, dict, list, set, tuple, int, float, str, bytes):
        raise pickle.UnpicklingError(f"copyreg._reconstructor is not allowed for {cls!r} based on {base!r}")
    if base is object:
        return object.__new__(cls)
    obj = base.__new__(cls, state)
    if base.__init__ != object.__init__:
        base.__init__(obj, state)
    return obj


def _tf_activation(name: str):
    from stable_ppo2.common.tf_util import tf  # TF is imported by the package anyway

    for namespace in (tf.nn, tf.math, tf):
        value = getattr(namespace, name, None)
        if value is not None:
            return value
    return None


def _policies_module():
    return importlib.import_module(_POLICIES_MODULE)


def _already_imported_policy(module: str, name: str):
    """A policy class from a module the program has already imported (nothing is imported, and
    the module's own ``__getattr__`` is not called). No policy class exists before the policies
    module is imported, so it is looked up among loaded modules only."""
    loaded, policies = sys.modules.get(module), sys.modules.get(_POLICIES_MODULE)
    if loaded is None or policies is None:
        return None
    value = vars(loaded).get(name)
    if isinstance(value, type) and issubclass(value, policies.BasePolicy):
        return value
    return None


def map_module(module: str) -> str:
    """SB2's module path -> stable_ppo2's (``stable_baselines.x`` -> ``stable_ppo2.x``)."""
    if module == "stable_baselines" or module.startswith(_SB2_PREFIX):
        return "stable_ppo2" + module[len("stable_baselines"):]
    return module


def allowed_global(module: str, name: str) -> Any:
    """The object for an allow-listed name (SB2 names mapped onto stable_ppo2's), or None."""
    mapped = map_module(module)
    if mapped in _ALLOWED_OURS and name in _ALLOWED_OURS[mapped]:
        return getattr(importlib.import_module(mapped), name, None)
    if mapped == _POLICIES_MODULE and name in _policies_module().SAFE_PICKLE_NAMES:
        return getattr(_policies_module(), name, None)
    if module.startswith("gymnasium.spaces") and name in _GYMNASIUM_SPACES:
        return _GYMNASIUM_SPACES[name]
    if module.startswith("numpy"):
        return _numpy_global(module, name)
    if module == "_codecs" and name == "encode":  # protocol 2 pickles of bytes
        return _latin1_encode
    if module in ("copyreg", "copy_reg") and name == "_reconstructor":  # protocol 0/1 objects
        return _reconstructor
    if module == "collections" and name == "OrderedDict":
        return OrderedDict
    if module in ("builtins", "__builtin__") and name in _BUILTINS:
        return _BUILTINS[name]
    if module.startswith("tensorflow") and name in _TF_ACTIVATIONS:
        return _tf_activation(name)
    return _already_imported_policy(mapped, name)


# ---------------------------------------------------------------------------------- unpickler


_NOT_BUILDABLE = (type, types.FunctionType, types.BuiltinFunctionType, types.MethodType,
                  types.BuiltinMethodType, types.ModuleType)


class FileUnpickler(pickle._Unpickler):  # pylint: disable=protected-access
    """An unpickler whose ``find_class`` follows the allow-list (see the module docstring).

    ``refused`` lists the names the file asked for that were not handed out. It is pickle's
    pure-Python unpickler (files are small), so that ``BUILD`` can refuse to set attributes of
    classes, functions and modules (which would change them for the whole program). With
    ``trust=True`` every name is looked up for real (SB2 and gym names are still mapped) and
    cloudpickle builds functions and classes; those it cannot build become placeholders
    (``broken`` records the real objects that a failed helper left incomplete).
    """

    # opcode -> handler; the handlers added below take a FileUnpickler
    dispatch: ClassVar[Dict[int, Callable[[Any], None]]] = dict(pickle._Unpickler.dispatch)  # pylint: disable=protected-access
    # set by pickle's pure-Python Unpickler in load(); typeshed does not declare them
    read: Callable[[int], bytes]
    readinto: Callable[[bytearray], int]
    append: Callable[[Any], None]
    stack: List[Any]

    def __init__(self, file: IO[bytes], trust: bool = False) -> None:
        super().__init__(file)
        self.trust = trust
        self.refused: List[str] = []
        self.broken: Dict[int, Any] = {}
        self._bytes_left: Optional[int]
        try:  # no object in the pickle can be longer than what is left of the file
            position = file.tell()
            self._bytes_left = file.seek(0, io.SEEK_END) - position
            file.seek(position)
        except (AttributeError, OSError, ValueError):
            self._bytes_left = None

    def load_bytearray8(self) -> None:
        """BYTEARRAY8 allocates its length before reading it: a corrupt length (a flipped byte)
        would allocate gigabytes, so a length longer than the file is refused first."""
        size = int.from_bytes(self.read(8), "little")
        if self._bytes_left is not None and size > self._bytes_left:
            raise pickle.UnpicklingError(f"BYTEARRAY8 of {size} bytes in a pickle of "
                                         f"{self._bytes_left} bytes (corrupt length)")
        buffer = bytearray(size)
        self.readinto(buffer)
        self.append(buffer)

    dispatch[pickle.BYTEARRAY8[0]] = load_bytearray8

    def load_build(self) -> None:
        target = self.stack[-2] if len(self.stack) >= 2 else None  # stack: ..., target, state
        if not self.trust and not _is_placeholder(target) and isinstance(target, _NOT_BUILDABLE):
            self.stack.pop()  # the state: dropped
            name = getattr(target, "__module__", None), getattr(target, "__qualname__", repr(target))
            self.refused.append(f"setting attributes of {name[0]}.{name[1]}")
            return
        super().load_build()  # type: ignore[misc]  # pickle's pure-Python handlers are not in typeshed

    dispatch[pickle.BUILD[0]] = load_build

    def find_class(self, module: str, name: str) -> Any:
        if module in _GYM_SPACE_MODULES and name in _GYM_SPACE_NAMES:
            return _new_placeholder("gym_space", f"{module}.{name}", space_kind=name)
        if module.split(".")[0] in _CODE_MODULES or (module, name) in _CODE_GLOBALS or module == "types":
            if not self.trust:
                return _new_placeholder("code", f"{module}.{name}")
            return self._trusted_code_helper(module, name)
        value = allowed_global(module, name)
        if value is not None:
            return value
        if self.trust:
            mapped = map_module(module)
            if mapped != module:
                try:
                    return getattr(importlib.import_module(mapped), name)
                except (ImportError, AttributeError) as error:
                    raise pickle.UnpicklingError(
                        f"{module}.{name} (SB2) has no stable_ppo2 counterpart {mapped}.{name}") from error
            if module.startswith("numpy.core"):
                module = "numpy._core" + module[len("numpy.core"):]
            return super().find_class(module, name)
        self.refused.append(f"{module}.{name}")
        return _new_placeholder("refused", f"{module}.{name}", global_name=f"{module}.{name}")

    # trusted mode: real cloudpickle helpers, guarded so that code from another Python version
    # becomes placeholders instead of failing the whole file
    def _trusted_code_helper(self, module: str, name: str):
        real = None
        if module.split(".")[0] == "cloudpickle":
            import cloudpickle.cloudpickle as cp_module

            real = getattr(cp_module, name, None)
        else:
            try:
                real = getattr(importlib.import_module(module), name)
            except (ImportError, AttributeError):
                real = None
        if real is None:  # cloudpickle < 1.5 helpers (_fill_function, _make_skel_func): gone
            return _new_placeholder("code", f"{module}.{name}")
        if name == "_builtin_type":
            return lambda type_name: self._guard(real(type_name), f"{module}.{name}({type_name!r})")
        if isinstance(real, type) and module != "types":
            return real  # metaclasses (ABCMeta, type) stay real: they build classes
        return self._guard(real, f"{module}.{name}")

    def _guard(self, real: Callable, label: str) -> Callable:
        def guarded(*args, **kwargs):
            if _contains_placeholder(args) or _contains_placeholder(kwargs):
                result = _new_placeholder("code", label, args=args, kwargs=kwargs)
            else:
                try:
                    return real(*args, **kwargs)
                except Exception as error:  # e.g. CodeType arguments of another Python
                    result = _new_placeholder("code", label, args=args, kwargs=kwargs, error=repr(error))
            if args and not _is_placeholder(args[0]) and label.endswith(("setstate", "_fill_function")):
                self.broken[id(args[0])] = result  # the real object was left incomplete
            elif args and _is_placeholder(args[0]):
                args[0].linked.append(result)
            return result
        return guarded


def _contains_placeholder(obj, depth: int = 0) -> bool:
    if _is_placeholder(obj):
        return True
    if depth > 4:
        return False
    if isinstance(obj, (tuple, list)):
        return any(_contains_placeholder(item, depth + 1) for item in obj)
    if isinstance(obj, dict):
        return any(_contains_placeholder(item, depth + 1) for item in obj.values())
    return False


def unpickle(data: bytes, trust: bool = False) -> Tuple[Any, FileUnpickler]:
    """Read one pickle with :class:`FileUnpickler`; returns the object (placeholders unresolved)."""
    unpickler = FileUnpickler(io.BytesIO(data), trust=trust)
    return unpickler.load(), unpickler


# ---------------------------------------------------------------------------------- finalising


class Report:
    """What :func:`finalize_entry` found in one object: refused names and code parts."""

    def __init__(self) -> None:
        self.refused: List[str] = []
        self.code: List[type] = []

    def merge(self, other: "Report") -> None:
        self.refused += [name for name in other.refused if name not in self.refused]
        self.code += other.code


def finalize_entry(obj: Any, report: Report, unpickler: Optional[FileUnpickler] = None,
                   memo: Optional[Dict[int, Any]] = None) -> Any:
    """Replace gym-space placeholders by gymnasium spaces (in place where possible) and record
    refused names and code parts reachable from ``obj`` in ``report``."""
    memo = {} if memo is None else memo
    broken = unpickler.broken if unpickler is not None else {}
    return _finalize(obj, report, memo, broken)


def _finalize(obj, report, memo, broken):
    key = id(obj)
    if key in memo:
        return memo[key]
    if key in broken:
        report.code.append(broken[key])
    if _is_placeholder(obj):
        return _finalize_placeholder(obj, report, memo, broken)
    if isinstance(obj, (str, bytes, int, float, complex, bool, type(None), np.generic)):
        return obj
    memo[key] = obj
    if isinstance(obj, dict):
        for name in list(obj.keys()):
            _finalize(name, report, memo, broken)
            obj[name] = _finalize(obj[name], report, memo, broken)
        return obj
    if isinstance(obj, list):
        for index, item in enumerate(obj):
            obj[index] = _finalize(item, report, memo, broken)
        return obj
    if isinstance(obj, (tuple, set, frozenset)):
        items = [_finalize(item, report, memo, broken) for item in obj]
        if any(new is not old for new, old in zip(items, obj)):
            result = type(obj)(items) if not hasattr(obj, "_fields") else type(obj)(*items)
            memo[key] = result
            return result
        return obj
    if isinstance(obj, np.ndarray):
        if obj.dtype == object:
            flat = obj.reshape(-1)
            for index in range(flat.size):
                flat[index] = _finalize(flat[index], report, memo, broken)
        return obj
    if isinstance(obj, (type, types.ModuleType, types.FunctionType, types.BuiltinFunctionType)):
        return obj
    fields = getattr(obj, "__dict__", None)
    if isinstance(fields, dict):
        for name in list(fields.keys()):
            fields[name] = _finalize(fields[name], report, memo, broken)
    return obj


def _finalize_placeholder(node, report, memo, broken):
    memo[id(node)] = node
    kind = node._kind
    if kind == "gym_space":
        args = _finalize(node.args, report, memo, broken)
        state = _finalize(node.state, report, memo, broken)
        items = _finalize(node.items, report, memo, broken)
        space = _gym_space(node, args, state, items)
        memo[id(node)] = space
        return space
    if kind == "refused":
        name = node.global_name
        if name not in report.refused:
            report.refused.append(name)
    elif kind == "code":
        report.code.append(node)
    for part in (node.origin, node.args, node.kwargs, node.state, node.items, node.linked):
        _finalize(part, report, memo, broken)
    return node


def _gym_space(node, args, state, items):
    kind = node.space_kind
    fields: Dict[str, Any] = {}
    if isinstance(state, tuple) and len(state) == 2 and isinstance(state[0], (dict, type(None))):
        fields.update(state[0] or {})
        fields.update(state[1] or {})
    elif isinstance(state, dict):
        fields.update(state)
    for name in list(fields):
        if name.startswith("_") and name[1:] not in fields:
            fields[name[1:]] = fields[name]
    positional = {"Box": ("low", "high", "shape", "dtype"), "Discrete": ("n",),
                  "MultiDiscrete": ("nvec",), "MultiBinary": ("n",), "Tuple": ("spaces",),
                  "Dict": ("spaces",)}[kind]
    for name, value in zip(positional, args):
        fields.setdefault(name, value)
    try:
        if kind == "Box":
            dtype = np.dtype(fields.get("dtype") or np.asarray(fields["low"]).dtype)
            shape = fields.get("shape")
            low = np.asarray(fields["low"], dtype=dtype)
            high = np.asarray(fields["high"], dtype=dtype)
            if shape is not None and low.shape != tuple(shape):
                low = np.broadcast_to(low, tuple(shape)).copy()
                high = np.broadcast_to(high, tuple(shape)).copy()
            return gym_spaces.Box(low=low, high=high, dtype=dtype)
        if kind == "Discrete":
            start = int(fields.get("start", 0) or 0)
            return gym_spaces.Discrete(int(fields["n"]), start=start)
        if kind == "MultiDiscrete":
            nvec = np.asarray(fields["nvec"])
            return gym_spaces.MultiDiscrete(nvec, dtype=np.dtype(fields.get("dtype") or np.int64))
        if kind == "MultiBinary":
            n = fields["n"]
            return gym_spaces.MultiBinary(n if isinstance(n, (int, np.integer)) else tuple(np.asarray(n).tolist()))
        if kind == "Tuple":
            return gym_spaces.Tuple(tuple(fields["spaces"]))
        return gym_spaces.Dict(fields["spaces"])
    except Exception as error:
        raise ModelFileError(f"could not rebuild the gym.spaces.{kind} object as a gymnasium space "
                             f"({type(error).__name__}: {error})") from error


# ---------------------------------------------------------------------------------- code parts


def _walk_parts(node, seen=None):
    """``node`` and the placeholders linked to it (helpers that were applied to it)."""
    seen = set() if seen is None else seen
    if id(node) in seen:
        return
    seen.add(id(node))
    yield node
    for linked in node.linked:
        yield from _walk_parts(linked, seen)


def _dicts_in(obj, depth=0):
    if depth > 4:
        return
    if isinstance(obj, dict):
        yield obj
    if isinstance(obj, (tuple, list)):
        for item in obj:
            yield from _dicts_in(item, depth + 1)


def _cell_value(cell):
    if _is_placeholder(cell):
        if cell.label.endswith("_make_cell(...)") and cell.args:
            return True, cell.args[0]
        for linked in cell.linked:  # cell_set(cell, value)
            if len(linked.args) >= 2:
                return True, linked.args[1]
        return False, None
    if isinstance(cell, types.CellType):
        try:
            return True, cell.cell_contents
        except ValueError:
            return False, None
    return False, None


def describe_code(node: Any) -> Tuple[Optional[str], Optional[list]]:
    """``(qualified name, closure values)`` of a function (or class) pickled by value, as far as the
    placeholders tell; nothing is built or run."""
    qualname, closure = None, None
    for part in _walk_parts(node):
        for source in (part.args, part.kwargs, part.state):
            for mapping in _dicts_in(source):
                for name in ("__qualname__", "qualname"):
                    if isinstance(mapping.get(name), str):
                        qualname = mapping[name]
                if qualname is None and isinstance(mapping.get("name"), str):
                    qualname = mapping["name"]
                if isinstance(mapping.get("closure_values"), (list, tuple)):
                    closure = list(mapping["closure_values"])
                elif isinstance(mapping.get("__closure__"), tuple):
                    values = [_cell_value(cell) for cell in mapping["__closure__"]]
                    if all(ok for ok, _ in values):
                        closure = [value for _, value in values]
        if qualname is None and "_make_skeleton_class" in part.label and len(part.args) > 1 \
                and isinstance(part.args[1], str):
            qualname = "class " + part.args[1]
        if qualname is None and part.args and isinstance(part.args[0], type) \
                and not _is_placeholder(part.args[0]):  # trusted: a real class left incomplete
            qualname = "class " + part.args[0].__qualname__
    return qualname, closure


def recover_schedule(node: Any) -> Tuple[bool, Any, str]:
    """The constant of SB2's ``constfn`` closure pickled by value: ``(found, value, description)``.

    Only a function whose qualified name is ``constfn.<locals>.func`` and whose closure holds one
    number counts (any other closure, e.g. a linear schedule, cannot be told apart safely)."""
    qualname, closure = describe_code(node)
    description = qualname or "a function"
    if qualname is not None and qualname.split(".")[0] == "constfn" and qualname.endswith("<locals>.func") \
            and closure is not None and len(closure) == 1 \
            and isinstance(closure[0], (int, float, np.integer, np.floating)) \
            and not isinstance(closure[0], (bool, np.bool_)):
        return True, float(closure[0]), description
    return False, None, description


def code_error(node: Any) -> Optional[str]:
    """The first error a trusted helper raised while building ``node`` or its parts, if any."""
    seen: Set[int] = set()
    stack = [node]
    while stack and len(seen) < 10000:
        obj = stack.pop()
        if id(obj) in seen:
            continue
        seen.add(id(obj))
        if _is_placeholder(obj):
            if vars(obj).get("error"):
                return vars(obj)["error"]
            stack.extend([obj.origin, obj.args, obj.kwargs, obj.state, obj.items, obj.linked])
        elif isinstance(obj, dict):
            stack.extend(obj.values())
        elif isinstance(obj, (list, tuple)):
            stack.extend(obj)
    return None


# ---------------------------------------------------------------------------------- reading, once

#: ``fail(reason, unsafe)``: the error to raise for one pickle, worded for what is being read
#: (a whole statistics file, one entry of a zip's ``data``, a legacy ``.pkl`` model).
Fail = Callable[[str, bool], ModelFileError]
#: ``fallback(code_node, why)``: the value replacing a function pickled by value, or ``NO_FALLBACK``.
Fallback = Callable[[Any, str], Any]
NO_FALLBACK = object()


def refused_reason(refused: Sequence[str]) -> str:
    return (f"it asks for {', '.join(refused)}, which safe loading does not allow (it could run "
            f"code carried by the file). {TRUST_HINT}")


def read_pickle(raw: bytes, trust: bool, fail: Fail, corrupt: str) -> Tuple[Any, FileUnpickler]:
    """Step 1 of every safe read: the object (placeholders unresolved) and its unpickler.

    A pickle that cannot be read is ``fail(refused names, unsafe=True)`` when the file asked for
    refused names on the way, else ``fail(corrupt + the error, unsafe=False)``."""
    unpickler = FileUnpickler(io.BytesIO(raw), trust=trust)
    try:
        return unpickler.load(), unpickler
    except Exception as error:  # any failure: truncated pickle, missing class, other Python
        if unpickler.refused:
            raise fail(refused_reason(unpickler.refused), True) from error
        raise fail(f"{corrupt} ({type(error).__name__}: {error})", False) from error


def check_entry(obj: Any, unpickler: FileUnpickler, trust: bool, fail: Fail, *,
                fallback: Optional[Fallback] = None, all_refused: bool = True) -> Any:
    """Step 2 of every safe read: ``obj`` finalised (gym spaces rebuilt), once nothing in it is
    refused or code that was not built. A function pickled by value becomes ``fallback(...)``
    where one is given and it is the whole entry; ``all_refused`` also counts names the file asked
    for elsewhere (a whole-file read: nothing else can hold them)."""
    report = Report()
    try:
        obj = finalize_entry(obj, report, unpickler)
    except Exception as error:  # a space that cannot be rebuilt, a pathologically deep pickle
        raise fail(str(error), False) from error
    refused = list(report.refused)
    if all_refused:
        refused += [name for name in unpickler.refused if name not in refused]
    if refused:
        raise fail(refused_reason(refused), True)
    if not report.code:
        return obj
    node = report.code[0]
    if trust:
        build_error = code_error(node)
        why = ("could not be rebuilt on this Python (it was pickled by another Python or "
               f"cloudpickle version{': ' + build_error if build_error else ''})")
    else:
        why = "was not rebuilt: safe loading never builds code carried by a file"
    if fallback is not None and obj is node:
        value = fallback(node, why)
        if value is not NO_FALLBACK:
            return value
    description = describe_code(node)[0] or "a function or class"
    raise fail(f"it carries code pickled by value ({description}) that {why}"
               + ("" if trust else f". {TRUST_HINT}"), not trust)


def load_object(file: IO[bytes], name: str, trust: bool = False, expected: Optional[tuple] = None) -> Any:
    """Read one pickled object (a VecNormalize, a RunningMeanStd) from an open file, safely.

    :raises UnsafeFileError: the pickle asks for refused names or carries code
    :raises ModelFileError: the pickle is truncated, corrupt, or not of an ``expected`` type
    """
    def fail(reason: str, unsafe: bool) -> ModelFileError:
        if unsafe:
            return UnsafeFileError(f"Refusing to load {name}: {reason}")
        return ModelFileError(f"Could not read {name}: {reason}")

    obj, unpickler = read_pickle(file.read(), trust, fail, "not a valid pickle, or a truncated one")
    obj = check_entry(obj, unpickler, trust, fail)
    if expected is not None and not isinstance(obj, expected):
        raise ModelFileError(f"{name} holds a {type(obj).__name__}, expected "
                             f"{' or '.join(t.__name__ for t in expected)}")
    return obj


def load_object_from_path(path_or_file: Union[str, IO[bytes]], trust: bool = False,
                          expected: Optional[tuple] = None) -> Any:
    """:func:`load_object` for a path or an open binary file."""
    if hasattr(path_or_file, "read"):
        name = getattr(path_or_file, "name", repr(path_or_file))
        return load_object(cast(IO[bytes], path_or_file), name, trust, expected)
    with open(path_or_file, "rb") as file:
        return load_object(file, str(path_or_file), trust, expected)


def load_running_mean_std(path: str) -> RunningMeanStd:
    """A ``RunningMeanStd`` (mean, var, count as float64) from an SB2 ``obs_rms.pkl``/``ret_rms.pkl``
    file (the RL zoo's statistics), read safely."""
    stats = load_object_from_path(path, expected=(RunningMeanStd,))
    stats.mean = np.asarray(stats.mean, np.float64)
    stats.var = np.asarray(stats.var, np.float64)
    return stats
