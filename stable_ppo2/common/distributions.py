"""Action distributions (SB2's ``common/distributions.py``) on tensorflow-probability.

A ``*ProbabilityDistributionType`` knows one action space: how many flat parameters the policy
head outputs (``param_shape``), how to build them from the latents (SB2's ``pi``, ``pi/logstd`` and
unused ``q`` layers), and how to turn them into a distribution. The TF distributions (used by the
loss) wrap TFP; the ``np_*`` methods are the numpy twins used on the rollout hot path.
"""
from __future__ import annotations

from typing import List, Tuple

import numpy as np
import tensorflow_probability as tfp
from gymnasium import spaces

from stable_ppo2.common.input import check_zero_start
from stable_ppo2.common.tf_layers import get_variable, in_numpy_mode, linear
from stable_ppo2.common.tf_util import tf

tfd = tfp.distributions
_HALF_LOG_2PI = 0.5 * np.log(2.0 * np.pi)


def _np_log_softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits - logits.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


def _np_softmax(logits: np.ndarray) -> np.ndarray:
    exp = np.exp(logits - logits.max(axis=-1, keepdims=True))
    return exp / exp.sum(axis=-1, keepdims=True)


def _np_sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


# ----------------------------------------------------------------------------------------------
# Distributions (TF side, SB2 API)
# ----------------------------------------------------------------------------------------------
class ProbabilityDistribution:
    """SB2's distribution API over a TFP distribution built from the flat parameters."""

    def __init__(self, flat, distribution):
        self._flat = flat
        self.distribution = distribution

    def flatparam(self):
        return self._flat

    def mode(self):
        return self.distribution.mode()

    def neglogp(self, x):
        return -self.distribution.log_prob(x)

    def logp(self, x):
        return self.distribution.log_prob(x)

    def kl(self, other: "ProbabilityDistribution"):
        return tfd.kl_divergence(self.distribution, other.distribution)

    def entropy(self):
        return self.distribution.entropy()

    def sample(self, seed=None):
        return self.distribution.sample(seed=seed)

    @classmethod
    def fromflat(cls, flat):
        return cls(flat)


class CategoricalProbabilityDistribution(ProbabilityDistribution):
    def __init__(self, logits):
        super().__init__(logits, tfd.Categorical(logits=logits, dtype=tf.int64))
        self.logits = logits

    def mode(self):
        return tf.argmax(self.logits, axis=-1)


class MultiCategoricalProbabilityDistribution(ProbabilityDistribution):
    """Independent categoricals, one per MultiDiscrete dimension; log-probs and entropies add up."""

    def __init__(self, nvec, flat):
        self.nvec = [int(n) for n in nvec]
        self.categoricals = [CategoricalProbabilityDistribution(logits)
                             for logits in tf.split(flat, self.nvec, axis=-1)]
        super().__init__(flat, None)

    def mode(self):
        return tf.stack([c.mode() for c in self.categoricals], axis=-1)

    def neglogp(self, x):
        x = tf.cast(x, tf.int64)
        return tf.add_n([c.neglogp(x[..., i]) for i, c in enumerate(self.categoricals)])

    def logp(self, x):
        return -self.neglogp(x)

    def kl(self, other):
        return tf.add_n([c.kl(o) for c, o in zip(self.categoricals, other.categoricals)])

    def entropy(self):
        return tf.add_n([c.entropy() for c in self.categoricals])

    def sample(self, seed=None):
        return tf.stack([c.sample(seed=seed) for c in self.categoricals], axis=-1)

    @classmethod
    def fromflat(cls, flat):
        raise TypeError("MultiCategoricalProbabilityDistribution needs nvec: use "
                        "MultiCategoricalProbabilityDistributionType(nvec).proba_distribution_from_flat")


class DiagGaussianProbabilityDistribution(ProbabilityDistribution):
    """Diagonal Gaussian with a state-independent log std; no squashing, no clipping (SB2)."""

    def __init__(self, flat):
        self.mean, self.logstd = tf.split(flat, 2, axis=-1)
        self.std = tf.exp(self.logstd)
        super().__init__(flat, tfd.Independent(tfd.Normal(self.mean, self.std),
                                               reinterpreted_batch_ndims=1))

    def mode(self):
        return self.mean


class BernoulliProbabilityDistribution(ProbabilityDistribution):
    def __init__(self, logits):
        self.logits = logits
        self.probabilities = tf.sigmoid(logits)
        super().__init__(logits, tfd.Independent(tfd.Bernoulli(logits=logits, dtype=tf.float32),
                                                 reinterpreted_batch_ndims=1))

    def mode(self):
        return tf.round(self.probabilities)

    def neglogp(self, x):
        return -self.distribution.log_prob(tf.cast(x, tf.float32))

    def logp(self, x):
        return -self.neglogp(x)


