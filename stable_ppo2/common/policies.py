"""Actor-critic policies with SB2's constructors, names and outputs (SB2's ``common/policies.py``).

A policy owns a Keras model (:class:`~stable_ppo2.common.tf_layers.VariableStore`, a
``tf_keras.Model``) holding its variables under SB2's names, the numpy copies of its weights and
their sync, and one forward function (:meth:`ActorCriticPolicy._network`:
:meth:`~ActorCriticPolicy.extract_features` plus the value and action heads) that runs on the TF
backend (training, compiled) or the numpy backend (rollouts and ``predict``; see ``tf_layers``).
Forward passes are safe to run from several threads at once. Policies are
constructed with SB2's positional arguments ``(sess, ob_space, ac_space, n_env, n_steps, n_batch,
reuse, ...)`` so legacy subclasses keep working; ``sess`` is unused (pass None).
"""
from __future__ import annotations

import threading
import warnings
from abc import ABC, abstractmethod
from itertools import zip_longest
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple, Type, Union, cast

import numpy as np
from gymnasium import spaces

from stable_ppo2.common.distributions import Proba, ProbabilityDistributionType, make_proba_dist_type
from stable_ppo2.common.input import (
    check_observation_space,
    input_dtype,
    input_shape,
    preprocess_obs_np,
    preprocess_obs_tf,
    whole_number_bound,
)
from stable_ppo2.common.tf_layers import (
    Backend,
    NumpyBackend,
    NumpyUnsupported,
    Tensor,
    TfBackend,
    VariableStore,
    conv,
    conv_to_fc,
    current_backend,
    linear,
    lstm,
    using_backend,
)
from stable_ppo2.common.tf_util import batch_to_seq, seq_to_batch, tf


def nature_cnn(scaled_images: Tensor, **kwargs: Any) -> Tensor:
    """The Nature DQN encoder: 3 ReLU convolutions (c1, c2, c3) and a 512-unit ReLU layer (fc1)."""
    backend = current_backend()
    relu = tf.nn.relu
    kwargs["backend"] = backend
    layer_1 = relu(conv(scaled_images, "c1", n_filters=32, filter_size=8, stride=4,
                        init_scale=np.sqrt(2), **kwargs))
    layer_2 = relu(conv(layer_1, "c2", n_filters=64, filter_size=4, stride=2,
                        init_scale=np.sqrt(2), **kwargs))
    layer_3 = relu(conv(layer_2, "c3", n_filters=64, filter_size=3, stride=1,
                        init_scale=np.sqrt(2), **kwargs))
    return relu(linear(conv_to_fc(layer_3, backend), "fc1", 512, init_scale=np.sqrt(2), backend=backend))


def _dense(backend: Backend, act_fun: Callable, latent, scope: str, n_units: int):
    """``act_fun(linear(...))``: one hidden layer of SB2's MLPs (orthogonal init sqrt(2))."""
    return backend.activation(act_fun, linear(latent, scope, n_units, init_scale=np.sqrt(2), backend=backend))


