"""Observation checks and preprocessing (SB2's ``common/input.py``), for TF tensors and numpy arrays.

Discrete observations become one-hot vectors, MultiDiscrete a concatenation of one-hots, Box and
MultiBinary a float32 cast; CNN policies (``scale=True``) map finite Box bounds onto [0, 1].

This is also where the spaces PPO2 supports are listed (:data:`SUPPORTED_SPACES`, for observations
and actions) and where the values of a space are checked (:func:`check_space_values`); what is
specific to an action space lives in its object in :mod:`stable_ppo2.common.distributions`.
"""
from __future__ import annotations

from typing import Any, Optional, Tuple, Union, cast

import numpy as np
from gymnasium import spaces

from stable_ppo2.common.tf_util import tf

#: the spaces PPO2 reads as observations and writes as actions (the one list)
SUPPORTED_SPACES = (spaces.Box, spaces.Discrete, spaces.MultiDiscrete, spaces.MultiBinary)
SUPPORTED_SPACE_NAMES = ", ".join(space.__name__ for space in SUPPORTED_SPACES)
SUPPORTED_OBSERVATION_SPACES = SUPPORTED_SPACES


def check_zero_start(space: spaces.Space, role: str) -> None:
    """SB2's spaces count from 0; gymnasium's ``start`` offset is refused rather than misread."""
    start = getattr(space, "start", 0)
    if isinstance(space, (spaces.Discrete, spaces.MultiDiscrete)) and np.any(np.asarray(start) != 0):
        raise NotImplementedError(
            f"Error: {role} space {space} has start={start}; PPO2 supports Discrete/MultiDiscrete "
            "spaces starting at 0 (shift them with a gymnasium wrapper).")


def check_observation_space(ob_space: spaces.Space) -> None:
    """Raise a clear error for spaces PPO2 policies cannot read (Dict, Tuple, Text, ...)."""
    if not isinstance(ob_space, SUPPORTED_OBSERVATION_SPACES):
        raise NotImplementedError(
            f"Error: the model does not support input space of type {type(ob_space).__name__} "
            f"({ob_space}). Supported observation spaces: {SUPPORTED_SPACE_NAMES}; "
            "flatten Dict/Tuple observations with gymnasium.wrappers.FlattenObservation.")
    check_zero_start(ob_space, "the observation")


def whole_number_bound(space: spaces.Space) -> Optional[Union[int, np.ndarray]]:
    """The exclusive upper bound of a space that holds whole numbers from 0 (MultiDiscrete: one per
    column), or None for Box."""
    if isinstance(space, spaces.Discrete):
        return int(space.n)
    if isinstance(space, spaces.MultiDiscrete):
        return np.asarray(space.nvec)
    if isinstance(space, spaces.MultiBinary):
        return 2
    return None


def check_whole_numbers(values: np.ndarray, upper: Any, what: str, space: spaces.Space) -> np.ndarray:
    """``values`` as int64 once every value is a whole number in ``[0, upper)`` (``upper`` per
    column for MultiDiscrete); ValueError naming the space and the first offending values."""
    if values.dtype.kind == "f":
        fractional = ~np.isfinite(values) | (values != np.floor(np.nan_to_num(values)))
        if np.any(fractional):
            raise ValueError(f"Error: {what} for the {space} space must be whole numbers; got "
                             f"{values[fractional][:5].tolist()}")
    outside = (values < 0) | (values >= upper)
    if np.any(outside):
        high = upper.tolist() if isinstance(upper, np.ndarray) else upper
        raise ValueError(f"Error: {what} outside the {space} space: got {values[outside][:5].tolist()}, "
                         f"expected whole numbers in [0, {high})")
    return values.astype(np.int64)


def check_space_values(values: np.ndarray, space: spaces.Space, what: str) -> np.ndarray:
    """``values`` of ``space`` (a batch, already shaped), checked: int64 whole numbers in range for
    Discrete, MultiDiscrete and MultiBinary; Box values unchanged (any number is a value)."""
    upper = whole_number_bound(space)
    return values if upper is None else check_whole_numbers(values, upper, what, space)


def one_hot_width(ob_space: spaces.Space) -> Optional[int]:
    """Width of the one-hot features of a Discrete or MultiDiscrete observation; None for others."""
    if isinstance(ob_space, spaces.Discrete):
        return int(ob_space.n)
    if isinstance(ob_space, spaces.MultiDiscrete):
        return int(np.sum(ob_space.nvec))
    return None


def is_image_space(space: spaces.Space) -> bool:
    """A 3-D Box: an image (height, width, channels), as SB2's checks read it."""
    return isinstance(space, spaces.Box) and len(space.shape) == 3


def stored_shape(space: spaces.Space) -> Tuple[int, ...]:
    """Shape of one value of ``space`` in a stored batch (SB2's expert files): Discrete values are a
    column of one, the other spaces keep their shape."""
    return (1,) if isinstance(space, spaces.Discrete) else tuple(cast(Tuple[int, ...], space.shape))


def is_vectorized_observation(observation: np.ndarray, observation_space: spaces.Space) -> bool:
    """Whether ``observation`` is a batch (SB2's rules), with a clear error for wrong shapes."""
    shape = observation.shape
    if isinstance(observation_space, spaces.Box):
        if shape == observation_space.shape:
            return False
        if shape[1:] == observation_space.shape:
            return True
        raise ValueError(f"Error: Unexpected observation shape {shape} for Box environment, please "
                         f"use {observation_space.shape} or (n_env, {', '.join(map(str, observation_space.shape))}) "
                         "for the observation shape.")
    if isinstance(observation_space, spaces.Discrete):
        if shape == ():
            return False
        if len(shape) == 1:
            return True
        raise ValueError(f"Error: Unexpected observation shape {shape} for Discrete environment, "
                         "please use () or (n_env,) for the observation shape.")
    if isinstance(observation_space, (spaces.MultiDiscrete, spaces.MultiBinary)):
        kind = type(observation_space).__name__
        width = (len(observation_space.nvec) if isinstance(observation_space, spaces.MultiDiscrete)
                 else observation_space.n)
        if shape == (width,):
            return False
        if len(shape) == 2 and shape[1] == width:
            return True
        raise ValueError(f"Error: Unexpected observation shape {shape} for {kind} environment, "
                         f"please use ({width},) or (n_env, {width}) for the observation shape.")
    raise ValueError(f"Error: Cannot determine if the observation is vectorized with the space "
                     f"type {observation_space}.")


def input_shape(ob_space: spaces.Space) -> Tuple[int, ...]:
    """Per-sample shape of the raw observation array."""
    if isinstance(ob_space, spaces.Discrete):
        return ()
    if isinstance(ob_space, spaces.MultiDiscrete):
        return (len(ob_space.nvec),)
    return tuple(cast(Tuple[int, ...], ob_space.shape))  # Box, MultiBinary: check_observation_space allows no other


def input_dtype(ob_space: spaces.Space) -> np.dtype:
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


def preprocess_obs_tf(obs: tf.Tensor, ob_space: spaces.Space, scale: bool = False) -> tf.Tensor:
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


def preprocess_obs_np(obs: np.ndarray, ob_space: spaces.Space, scale: bool = False) -> np.ndarray:
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


def observation_input(ob_space: spaces.Space, batch_size: Optional[int] = None, name: str = "Ob", scale: bool = False,
                      observations: Any = None) -> Tuple[tf.TensorSpec, Optional[tf.Tensor]]:
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
