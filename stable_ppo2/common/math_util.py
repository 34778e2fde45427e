"""Numeric helpers used by PPO2 logging and by action scaling (SB2's ``common.math_util``)."""
from typing import Any, Sequence

import numpy as np


def safe_mean(arr: Sequence[float]) -> float:
    """Mean of ``arr``, or NaN when it is empty (for logging only)."""
    return np.nan if len(arr) == 0 else float(np.mean(arr))


def explained_variance(y_pred: np.ndarray, y_true: np.ndarray) -> float:
    """``1 - Var[y_true - y_pred] / Var[y_true]`` for 1-D arrays; NaN when ``Var[y_true] == 0``.

    1 is a perfect prediction, 0 is no better than a constant, negative is worse.
    """
    if y_true.ndim != 1 or y_pred.ndim != 1:
        raise ValueError(f"explained_variance expects 1-D arrays, got {y_pred.ndim}-D and {y_true.ndim}-D")
    var_y = np.var(y_true)
    return np.nan if var_y == 0 else 1 - np.var(y_true - y_pred) / var_y


def explained_variance_2d(y_pred: np.ndarray, y_true: np.ndarray) -> np.ndarray:
    """Per-column explained variance of 2-D arrays; columns with ``Var < 1e-10`` give 0."""
    if y_true.ndim != 2 or y_pred.ndim != 2:
        raise ValueError(f"explained_variance_2d expects 2-D arrays, got {y_pred.ndim}-D and {y_true.ndim}-D")
    var_y = np.var(y_true, axis=0)
    explained = 1 - np.var(y_true - y_pred) / var_y
    explained[var_y < 1e-10] = 0
    return explained


def discount_with_boundaries(rewards: np.ndarray, episode_starts: Sequence[float], gamma: float) -> np.ndarray:
    """Discounted returns along axis 0 that restart wherever ``episode_starts[t]`` is set.

    ``y[t] = r[t] + gamma * y[t + 1] * (1 - episode_starts[t + 1])``.
    """
    discounted = np.zeros_like(rewards)
    last = rewards.shape[0] - 1
    discounted[last] = rewards[last]
    for step in range(last - 1, -1, -1):
        discounted[step] = rewards[step] + gamma * discounted[step + 1] * (1 - episode_starts[step + 1])
    return discounted


def scale_action(action_space: Any, action: Any) -> Any:
    """Map an action from ``[low, high]`` of a Box space to ``[-1, 1]`` (works on arrays and tensors)."""
    low, high = action_space.low, action_space.high
    return 2.0 * ((action - low) / (high - low)) - 1.0


def unscale_action(action_space: Any, scaled_action: Any) -> Any:
    """Inverse of :func:`scale_action`: map from ``[-1, 1]`` back to ``[low, high]``."""
    low, high = action_space.low, action_space.high
    return low + (0.5 * (scaled_action + 1.0) * (high - low))