def mlp_extractor(flat_observations: Tensor, net_arch: Sequence[Union[int, Dict[str, List[int]]]],
                  act_fun: Callable, backend: Optional[Backend] = None) -> Tuple[Tensor, Tensor]:
    """Shared layers (``shared_fc{i}``) then separate policy/value layers (``pi_fc{i}``, ``vf_fc{i}``).

    ``net_arch``: leading ints are shared layer sizes; an optional final dict ``{'pi': [...],
    'vf': [...]}`` gives the separate ones. Layers are created pi_fc0, vf_fc0, pi_fc1, ... as in SB2,
    which fixes the parameter order. Returns ``(latent_policy, latent_value)``. ``backend``: that of
    the forward pass running in this thread if not given.
    """
    backend = backend or current_backend()
    latent = flat_observations
    policy_only_layers: List[int] = []
    value_only_layers: List[int] = []
    for idx, layer in enumerate(net_arch):
        if isinstance(layer, (int, np.integer)):
            latent = _dense(backend, act_fun, latent, f"shared_fc{idx}", int(layer))
        elif isinstance(layer, dict):
            policy_only_layers = list(layer.get("pi", []))
            value_only_layers = list(layer.get("vf", []))
            break
        else:
            raise ValueError(f"net_arch entries must be ints (shared layers) or one dict "
                             f"{{'pi': [...], 'vf': [...]}}, got {layer!r} in {net_arch!r}")
    latent_policy = latent_value = latent
    for idx, (pi_size, vf_size) in enumerate(zip_longest(policy_only_layers, value_only_layers)):
        if pi_size is not None:
            if not isinstance(pi_size, (int, np.integer)):
                raise ValueError(f"net_arch['pi'] must hold ints, got {pi_size!r}")
            latent_policy = _dense(backend, act_fun, latent_policy, f"pi_fc{idx}", int(pi_size))
        if vf_size is not None:
            if not isinstance(vf_size, (int, np.integer)):
                raise ValueError(f"net_arch['vf'] must hold ints, got {vf_size!r}")
            latent_value = _dense(backend, act_fun, latent_value, f"vf_fc{idx}", int(vf_size))
    return latent_policy, latent_value


def _probe_observations(ob_space: spaces.Space, n: int) -> np.ndarray:
    """A few fixed in-space observations, drawn without touching the space's own RNG."""
    rng = np.random.default_rng(12345)
    upper = whole_number_bound(ob_space)
    if upper is not None:
        return rng.integers(0, upper, size=(n,) + tuple(cast(Tuple[int, ...], ob_space.shape)))
    box = cast(spaces.Box, ob_space)  # check_observation_space allows no other kind
    low = np.maximum(box.low, -1.0)
    high = np.minimum(box.high, 1.0)
    high = np.where(high < low, low, high)
    return rng.uniform(low, high, size=(n,) + box.shape).astype(box.dtype)


class BasePolicy(ABC):
    """Spaces, batch sizes and checks shared by every policy (SB2's ``BasePolicy``)."""

    recurrent = False

    def __init__(self, sess: Any, ob_space: spaces.Space, ac_space: spaces.Space, n_env: int, n_steps: int,
                 n_batch: Optional[int], reuse: bool = False, scale: bool = False, obs_phs: Any = None,
                 add_action_ph: bool = False) -> None:
        check_observation_space(ob_space)
        self.sess = sess
        self.n_env, self.n_steps, self.n_batch = n_env, n_steps, n_batch
        self.reuse = reuse
        self.ob_space, self.ac_space = ob_space, ac_space
        self.scale = scale
        # SB2's TF1 placeholders have no TF2 counterpart; kept so attribute access still works.
        self.obs_ph = self.processed_obs = self.action_ph = None

    @property
    def is_discrete(self) -> bool:
        return isinstance(self.ac_space, spaces.Discrete)

    @property
    def initial_state(self) -> Optional[np.ndarray]:
        return None

    @staticmethod
    def _kwargs_check(feature_extraction: str, kwargs: dict) -> None:
        """MLP policies take no extra keyword arguments (CNN ones forward them to the extractor)."""
        if feature_extraction == "mlp" and len(kwargs) > 0:
            raise ValueError(f"Unknown keywords for policy: {kwargs}")

    @abstractmethod
    def step(self, obs: np.ndarray, state: Optional[np.ndarray] = None,
             mask: Optional[np.ndarray] = None) -> Tuple[np.ndarray, np.ndarray, Optional[np.ndarray], np.ndarray]:
        ...

    @abstractmethod
    def proba_step(self, obs: np.ndarray, state: Optional[np.ndarray] = None,
                   mask: Optional[np.ndarray] = None) -> Proba:
        ...


