"""Behaviour cloning (SB2's ``model.pretrain``): supervised training of a policy on expert data.

:func:`pretrain` fits the model's policy to an :class:`~stable_ppo2.gail.ExpertDataset`:

- Discrete: softmax cross-entropy of the logits against the expert action (SB2),
- Box: mean squared error between the Gaussian's mean and the expert action (SB2),
- MultiDiscrete: the sum over dimensions of the per-dimension cross-entropies,
- MultiBinary: the sum over dimensions of the sigmoid cross-entropies,

each averaged over the minibatch. It trains with its own Adam (TF1's update with the given
epsilon, new at every call), starting from the model's current weights (SB2 re-initialised every
variable first, quirk 10; here a loaded or trained model keeps what it learnt). The training step
is a ``tf.function`` traced once per model and called once per group of minibatches.

Recurrent policies (SB2 could not pretrain them) learn from whole episodes: see
:class:`RecurrentBehaviourCloning`.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, List, Optional, Sequence, Tuple, TypeVar

import numpy as np
from gymnasium import spaces

from stable_ppo2.common.distributions import make_proba_dist_type
from stable_ppo2.common.image_files import read_images
from stable_ppo2.common.input import input_dtype, input_shape
from stable_ppo2.common.optimizers import Tf1Adam
from stable_ppo2.common.tf_util import USE_XLA, tf

if TYPE_CHECKING:
    from stable_ppo2.common.base_class import BaseRLModel
    from stable_ppo2.common.policies import ActorCriticPolicy

_Model = TypeVar("_Model", bound="BaseRLModel")

#: observations (and actions) sent to the compiled step in one call, at most (bytes)
CHUNK_BYTES = 32 * 2 ** 20


# ------------------------------------------------------------------------------------ batches
class BatchConverter:
    """Checks expert minibatches against the model's spaces and casts them for the network."""

    def __init__(self, observation_space: spaces.Space, action_space: spaces.Space) -> None:
        self.observation_space, self.action_space = observation_space, action_space
        self.pdtype = make_proba_dist_type(action_space)
        self.obs_shape = input_shape(observation_space)
        self.obs_dtype = input_dtype(observation_space)
        self.obs_size = int(np.prod(self.obs_shape))
        self.act_width = int(np.prod(self.pdtype.sample_shape()))  # Discrete: one column
        self.act_dtype = np.dtype(self.pdtype.action_dtype)

    def observations(self, obs: Any) -> np.ndarray:
        obs = _rows(obs, self.obs_shape, "observation", self.observation_space)
        return obs.astype(self.obs_dtype, copy=False)

    def actions(self, actions: Any) -> np.ndarray:
        actions = _rows(actions, (self.act_width,), "action", self.action_space)
        return self.pdtype.check_values(actions, "expert actions").astype(self.act_dtype, copy=False)


def _rows(values, per_row: Tuple[int, ...], role: str, space) -> np.ndarray:
    """Expert ``values`` as ``[n, *per_row]`` (any shape with ``n`` rows of the right size)."""
    values = np.asarray(values)
    n_rows = len(values)
    if values.size != n_rows * int(np.prod(per_row)):
        raise ValueError(f"The expert {role}s have shape {values.shape}, which does not fit the model's "
                         f"{role} space {space} (expected ({n_rows}, {', '.join(map(str, per_row)) or 1}) "
                         "or a flattened equivalent)")
    return values.reshape((n_rows,) + per_row)


def _val_interval(n_epochs: int, val_interval: Optional[int]) -> int:
    if val_interval is None:
        return 1 if n_epochs < 10 else int(n_epochs / 10)
    if int(val_interval) < 1:
        raise ValueError(f"val_interval must be a positive int, got {val_interval}")
    return int(val_interval)


def _report(epoch_idx: int, n_epochs: int, train_loss: float, val_loss: float) -> None:
    print("==== Training progress {:.2f}% ====".format(100 * (epoch_idx + 1) / n_epochs))
    print("Epoch {}".format(epoch_idx + 1))
    print("Training loss: {:.6f}, Validation loss: {:.6f}".format(train_loss, val_loss))
    print()


