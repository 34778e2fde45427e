"""SB2's layer helpers (``linear``, ``conv``, ``conv_to_fc``, ``mlp``, ``ortho_init``) for TF2.

SB2 built its networks with functional helpers inside ``tf.variable_scope("model")``. The same
helpers work here: while a policy network runs, a :class:`VariableStore` is active and each helper
asks it for its variables by SB2 name (``model/pi_fc0/w``). The first run creates them, in SB2's
creation order, with SB2's initialisers; later runs (and ``tf.function`` traces) reuse them.
Custom ``cnn_extractor`` functions written with these helpers therefore work unchanged.

The same network code also runs on numpy arrays (``NUMPY`` mode) using cached numpy copies of the
weights. Rollouts use that path: a small MLP costs tens of microseconds in numpy against several
hundred for a TF call. Helpers with no numpy version raise :class:`NumpyUnsupported`, and the
policy falls back to a compiled TF forward pass.
"""
from __future__ import annotations

import contextlib
from typing import Callable, Dict, Iterator, List, Optional, Sequence, Tuple, Union

import numpy as np

from stable_ppo2.common.tf_util import tf, tf_keras

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


class _Registry:
    """Plain containers kept out of Keras attribute tracking (tracked dicts are slow to read)."""

    def __init__(self):
        self.variables: Dict[str, tf.Variable] = {}
        self.order: List[str] = []
        self.numpy: Dict[str, np.ndarray] = {}


class VariableStore(tf_keras.Model):
    """A Keras model that owns the network's variables, keyed and ordered by their SB2 names.

    ``get_variable`` creates a variable on first request and returns it afterwards, like a TF1
    ``variable_scope`` with ``reuse=tf.AUTO_REUSE``. ``numpy_weights`` holds float32 copies for the
    numpy forward pass; call :meth:`sync_numpy` after the variables change.
    """

    def __init__(self, prefix: str = "model"):
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
        variable = registry.variables.get(full_name)
        shape = tuple(int(d) for d in shape)
        if variable is None:
            initial = np.asarray(initializer(shape), dtype=np.float32)
            variable = self.add_weight(name=full_name, shape=initial.shape, dtype=tf.float32,
                                       initializer=tf_keras.initializers.Constant(initial),
                                       trainable=trainable)
            registry.variables[full_name] = variable
            registry.order.append(full_name)
            registry.numpy[full_name] = initial
        elif tuple(variable.shape) != shape:
            raise ValueError(f"Variable {full_name} exists with shape {tuple(variable.shape)}, "
                             f"but shape {shape} was requested")
        return variable

    def ordered_variables(self) -> List[tf.Variable]:
        """Variables in creation order: SB2's ``get_parameter_list()`` order."""
        return [self._registry.variables[name] for name in self._registry.order]

    def sync_numpy(self, values: Optional[Dict[str, np.ndarray]] = None) -> None:
        """Refresh the numpy copies (from ``values``, fresh reads of the variables, if given)."""
        registry = self._registry
        for name in registry.order:
            registry.numpy[name] = values[name] if values is not None else registry.variables[name].numpy()

    def read_variables(self) -> Dict[str, np.ndarray]:
        """Current values of all variables (fresh numpy arrays)."""
        return {name: variable.numpy() for name, variable in self._registry.variables.items()}

    def restore_from_numpy(self) -> None:
        """Set the variables back to their numpy copies (the values at the last ``sync_numpy``)."""
        registry = self._registry
        for name in registry.order:
            registry.variables[name].assign(registry.numpy[name])


class _ActiveStore:
    store: Optional[VariableStore] = None
    numpy_mode: bool = False


@contextlib.contextmanager
def using_store(store: VariableStore, numpy_mode: bool = False) -> Iterator[VariableStore]:
    """Make ``store`` the target of the helpers below (``numpy_mode``: compute with numpy copies)."""
    previous = (_ActiveStore.store, _ActiveStore.numpy_mode)
    _ActiveStore.store, _ActiveStore.numpy_mode = store, numpy_mode
    try:
        yield store
    finally:
        _ActiveStore.store, _ActiveStore.numpy_mode = previous


