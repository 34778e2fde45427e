"""SB2's layer helpers (``linear``, ``conv``, ``conv_to_fc``, ``mlp``, ``lstm``, ``ortho_init``) on two backends.

SB2 built its networks with functional helpers inside ``tf.variable_scope("model")``. Here every
helper computes through a *backend*: :class:`TfBackend` (TF ops on the variables of a
:class:`VariableStore`, which creates them by SB2 name, in SB2's order, with SB2's initialisers) or
:class:`NumpyBackend` (numpy ops on a snapshot of the store's float32 weight copies; rollouts use it:
a small MLP costs tens of microseconds in numpy against several hundred for a TF call).

The library's own network code passes the backend explicitly (``backend=``). SB2's public helpers
keep their signatures for user code, e.g. a custom ``cnn_extractor``: called without ``backend`` they
use the backend of the policy forward pass running *in the calling thread* (:func:`using_backend`,
thread-local), so several threads and several models can run forward passes at once.
A helper with no numpy version raises :class:`NumpyUnsupported`; the policy then uses its compiled
TF forward pass.
"""
from __future__ import annotations

import math
import threading
import warnings
from typing import Callable, Dict, List, Optional, Sequence, Tuple, Union, cast

import numpy as np

from stable_ppo2.common.lstm_kernel import lstm_sequence
from stable_ppo2.common.tf_util import Tensor, batch_to_seq, seq_to_batch, tf, tf_keras

__all__ = ["ortho_init", "linear", "conv", "conv_to_fc", "mlp", "lstm", "lnlstm", "batch_to_seq",
           "seq_to_batch", "activation", "ACTIVATIONS", "NumpyBackend", "TfBackend", "VariableStore",
           "NumpyUnsupported", "current_backend", "using_backend", "get_variable", "in_numpy_mode"]

Initializer = Callable[[Tuple[int, ...]], np.ndarray]


class NumpyUnsupported(Exception):
    """Raised by a helper that cannot run on numpy arrays (the caller uses TF instead)."""


def ortho_init(scale: float = 1.0) -> Initializer:
    """SB2's orthogonal initialiser, drawn from the global numpy RNG (so ``np.random.seed`` fixes it)."""

    def _init(shape: Tuple[int, ...]) -> np.ndarray:
        shape = tuple(shape)
        if len(shape) == 2:
            flat_shape = shape
        elif len(shape) == 4:  # conv kernel (h, w, in, out)
            flat_shape = (int(np.prod(shape[:-1])), shape[-1])
        else:
            raise NotImplementedError(f"ortho_init supports 2-D and 4-D shapes, got {shape}")
        gaussian = np.random.normal(0.0, 1.0, flat_shape)
        u, _, v = np.linalg.svd(gaussian, full_matrices=False)
        weights = u if u.shape == flat_shape else v
        return (scale * weights.reshape(shape)).astype(np.float32)

    return _init


def constant_init(value: float) -> Initializer:
    return lambda shape: np.full(shape, value, dtype=np.float32)


# ----------------------------------------------------------------------------------------------
# Variables
# ----------------------------------------------------------------------------------------------
class _Registry:
    """Plain containers kept out of Keras attribute tracking (tracked dicts are slow to read)."""

    def __init__(self) -> None:
        self.variables: Dict[str, tf.Variable] = {}
        self.order: List[str] = []
        self.numpy: Dict[str, np.ndarray] = {}
        self.lock = threading.Lock()


