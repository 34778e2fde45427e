"""The single place where TensorFlow is imported, quietly, and process-wide TF settings."""
from __future__ import annotations

import os
import sys
from typing import Any, Callable, List, Optional, Sequence

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def _import_tensorflow_quietly():
    """Import TensorFlow with C-level stderr muted: its native loaders print CUDA probing lines
    that ``TF_CPP_MIN_LOG_LEVEL`` does not cover. Errors still propagate as Python exceptions."""
    if "tensorflow" in sys.modules:
        import tensorflow

        return tensorflow
    try:
        sys.stderr.flush()
        saved_fd = os.dup(2)
    except (OSError, ValueError, AttributeError):  # no real stderr (e.g. some IDEs)
        import tensorflow

        return tensorflow
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    try:
        import tensorflow
    finally:
        os.dup2(saved_fd, 2)
        os.close(saved_fd)
        os.close(devnull)
    return tensorflow


tf = _import_tensorflow_quietly()
#: a TF tensor or variable (or an np.ndarray where numpy arrays are accepted); TF ships no type stubs
Tensor = Any

import tf_keras  # noqa: E402, F401  (re-exported; Keras 2: plain tf.Variables with SB2's names, as TFP expects)

_threads_set: Optional[int] = None
#: Compile the training steps of MLP policies (PPO2's update, recurrent pretraining) with XLA:
#: about 1.5x faster steps for ~1.5 s more on the first call. ``STABLE_PPO2_XLA=0`` turns it off;
#: convolutional networks never use it (XLA's CPU convolution gradients are slow).
USE_XLA = os.environ.get("STABLE_PPO2_XLA", "1") != "0"


def set_num_threads(n_threads: Optional[int]) -> bool:
    """Best-effort thread count (SB2's ``n_cpu_tf_sess``) for TF and for numpy's BLAS.

    numpy's BLAS matters for the numpy rollout path: with several threads, OpenBLAS spins them up
    even for the tiny matrix products of one env step (6x slower per step for an LSTM-256). TF
    only accepts a thread count before its runtime starts, so a later call with another value
    returns False instead of failing.
    """
    global _threads_set
    if n_threads is None or n_threads == _threads_set:
        return True
    from threadpoolctl import threadpool_limits

    threadpool_limits(int(n_threads), user_api="blas")
    try:
        tf.config.threading.set_intra_op_parallelism_threads(int(n_threads))
        tf.config.threading.set_inter_op_parallelism_threads(int(n_threads))
    except RuntimeError:
        return False
    _threads_set = int(n_threads)
    return True


def is_image(space_or_array: Any) -> bool:
    """SB2's test for image-like input: 3 dims (after the batch axis for arrays), last in {1, 3, 4}."""
    shape = tuple(getattr(space_or_array, "shape", ()))
    if len(shape) == 4:
        shape = shape[1:]
    return len(shape) == 3 and shape[-1] in (1, 3, 4)


# ------------------------------------------------------------------------------------------------
# SB2's other ``common.tf_util`` helpers that still mean something without TF1 graphs and sessions
# (``make_session``, ``function``, ``initialize``, ``SetFromFlat``, ... have no TF2 counterpart).

def batch_to_seq(tensor_batch: Tensor, n_batch: int, n_steps: int, flat: bool = False) -> Tensor:
    """SB2's ``batch_to_seq``: env-major ``[n_batch * n_steps, ...]`` -> time-major ``[n_steps, n_batch, ...]``.

    numpy arrays give numpy arrays, tensors give tensors. Returns one array instead of SB2's list of
    ``n_steps`` tensors; indexing it by step gives SB2's list items, and
    ``stable_ppo2.common.tf_layers.lstm`` takes it as is. ``n_batch`` may be -1 (inferred); ``flat`` is
    accepted: 1-D inputs (masks) give ``[n_steps, n_batch]`` either way.
    """
    features = [int(d) for d in tensor_batch.shape[1:]]
    if isinstance(tensor_batch, np.ndarray):
        return np.swapaxes(np.reshape(tensor_batch, [-1, n_steps] + features), 0, 1)
    shaped = tf.reshape(tensor_batch, [-1, n_steps] + features)
    return tf.transpose(shaped, [1, 0] + list(range(2, len(features) + 2)))


def seq_to_batch(tensor_sequence: Tensor, flat: bool = False) -> Tensor:
    """SB2's ``seq_to_batch``: time-major ``[n_steps, n_batch, ...]`` (an array, or SB2's list of per-step
    arrays) -> env-major ``[n_batch * n_steps, ...]``."""
    if isinstance(tensor_sequence, (list, tuple)):
        if all(isinstance(item, np.ndarray) for item in tensor_sequence):
            tensor_sequence = np.stack(tensor_sequence)
        else:
            tensor_sequence = tf.stack(tensor_sequence)
    features = [int(d) for d in tensor_sequence.shape[2:]]
    if isinstance(tensor_sequence, np.ndarray):
        return np.reshape(np.swapaxes(tensor_sequence, 0, 1), [-1] + features)
    swapped = tf.transpose(tensor_sequence, [1, 0] + list(range(2, len(features) + 2)))
    return tf.reshape(swapped, [-1] + features)