def in_numpy_mode() -> bool:
    return _ActiveStore.numpy_mode


def get_variable(name: str, shape: Sequence[int], initializer: Initializer):
    """The active store's variable (TF mode) or its numpy copy (numpy mode)."""
    store = _ActiveStore.store
    if store is None:
        raise RuntimeError(f"No active variable store for {name!r}: SB2 layer helpers must run "
                           "inside a policy's network (see stable_ppo2.common.policies)")
    if _ActiveStore.numpy_mode:
        weights = store.numpy_weights.get(f"{store.prefix}/{name}")
        if weights is not None:
            return weights
    variable = store.get_variable(name, shape, initializer)
    if _ActiveStore.numpy_mode:
        return store.numpy_weights[f"{store.prefix}/{name}"]
    return variable


def linear(input_tensor, scope: str, n_hidden: int, *, init_scale: float = 1.0,
           init_bias: float = 0.0):
    """``input @ w + b`` with variables ``{scope}/w`` (orthogonal, ``init_scale``) and ``{scope}/b``."""
    n_input = int(input_tensor.shape[-1])
    weight = get_variable(f"{scope}/w", (n_input, n_hidden), ortho_init(init_scale))
    bias = get_variable(f"{scope}/b", (n_hidden,), constant_init(init_bias))
    if _ActiveStore.numpy_mode:
        return input_tensor @ weight + bias
    return tf.matmul(input_tensor, weight) + bias


def conv(input_tensor, scope: str, *, n_filters: int, filter_size: Union[int, Sequence[int]],
         stride: int, pad: str = "VALID", init_scale: float = 1.0, data_format: str = "NHWC",
         one_dim_bias: bool = False):
    """2-D convolution with SB2's variables ``{scope}/w`` and ``{scope}/b`` (bias ``[1, C, 1, 1]``)."""
    if _ActiveStore.numpy_mode:
        raise NumpyUnsupported("conv")
    if data_format != "NHWC":
        raise ValueError(f"Only NHWC is supported on CPU, got data_format={data_format!r}")
    if isinstance(filter_size, (list, tuple)):
        filter_height, filter_width = (int(s) for s in filter_size)
    else:
        filter_height = filter_width = int(filter_size)
    n_input = int(input_tensor.shape[-1])
    weight = get_variable(f"{scope}/w", (filter_height, filter_width, n_input, n_filters),
                          ortho_init(init_scale))
    bias_shape = (n_filters,) if one_dim_bias else (1, n_filters, 1, 1)
    bias = get_variable(f"{scope}/b", bias_shape, constant_init(0.0))
    if not one_dim_bias:
        bias = tf.reshape(bias, (1, 1, 1, n_filters))
    return bias + tf.nn.conv2d(input_tensor, weight, strides=[1, stride, stride, 1], padding=pad)


def conv_to_fc(input_tensor):
    """Flatten all but the batch axis (row-major, as SB2)."""
    n_features = int(np.prod([int(d) for d in input_tensor.shape[1:]]))
    if _ActiveStore.numpy_mode:
        return np.reshape(input_tensor, (-1, n_features))
    return tf.reshape(input_tensor, (-1, n_features))


def _relu(x):
    return np.maximum(x, 0.0)


def _elu(x):
    return np.where(x > 0, x, np.expm1(np.minimum(x, 0.0)))


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def _softplus(x):
    return np.logaddexp(x, 0.0)


def _numpy_activations() -> Dict[Callable, Callable]:
    table = {
        tf.tanh: np.tanh, tf.nn.tanh: np.tanh, tf.math.tanh: np.tanh,
        tf.nn.relu: _relu, tf.nn.elu: _elu, tf.nn.sigmoid: _sigmoid, tf.sigmoid: _sigmoid,
        tf.math.sigmoid: _sigmoid, tf.nn.softplus: _softplus, tf.math.softplus: _softplus,
        tf.identity: lambda x: x,
    }
    return {key: value for key, value in table.items() if key is not None}


NUMPY_ACTIVATIONS = _numpy_activations()