def _trainable_variables(params: Sequence[tf.Variable], loss_fn) -> List[tf.Variable]:
    """The parameters the loss reaches (not ``vf``, ``q``; as SB2's ``minimize``)."""
    with tf.GradientTape() as tape:
        loss = loss_fn()
    gradients = tape.gradient(loss, list(params))
    return [v for v, g in zip(params, gradients) if g is not None]


# ------------------------------------------------------------------------------------ feed-forward
class BehaviourCloning:
    """Compiled behaviour-cloning steps for one feed-forward policy (kept on the model).

    ``train(obs, actions, sizes)`` runs one Adam step per minibatch: the minibatches are
    concatenated, ``sizes`` gives their lengths; it returns the sum of their mean losses.
    """

    def __init__(self, policy: ActorCriticPolicy, params: Sequence[tf.Variable], observation_space: spaces.Space,
                 action_space: spaces.Space) -> None:
        self.policy = policy
        self.converter = BatchConverter(observation_space, action_space)
        conv = self.converter
        probe_obs = np.zeros((2,) + conv.obs_shape, conv.obs_dtype)
        probe_act = np.zeros((2, conv.act_width), conv.act_dtype)
        self.variables = _trainable_variables(params, lambda: self._loss(probe_obs, probe_act))
        self.optimizer = Tf1Adam(self.variables)
        self.trace_count = 0
        obs_spec = tf.TensorSpec((None,) + conv.obs_shape, tf.as_dtype(conv.obs_dtype))
        act_spec = tf.TensorSpec((None, conv.act_width), tf.as_dtype(conv.act_dtype))
        sizes_spec = tf.TensorSpec((None,), tf.int32)
        scalar = tf.TensorSpec((), tf.float32)
        self.train = tf.function(self._train, input_signature=[obs_spec, act_spec, sizes_spec, scalar, scalar])
        self.evaluate = tf.function(self._evaluate, input_signature=[obs_spec, act_spec, sizes_spec])

    def _loss(self, obs, actions):
        pdparam = self.policy.network(obs)[0]
        return tf.reduce_mean(self.converter.pdtype.bc_loss(pdparam, actions))

    def _train(self, obs, actions, sizes, learning_rate, epsilon):
        self.trace_count += 1  # Python side effect: counts traces
        offsets = tf.concat([[0], tf.cumsum(sizes)], axis=0)
        total = tf.constant(0.0)
        for i in tf.range(tf.shape(sizes)[0]):
            batch_obs = obs[offsets[i]:offsets[i + 1]]
            batch_actions = actions[offsets[i]:offsets[i + 1]]
            with tf.GradientTape() as tape:
                loss = self._loss(batch_obs, batch_actions)
            gradients = tape.gradient(loss, self.variables)
            self.optimizer.apply(gradients, learning_rate, epsilon)
            total += loss
        return total

    def _evaluate(self, obs, actions, sizes):
        offsets = tf.concat([[0], tf.cumsum(sizes)], axis=0)
        total = tf.constant(0.0)
        for i in tf.range(tf.shape(sizes)[0]):
            total += self._loss(obs[offsets[i]:offsets[i + 1]], actions[offsets[i]:offsets[i + 1]])
        return total

    def _chunks(self, dataset, split: str, n_batches: int):
        """Groups of ``(obs, actions, sizes)``: ``n_batches`` minibatches of the split, in order."""
        batches: List[Tuple[np.ndarray, np.ndarray]] = []
        n_bytes = 0
        for _ in range(n_batches):
            obs, actions = dataset.get_next_batch(split)
            obs, actions = self.converter.observations(obs), self.converter.actions(actions)
            if len(obs) != len(actions):
                raise ValueError(f"The expert minibatch has {len(obs)} observations but "
                                 f"{len(actions)} actions")
            if len(obs) == 0:
                continue  # an empty minibatch would give a NaN loss (SB2 quirk 17)
            batches.append((obs, actions))
            n_bytes += obs.nbytes + actions.nbytes
            if n_bytes >= CHUNK_BYTES:
                yield self._stack(batches)
                batches, n_bytes = [], 0
        if batches:
            yield self._stack(batches)

    @staticmethod
    def _stack(batches):
        return (np.concatenate([b[0] for b in batches]), np.concatenate([b[1] for b in batches]),
                np.array([len(b[0]) for b in batches], np.int32))

    def train_epoch(self, dataset: Any, learning_rate: float, epsilon: float) -> float:
        n_batches = len(dataset.train_loader)
        total = 0.0
        for obs, actions, sizes in self._chunks(dataset, "train", n_batches):
            total += float(self.train(obs, actions, sizes, np.float32(learning_rate), np.float32(epsilon)))
        return total / max(n_batches, 1)

    def validation_loss(self, dataset: Any) -> float:
        n_batches = len(dataset.val_loader)
        total = 0.0
        for obs, actions, sizes in self._chunks(dataset, "val", n_batches):
            total += float(self.evaluate(obs, actions, sizes))
        return total / max(n_batches, 1)


