"""The single place where TensorFlow is imported, quietly, and process-wide TF settings."""
from __future__ import annotations

import os
import sys
from typing import Optional

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")


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
import tf_keras  # noqa: E402  (Keras 2: plain tf.Variables with SB2's names, as TFP expects)

_threads_set: Optional[int] = None


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


def is_image(space_or_array) -> bool:
    """SB2's test for image-like input: 3 dims (after the batch axis for arrays), last in {1, 3, 4}."""
    shape = tuple(getattr(space_or_array, "shape", ()))
    if len(shape) == 4:
        shape = shape[1:]
    return len(shape) == 3 and shape[-1] in (1, 3, 4)