def activation(act_fun: Callable, x):
    """Apply ``act_fun`` in the current mode (numpy mode knows the usual TF activations)."""
    if _ActiveStore.numpy_mode:
        np_fun = NUMPY_ACTIVATIONS.get(act_fun)
        if np_fun is None:
            raise NumpyUnsupported(f"activation {act_fun!r}")
        return np_fun(x)
    return act_fun(x)


def mlp(input_tensor, layers: Sequence[int], activ_fn: Callable = tf.nn.relu):
    """SB2's plain MLP: ``fc{i}`` layers with ``activ_fn`` (orthogonal init sqrt(2))."""
    output = input_tensor
    for i, layer_size in enumerate(layers):
        output = activation(activ_fn, linear(output, f"fc{i}", layer_size, init_scale=np.sqrt(2)))
    return output


# ----------------------------------------------------------------------------------------------
# Recurrent layers: SB2's LSTM cell (gates i, f, o, u; state = concat([c, h]); masks reset the
# state before each step) for TF sequences and numpy steps.
# ----------------------------------------------------------------------------------------------
class _NumpyOps:
    matmul = staticmethod(np.matmul)
    tanh = staticmethod(np.tanh)
    sqrt = staticmethod(np.sqrt)
    sigmoid = staticmethod(_sigmoid)

    @staticmethod
    def split(x, parts: int):
        return np.split(x, parts, axis=-1)

    @staticmethod
    def concat(tensors):
        return np.concatenate(tensors, axis=-1)

    @staticmethod
    def moments(x):
        return x.mean(axis=-1, keepdims=True), x.var(axis=-1, keepdims=True)


class _TfOps:
    matmul = staticmethod(tf.matmul)
    tanh = staticmethod(tf.tanh)
    sqrt = staticmethod(tf.sqrt)
    sigmoid = staticmethod(tf.sigmoid)

    @staticmethod
    def split(x, parts: int):
        return tf.split(x, parts, axis=-1)

    @staticmethod
    def concat(tensors):
        return tf.concat(tensors, axis=-1)

    @staticmethod
    def moments(x):
        return tf.nn.moments(x, axes=[-1], keepdims=True)


def _layer_norm(ops, x, gain, bias, epsilon: float = 1e-5):
    mean, variance = ops.moments(x)
    return (x - mean) / ops.sqrt(variance + epsilon) * gain + bias


def _lstm_weights(scope: str, n_input: int, n_hidden: int, init_scale: float, layer_norm: bool):
    """The cell's variables in SB2's creation order (``wx, wh, b`` then the layer-norm gains/biases)."""
    ones, zeros = constant_init(1.0), constant_init(0.0)
    weights = {
        "wx": get_variable(f"{scope}/wx", (n_input, 4 * n_hidden), ortho_init(init_scale)),
        "wh": get_variable(f"{scope}/wh", (n_hidden, 4 * n_hidden), ortho_init(init_scale)),
        "b": get_variable(f"{scope}/b", (4 * n_hidden,), zeros),
    }
    if layer_norm:
        for name, size, init in (("gx", 4, ones), ("bx", 4, zeros), ("gh", 4, ones), ("bh", 4, zeros),
                                 ("gc", 1, ones), ("bc", 1, zeros)):
            weights[name] = get_variable(f"{scope}/{name}", (size * n_hidden,), init)
    return weights


def _lstm_step(ops, weights, x_projected, mask, cell, hidden, layer_norm: bool):
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