def total_episode_reward_logger(rew_acc: np.ndarray, rewards: np.ndarray, masks: np.ndarray, writer: Any,
                                steps: int) -> np.ndarray:
    """SB2's ``episode_reward`` TensorBoard logger (see ``stable_ppo2.common.tensorboard``)."""
    from stable_ppo2.common.tensorboard import total_episode_reward_logger as _logger

    return _logger(rew_acc, rewards, masks, writer, steps)


def check_shape(tensors: Sequence[Tensor], shapes: Sequence[Sequence[Optional[int]]]) -> None:
    """Raise AssertionError unless every tensor has the matching static shape."""
    for tensor, shape in zip(tensors, shapes):
        actual = tuple(tensor.shape.as_list())
        if actual != tuple(shape):
            raise AssertionError(f"{getattr(tensor, 'name', tensor)} has shape {actual}, expected {tuple(shape)}")


def huber_loss(tensor: Tensor, delta: float = 1.0) -> Tensor:
    """Huber loss of ``tensor`` (elementwise): quadratic below ``delta``, linear above."""
    return tf.where(tf.abs(tensor) < delta, tf.square(tensor) * 0.5, delta * (tf.abs(tensor) - 0.5 * delta))


def sample(logits: Tensor) -> Tensor:
    """One sample per row of a categorical distribution given by ``logits`` (Gumbel-max, as SB2)."""
    noise = tf.random.uniform(tf.shape(logits))
    return tf.argmax(logits - tf.math.log(-tf.math.log(noise)), 1)


def calc_entropy(logits: Tensor) -> Tensor:
    """Entropy of the categorical distributions given by ``logits`` (last axis)."""
    log_probs = tf.nn.log_softmax(logits, axis=-1)
    return -tf.reduce_sum(tf.exp(log_probs) * log_probs, axis=-1)


def mse(pred: Tensor, target: Tensor) -> Tensor:
    """Half the squared error, elementwise."""
    return tf.square(pred - target) / 2.0


def avg_norm(tensor: Tensor) -> Tensor:
    """Mean over the batch of the L2 norms of the rows of ``tensor``."""
    return tf.reduce_mean(tf.sqrt(tf.reduce_sum(tf.square(tensor), axis=-1)))


def gradient_add(grad_1: Optional[Tensor], grad_2: Optional[Tensor], param: Tensor,
                 verbose: int = 0) -> Optional[Tensor]:
    """Sum of two gradients, either of which may be None."""
    if verbose > 1:
        print([grad_1, grad_2, param.name])
    if grad_1 is None and grad_2 is None:
        return None
    if grad_1 is None:
        return grad_2
    if grad_2 is None:
        return grad_1
    return grad_1 + grad_2


def q_explained_variance(q_pred: Tensor, q_true: Tensor) -> Tensor:
    """``1 - Var[q_true - q_pred] / Var[q_true]`` over every element."""
    residual_variance = tf.math.reduce_variance(q_true - q_pred)
    return 1.0 - residual_variance / tf.math.reduce_variance(q_true)


def var_shape(tensor: Tensor) -> List[int]:
    """Static shape of ``tensor`` as a list of ints (it must be fully known)."""
    out = tensor.shape.as_list()
    assert all(isinstance(a, int) for a in out), "shape function assumes that shape is fully known"
    return out


def numel(tensor: Tensor) -> int:
    """Number of elements of ``tensor`` (static shape)."""
    return intprod(var_shape(tensor))


def intprod(tensor: Sequence[int]) -> int:
    """Product of the ints of a shape."""
    result = 1
    for dim in tensor:
        result *= int(dim)
    return result


def flatgrad(loss_fn: Callable[[], Tensor], var_list: Sequence[Tensor], clip_norm: Optional[float] = None) -> Tensor:
    """Gradients of ``loss_fn()`` (a callable: TF2 records it on a tape) w.r.t. ``var_list``, flattened into
    one vector; missing gradients are zeros; each is clipped to ``clip_norm`` if given."""
    with tf.GradientTape() as tape:
        loss = loss_fn()
    grads = tape.gradient(loss, var_list)
    if clip_norm is not None:
        grads = [tf.clip_by_norm(grad, clip_norm=clip_norm) if grad is not None else None for grad in grads]
    return tf.concat([tf.reshape(grad if grad is not None else tf.zeros_like(v), [numel(v)])
                      for (v, grad) in zip(var_list, grads)], axis=0)