# ------------------------------------------------------------------------------------ entry point
def _policy_of(model):
    policy = getattr(model, "act_model", None)
    if policy is None or not hasattr(policy, "network"):
        raise ValueError(f"{type(model).__name__} has no policy network to pretrain (build the model "
                         "first: setup_model())")
    return policy


def _sequence_length(model) -> int:
    return int(getattr(model, "n_steps", None) or 128)


def _cloner(model, policy):
    """The model's compiled behaviour-cloning steps, built on first use (one trace per model)."""
    cloner = getattr(model, "_behaviour_cloning", None)
    if (cloner is None or cloner.policy is not policy
            or getattr(cloner, "seq_len", None) not in (None, _sequence_length(model))):
        params = model.get_parameter_list()
        if getattr(policy, "recurrent", False):
            cloner = RecurrentBehaviourCloning(policy, params, model.observation_space,
                                               model.action_space, _sequence_length(model))
        else:
            cloner = BehaviourCloning(policy, params, model.observation_space, model.action_space)
        model._behaviour_cloning = cloner
    return cloner


def pretrain(model: _Model, dataset: Any, n_epochs: int = 10, learning_rate: float = 1e-4,
             adam_epsilon: float = 1e-8, val_interval: Optional[int] = None) -> _Model:
    """Behaviour cloning of ``dataset`` into ``model``'s policy; returns ``model``.

    :param dataset: an :class:`~stable_ppo2.gail.ExpertDataset` (or anything with SB2's
        ``train_loader``, ``val_loader`` and ``get_next_batch(split)``)
    :param n_epochs: passes over the training split
    :param learning_rate: Adam's learning rate
    :param adam_epsilon: Adam's epsilon
    :param val_interval: with ``verbose > 0``, print the training and validation losses every
        ``val_interval`` epochs (default: a tenth of ``n_epochs``, at least 1)
    """
    n_epochs = int(n_epochs)
    val_interval = _val_interval(n_epochs, val_interval)
    policy = _policy_of(model)
    cloner = _cloner(model, policy)
    cloner.optimizer.reset()  # a new Adam at every call, as SB2
    verbose = getattr(model, "verbose", 0)
    if verbose > 0:
        print("Pretraining with Behavior Cloning...")
    try:
        for epoch_idx in range(n_epochs):
            train_loss = cloner.train_epoch(dataset, learning_rate, adam_epsilon)
            if verbose > 0 and (epoch_idx + 1) % val_interval == 0:
                _report(epoch_idx, n_epochs, train_loss, cloner.validation_loss(dataset))
    finally:
        policy.sync_weights()  # the numpy rollout path reads copies of the weights
        on_changed = getattr(model, "_on_parameters_changed", None)
        if on_changed is not None:
            on_changed()
    if verbose > 0:
        print("Pretraining done.")
    return model