class ActorCriticPolicy(BasePolicy):
    """A policy with a value head and an action distribution for the action space.

    Subclasses define :meth:`extract_features`. The network is built on first use (or by
    :meth:`build`), which creates the variables in SB2's order: features, ``vf``, ``pi``
    (``pi/logstd`` for Box) and ``q``.
    """

    #: init scale of the ``pi`` and ``q`` layers (SB2: 0.01 for feed-forward, 1.0 for LSTM policies)
    head_init_scale = 0.01

    def __init__(self, sess: Any, ob_space: spaces.Space, ac_space: spaces.Space, n_env: int, n_steps: int,
                 n_batch: Optional[int], reuse: bool = False, scale: bool = False) -> None:
        super().__init__(sess, ob_space, ac_space, n_env, n_steps, n_batch, reuse=reuse, scale=scale)
        self._pdtype = make_proba_dist_type(ac_space)
        self.keras_model = VariableStore("model")
        self._tf_backend = TfBackend(self.keras_model)
        self.np_random = np.random.default_rng()
        self._built = False
        self._build_lock = threading.Lock()
        self._numpy_forward = False
        self._tf_forward: Any = None  # the tf.function that build() makes

    @property
    def pdtype(self) -> ProbabilityDistributionType:
        return self._pdtype

    @abstractmethod
    def extract_features(self, processed_obs: Tensor) -> Tuple[Tensor, Tensor]:
        """``(latent_policy, latent_value)`` from preprocessed observations (TF or numpy).

        Runs inside :meth:`_network`: the layer helpers called without ``backend=`` use the backend
        of that forward pass (``current_backend()`` gives it).
        """

    #: size of the recurrent state per observation (0: feed-forward)
    state_size = 0

    def _latents(self, processed_obs: Tensor, states: Optional[Tensor], masks: Optional[Tensor], n_steps: int,
                 backend: Backend):
        """``(latent_policy, latent_value, new_states)``; feed-forward policies pass states through."""
        latent_policy, latent_value = self.extract_features(processed_obs)
        return latent_policy, latent_value, states

    def _network(self, obs: np.ndarray, backend: Backend, states: Optional[Tensor] = None,
                 masks: Optional[Tensor] = None, n_steps: int = 1):
        """The forward function: flat distribution parameters, value ``[batch]``, ``q`` and the new
        recurrent states, computed on ``backend``."""
        with using_backend(backend):
            if backend.is_numpy:
                processed = preprocess_obs_np(obs, self.ob_space, self.scale)
            else:
                processed = preprocess_obs_tf(obs, self.ob_space, self.scale)
            latent_policy, latent_value, new_states = self._latents(processed, states, masks, n_steps, backend)
            value = linear(latent_value, "vf", 1, backend=backend)[:, 0]
            pdparam, q_values = self._pdtype.latent_to_params(latent_policy, latent_value,
                                                              init_scale=self.head_init_scale)
        return pdparam, value, q_values, new_states

    def network_with_state(self, obs: Tensor, states: Optional[Tensor] = None, masks: Optional[Tensor] = None,
                           n_steps: int = 1) -> Tuple[Tensor, Tensor, Tensor, Optional[Tensor]]:
        """The TF network: ``(pdparam, value, q, new_states)``. For recurrent policies ``obs`` and
        ``masks`` are ``n_steps``-long sequences, env-major, and ``states`` one row per sequence."""
        self.build()
        return self._network(obs, self._tf_backend, states, masks, n_steps)

    def network(self, obs: Tensor, states: Optional[Tensor] = None, masks: Optional[Tensor] = None,
                n_steps: int = 1) -> Tuple[Tensor, Tensor, Tensor]:
        """The TF network (for losses and compiled code): ``(pdparam, value, q)``."""
        return self.network_with_state(obs, states, masks, n_steps)[:3]

    def zero_state(self, n_rows: int) -> np.ndarray:
        return np.zeros((n_rows, self.state_size), np.float32)

    def build(self) -> "ActorCriticPolicy":
        """Create the variables and pick the rollout path (numpy when the network allows it)."""
        if self._built:
            return self
        with self._build_lock:  # first forward passes from several threads: one builds
            if not self._built:
                self._build()
        return self

    def _build(self) -> None:
        obs_shape, obs_dtype = input_shape(self.ob_space), input_dtype(self.ob_space)
        probe = np.asarray(_probe_observations(self.ob_space, 4)).astype(obs_dtype)
        probe_states, probe_masks = self.zero_state(4), np.array([1, 0, 0, 1], np.float32)
        tf_pdparam, tf_value, _, _ = self._network(probe, self._tf_backend, probe_states, probe_masks)
        specs = [tf.TensorSpec((None,) + obs_shape, tf.as_dtype(obs_dtype)),
                 tf.TensorSpec((None, self.state_size), tf.float32), tf.TensorSpec((None,), tf.float32)]

        def tf_forward(obs: Tensor, states: Tensor, masks: Tensor) -> Tuple[Tensor, Tensor, Tensor]:
            pdparam, value, _, new_states = self._network(obs, self._tf_backend, states, masks)
            return pdparam, value, new_states

        self._tf_forward = tf.function(tf_forward, input_signature=specs)
        try:
            np_pdparam, np_value, _, _ = self._network(probe, NumpyBackend(self.keras_model), probe_states,
                                                       probe_masks)
            self._numpy_forward = bool(
                isinstance(np_pdparam, np.ndarray) and isinstance(np_value, np.ndarray)
                and np.allclose(np_pdparam, tf_pdparam.numpy(), rtol=1e-4, atol=1e-5)
                and np.allclose(np_value, tf_value.numpy(), rtol=1e-4, atol=1e-5))
        except NumpyUnsupported:
            self._numpy_forward = False
        if not self._numpy_forward:  # one TF call per step: skip tf.function's argument binding (~0.4 ms)
            self._tf_forward = self._tf_forward.get_concrete_function()
        self._built = True

    @property
    def uses_numpy_forward(self) -> bool:
        """True when rollouts and ``predict`` run the network in numpy (no TF call per step)."""
        return self.build()._numpy_forward

    def get_parameter_list(self) -> List[tf.Variable]:
        return self.build().keras_model.ordered_variables()

    # ---------------------------------------------------------------- numpy weight copies
    def sync_weights(self) -> None:
        """Refresh the numpy copies of the weights after the TF variables changed."""
        self.keras_model.sync_numpy()

    def commit_weights(self, flat_values: Optional[np.ndarray] = None) -> bool:
        """After a training step: if every variable is finite, make the current values the numpy
        copies and return True; otherwise set the variables back to the copies (the last committed
        values) and return False. ``flat_values``: the current values already read, raveled and
        concatenated in ``get_parameter_list()`` order (else they are read here)."""
        if flat_values is None:
            values = self.keras_model.read_variables()
            finite = all(np.all(np.isfinite(value)) for value in values.values())
        else:
            values = self.keras_model.unflatten(flat_values)
            finite = bool(np.all(np.isfinite(flat_values)))
        if finite:
            self.keras_model.sync_numpy(values)
            return True
        self.keras_model.restore_from_numpy()
        return False

    def restore_weights(self) -> None:
        """Set the variables back to the numpy copies (the values of the last sync or commit)."""
        self.keras_model.restore_from_numpy()

    # ---------------------------------------------------------------- acting
    def forward_np_state(self, obs: np.ndarray, state: Optional[np.ndarray] = None,
                         mask: Optional[np.ndarray] = None) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(pdparam, values, new_state)`` for one step of a batch of raw observations, as numpy.

        ``state`` (one row per observation; zeros if None) and ``mask`` (episode starts: the
        state is reset first) only matter for recurrent policies.
        """
        if not self._built:
            self.build()
        if self.recurrent or not self._numpy_forward:  # a feed-forward numpy pass reads neither
            n_rows = len(obs)
            state = self.zero_state(n_rows) if state is None else np.asarray(state, np.float32)
            mask = np.zeros(n_rows, np.float32) if mask is None else np.asarray(mask, np.float32)
        if self._numpy_forward:
            pdparam, value, _, new_state = self._network(obs, NumpyBackend(self.keras_model), state, mask)
            return np.asarray(pdparam, np.float32), np.asarray(value, np.float32), new_state
        obs = np.asarray(obs, dtype=input_dtype(self.ob_space))
        pdparam, value, new_state = self._tf_forward(obs, state, mask)
        return pdparam.numpy(), value.numpy(), new_state.numpy()

    def forward_np(self, obs: np.ndarray, state: Optional[np.ndarray] = None,
                   mask: Optional[np.ndarray] = None) -> Tuple[np.ndarray, np.ndarray]:
        """Flat distribution parameters and values for a batch of raw observations, as numpy."""
        return self.forward_np_state(obs, state, mask)[:2]

    def step(self, obs: np.ndarray, state: Optional[np.ndarray] = None, mask: Optional[np.ndarray] = None,
             deterministic: bool = False) -> Tuple[np.ndarray, np.ndarray, Optional[np.ndarray], np.ndarray]:
        """``(actions, values, states, neglogp)``; neglogp is that of a sampled action (as SB2)."""
        pdparam, value, new_state = self.forward_np_state(obs, state, mask)
        sampled = self._pdtype.np_sample(pdparam, self.np_random)
        neglogp = self._pdtype.np_neglogp(pdparam, sampled)
        actions = self._pdtype.np_mode(pdparam) if deterministic else sampled
        return actions, value, (new_state if self.recurrent else None), neglogp

    def proba_step(self, obs: np.ndarray, state: Optional[np.ndarray] = None,
                   mask: Optional[np.ndarray] = None) -> Proba:
        return self._pdtype.np_proba(self.forward_np(obs, state, mask)[0])

    def value(self, obs: np.ndarray, state: Optional[np.ndarray] = None,
              mask: Optional[np.ndarray] = None) -> np.ndarray:
        return self.forward_np(obs, state, mask)[1]


class FeedForwardPolicy(ActorCriticPolicy):
    """MLP (``feature_extraction="mlp"``) or CNN feature extractor with actor and critic heads.

    :param net_arch: see :func:`mlp_extractor`; default ``[dict(vf=[64, 64], pi=[64, 64])]``
    :param layers: deprecated SB2 form of ``net_arch`` (separate pi and vf layers of these sizes)
    :param act_fun: activation of the MLP layers (``tf.tanh``, ``tf.nn.relu``, ...)
    :param cnn_extractor: ``f(scaled_images, **kwargs) -> features`` for CNN policies
    """

    def __init__(self, sess: Any, ob_space: spaces.Space, ac_space: spaces.Space, n_env: int, n_steps: int,
                 n_batch: Optional[int], reuse: bool = False, layers: Optional[List[int]] = None,
                 net_arch: Optional[List[Union[int, Dict[str, List[int]]]]] = None,
                 act_fun: Callable[[Tensor], Tensor] = tf.tanh, cnn_extractor: Callable[..., Tensor] = nature_cnn,
                 feature_extraction: str = "cnn", **kwargs: Any) -> None:
        super().__init__(sess, ob_space, ac_space, n_env, n_steps, n_batch, reuse=reuse,
                         scale=(feature_extraction == "cnn"))
        self._kwargs_check(feature_extraction, kwargs)
        if layers is not None:
            warnings.warn("Usage of the `layers` parameter is deprecated! Use net_arch instead "
                          "(it has a different semantics though).", DeprecationWarning)
            if net_arch is not None:
                warnings.warn("The new `net_arch` parameter overrides the deprecated `layers` parameter!",
                              DeprecationWarning)
        if net_arch is None:
            layers = [64, 64] if layers is None else list(layers)
            net_arch = [dict(vf=layers, pi=layers)]
        self.net_arch = net_arch
        self.act_fun = act_fun
        self.cnn_extractor = cnn_extractor
        self.feature_extraction = feature_extraction
        self.cnn_kwargs = kwargs

    def extract_features(self, processed_obs: Tensor) -> Tuple[Tensor, Tensor]:
        if self.feature_extraction == "cnn":
            latent = self.cnn_extractor(processed_obs, **self.cnn_kwargs)
            return latent, latent
        backend = current_backend()
        return mlp_extractor(conv_to_fc(processed_obs, backend), self.net_arch, self.act_fun, backend)


class CnnPolicy(FeedForwardPolicy):
    """Nature CNN on image observations scaled to [0, 1]."""

    def __init__(self, sess: Any, ob_space: spaces.Space, ac_space: spaces.Space, n_env: int, n_steps: int,
                 n_batch: Optional[int], reuse: bool = False, **_kwargs: Any) -> None:
        super().__init__(sess, ob_space, ac_space, n_env, n_steps, n_batch, reuse,
                         feature_extraction="cnn", **_kwargs)


class MlpPolicy(FeedForwardPolicy):
    """Two separate 64-64 tanh networks for the policy and the value function (by default)."""

    def __init__(self, sess: Any, ob_space: spaces.Space, ac_space: spaces.Space, n_env: int, n_steps: int,
                 n_batch: Optional[int], reuse: bool = False, **_kwargs: Any) -> None:
        super().__init__(sess, ob_space, ac_space, n_env, n_steps, n_batch, reuse,
                         feature_extraction="mlp", **_kwargs)


class RecurrentActorCriticPolicy(ActorCriticPolicy):
    """An actor-critic policy with a recurrent state (``state_shape`` per env), SB2's base class.

    ``step(obs, state, mask)`` takes the state of each row and ``mask``, the episode-start flags
    (the done flags of the previous step), which reset the state before the step.
    """

    recurrent = True
    head_init_scale = 1.0  # SB2's LSTM policies keep the default init scale for pi and q

    def __init__(self, sess: Any, ob_space: spaces.Space, ac_space: spaces.Space, n_env: int, n_steps: int,
                 n_batch: Optional[int], state_shape: Sequence[int], reuse: bool = False, scale: bool = False) -> None:
        super().__init__(sess, ob_space, ac_space, n_env, n_steps, n_batch, reuse=reuse, scale=scale)
        self.state_shape = tuple(int(d) for d in state_shape)
        self.state_size = int(np.prod(self.state_shape))

    @property
    def initial_state(self) -> np.ndarray:
        return np.zeros((self.n_env,) + self.state_shape, dtype=np.float32)


class LstmPolicy(RecurrentActorCriticPolicy):
    """SB2's LSTM policy: features, one LSTM (``lstm1``, ``n_lstm`` units), then the heads.

    Legacy layout (``net_arch=None``): the CNN, or MLP layers named ``pi_fc{i}`` (``layers``,
    default ``[64, 64]``) shared by both heads, then the LSTM. ``net_arch`` layout (MLP only):
    shared ints (``shared_fc{i}``), exactly one ``'lstm'``, optionally a final
    ``{'pi': [...], 'vf': [...]}`` dict of separate layers (all ``pi_fc{i}``, then all ``vf_fc{i}``).
    """

    def __init__(self, sess: Any, ob_space: spaces.Space, ac_space: spaces.Space, n_env: int, n_steps: int,
                 n_batch: Optional[int], n_lstm: int = 256, reuse: bool = False, layers: Optional[List[int]] = None,
                 net_arch: Optional[List[Union[int, str, Dict[str, List[int]]]]] = None,
                 act_fun: Callable[[Tensor], Tensor] = tf.tanh, cnn_extractor: Callable[..., Tensor] = nature_cnn,
                 layer_norm: bool = False, feature_extraction: str = "cnn", **kwargs: Any) -> None:
        super().__init__(sess, ob_space, ac_space, n_env, n_steps, n_batch,
                         state_shape=(2 * n_lstm,), reuse=reuse,
                         scale=(feature_extraction == "cnn"))
        self._kwargs_check(feature_extraction, kwargs)
        if net_arch is None:
            if layers is None:
                layers = [64, 64]
            else:
                warnings.warn("The layers parameter is deprecated. Use the net_arch parameter instead.")
        else:
            if feature_extraction == "cnn":
                raise NotImplementedError("LstmPolicy's net_arch works with MLP features only "
                                          "(feature_extraction='mlp'), not with a CNN.")
            self._check_net_arch(net_arch)
        self.n_lstm = n_lstm
        self.layers = layers
        self.net_arch = net_arch
        self.act_fun = act_fun
        self.cnn_extractor = cnn_extractor
        self.layer_norm = layer_norm
        self.feature_extraction = feature_extraction
        self.cnn_kwargs = kwargs

    @staticmethod
    def _check_net_arch(net_arch: List[Union[int, str, Dict[str, List[int]]]]) -> None:
        n_lstm_layers = sum(1 for layer in net_arch if isinstance(layer, str) and layer == "lstm")
        if n_lstm_layers > 1:
            raise ValueError("The net_arch parameter must only contain one occurrence of 'lstm'!")
        if n_lstm_layers == 0:
            raise ValueError("The net_arch parameter must contain at least one occurrence of 'lstm'!")
        for layer in net_arch:
            if isinstance(layer, dict) and ("lstm" in layer.get("pi", []) or "lstm" in layer.get("vf", [])):
                raise NotImplementedError("LSTMs are only supported in the shared part of the policy network.")

    def extract_features(self, processed_obs: Tensor) -> Tensor:  # the features the LSTM reads
        """The features the LSTM reads (legacy layout) or the shared layers before ``'lstm'``."""
        if self.feature_extraction == "cnn" and self.net_arch is None:
            return self.cnn_extractor(processed_obs, **self.cnn_kwargs)
        backend = current_backend()
        latent = conv_to_fc(processed_obs, backend)
        if self.net_arch is None:
            assert self.layers is not None  # __init__ sets the default layers when there is no net_arch
            for i, layer_size in enumerate(self.layers):
                latent = _dense(backend, self.act_fun, latent, f"pi_fc{i}", layer_size)
            return latent
        for idx, layer in enumerate(self.net_arch):
            if isinstance(layer, str):
                break
            latent = self._shared_layer(backend, latent, idx, layer)
        return latent

    def _shared_layer(self, backend: Backend, latent, idx: int, layer):
        if not isinstance(layer, (int, np.integer)):
            raise ValueError(f"net_arch entries must be ints, 'lstm' or a final dict, got {layer!r}")
        return _dense(backend, self.act_fun, latent, f"shared_fc{idx}", int(layer))

    def _lstm(self, latent, states: Optional[Tensor], masks: Optional[Tensor], n_steps: int, backend: Backend):
        outputs, new_states = lstm(batch_to_seq(latent, -1, n_steps), batch_to_seq(masks, -1, n_steps),
                                   states, "lstm1", self.n_lstm, layer_norm=self.layer_norm, backend=backend)
        return seq_to_batch(outputs), new_states

    def _latents(self, processed_obs: Tensor, states: Optional[Tensor], masks: Optional[Tensor], n_steps: int,
                 backend: Backend):
        latent, new_states = self._lstm(self.extract_features(processed_obs), states, masks, n_steps, backend)
        if self.net_arch is None:
            return latent, latent, new_states
        policy_only_layers: List[int] = []
        value_only_layers: List[int] = []
        lstm_index = self.net_arch.index("lstm")
        for idx, layer in enumerate(self.net_arch[lstm_index + 1:], start=lstm_index + 1):
            if isinstance(layer, dict):
                policy_only_layers = list(layer.get("pi", []))
                value_only_layers = list(layer.get("vf", []))
                break
            latent = self._shared_layer(backend, latent, idx, layer)
        latent_policy = latent_value = latent
        for idx, size in enumerate(policy_only_layers):
            latent_policy = _dense(backend, self.act_fun, latent_policy, f"pi_fc{idx}", int(size))
        for idx, size in enumerate(value_only_layers):
            latent_value = _dense(backend, self.act_fun, latent_value, f"vf_fc{idx}", int(size))
        return latent_policy, latent_value, new_states


class MlpLstmPolicy(LstmPolicy):
    """Two 64-unit tanh layers, then an LSTM of ``n_lstm`` units."""

    def __init__(self, sess: Any, ob_space: spaces.Space, ac_space: spaces.Space, n_env: int, n_steps: int,
                 n_batch: Optional[int], n_lstm: int = 256, reuse: bool = False, **_kwargs: Any) -> None:
        super().__init__(sess, ob_space, ac_space, n_env, n_steps, n_batch, n_lstm, reuse,
                         layer_norm=False, feature_extraction="mlp", **_kwargs)


class MlpLnLstmPolicy(LstmPolicy):
    """:class:`MlpLstmPolicy` with SB2's layer-normalised LSTM cell."""

    def __init__(self, sess: Any, ob_space: spaces.Space, ac_space: spaces.Space, n_env: int, n_steps: int,
                 n_batch: Optional[int], n_lstm: int = 256, reuse: bool = False, **_kwargs: Any) -> None:
        super().__init__(sess, ob_space, ac_space, n_env, n_steps, n_batch, n_lstm, reuse,
                         layer_norm=True, feature_extraction="mlp", **_kwargs)


