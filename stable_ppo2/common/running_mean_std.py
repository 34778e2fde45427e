"""Running mean and variance, merged batch by batch (used by VecNormalize).

Picklable with the attributes ``mean``, ``var`` and ``count`` only, so SB2's ``obs_rms.pkl``/``ret_rms.pkl`` files and
the statistics inside SB2's VecNormalize pickles load into this class.
"""
from typing import Tuple, Union

import numpy as np


class RunningMeanStd:
    """Mean and variance of everything passed to :meth:`update`, in float64.

    :param epsilon: initial count; keeps the first merge well defined
    :param shape: shape of one sample
    """

    def __init__(self, epsilon: float = 1e-4, shape: Tuple[int, ...] = ()) -> None:
        self.mean = np.zeros(shape, np.float64)
        self.var = np.ones(shape, np.float64)
        self.count: Union[float, int] = epsilon

    def update(self, arr: np.ndarray) -> None:
        """Merge a batch of samples stacked on axis 0."""
        batch_mean = np.mean(arr, axis=0)
        batch_var = np.var(arr, axis=0)
        self.update_from_moments(batch_mean, batch_var, arr.shape[0])

    def update_from_moments(
        self, batch_mean: np.ndarray, batch_var: np.ndarray, batch_count: Union[float, int]
    ) -> None:
        """Merge a batch given by its mean, variance and size (parallel variance algorithm)."""
        delta = batch_mean - self.mean
        tot_count = self.count + batch_count
        new_mean = self.mean + delta * batch_count / tot_count
        m_2 = self.var * self.count + batch_var * batch_count + np.square(delta) * self.count * batch_count / tot_count
        self.mean = new_mean
        self.var = m_2 / tot_count
        self.count = tot_count