class RecurrentBehaviourCloning:
    """Compiled behaviour-cloning steps for one recurrent policy (kept on the model).

    The training episodes, in a new random order each epoch, are laid end to end in ``n_seq``
    parallel streams of whole episodes (each next episode goes to the shortest stream). The
    streams are read in windows of ``seq_len`` steps (the model's ``n_steps``, the sequence length
    PPO2 trains the LSTM on): one Adam step per window, truncated backpropagation through time, the
    state carried from one window to the next and reset at every episode start (the mask), as
    during rollouts. ``n_seq = ceil(batch_size / seq_len)`` (at most the number of episodes), so a
    window holds at least ``batch_size`` transitions; padding after the end of a stream has no
    weight in the loss. The loss of a window is the mean over its real transitions.
    """

    def __init__(self, policy: ActorCriticPolicy, params: Sequence[tf.Variable], observation_space: spaces.Space,
                 action_space: spaces.Space, seq_len: int) -> None:
        self.policy = policy
        self.seq_len = int(seq_len)
        self.converter = BatchConverter(observation_space, action_space)
        conv = self.converter
        n_steps = self.seq_len
        probe = (np.zeros((n_steps,) + conv.obs_shape, conv.obs_dtype),
                 np.zeros((n_steps, conv.act_width), conv.act_dtype),
                 np.eye(1, n_steps, dtype=np.float32)[0], np.ones(n_steps, np.float32),
                 policy.zero_state(1))
        self.variables = _trainable_variables(params, lambda: self._window_loss(*probe)[0])
        self.optimizer = Tf1Adam(self.variables)
        self.trace_count = 0
        window = tf.TensorSpec((None,), tf.float32)
        specs = [tf.TensorSpec((None,) + conv.obs_shape, tf.as_dtype(conv.obs_dtype)),
                 tf.TensorSpec((None, conv.act_width), tf.as_dtype(conv.act_dtype)),
                 window, window, tf.TensorSpec((None, policy.state_size), tf.float32)]
        scalar = tf.TensorSpec((), tf.float32)
        # One call per window; XLA compiles the LSTM's scan and its gradient into a tight loop
        # (once per window shape: one for training, one for validation).
        jit_compile = USE_XLA and policy.uses_numpy_forward
        self.train = tf.function(self._train, input_signature=specs + [scalar, scalar],
                                 jit_compile=jit_compile)
        self.evaluate = tf.function(self._window_loss, input_signature=specs, jit_compile=jit_compile)

    def _window_loss(self, obs, actions, masks, weights, states):
        """Weighted mean loss of one window (``n_seq`` env-major sequences) and the final states."""
        pdparam, _, _, new_states = self.policy.network_with_state(obs, states, masks, self.seq_len)
        losses = self.converter.pdtype.bc_loss(pdparam, actions)
        loss = tf.reduce_sum(losses * weights) / tf.maximum(tf.reduce_sum(weights), 1.0)
        return loss, new_states

    def _train(self, obs, actions, masks, weights, states, learning_rate, epsilon):
        self.trace_count += 1  # Python side effect: counts traces
        with tf.GradientTape() as tape:
            loss, new_states = self._window_loss(obs, actions, masks, weights, states)
        gradients = tape.gradient(loss, self.variables)
        self.optimizer.apply(gradients, learning_rate, epsilon)
        return loss, new_states

    # -------------------------------------------------------------------------------- numpy side
    @staticmethod
    def _episodes(dataset):
        split = getattr(dataset, "episode_split", None)
        if split is None or getattr(dataset, "observations", None) is None:
            raise ValueError("Recurrent pretraining reads whole episodes: it needs an ExpertDataset "
                             "(observations, actions and episode_starts), got "
                             f"{type(dataset).__name__}")
        return split()

    def _n_seq(self, dataset, n_episodes: int) -> int:
        batch_size = int(getattr(dataset, "batch_size", self.seq_len))
        return max(1, min(n_episodes, -(-batch_size // self.seq_len)))

    def _layout(self, ranges: np.ndarray, n_seq: int, shuffle: bool):
        """``(indices, masks)`` of shape ``[n_seq, T]`` (T a multiple of ``seq_len``); index -1 is
        padding."""
        order = np.random.permutation(len(ranges)) if shuffle else np.arange(len(ranges))
        streams: List[List[np.ndarray]] = [[] for _ in range(n_seq)]
        lengths = np.zeros(n_seq, np.int64)
        for k in order:
            stream = int(np.argmin(lengths))
            streams[stream].append(ranges[k])
            lengths[stream] += ranges[k][1] - ranges[k][0]
        total = -(-int(lengths.max()) // self.seq_len) * self.seq_len
        indices = np.full((n_seq, total), -1, np.int64)
        masks = np.zeros((n_seq, total), np.float32)
        for stream, episodes in enumerate(streams):
            pos = 0
            for start, stop in episodes:
                indices[stream, pos:pos + stop - start] = np.arange(start, stop)
                masks[stream, pos] = 1.0  # episode start: the state is reset before this step
                pos += stop - start
        return indices, masks

    def _observations(self, dataset, flat_indices: np.ndarray) -> np.ndarray:
        obs = dataset.observations[flat_indices]
        if len(obs) and isinstance(np.asarray(obs).flat[0], str):
            obs = read_images(obs)
        return self.converter.observations(obs)

    def _windows(self, dataset, ranges: np.ndarray, shuffle: bool):
        """Chunks of consecutive windows: ``(obs, actions, masks, weights)`` shaped
        ``[n_windows, n_seq * seq_len, ...]`` (env-major within a window)."""
        n_seq = self._n_seq(dataset, len(ranges))
        indices, masks = self._layout(ranges, n_seq, shuffle)
        n_windows, L = indices.shape[1] // self.seq_len, self.seq_len

        def per_window(array):
            return (array.reshape((n_seq, n_windows, L) + array.shape[2:]).swapaxes(0, 1)
                    .reshape((n_windows, n_seq * L) + array.shape[2:]))

        indices, masks = per_window(indices), per_window(masks)
        row_bytes = max(1, n_seq * L * (self.converter.obs_size * 4 + 8))
        per_chunk = max(1, CHUNK_BYTES // row_bytes)
        for w0 in range(0, n_windows, per_chunk):
            idx = indices[w0:w0 + per_chunk]
            flat = np.maximum(idx, 0).reshape(-1)
            obs = self._observations(dataset, flat)
            actions = self.converter.actions(dataset.actions[flat])
            shape = idx.shape
            yield (obs.reshape(shape + obs.shape[1:]), actions.reshape(shape + actions.shape[1:]),
                   masks[w0:w0 + per_chunk], (idx >= 0).astype(np.float32))

    def _run(self, dataset, ranges, shuffle: bool, step) -> float:
        states = None
        total, n_windows = 0.0, 0
        for obs, actions, masks, weights in self._windows(dataset, ranges, shuffle):
            if states is None:
                states = tf.constant(self.policy.zero_state(obs.shape[1] // self.seq_len))
            for window in range(len(obs)):
                loss, states = step(obs[window], actions[window], masks[window], weights[window], states)
                total += float(loss)
            n_windows += len(obs)
        return total / max(n_windows, 1)

    def train_epoch(self, dataset: Any, learning_rate: float, epsilon: float) -> float:
        train_ranges, _ = self._episodes(dataset)
        shuffle = bool(getattr(dataset, "randomize", True))
        lr, eps = np.float32(learning_rate), np.float32(epsilon)
        return self._run(dataset, train_ranges, shuffle,
                         lambda *batch: self.train(*batch, lr, eps))

    def validation_loss(self, dataset: Any) -> float:
        _, val_ranges = self._episodes(dataset)
        return self._run(dataset, val_ranges, False, self.evaluate)