class VariableStore(tf_keras.Model):
    """A Keras model that owns the network's variables, keyed and ordered by their SB2 names.

    ``get_variable`` creates a variable on first request and returns it afterwards, like a TF1
    ``variable_scope`` with ``reuse=tf.AUTO_REUSE``. ``numpy_weights`` holds float32 copies for the
    numpy backend; :meth:`sync_numpy` replaces them as a whole (a forward pass running meanwhile
    keeps reading the snapshot it started with).
    """

    def __init__(self, prefix: str = "model") -> None:
        super().__init__(name=prefix)
        self.prefix = prefix
        self._registry = _Registry()

    @property
    def numpy_weights(self) -> Dict[str, np.ndarray]:
        return self._registry.numpy

    def get_variable(self, name: str, shape: Sequence[int], initializer: Initializer,
                     trainable: bool = True) -> tf.Variable:
        full_name = f"{self.prefix}/{name}"
        registry = self._registry
        shape = tuple(int(d) for d in shape)
        with registry.lock:
            variable = registry.variables.get(full_name)
            if variable is None:
                initial = np.asarray(initializer(shape), dtype=np.float32)
                variable = self.add_weight(name=full_name, shape=initial.shape, dtype=tf.float32,
                                           initializer=tf_keras.initializers.Constant(initial),
                                           trainable=trainable)
                registry.variables[full_name] = variable
                registry.order.append(full_name)
                registry.numpy[full_name] = initial
        if tuple(variable.shape) != shape:
            raise ValueError(f"Variable {full_name} exists with shape {tuple(variable.shape)}, "
                             f"but shape {shape} was requested")
        return variable

    def ordered_variables(self) -> List[tf.Variable]:
        """Variables in creation order: SB2's ``get_parameter_list()`` order."""
        return [self._registry.variables[name] for name in self._registry.order]

    def sync_numpy(self, values: Optional[Dict[str, np.ndarray]] = None) -> None:
        """Replace the numpy copies (by ``values``, else by fresh reads of the variables)."""
        registry = self._registry
        if values is None:
            values = self.read_variables()
        registry.numpy = {name: values[name] for name in registry.order}

    def unflatten(self, flat: np.ndarray) -> Dict[str, np.ndarray]:
        """Split one flat array (every variable, raveled, in creation order) into per-variable views."""
        registry, values, offset = self._registry, {}, 0
        for name in registry.order:
            shape = tuple(registry.variables[name].shape)
            size = int(np.prod(shape))
            values[name] = flat[offset:offset + size].reshape(shape)
            offset += size
        if offset != flat.size:
            raise ValueError(f"A flat array of {flat.size} values for {offset} variable values")
        return values

    def read_variables(self) -> Dict[str, np.ndarray]:
        """Current values of all variables (fresh numpy arrays)."""
        return {name: variable.numpy() for name, variable in self._registry.variables.items()}

    def restore_from_numpy(self) -> None:
        """Set the variables back to their numpy copies (the values at the last ``sync_numpy``)."""
        registry = self._registry
        for name in registry.order:
            registry.variables[name].assign(registry.numpy[name])


# ----------------------------------------------------------------------------------------------
# Activations: one registry, TF function -> numpy twin
# ----------------------------------------------------------------------------------------------
def _relu(x: Tensor) -> Tensor:
    return np.maximum(x, 0.0)


def _relu6(x: Tensor) -> Tensor:
    return np.clip(x, 0.0, 6.0)


def _elu(x: Tensor) -> Tensor:
    return np.where(x > 0, x, np.expm1(np.minimum(x, 0.0)))


_SELU_ALPHA, _SELU_SCALE = 1.6732632423543772848170429916717, 1.0507009873554804934193349852946


def _selu(x: Tensor) -> Tensor:
    return _SELU_SCALE * np.where(x > 0, x, _SELU_ALPHA * np.expm1(np.minimum(x, 0.0)))


def _sigmoid(x: Tensor) -> Tensor:
    return 1.0 / (1.0 + np.exp(-x))


def _silu(x: Tensor) -> Tensor:
    return x * _sigmoid(x)


def _softplus(x: Tensor) -> Tensor:
    return np.logaddexp(x, 0.0).astype(x.dtype, copy=False)


def _softsign(x: Tensor) -> Tensor:
    return x / (1.0 + np.abs(x))


def _leaky_relu(x: Tensor) -> Tensor:  # tf.nn.leaky_relu's default alpha
    return np.where(x > 0, x, 0.2 * x)


def _identity(x: Tensor) -> Tensor:
    return x


