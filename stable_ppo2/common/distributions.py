"""Action spaces and their distributions (SB2's ``common/distributions.py``) on tensorflow-probability.

A ``*ProbabilityDistributionType`` is the one object of an action space (Discrete: categorical,
Box: diagonal Gaussian, MultiDiscrete: categoricals, MultiBinary: Bernoullis); everything PPO2 does
that depends on the kind of action space is a method of it (see :class:`ProbabilityDistributionType`),
so the model, behaviour cloning, export and the policies ask it instead of testing the space's
type. :func:`make_proba_dist_type` makes it for a gymnasium space. The TF distributions (used by
the loss) wrap TFP; the ``np_*`` methods are the numpy twins used on the rollout hot path.
"""
from __future__ import annotations

from typing import Any, Callable, List, Optional, Sequence, Tuple, Type, Union, cast

import numpy as np
import tensorflow_probability as tfp
from gymnasium import spaces

from stable_ppo2.common.input import SUPPORTED_SPACE_NAMES, check_space_values, check_zero_start
from stable_ppo2.common.tf_layers import get_variable, in_numpy_mode, linear
from stable_ppo2.common.tf_util import tf

tfd = tfp.distributions
_HALF_LOG_2PI = 0.5 * np.log(2.0 * np.pi)
_TINY = float(np.finfo(np.float32).tiny)


#: what ``np_proba`` returns: one array, or a list of arrays (MultiDiscrete: one per dimension;
#: DiagGaussian: ``[mean, std]``), as SB2's ``action_probability``
Proba = Union[np.ndarray, List[np.ndarray]]


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

    def __init__(self, flat: tf.Tensor, distribution: Any) -> None:
        self._flat = flat
        self.distribution = distribution

    def flatparam(self) -> tf.Tensor:
        return self._flat

    def mode(self) -> tf.Tensor:
        return self.distribution.mode()

    def neglogp(self, x: tf.Tensor) -> tf.Tensor:
        return -self.distribution.log_prob(x)

    def logp(self, x: tf.Tensor) -> tf.Tensor:
        return self.distribution.log_prob(x)

    def kl(self, other: "ProbabilityDistribution") -> tf.Tensor:
        return tfd.kl_divergence(self.distribution, other.distribution)

    def entropy(self) -> tf.Tensor:
        return self.distribution.entropy()

    def sample(self, seed: Optional[int] = None) -> tf.Tensor:
        return self.distribution.sample(seed=seed)

    @classmethod
    def fromflat(cls, flat: tf.Tensor) -> ProbabilityDistribution:
        return cast(Any, cls)(flat)  # the subclasses take only the flat parameters


class CategoricalProbabilityDistribution(ProbabilityDistribution):
    def __init__(self, logits: tf.Tensor) -> None:
        super().__init__(logits, tfd.Categorical(logits=logits, dtype=tf.int64))
        self.logits = logits

    def mode(self) -> tf.Tensor:
        return tf.argmax(self.logits, axis=-1)


class MultiCategoricalProbabilityDistribution(ProbabilityDistribution):
    """Independent categoricals, one per MultiDiscrete dimension; log-probs and entropies add up."""

    def __init__(self, nvec: Union[Sequence[int], np.ndarray], flat: tf.Tensor) -> None:
        self.nvec = [int(n) for n in nvec]
        self.categoricals = [CategoricalProbabilityDistribution(logits)
                             for logits in tf.split(flat, self.nvec, axis=-1)]
        super().__init__(flat, None)

    def mode(self) -> tf.Tensor:
        return tf.stack([c.mode() for c in self.categoricals], axis=-1)

    def neglogp(self, x: tf.Tensor) -> tf.Tensor:
        x = tf.cast(x, tf.int64)
        return tf.add_n([c.neglogp(x[..., i]) for i, c in enumerate(self.categoricals)])

    def logp(self, x: tf.Tensor) -> tf.Tensor:
        return -self.neglogp(x)

    def kl(self, other: ProbabilityDistribution) -> tf.Tensor:
        other_categoricals = cast(MultiCategoricalProbabilityDistribution, other).categoricals
        return tf.add_n([c.kl(o) for c, o in zip(self.categoricals, other_categoricals)])

    def entropy(self) -> tf.Tensor:
        return tf.add_n([c.entropy() for c in self.categoricals])

    def sample(self, seed: Optional[int] = None) -> tf.Tensor:
        return tf.stack([c.sample(seed=seed) for c in self.categoricals], axis=-1)

    @classmethod
    def fromflat(cls, flat: tf.Tensor) -> ProbabilityDistribution:
        raise TypeError("MultiCategoricalProbabilityDistribution needs nvec: use "
                        "MultiCategoricalProbabilityDistributionType(nvec).proba_distribution_from_flat")