class CnnLstmPolicy(LstmPolicy):
    """Nature CNN, then an LSTM of ``n_lstm`` units."""

    def __init__(self, sess: Any, ob_space: spaces.Space, ac_space: spaces.Space, n_env: int, n_steps: int,
                 n_batch: Optional[int], n_lstm: int = 256, reuse: bool = False, **_kwargs: Any) -> None:
        super().__init__(sess, ob_space, ac_space, n_env, n_steps, n_batch, n_lstm, reuse,
                         layer_norm=False, feature_extraction="cnn", **_kwargs)


class CnnLnLstmPolicy(LstmPolicy):
    """:class:`CnnLstmPolicy` with SB2's layer-normalised LSTM cell."""

    def __init__(self, sess: Any, ob_space: spaces.Space, ac_space: spaces.Space, n_env: int, n_steps: int,
                 n_batch: Optional[int], n_lstm: int = 256, reuse: bool = False, **_kwargs: Any) -> None:
        super().__init__(sess, ob_space, ac_space, n_env, n_steps, n_batch, n_lstm, reuse,
                         layer_norm=True, feature_extraction="cnn", **_kwargs)


_policy_registry: Dict[type, Dict[str, type]] = {
    ActorCriticPolicy: {"CnnPolicy": CnnPolicy, "MlpPolicy": MlpPolicy, "CnnLstmPolicy": CnnLstmPolicy,
                        "CnnLnLstmPolicy": CnnLnLstmPolicy, "MlpLstmPolicy": MlpLstmPolicy,
                        "MlpLnLstmPolicy": MlpLnLstmPolicy},
}


