"""Observation checks and preprocessing (SB2's ``common/input.py``), for TF tensors and numpy arrays.

Discrete observations become one-hot vectors, MultiDiscrete a concatenation of one-hots, Box and
MultiBinary a float32 cast; CNN policies (``scale=True``) map finite Box bounds onto [0, 1].
"""
from __future__ import annotations

from typing import Tuple

import numpy as np
from gymnasium import spaces

from stable_ppo2.common.tf_util import tf

SUPPORTED_OBSERVATION_SPACES = (spaces.Box, spaces.Discrete, spaces.MultiDiscrete, spaces.MultiBinary)


def check_zero_start(space, role: str) -> None:
    """SB2's spaces count from 0; gymnasium's ``start`` offset is refused rather than misread."""
    start = getattr(space, "start", 0)
    if isinstance(space, (spaces.Discrete, spaces.MultiDiscrete)) and np.any(np.asarray(start) != 0):
        raise NotImplementedError(
            f"Error: {role} space {space} has start={start}; PPO2 supports Discrete/MultiDiscrete "
            "spaces starting at 0 (shift them with a gymnasium wrapper).")


def check_observation_space(ob_space) -> None:
    """Raise a clear error for spaces PPO2 policies cannot read (Dict, Tuple, Text, ...)."""
    if not isinstance(ob_space, SUPPORTED_OBSERVATION_SPACES):
        raise NotImplementedError(
            f"Error: the model does not support input space of type {type(ob_space).__name__} "
            f"({ob_space}). Supported observation spaces: Box, Discrete, MultiDiscrete, MultiBinary; "
            "flatten Dict/Tuple observations with gymnasium.wrappers.FlattenObservation.")
    check_zero_start(ob_space, "the observation")


def input_shape(ob_space) -> Tuple[int, ...]:
    """Per-sample shape of the raw observation array."""
    if isinstance(ob_space, spaces.Discrete):
        return ()
    if isinstance(ob_space, spaces.MultiDiscrete):
        return (len(ob_space.nvec),)
    return tuple(ob_space.shape)


def input_dtype(ob_space) -> np.dtype:
    if isinstance(ob_space, spaces.Box):
        return np.dtype(ob_space.dtype)
    return np.dtype(np.int32)


def _scale_bounds(ob_space, scale: bool):
    """(low, range) to scale Box observations with, or None (SB2 quirk 29 kept: ``any`` not ``all``)."""
    if not (scale and isinstance(ob_space, spaces.Box)):
        return None
    low, high = ob_space.low, ob_space.high
    if not (np.all(np.isfinite(low)) and np.all(np.isfinite(high)) and np.any(high - low != 0)):
        return None
    return low.astype(np.float32), (high - low).astype(np.float32)


def preprocess_obs_tf(obs, ob_space, scale: bool = False):
    """Float32 features for the network from a batch of raw observations (TF)."""
    if isinstance(ob_space, spaces.Discrete):
        return tf.one_hot(tf.cast(obs, tf.int32), int(ob_space.n), dtype=tf.float32)
    if isinstance(ob_space, spaces.MultiDiscrete):
        obs = tf.cast(obs, tf.int32)
        return tf.concat([tf.one_hot(obs[:, i], int(n), dtype=tf.float32)
                          for i, n in enumerate(ob_space.nvec)], axis=-1)
    processed = tf.cast(obs, tf.float32)
    bounds = _scale_bounds(ob_space, scale)
    if bounds is not None:
        if np.any(bounds[0] != 0):  # x - 0 == x: skipping it saves a pass over the images (same numbers)
            processed = processed - bounds[0]
        processed = processed / bounds[1]
    return processed


def preprocess_obs_np(obs: np.ndarray, ob_space, scale: bool = False) -> np.ndarray:
    """The numpy twin of :func:`preprocess_obs_tf` (same numbers, used for fast rollouts)."""
    if isinstance(ob_space, spaces.Discrete):
        return np.eye(int(ob_space.n), dtype=np.float32)[np.asarray(obs, dtype=np.int64)]
    if isinstance(ob_space, spaces.MultiDiscrete):
        obs = np.asarray(obs, dtype=np.int64)
        return np.concatenate([np.eye(int(n), dtype=np.float32)[obs[:, i]]
                               for i, n in enumerate(ob_space.nvec)], axis=-1)
    processed = np.asarray(obs, dtype=np.float32)
    bounds = _scale_bounds(ob_space, scale)
    if bounds is not None:
        processed = (processed - bounds[0]) / bounds[1]
    return processed


def observation_input(ob_space, batch_size=None, name: str = "Ob", scale: bool = False, observations=None):
    """SB2's ``observation_input`` in TF2, where there are no placeholders.

    Returns ``(spec, processed)``: ``spec`` is the ``tf.TensorSpec`` of what SB2's placeholder held (shape
    ``(batch_size,) + observation shape``, SB2's dtype, ``name``), usable as a ``tf.function`` input signature;
    ``processed`` is the float32 preprocessing of ``observations`` (one-hot for Discrete and MultiDiscrete,
    a cast for Box and MultiBinary, Box bounds scaled to [0, 1] with ``scale=True``), or None when no
    observations are given.
    """
    check_observation_space(ob_space)
    dtype = tf.as_dtype(input_dtype(ob_space))
    spec = tf.TensorSpec((batch_size,) + input_shape(ob_space), dtype, name=name)
    if observations is None:
        return spec, None
    return spec, preprocess_obs_tf(tf.convert_to_tensor(observations, dtype=dtype), ob_space, scale)