#: name -> (TF activation, numpy twin): the activations a policy's ``act_fun`` may name
ACTIVATIONS: Dict[str, Tuple[Callable, Callable]] = {
    "tanh": (tf.tanh, np.tanh), "relu": (tf.nn.relu, _relu), "relu6": (tf.nn.relu6, _relu6),
    "elu": (tf.nn.elu, _elu), "selu": (tf.nn.selu, _selu), "sigmoid": (tf.sigmoid, _sigmoid),
    "softplus": (tf.nn.softplus, _softplus), "softsign": (tf.nn.softsign, _softsign),
    "leaky_relu": (tf.nn.leaky_relu, _leaky_relu), "silu": (tf.nn.silu, _silu),
    "identity": (tf.identity, _identity),
}


def _numpy_twins() -> Dict[Callable, Callable]:
    """Every TF spelling of the registry's activations (``tf.tanh`` is ``tf.math.tanh``, ...)."""
    aliases = {"tanh": (tf.nn.tanh, tf.math.tanh), "sigmoid": (tf.nn.sigmoid, tf.math.sigmoid),
               "softplus": (tf.math.softplus,), "softsign": (tf.math.softsign,),
               "silu": (tf.nn.swish,)}
    twins = {}
    for name, (tf_fun, np_fun) in ACTIVATIONS.items():
        for spelling in (tf_fun,) + aliases.get(name, ()):
            twins[spelling] = np_fun
    return twins


_NUMPY_TWINS = _numpy_twins()
_warned_activations: set = set()


def _numpy_activation(act_fun: Callable) -> Callable:
    np_fun = _NUMPY_TWINS.get(act_fun)
    if np_fun is None:
        if act_fun not in _warned_activations:
            _warned_activations.add(act_fun)
            warnings.warn(f"Activation {getattr(act_fun, '__name__', act_fun)!r} has no numpy version "
                          f"(known: {', '.join(ACTIVATIONS)}): this policy runs its forward pass in TF, "
                          "so rollouts and predict are slower, with the same results.", stacklevel=3)
        raise NumpyUnsupported(f"activation {act_fun!r}")
    return np_fun


# ----------------------------------------------------------------------------------------------
# Backends
# ----------------------------------------------------------------------------------------------
class TfBackend:
    """TF ops on the store's variables (created on first request): training, export, CNN policies."""

    is_numpy = False
    matmul = staticmethod(tf.matmul)
    tanh = staticmethod(tf.tanh)
    sqrt = staticmethod(tf.sqrt)
    sigmoid = staticmethod(tf.sigmoid)
    stack = staticmethod(tf.stack)
    reshape = staticmethod(tf.reshape)

    def __init__(self, store: VariableStore) -> None:
        self.store = store

    def variable(self, name: str, shape: Sequence[int], initializer: Initializer) -> Tensor:
        return self.store.get_variable(name, shape, initializer)

    @staticmethod
    def activation(act_fun: Callable, x: Tensor) -> Tensor:
        return act_fun(x)

    @staticmethod
    def split(x: Tensor, parts: int) -> List[Tensor]:
        return tf.split(x, parts, axis=-1)

    @staticmethod
    def concat(tensors: Sequence[Tensor]) -> Tensor:
        return tf.concat(tensors, axis=-1)

    @staticmethod
    def moments(x: Tensor) -> Tuple[Tensor, Tensor]:
        return tf.nn.moments(x, axes=[-1], keepdims=True)

    @staticmethod
    def cast_float(x: Tensor) -> Tensor:
        return tf.cast(x, tf.float32)


