"""Action noises (SB2's ``common.noise``): exploration noise for continuous actions.

stable_ppo2's PPO2 does not use them (its policy samples its own actions); they are here for programs that
build them for SB2's off-policy algorithms (the RL zoo's hyperparameter files name them) and for custom
exploration in user code.
"""
from abc import ABC, abstractmethod
from typing import Dict, Optional

import numpy as np

__all__ = ["ActionNoise", "NormalActionNoise", "OrnsteinUhlenbeckActionNoise", "AdaptiveParamNoiseSpec"]


class ActionNoise(ABC):
    """Noise added to an action; ``noise()`` draws one sample, ``reset()`` starts a new episode."""

    def reset(self) -> None:
        """Start afresh (time-correlated noises forget their state)."""

    @abstractmethod
    def __call__(self) -> np.ndarray:
        raise NotImplementedError


class NormalActionNoise(ActionNoise):
    """Independent Gaussian noise ``N(mean, sigma)`` at every call.

    :param mean: mean of the noise (an array, one entry per action dimension)
    :param sigma: standard deviation (same shape)
    """

    def __init__(self, mean: np.ndarray, sigma: np.ndarray) -> None:
        self._mu = mean
        self._sigma = sigma

    def __call__(self) -> np.ndarray:
        return np.random.normal(self._mu, self._sigma)

    def __repr__(self) -> str:
        return f"NormalActionNoise(mu={self._mu}, sigma={self._sigma})"


class OrnsteinUhlenbeckActionNoise(ActionNoise):
    """Time-correlated noise: an Ornstein-Uhlenbeck process pulled toward ``mean`` at rate ``theta``,
    advanced by ``dt`` per call, ``x += theta * (mean - x) * dt + sigma * sqrt(dt) * N(0, 1)``.

    :param mean: the value the process returns to
    :param sigma: scale of the random term
    :param theta: rate of return to the mean
    :param dt: time step per call
    :param initial_noise: the state after ``reset()`` (zeros by default)
    """

    def __init__(self, mean: np.ndarray, sigma: np.ndarray, theta: float = 0.15, dt: float = 1e-2,
                 initial_noise: Optional[np.ndarray] = None) -> None:
        self._theta = theta
        self._mu = mean
        self._sigma = sigma
        self._dt = dt
        self.initial_noise = initial_noise
        self.noise_prev = np.zeros_like(self._mu)
        self.reset()

    def __call__(self) -> np.ndarray:
        drift = self._theta * (self._mu - self.noise_prev) * self._dt
        shock = self._sigma * np.sqrt(self._dt) * np.random.normal(size=np.shape(self._mu))
        self.noise_prev = self.noise_prev + drift + shock
        return self.noise_prev

    def reset(self) -> None:
        self.noise_prev = self.initial_noise if self.initial_noise is not None else np.zeros_like(self._mu)

    def __repr__(self) -> str:
        return f"OrnsteinUhlenbeckActionNoise(mu={self._mu}, sigma={self._sigma})"


class AdaptiveParamNoiseSpec:
    """Parameter-space noise whose scale adapts so that the perturbed policy's actions stay about
    ``desired_action_stddev`` away from the unperturbed ones.

    :param initial_stddev: starting scale of the parameter noise
    :param desired_action_stddev: target distance between perturbed and unperturbed actions
    :param adoption_coefficient: factor by which the scale shrinks or grows at each adaptation
    """

    def __init__(self, initial_stddev: float = 0.1, desired_action_stddev: float = 0.1,
                 adoption_coefficient: float = 1.01) -> None:
        self.initial_stddev = initial_stddev
        self.desired_action_stddev = desired_action_stddev
        self.adoption_coefficient = adoption_coefficient
        self.current_stddev = initial_stddev

    def adapt(self, distance: float) -> None:
        """Shrink the scale when the actions moved more than desired, grow it otherwise."""
        if distance > self.desired_action_stddev:
            self.current_stddev /= self.adoption_coefficient
        else:
            self.current_stddev *= self.adoption_coefficient

    def get_stats(self) -> Dict[str, float]:
        """``{'param_noise_stddev': current scale}``."""
        return {"param_noise_stddev": self.current_stddev}

    def __repr__(self) -> str:
        return (f"AdaptiveParamNoiseSpec(initial_stddev={self.initial_stddev}, desired_action_stddev="
                f"{self.desired_action_stddev}, adoption_coefficient={self.adoption_coefficient})")