class DiagGaussianProbabilityDistribution(ProbabilityDistribution):
    """Diagonal Gaussian with a state-independent log std; no squashing, no clipping (SB2)."""

    def __init__(self, flat: tf.Tensor) -> None:
        self.mean, self.logstd = tf.split(flat, 2, axis=-1)
        self.std = tf.exp(self.logstd)
        super().__init__(flat, tfd.Independent(tfd.Normal(self.mean, self.std),
                                               reinterpreted_batch_ndims=1))

    def mode(self) -> tf.Tensor:
        return self.mean


class BernoulliProbabilityDistribution(ProbabilityDistribution):
    def __init__(self, logits: tf.Tensor) -> None:
        self.logits = logits
        self.probabilities = tf.sigmoid(logits)
        super().__init__(logits, tfd.Independent(tfd.Bernoulli(logits=logits, dtype=tf.float32),
                                                 reinterpreted_batch_ndims=1))

    def mode(self) -> tf.Tensor:
        return tf.round(self.probabilities)

    def neglogp(self, x: tf.Tensor) -> tf.Tensor:
        return -self.distribution.log_prob(tf.cast(x, tf.float32))

    def logp(self, x: tf.Tensor) -> tf.Tensor:
        return -self.neglogp(x)


# ----------------------------------------------------------------------------------------------
# Distribution types: one object per action space
# ----------------------------------------------------------------------------------------------
class ProbabilityDistributionType:
    """One action space (``space``): everything PPO2 does that depends on its kind.

    The policy head (:meth:`latent_to_params`), the TF distribution of the flat parameters and
    its numpy twins (``np_*``: sample, mode, neglogp, proba), the seeded TF sampling an exported
    policy uses (:meth:`tf_sample`), clipping to the space (``*_clip_actions``), the checking of
    actions users and expert files give (:meth:`check_actions`), the probability
    ``action_probability`` returns (:meth:`np_likelihood`), the behaviour-cloning loss
    (:meth:`bc_loss`), and shapes and dtypes (:meth:`sample_shape`, ``action_dtype``).
    """

    action_dtype: Type[np.generic] = np.float32
    #: one action may stand for a whole batch of observations in ``action_probability`` (SB2)
    one_action_for_all = False
    space: spaces.Space

    def probability_distribution_class(self) -> Callable[[tf.Tensor], ProbabilityDistribution]:
        raise NotImplementedError

    def proba_distribution_from_flat(self, flat: tf.Tensor) -> ProbabilityDistribution:
        return self.probability_distribution_class()(flat)

    def param_shape(self) -> List[int]:
        raise NotImplementedError

    def sample_shape(self) -> List[int]:
        raise NotImplementedError

    def sample_dtype(self) -> tf.DType:
        raise NotImplementedError

    def _pi_layer(self, pi_latent: tf.Tensor, init_scale: float, init_bias: float) -> tf.Tensor:
        return linear(pi_latent, "pi", self.param_shape()[0], init_scale=init_scale, init_bias=init_bias)

    def latent_to_params(self, pi_latent: tf.Tensor, vf_latent: tf.Tensor, init_scale: float = 1.0,
                         init_bias: float = 0.0) -> Tuple[object, object]:
        """Flat distribution parameters and SB2's unused ``q`` head, creating ``pi`` then ``q``
        (a numpy pass skips ``q``: the variables exist once the TF network is built)."""
        pdparam = self._pi_layer(pi_latent, init_scale, init_bias)
        if in_numpy_mode():
            return pdparam, None
        q_values = linear(vf_latent, "q", self._q_units(), init_scale=init_scale, init_bias=init_bias)
        return pdparam, q_values

    def _q_units(self) -> int:
        return self.param_shape()[0]

    def proba_distribution_from_latent(self, pi_latent: tf.Tensor, vf_latent: tf.Tensor, init_scale: float = 1.0,
                                       init_bias: float = 0.0) -> Tuple[ProbabilityDistribution, tf.Tensor, tf.Tensor]:
        pdparam, q_values = self.latent_to_params(pi_latent, vf_latent, init_scale, init_bias)
        return self.proba_distribution_from_flat(pdparam), pdparam, q_values

    # numpy twins, on flat parameters of shape [batch, param_shape]
    def np_sample(self, flat: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        raise NotImplementedError

    def np_mode(self, flat: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def np_neglogp(self, flat: np.ndarray, actions: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def np_proba(self, flat: np.ndarray) -> Proba:
        """What SB2's ``proba_step`` returns for this space."""
        raise NotImplementedError

    def tf_sample(self, flat: tf.Tensor, seed: Optional[int] = None) -> tf.Tensor:
        """One action per row drawn with TF's seeded random ops (they serialise in SavedModel and
        TFLite and draw anew at every call), as :meth:`np_sample` draws them in numpy."""
        raise NotImplementedError

    # actions from users and expert files
    def check_actions(self, actions: Any, batch: int) -> np.ndarray:
        """``actions`` for ``batch`` observations (one action, or one per observation) as an array
        ``[n, *sample_shape]``, once dtype, size and values are checked (ValueError naming the space)."""
        actions = np.asarray(actions)
        if actions.dtype.kind not in "biuf":
            raise ValueError(f"Error: the action space {self.space} needs numeric actions; got an array of "
                             f"dtype {actions.dtype}")
        per_action = tuple(self.sample_shape())
        width = int(np.prod(per_action))
        if actions.size == 0 or actions.size % width != 0:
            raise ValueError(f"Error: actions of shape {actions.shape} do not fit the action space {self.space}: "
                             f"expected {per_action} for one observation or ({batch}, "
                             f"{', '.join(map(str, per_action))}) for {batch} observations")
        actions = actions.reshape((-1,) + per_action)
        if actions.shape[0] != batch and not (self.one_action_for_all and actions.shape[0] == 1):
            raise ValueError(f"Error: batch sizes differ for actions and observations "
                             f"({actions.shape[0]} actions, {batch} observations).")
        return self.check_values(actions, "actions")

    def check_values(self, actions: np.ndarray, what: str) -> np.ndarray:
        """Actions already shaped, checked to hold values of the space (whole numbers in range for the
        discrete spaces, returned as int64; Box actions unchanged)."""
        return check_space_values(actions, self.space, what)

    def np_clip_actions(self, actions: np.ndarray) -> np.ndarray:
        """Actions clipped to the space's bounds (only Box has bounds to clip to)."""
        return actions

    def tf_clip_actions(self, actions: tf.Tensor) -> tf.Tensor:
        """The TF twin of :meth:`np_clip_actions`."""
        return actions

    def np_likelihood(self, proba: Proba, actions: np.ndarray, logp: bool = False) -> np.ndarray:
        """Probability (``logp``: log-probability) of each checked action row under ``proba``, what
        :meth:`np_proba` returned for the same rows: ``[n]``, as SB2's ``action_probability``."""
        prob = self._np_probability_of(proba, actions)
        return np.log(prob) if logp else prob

    def _np_probability_of(self, proba: Proba, actions: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def bc_loss(self, flat: tf.Tensor, actions: tf.Tensor) -> tf.Tensor:
        """Behaviour-cloning loss of each sample, ``[batch]``, for expert ``actions`` ``[batch, width]``
        (``width`` the product of :meth:`sample_shape`, Discrete 1): the negative log-likelihood of the
        expert action (SB2's cross-entropy for Discrete)."""
        actions = tf.reshape(actions, [-1] + list(self.sample_shape()))
        return self.proba_distribution_from_flat(flat).neglogp(actions)


def _np_gumbel_max_noise(flat: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Logits plus Gumbel noise: the argmax of each categorical block is a sample of it."""
    return flat - np.log(-np.log(rng.random(flat.shape, dtype=np.float32)))


def _tf_gumbel_max_noise(flat: tf.Tensor, seed: Optional[int]) -> tf.Tensor:
    uniform = tf.random.uniform(tf.shape(flat), minval=_TINY, maxval=1.0, seed=seed)
    return flat - tf.math.log(-tf.math.log(uniform))


class CategoricalProbabilityDistributionType(ProbabilityDistributionType):
    action_dtype = np.int64

    def __init__(self, n_cat: int, space: Optional[spaces.Discrete] = None) -> None:
        self.n_cat = int(n_cat)
        self.space = spaces.Discrete(self.n_cat) if space is None else space

    def probability_distribution_class(self) -> Callable[[tf.Tensor], ProbabilityDistribution]:
        return CategoricalProbabilityDistribution

    def param_shape(self) -> List[int]:
        return [self.n_cat]

    def sample_shape(self) -> List[int]:
        return []

    def sample_dtype(self) -> tf.DType:
        return tf.int64

    def np_sample(self, flat: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        return np.argmax(_np_gumbel_max_noise(flat, rng), axis=-1)

    def np_mode(self, flat: np.ndarray) -> np.ndarray:
        return np.argmax(flat, axis=-1)

    def np_neglogp(self, flat: np.ndarray, actions: np.ndarray) -> np.ndarray:
        rows = np.arange(flat.shape[0])
        return -_np_log_softmax(flat)[rows, np.asarray(actions, np.int64)]

    def np_proba(self, flat: np.ndarray) -> Proba:
        return _np_softmax(flat)

    def tf_sample(self, flat: tf.Tensor, seed: Optional[int] = None) -> tf.Tensor:
        return tf.argmax(_tf_gumbel_max_noise(flat, seed), axis=-1)

    def _np_probability_of(self, proba: Any, actions: np.ndarray) -> np.ndarray:  # proba: one array here
        return proba[np.arange(actions.shape[0]), actions]


class MultiCategoricalProbabilityDistributionType(ProbabilityDistributionType):
    action_dtype = np.int64

    def __init__(self, n_vec: Union[Sequence[int], np.ndarray], space: Optional[spaces.MultiDiscrete] = None) -> None:
        self.n_vec = np.asarray(n_vec, dtype=np.int32)
        if not np.all(self.n_vec > 0):
            raise ValueError(f"MultiDiscrete nvec must be positive, got {list(self.n_vec)}")
        self._splits = np.cumsum(self.n_vec)[:-1]
        self.space = spaces.MultiDiscrete(self.n_vec) if space is None else space

    def proba_distribution_from_flat(self, flat: tf.Tensor) -> ProbabilityDistribution:
        return MultiCategoricalProbabilityDistribution(self.n_vec, flat)

    def param_shape(self) -> List[int]:
        return [int(sum(self.n_vec))]

    def sample_shape(self) -> List[int]:
        return [len(self.n_vec)]

    def sample_dtype(self) -> tf.DType:
        return tf.int64

    def _parts(self, flat: np.ndarray) -> List[np.ndarray]:
        return np.split(flat, self._splits, axis=-1)

    def np_sample(self, flat: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        return self.np_mode(_np_gumbel_max_noise(flat, rng))

    def np_mode(self, flat: np.ndarray) -> np.ndarray:
        return np.stack([np.argmax(p, axis=-1) for p in self._parts(flat)], axis=-1)

    def np_neglogp(self, flat: np.ndarray, actions: np.ndarray) -> np.ndarray:
        actions = np.asarray(actions, np.int64)
        total = np.zeros(flat.shape[0], np.float32)
        for i, part in enumerate(self._parts(flat)):
            log_proba = _np_log_softmax(part)
            total -= np.take_along_axis(log_proba, actions[:, i:i + 1], axis=-1)[:, 0]
        return total

    def np_proba(self, flat: np.ndarray) -> Proba:
        return [_np_softmax(part) for part in self._parts(flat)]

    def tf_sample(self, flat: tf.Tensor, seed: Optional[int] = None) -> tf.Tensor:
        parts = tf.split(_tf_gumbel_max_noise(flat, seed), [int(n) for n in self.n_vec], axis=-1)
        return tf.stack([tf.argmax(part, axis=-1) for part in parts], axis=-1)

    def _np_probability_of(self, proba: Proba, actions: np.ndarray) -> np.ndarray:
        rows = np.arange(actions.shape[0])
        return np.prod([part[rows, actions[:, i]] for i, part in enumerate(proba)], axis=0)


def _np_gaussian_neglogp(mean: np.ndarray, logstd: np.ndarray, actions: np.ndarray) -> np.ndarray:
    """Negative log-density of a diagonal Gaussian, summed over the last axis (broadcasting)."""
    z = (actions - mean) / np.exp(logstd)
    return 0.5 * (z * z).sum(axis=-1) + _HALF_LOG_2PI * logstd.shape[-1] + logstd.sum(axis=-1)


class DiagGaussianProbabilityDistributionType(ProbabilityDistributionType):
    action_dtype = np.float32
    one_action_for_all = True  # a density exists everywhere: SB2 did not check Box batches

    space: spaces.Box

    def __init__(self, size: int, space: Optional[spaces.Box] = None) -> None:
        self.size = int(size)
        self.space = spaces.Box(-np.inf, np.inf, (self.size,), np.float32) if space is None else space

    def probability_distribution_class(self) -> Callable[[tf.Tensor], ProbabilityDistribution]:
        return DiagGaussianProbabilityDistribution

    def _pi_layer(self, pi_latent: tf.Tensor, init_scale: float, init_bias: float) -> tf.Tensor:
        mean = linear(pi_latent, "pi", self.size, init_scale=init_scale, init_bias=init_bias)
        logstd = get_variable("pi/logstd", (1, self.size), lambda shape: np.zeros(shape, np.float32))
        if in_numpy_mode():
            return np.concatenate([mean, mean * 0.0 + logstd], axis=1)
        return tf.concat([mean, mean * 0.0 + logstd], axis=1)

    def param_shape(self) -> List[int]:
        return [2 * self.size]

    def _q_units(self) -> int:
        return self.size  # SB2's q head has one unit per action dimension, not per parameter

    def sample_shape(self) -> List[int]:
        return [self.size]

    def sample_dtype(self) -> tf.DType:
        return tf.float32

    def np_sample(self, flat: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        mean, logstd = flat[:, :self.size], flat[:, self.size:]
        noise = rng.standard_normal(mean.shape, dtype=np.float32)
        return mean + np.exp(logstd) * noise

    def np_mode(self, flat: np.ndarray) -> np.ndarray:
        return flat[:, :self.size].copy()

    def np_neglogp(self, flat: np.ndarray, actions: np.ndarray) -> np.ndarray:
        return _np_gaussian_neglogp(flat[:, :self.size], flat[:, self.size:],
                                    np.asarray(actions, np.float32)).astype(np.float32)

    def np_proba(self, flat: np.ndarray) -> Proba:
        return [flat[:, :self.size], np.exp(flat[:, self.size:])]

    def tf_sample(self, flat: tf.Tensor, seed: Optional[int] = None) -> tf.Tensor:
        mean, logstd = tf.split(flat, 2, axis=-1)
        return mean + tf.exp(logstd) * tf.random.normal(tf.shape(mean), seed=seed)

    def np_clip_actions(self, actions: np.ndarray) -> np.ndarray:
        return np.clip(actions, self.space.low, self.space.high)

    def tf_clip_actions(self, actions: tf.Tensor) -> tf.Tensor:
        low = np.asarray(self.space.low, np.float32)
        high = np.asarray(self.space.high, np.float32)
        return tf.minimum(tf.maximum(actions, low), high)

    def np_likelihood(self, proba: Proba, actions: np.ndarray, logp: bool = False) -> np.ndarray:
        """The log-density is :meth:`np_neglogp`'s, from ``(mean, std)``; ``log(std)`` in float64, so that
        ``exp(log(std))`` gives ``std`` back."""
        mean, std = proba
        logprob = -_np_gaussian_neglogp(np.asarray(mean), np.log(np.asarray(std, np.float64)), actions)
        return logprob if logp else np.exp(logprob)

    def bc_loss(self, flat: tf.Tensor, actions: tf.Tensor) -> tf.Tensor:
        """SB2's: the squared error of the Gaussian's mean, averaged over action dimensions (so that
        the batch mean is SB2's ``mean((expert_action - mean) ** 2)``)."""
        return tf.reduce_mean(tf.square(actions - flat[:, :self.size]), axis=-1)


class BernoulliProbabilityDistributionType(ProbabilityDistributionType):
    action_dtype = np.float32

    def __init__(self, size: int, space: Optional[spaces.MultiBinary] = None) -> None:
        self.size = int(size)
        self.space = spaces.MultiBinary(self.size) if space is None else space

    def probability_distribution_class(self) -> Callable[[tf.Tensor], ProbabilityDistribution]:
        return BernoulliProbabilityDistribution

    def param_shape(self) -> List[int]:
        return [self.size]

    def sample_shape(self) -> List[int]:
        return [self.size]

    def sample_dtype(self) -> tf.DType:
        return tf.int32  # SB2's declared dtype; samples and modes are float32 (quirk 31)

    def np_sample(self, flat: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        return (rng.random(flat.shape, dtype=np.float32) < _np_sigmoid(flat)).astype(np.float32)

    def np_mode(self, flat: np.ndarray) -> np.ndarray:
        return np.round(_np_sigmoid(flat)).astype(np.float32)

    def np_neglogp(self, flat: np.ndarray, actions: np.ndarray) -> np.ndarray:
        actions = np.asarray(actions, np.float32)
        cross_entropy = np.maximum(flat, 0) - flat * actions + np.log1p(np.exp(-np.abs(flat)))
        return cross_entropy.sum(axis=-1).astype(np.float32)

    def np_proba(self, flat: np.ndarray) -> Proba:
        return _np_sigmoid(flat)

    def tf_sample(self, flat: tf.Tensor, seed: Optional[int] = None) -> tf.Tensor:
        uniform = tf.random.uniform(tf.shape(flat), seed=seed)
        return tf.cast(uniform < tf.sigmoid(flat), tf.float32)

    def _np_probability_of(self, proba: Any, actions: np.ndarray) -> np.ndarray:  # proba: one array here
        return np.prod(proba * actions + (1 - proba) * (1 - actions), axis=1)


def make_proba_dist_type(ac_space: spaces.Space) -> ProbabilityDistributionType:
    """The object of a gymnasium action space (clear errors for the spaces PPO2 does not support)."""
    check_zero_start(ac_space, "the action")
    if isinstance(ac_space, spaces.Box):
        if len(ac_space.shape) != 1:
            raise ValueError(f"Error: the action space must be a vector: Box actions need a 1-D "
                             f"shape, got {ac_space.shape}")
        return DiagGaussianProbabilityDistributionType(ac_space.shape[0], ac_space)
    if isinstance(ac_space, spaces.Discrete):
        return CategoricalProbabilityDistributionType(ac_space.n, ac_space)
    if isinstance(ac_space, spaces.MultiDiscrete):
        return MultiCategoricalProbabilityDistributionType(ac_space.nvec, ac_space)
    if isinstance(ac_space, spaces.MultiBinary):
        if not isinstance(ac_space.n, (int, np.integer)):
            raise ValueError(f"MultiBinary action spaces must be 1-D, got shape {ac_space.shape}")
        return BernoulliProbabilityDistributionType(ac_space.n, ac_space)
    raise NotImplementedError(
        f"Error: probability distribution not implemented for action space of type "
        f"{type(ac_space).__name__} ({ac_space}). Supported: {SUPPORTED_SPACE_NAMES}.")


def shape_el(tensor: tf.Tensor, index: int) -> Union[int, tf.Tensor]:
    """Static size of ``tensor``'s dimension ``index`` when known, else the dynamic one."""
    static = tensor.shape[index]
    return static if static is not None else tf.shape(tensor)[index]