class NumpyBackend:
    """numpy ops on the float32 weight copies the store held when the backend was made (one per
    forward pass, so a weight sync in another thread never mixes two versions into one output)."""

    __slots__ = ("store", "weights", "prefix")
    is_numpy = True
    matmul = staticmethod(np.matmul)
    tanh = staticmethod(np.tanh)
    sqrt = staticmethod(np.sqrt)
    sigmoid = staticmethod(_sigmoid)
    stack = staticmethod(np.stack)
    reshape: Callable[..., np.ndarray] = staticmethod(np.reshape)  # mypy keeps only the stub's first overload

    def __init__(self, store: VariableStore) -> None:
        self.store = store
        self.weights = store.numpy_weights
        self.prefix = store.prefix + "/"

    def variable(self, name: str, shape: Sequence[int], initializer: Initializer) -> Tensor:
        weights = self.weights.get(self.prefix + name)
        if weights is None:  # not created yet: create it (its copy is the initial value)
            self.store.get_variable(name, shape, initializer)
            weights = self.store.numpy_weights[self.prefix + name]
        return weights

    @staticmethod
    def activation(act_fun: Callable, x: Tensor) -> Tensor:
        return _numpy_activation(act_fun)(x)

    @staticmethod
    def split(x: Tensor, parts: int) -> List[Tensor]:
        return np.split(x, parts, axis=-1)

    @staticmethod
    def concat(tensors: Sequence[Tensor]) -> Tensor:
        return np.concatenate(tensors, axis=-1)

    @staticmethod
    def moments(x: Tensor) -> Tuple[Tensor, Tensor]:
        return x.mean(axis=-1, keepdims=True), x.var(axis=-1, keepdims=True)

    @staticmethod
    def cast_float(x: Tensor) -> Tensor:
        return np.asarray(x, np.float32)


Backend = Union[TfBackend, NumpyBackend]
_thread_state = threading.local()


def current_backend() -> Backend:
    """The backend of the policy forward pass running in this thread (see :func:`using_backend`)."""
    backend = getattr(_thread_state, "backend", None)
    if backend is None:
        raise RuntimeError("No active network backend: SB2 layer helpers called without backend= "
                           "must run inside a policy's network (see stable_ppo2.common.policies)")
    return backend


class using_backend:  # noqa: N801  (used as a function: ``with using_backend(backend):``)
    """Make ``backend`` the one that helpers called without ``backend=`` use, in this thread only.

    A class rather than a generator-based context manager: it runs on every rollout step."""

    __slots__ = ("backend", "previous")

    def __init__(self, backend: Backend) -> None:
        self.backend = backend
        self.previous: Optional[Backend] = None

    def __enter__(self) -> Backend:
        self.previous = getattr(_thread_state, "backend", None)
        _thread_state.backend = self.backend
        return self.backend

    def __exit__(self, *exc_info: object) -> None:
        _thread_state.backend = self.previous


def in_numpy_mode() -> bool:
    """True inside a numpy forward pass in this thread."""
    backend = getattr(_thread_state, "backend", None)
    return backend is not None and backend.is_numpy


def get_variable(name: str, shape: Sequence[int], initializer: Initializer,
                 backend: Optional[Backend] = None) -> Tensor:
    """The variable ``model/{name}`` (TF backend) or its numpy copy (numpy backend)."""
    return (backend or current_backend()).variable(name, shape, initializer)


# ----------------------------------------------------------------------------------------------
# SB2's helpers
# ----------------------------------------------------------------------------------------------
def activation(act_fun: Callable, x: Tensor, backend: Optional[Backend] = None) -> Tensor:
    """``act_fun(x)`` on the backend (numpy: the twin from :data:`ACTIVATIONS`)."""
    return (backend or current_backend()).activation(act_fun, x)


def linear(input_tensor: Tensor, scope: str, n_hidden: int, *, init_scale: float = 1.0,
           init_bias: float = 0.0, backend: Optional[Backend] = None) -> Tensor:
    """``input @ w + b`` with variables ``{scope}/w`` (orthogonal, ``init_scale``) and ``{scope}/b``."""
    backend = backend or current_backend()
    n_input = int(input_tensor.shape[-1])
    weight = backend.variable(f"{scope}/w", (n_input, n_hidden), ortho_init(init_scale))
    bias = backend.variable(f"{scope}/b", (n_hidden,), constant_init(init_bias))
    return backend.matmul(input_tensor, weight) + bias