def get_policy_from_name(base_policy_type: type, name: str) -> Type[BasePolicy]:
    """The policy class registered as ``name`` under ``base_policy_type``."""
    if base_policy_type not in _policy_registry:
        raise ValueError(f"Error: the policy type {base_policy_type} is not registered!")
    registry = _policy_registry[base_policy_type]
    if name not in registry:
        raise ValueError(f"Error: unknown policy type {name}, the only registed policy type are: "
                         f"{list(registry.keys())}!")
    return registry[name]


def register_policy(name: str, policy: type) -> None:
    """Make ``policy`` available by ``name`` (e.g. ``PPO2("MyPolicy", env)``)."""
    sub_class = next((cls for cls in BasePolicy.__subclasses__() if issubclass(policy, cls)), None)
    if sub_class is None:
        raise ValueError(f"Error: the policy {policy} is not of any known subclasses of BasePolicy!")
    registry = _policy_registry.setdefault(sub_class, {})
    if name in registry and registry[name] is not policy:
        raise ValueError(f"Error: the name {name} is alreay registered for a different policy, "
                         "will not override.")
    registry[name] = policy


#: The names of this module a model file may ask for: the safe unpickler of model files looks
#: them up here when a file names them (``stable_baselines.common.policies.MlpPolicy``, ...).
SAFE_PICKLE_NAMES = frozenset({
    "BasePolicy", "ActorCriticPolicy", "FeedForwardPolicy", "MlpPolicy", "CnnPolicy",
    "RecurrentActorCriticPolicy", "LstmPolicy", "MlpLstmPolicy", "MlpLnLstmPolicy",
    "CnnLstmPolicy", "CnnLnLstmPolicy", "nature_cnn", "mlp_extractor"})