# ----------------------------------------------------------------------------------------------
# Distribution types
# ----------------------------------------------------------------------------------------------
class ProbabilityDistributionType:
    """Parametrisation of one action space; see the module docstring."""

    action_dtype = np.float32

    def probability_distribution_class(self):
        raise NotImplementedError

    def proba_distribution_from_flat(self, flat) -> ProbabilityDistribution:
        return self.probability_distribution_class()(flat)

    def param_shape(self) -> List[int]:
        raise NotImplementedError

    def sample_shape(self) -> List[int]:
        raise NotImplementedError

    def sample_dtype(self):
        raise NotImplementedError

    def _pi_layer(self, pi_latent, init_scale: float, init_bias: float):
        return linear(pi_latent, "pi", self.param_shape()[0], init_scale=init_scale, init_bias=init_bias)

    def latent_to_params(self, pi_latent, vf_latent, init_scale: float = 1.0,
                         init_bias: float = 0.0) -> Tuple[object, object]:
        """Flat distribution parameters and SB2's unused ``q`` head, creating ``pi`` then ``q``."""
        pdparam = self._pi_layer(pi_latent, init_scale, init_bias)
        q_values = linear(vf_latent, "q", self.param_shape()[0], init_scale=init_scale,
                          init_bias=init_bias)
        return pdparam, q_values

    def proba_distribution_from_latent(self, pi_latent, vf_latent, init_scale=1.0, init_bias=0.0):
        pdparam, q_values = self.latent_to_params(pi_latent, vf_latent, init_scale, init_bias)
        return self.proba_distribution_from_flat(pdparam), pdparam, q_values

    # numpy twins, on flat parameters of shape [batch, param_shape]
    def np_sample(self, flat: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        raise NotImplementedError

    def np_mode(self, flat: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def np_neglogp(self, flat: np.ndarray, actions: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def np_proba(self, flat: np.ndarray):
        """What SB2's ``proba_step`` returns for this space."""
        raise NotImplementedError


class CategoricalProbabilityDistributionType(ProbabilityDistributionType):
    action_dtype = np.int64

    def __init__(self, n_cat: int):
        self.n_cat = int(n_cat)

    def probability_distribution_class(self):
        return CategoricalProbabilityDistribution

    def param_shape(self):
        return [self.n_cat]

    def sample_shape(self):
        return []

    def sample_dtype(self):
        return tf.int64

    def np_sample(self, flat, rng):
        uniform = rng.random(flat.shape, dtype=np.float32)
        return np.argmax(flat - np.log(-np.log(uniform)), axis=-1)

    def np_mode(self, flat):
        return np.argmax(flat, axis=-1)

    def np_neglogp(self, flat, actions):
        rows = np.arange(flat.shape[0])
        return -_np_log_softmax(flat)[rows, np.asarray(actions, np.int64)]

    def np_proba(self, flat):
        return _np_softmax(flat)


class MultiCategoricalProbabilityDistributionType(ProbabilityDistributionType):
    action_dtype = np.int64

    def __init__(self, n_vec):
        self.n_vec = np.asarray(n_vec, dtype=np.int32)
        if not np.all(self.n_vec > 0):
            raise ValueError(f"MultiDiscrete nvec must be positive, got {list(self.n_vec)}")
        self._splits = np.cumsum(self.n_vec)[:-1]

    def proba_distribution_from_flat(self, flat):
        return MultiCategoricalProbabilityDistribution(self.n_vec, flat)

    def param_shape(self):
        return [int(sum(self.n_vec))]

    def sample_shape(self):
        return [len(self.n_vec)]

    def sample_dtype(self):
        return tf.int64

    def _parts(self, flat):
        return np.split(flat, self._splits, axis=-1)

    def np_sample(self, flat, rng):
        uniform = rng.random(flat.shape, dtype=np.float32)
        noisy = flat - np.log(-np.log(uniform))
        return np.stack([np.argmax(p, axis=-1) for p in self._parts(noisy)], axis=-1)

    def np_mode(self, flat):
        return np.stack([np.argmax(p, axis=-1) for p in self._parts(flat)], axis=-1)

    def np_neglogp(self, flat, actions):
        actions = np.asarray(actions, np.int64)
        total = np.zeros(flat.shape[0], np.float32)
        for i, part in enumerate(self._parts(flat)):
            log_proba = _np_log_softmax(part)
            total -= np.take_along_axis(log_proba, actions[:, i:i + 1], axis=-1)[:, 0]
        return total

    def np_proba(self, flat):
        return [_np_softmax(part) for part in self._parts(flat)]


class DiagGaussianProbabilityDistributionType(ProbabilityDistributionType):
    action_dtype = np.float32

    def __init__(self, size: int):
        self.size = int(size)

    def probability_distribution_class(self):
        return DiagGaussianProbabilityDistribution

    def _pi_layer(self, pi_latent, init_scale, init_bias):
        mean = linear(pi_latent, "pi", self.size, init_scale=init_scale, init_bias=init_bias)
        logstd = get_variable("pi/logstd", (1, self.size), lambda shape: np.zeros(shape, np.float32))
        if in_numpy_mode():
            return np.concatenate([mean, mean * 0.0 + logstd], axis=1)
        return tf.concat([mean, mean * 0.0 + logstd], axis=1)

    def latent_to_params(self, pi_latent, vf_latent, init_scale=1.0, init_bias=0.0):
        pdparam = self._pi_layer(pi_latent, init_scale, init_bias)
        q_values = linear(vf_latent, "q", self.size, init_scale=init_scale, init_bias=init_bias)
        return pdparam, q_values

    def param_shape(self):
        return [2 * self.size]

    def sample_shape(self):
        return [self.size]

    def sample_dtype(self):
        return tf.float32

    def np_sample(self, flat, rng):
        mean, logstd = flat[:, :self.size], flat[:, self.size:]
        noise = rng.standard_normal(mean.shape, dtype=np.float32)
        return mean + np.exp(logstd) * noise

    def np_mode(self, flat):
        return flat[:, :self.size].copy()

    def np_neglogp(self, flat, actions):
        mean, logstd = flat[:, :self.size], flat[:, self.size:]
        z = (np.asarray(actions, np.float32) - mean) / np.exp(logstd)
        return (0.5 * np.sum(np.square(z), axis=-1) + _HALF_LOG_2PI * self.size
                + np.sum(logstd, axis=-1)).astype(np.float32)

    def np_proba(self, flat):
        return [flat[:, :self.size], np.exp(flat[:, self.size:])]


class BernoulliProbabilityDistributionType(ProbabilityDistributionType):
    action_dtype = np.float32

    def __init__(self, size: int):
        self.size = int(size)

    def probability_distribution_class(self):
        return BernoulliProbabilityDistribution

    def param_shape(self):
        return [self.size]

    def sample_shape(self):
        return [self.size]

    def sample_dtype(self):
        return tf.int32  # SB2's declared dtype; samples and modes are float32 (quirk 31)

    def np_sample(self, flat, rng):
        return (rng.random(flat.shape, dtype=np.float32) < _np_sigmoid(flat)).astype(np.float32)

    def np_mode(self, flat):
        return np.round(_np_sigmoid(flat)).astype(np.float32)

    def np_neglogp(self, flat, actions):
        actions = np.asarray(actions, np.float32)
        cross_entropy = np.maximum(flat, 0) - flat * actions + np.log1p(np.exp(-np.abs(flat)))
        return cross_entropy.sum(axis=-1).astype(np.float32)

    def np_proba(self, flat):
        return _np_sigmoid(flat)


def make_proba_dist_type(ac_space) -> ProbabilityDistributionType:
    """The distribution type for a gymnasium action space (clear errors for the others)."""
    check_zero_start(ac_space, "the action")
    if isinstance(ac_space, spaces.Box):
        if len(ac_space.shape) != 1:
            raise ValueError(f"Error: the action space must be a vector: Box actions need a 1-D "
                             f"shape, got {ac_space.shape}")
        return DiagGaussianProbabilityDistributionType(ac_space.shape[0])
    if isinstance(ac_space, spaces.Discrete):
        return CategoricalProbabilityDistributionType(ac_space.n)
    if isinstance(ac_space, spaces.MultiDiscrete):
        return MultiCategoricalProbabilityDistributionType(ac_space.nvec)
    if isinstance(ac_space, spaces.MultiBinary):
        if not isinstance(ac_space.n, (int, np.integer)):
            raise ValueError(f"MultiBinary action spaces must be 1-D, got shape {ac_space.shape}")
        return BernoulliProbabilityDistributionType(ac_space.n)
    raise NotImplementedError(
        f"Error: probability distribution not implemented for action space of type "
        f"{type(ac_space).__name__} ({ac_space}). Supported: Box, Discrete, MultiDiscrete, MultiBinary.")


def shape_el(tensor, index: int):
    """Static size of ``tensor``'s dimension ``index`` when known, else the dynamic one."""
    static = tensor.shape[index]
    return static if static is not None else tf.shape(tensor)[index]