def conv(input_tensor: Tensor, scope: str, *, n_filters: int, filter_size: Union[int, Sequence[int]],
         stride: int, pad: str = "VALID", init_scale: float = 1.0, data_format: str = "NHWC",
         one_dim_bias: bool = False, backend: Optional[Backend] = None) -> Tensor:
    """2-D convolution with SB2's variables ``{scope}/w`` and ``{scope}/b`` (bias ``[1, C, 1, 1]``).
    TF backend only (numpy raises :class:`NumpyUnsupported`)."""
    backend = backend or current_backend()
    if backend.is_numpy:
        raise NumpyUnsupported("conv")
    if data_format != "NHWC":
        raise ValueError(f"Only NHWC is supported on CPU, got data_format={data_format!r}")
    if isinstance(filter_size, (list, tuple)):
        filter_height, filter_width = (int(s) for s in filter_size)
    else:
        filter_height = filter_width = int(cast(int, filter_size))
    n_input = int(input_tensor.shape[-1])
    weight = backend.variable(f"{scope}/w", (filter_height, filter_width, n_input, n_filters),
                              ortho_init(init_scale))
    bias_shape = (n_filters,) if one_dim_bias else (1, n_filters, 1, 1)
    bias = backend.variable(f"{scope}/b", bias_shape, constant_init(0.0))
    if not one_dim_bias:
        bias = tf.reshape(bias, (1, 1, 1, n_filters))
    return bias + tf.nn.conv2d(input_tensor, weight, strides=[1, stride, stride, 1], padding=pad)


def conv_to_fc(input_tensor: Tensor, backend: Optional[Backend] = None) -> Tensor:
    """Flatten all but the batch axis (row-major, as SB2)."""
    n_features = math.prod(int(d) for d in input_tensor.shape[1:])
    return (backend or current_backend()).reshape(input_tensor, (-1, n_features))


def mlp(input_tensor: Tensor, layers: Sequence[int], activ_fn: Callable = tf.nn.relu,
        backend: Optional[Backend] = None) -> Tensor:
    """SB2's plain MLP: ``fc{i}`` layers with ``activ_fn`` (orthogonal init sqrt(2))."""
    backend = backend or current_backend()
    output = input_tensor
    for i, layer_size in enumerate(layers):
        output = backend.activation(activ_fn, linear(output, f"fc{i}", layer_size, init_scale=np.sqrt(2),
                                                     backend=backend))
    return output


# ----------------------------------------------------------------------------------------------
# Recurrent layers: SB2's LSTM cell (gates i, f, o, u; state = concat([c, h]); masks reset the
# state before each step) for TF sequences and numpy steps.
# ----------------------------------------------------------------------------------------------
def _layer_norm(ops: Backend, x: Tensor, gain, bias, epsilon: float = 1e-5):
    mean, variance = ops.moments(x)
    return (x - mean) / ops.sqrt(variance + epsilon) * gain + bias


def _lstm_weights(backend: Backend, scope: str, n_input: int, n_hidden: int, init_scale: float,
                  layer_norm: bool):
    """The cell's variables in SB2's creation order (``wx, wh, b`` then the layer-norm gains/biases)."""
    ones, zeros = constant_init(1.0), constant_init(0.0)
    weights = {
        "wx": backend.variable(f"{scope}/wx", (n_input, 4 * n_hidden), ortho_init(init_scale)),
        "wh": backend.variable(f"{scope}/wh", (n_hidden, 4 * n_hidden), ortho_init(init_scale)),
        "b": backend.variable(f"{scope}/b", (4 * n_hidden,), zeros),
    }
    if layer_norm:
        for name, size, init in (("gx", 4, ones), ("bx", 4, zeros), ("gh", 4, ones), ("bh", 4, zeros),
                                 ("gc", 1, ones), ("bc", 1, zeros)):
            weights[name] = backend.variable(f"{scope}/{name}", (size * n_hidden,), init)
    return weights


def _lstm_step(ops: Backend, weights, x_projected, mask, cell, hidden, layer_norm: bool):
    """One step; ``x_projected`` is ``x @ wx`` (layer-normed when ``layer_norm``), mask ``[batch, 1]``."""
    cell = cell * (1.0 - mask)
    hidden = hidden * (1.0 - mask)
    h_projected = ops.matmul(hidden, weights["wh"])
    if layer_norm:
        h_projected = _layer_norm(ops, h_projected, weights["gh"], weights["bh"])
    gates = x_projected + h_projected + weights["b"]
    input_gate, forget_gate, output_gate, candidate = ops.split(gates, 4)
    cell = ops.sigmoid(forget_gate) * cell + ops.sigmoid(input_gate) * ops.tanh(candidate)
    cell_out = _layer_norm(ops, cell, weights["gc"], weights["bc"]) if layer_norm else cell
    hidden = ops.sigmoid(output_gate) * ops.tanh(cell_out)
    return cell, hidden