def lstm(input_tensor, mask_tensor, cell_state_hidden, scope: str, n_hidden: int,
         init_scale: float = 1.0, layer_norm: bool = False):
    """SB2's LSTM over a sequence (``lstm1`` in SB2's policies).

    :param input_tensor: ``[n_steps, n_env, n_input]`` (or a list of ``[n_env, n_input]`` steps, SB2's form)
    :param mask_tensor: ``[n_steps, n_env]`` episode-start flags (or a list), reset the state first
    :param cell_state_hidden: ``[n_env, 2 * n_hidden]``, ``concat([c, h])``
    :return: ``(outputs [n_steps, n_env, n_hidden] (a list if given lists), new state)``
    """
    as_list = isinstance(input_tensor, (list, tuple))
    numpy_mode = _ActiveStore.numpy_mode
    ops = _NumpyOps if numpy_mode else _TfOps
    stack = np.stack if numpy_mode else tf.stack
    if as_list:
        input_tensor, mask_tensor = stack(list(input_tensor)), stack(list(mask_tensor))
    n_input = int(input_tensor.shape[-1])
    weights = _lstm_weights(scope, n_input, n_hidden, init_scale, layer_norm)
    if numpy_mode:
        x_projected = ops.matmul(input_tensor, weights["wx"])
    else:  # one 2-D matmul: a [n_steps, n_env, n_input] @ wx BatchMatMul's gradient made n_steps copies of wx
        leading = [dim if dim is not None else tf.shape(input_tensor)[axis]
                   for axis, dim in enumerate(input_tensor.shape[:-1])]
        x_projected = tf.reshape(tf.matmul(tf.reshape(input_tensor, (-1, n_input)), weights["wx"]),
                                 leading + [4 * n_hidden])
    if layer_norm:
        x_projected = _layer_norm(ops, x_projected, weights["gx"], weights["bx"])
    cell, hidden = ops.split(cell_state_hidden, 2)
    if numpy_mode:
        masks = np.asarray(mask_tensor, np.float32)[..., None]
        outputs = []
        for step in range(x_projected.shape[0]):
            cell, hidden = _lstm_step(ops, weights, x_projected[step], masks[step], cell, hidden, layer_norm)
            outputs.append(hidden)
        outputs = np.stack(outputs)
    else:
        masks = tf.cast(mask_tensor, tf.float32)[..., None]
        if x_projected.shape[0] == 1:  # one step (acting, export): plain ops, no loop (TFLite converts it)
            cell, hidden = _lstm_step(ops, weights, x_projected[0], masks[0], cell, hidden, layer_norm)
            outputs = hidden[None]
        else:
            def scan_step(carry, inputs):
                return _lstm_step(ops, weights, inputs[0], inputs[1], carry[0], carry[1], layer_norm)

            cells, outputs = tf.scan(scan_step, (x_projected, masks), initializer=(cell, hidden))
            cell, hidden = cells[-1], outputs[-1]
    new_state = ops.concat([cell, hidden])
    if as_list:
        outputs = [outputs[i] for i in range(int(outputs.shape[0]))]
    return outputs, new_state


def batch_to_seq(tensor_batch, n_env: int, n_steps: int):
    """Env-major ``[n_env * n_steps, ...]`` -> time-major ``[n_steps, n_env, ...]`` (``n_env`` may be
    -1: inferred)."""
    features = [int(d) for d in tensor_batch.shape[1:]]
    if _ActiveStore.numpy_mode or isinstance(tensor_batch, np.ndarray):
        return np.swapaxes(np.reshape(tensor_batch, [-1, n_steps] + features), 0, 1)
    shaped = tf.reshape(tensor_batch, [-1, n_steps] + features)
    return tf.transpose(shaped, [1, 0] + list(range(2, len(features) + 2)))


def seq_to_batch(tensor_sequence):
    """Time-major ``[n_steps, n_env, ...]`` -> env-major ``[n_env * n_steps, ...]``."""
    features = [int(d) for d in tensor_sequence.shape[2:]]
    if _ActiveStore.numpy_mode or isinstance(tensor_sequence, np.ndarray):
        return np.reshape(np.swapaxes(tensor_sequence, 0, 1), [-1] + features)
    swapped = tf.transpose(tensor_sequence, [1, 0] + list(range(2, len(features) + 2)))
    return tf.reshape(swapped, [-1] + features)


def lnlstm(input_tensor, mask_tensor, cell_state_hidden, scope: str, n_hidden: int, init_scale: float = 1.0):
    """SB2's layer-normalised LSTM: :func:`lstm` with ``layer_norm=True``."""
    return lstm(input_tensor, mask_tensor, cell_state_hidden, scope, n_hidden, init_scale=init_scale, layer_norm=True)
