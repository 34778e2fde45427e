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

    def sync_numpy(self) -> None:
        registry = self._registry
        for name in registry.order:
            registry.numpy[name] = registry.variables[name].numpy()


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