def lstm(input_tensor: Tensor, mask_tensor: Tensor, cell_state_hidden: Tensor, scope: str, n_hidden: int,
         init_scale: float = 1.0, layer_norm: bool = False, backend: Optional[Backend] = None) -> Tuple[Tensor, Tensor]:
    """SB2's LSTM over a sequence (``lstm1`` in SB2's policies).

    :param input_tensor: ``[n_steps, n_env, n_input]`` (or a list of ``[n_env, n_input]`` steps, SB2's form)
    :param mask_tensor: ``[n_steps, n_env]`` episode-start flags (or a list), reset the state first
    :param cell_state_hidden: ``[n_env, 2 * n_hidden]``, ``concat([c, h])``
    :return: ``(outputs [n_steps, n_env, n_hidden] (a list if given lists), new state)``
    """
    ops = backend or current_backend()
    as_list = isinstance(input_tensor, (list, tuple))
    if as_list:
        input_tensor, mask_tensor = ops.stack(list(input_tensor)), ops.stack(list(mask_tensor))
    n_input = int(input_tensor.shape[-1])
    weights = _lstm_weights(ops, scope, n_input, n_hidden, init_scale, layer_norm)
    if ops.is_numpy:
        x_projected = ops.matmul(input_tensor, weights["wx"])
    else:  # one 2-D matmul: a [n_steps, n_env, n_input] @ wx BatchMatMul's gradient made n_steps copies of wx
        leading = [dim if dim is not None else tf.shape(input_tensor)[axis]
                   for axis, dim in enumerate(input_tensor.shape[:-1])]
        x_projected = tf.reshape(tf.matmul(tf.reshape(input_tensor, (-1, n_input)), weights["wx"]),
                                 leading + [4 * n_hidden])
    if layer_norm:
        x_projected = _layer_norm(ops, x_projected, weights["gx"], weights["bx"])
    cell, hidden = ops.split(cell_state_hidden, 2)
    masks = ops.cast_float(mask_tensor)[..., None]
    if x_projected.shape[0] == 1:  # one step (acting, export): plain ops, no loop (TFLite converts it)
        cell, hidden = _lstm_step(ops, weights, x_projected[0], masks[0], cell, hidden, layer_norm)
        outputs = hidden[None]
    elif ops.is_numpy:
        steps = []
        for step in range(x_projected.shape[0]):
            cell, hidden = _lstm_step(ops, weights, x_projected[step], masks[step], cell, hidden, layer_norm)
            steps.append(hidden)
        outputs = np.stack(steps)
    elif not layer_norm:  # training: the fused sequence with its hand-written backward pass
        outputs, cell, hidden = lstm_sequence(x_projected, masks, cell, hidden, weights["wh"], weights["b"])
    else:
        def scan_step(carry: Tuple[Tensor, Tensor], inputs: Tuple[Tensor, Tensor]) -> Tuple[Tensor, Tensor]:
            return _lstm_step(ops, weights, inputs[0], inputs[1], carry[0], carry[1], layer_norm)

        cells, outputs = tf.scan(scan_step, (x_projected, masks), initializer=(cell, hidden))
        cell, hidden = cells[-1], outputs[-1]
    new_state = ops.concat([cell, hidden])
    if as_list:
        outputs = [outputs[i] for i in range(int(outputs.shape[0]))]
    return outputs, new_state


def lnlstm(input_tensor: Tensor, mask_tensor: Tensor, cell_state_hidden: Tensor, scope: str, n_hidden: int,
           init_scale: float = 1.0, backend: Optional[Backend] = None) -> Tuple[Tensor, Tensor]:
    """SB2's layer-normalised LSTM: :func:`lstm` with ``layer_norm=True``."""
    return lstm(input_tensor, mask_tensor, cell_state_hidden, scope, n_hidden, init_scale=init_scale,
                layer_norm=True, backend=backend)
