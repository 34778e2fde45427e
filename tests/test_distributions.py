"""Action distributions (SB2's ``common.distributions``): SB2's test_distri written eagerly, for the TF
distributions and for the numpy ``np_*`` twins used on the rollout path; dtypes, shapes, closed forms and
``make_proba_dist_type`` errors.
"""
import numpy as np
import pytest
from gymnasium import spaces

from stable_ppo2.common.distributions import (
    BernoulliProbabilityDistribution,
    BernoulliProbabilityDistributionType,
    CategoricalProbabilityDistribution,
    CategoricalProbabilityDistributionType,
    DiagGaussianProbabilityDistribution,
    DiagGaussianProbabilityDistributionType,
    MultiCategoricalProbabilityDistributionType,
    make_proba_dist_type,
)
from stable_ppo2.common.tf_util import tf

N_SAMPLES = 100000

# SB2 tests/test_distri.py parameters
PROBTYPES = {
    "diag_gauss": (DiagGaussianProbabilityDistributionType(4), np.array([-.2, .3, .4, -.5, .1, -.5, .1, 0.8])),
    "categorical": (CategoricalProbabilityDistributionType(3), np.array([-.2, .3, .5])),
    "multicategorical": (MultiCategoricalProbabilityDistributionType(np.array([1, 2, 3])),
                         np.array([-.2, .3, .5, .1, 1, -.1])),
    "bernoulli": (BernoulliProbabilityDistributionType(3), np.array([-.2, .3, .5])),
}


def _other_params(pdparam, seed):
    return pdparam + np.random.RandomState(seed).randn(pdparam.size) * 0.1


@pytest.mark.parametrize("name", sorted(PROBTYPES))
def test_distri_tf(name):
    """Mean sampled NLL == entropy, and KL[p, q] == -H[p] - E_p[log q], both within 3 standard errors."""
    probtype, pdparam = PROBTYPES[name]
    mval = tf.constant(np.repeat(pdparam[None, :], N_SAMPLES, axis=0), tf.float32)
    dist = probtype.proba_distribution_from_flat(mval)
    xval = dist.sample(seed=1234)
    assert xval.shape[0] == N_SAMPLES
    logliks = dist.logp(xval).numpy()
    np.testing.assert_allclose(logliks, -dist.neglogp(xval).numpy(), rtol=1e-6)
    entval_ll = -logliks.mean()
    entval_ll_stderr = logliks.std() / np.sqrt(N_SAMPLES)
    entval = dist.entropy().numpy().mean()
    assert np.abs(entval - entval_ll) < 3 * entval_ll_stderr

    mval2 = tf.constant(np.repeat(_other_params(pdparam, 0)[None, :], N_SAMPLES, axis=0), tf.float32)
    dist2 = probtype.proba_distribution_from_flat(mval2)
    klval = dist.kl(dist2).numpy().mean()
    logliks2 = dist2.logp(xval).numpy()
    klval_ll = -entval - logliks2.mean()
    klval_ll_stderr = logliks2.std() / np.sqrt(N_SAMPLES)
    assert np.abs(klval - klval_ll) < 3 * klval_ll_stderr


@pytest.mark.parametrize("name", sorted(PROBTYPES))
def test_distri_numpy(name):
    """The numpy sampler and neglogp: same statistics, and np_neglogp equals the TF neglogp on every sample."""
    probtype, pdparam = PROBTYPES[name]
    flat = np.repeat(pdparam[None, :], N_SAMPLES, axis=0).astype(np.float32)
    rng = np.random.default_rng(0)
    xval = probtype.np_sample(flat, rng)
    assert xval.shape == (N_SAMPLES,) + tuple(probtype.sample_shape())
    dist = probtype.proba_distribution_from_flat(tf.constant(flat))
    neglogp_np = probtype.np_neglogp(flat, xval)
    np.testing.assert_allclose(neglogp_np, dist.neglogp(xval).numpy(), rtol=1e-5, atol=1e-5)
    entval = dist.entropy().numpy().mean()
    assert np.abs(entval - neglogp_np.mean()) < 3 * neglogp_np.std() / np.sqrt(N_SAMPLES)

    flat2 = np.repeat(_other_params(pdparam, 0)[None, :], N_SAMPLES, axis=0).astype(np.float32)
    dist2 = probtype.proba_distribution_from_flat(tf.constant(flat2))
    klval = dist.kl(dist2).numpy().mean()
    neglogp_q = probtype.np_neglogp(flat2, xval)
    np.testing.assert_allclose(neglogp_q, dist2.neglogp(xval).numpy(), rtol=1e-5, atol=1e-5)
    assert np.abs(klval - (-entval + neglogp_q.mean())) < 3 * neglogp_q.std() / np.sqrt(N_SAMPLES)


@pytest.mark.parametrize("name", sorted(PROBTYPES))
def test_numpy_sampler_frequencies(name):
    """np_sample draws from the right distribution (mean of samples vs the known mean)."""
    probtype, pdparam = PROBTYPES[name]
    flat = np.repeat(pdparam[None, :], N_SAMPLES, axis=0).astype(np.float32)
    samples = probtype.np_sample(flat, np.random.default_rng(1))
    if name == "diag_gauss":
        mean, std = pdparam[:4], np.exp(pdparam[4:])
        np.testing.assert_allclose(samples.mean(axis=0), mean, atol=4 * std.max() / np.sqrt(N_SAMPLES))
        np.testing.assert_allclose(samples.std(axis=0), std, rtol=0.02)
    elif name == "categorical":
        probs = np.exp(pdparam) / np.exp(pdparam).sum()
        freq = np.bincount(samples, minlength=3) / N_SAMPLES
        np.testing.assert_allclose(freq, probs, atol=0.01)
    elif name == "bernoulli":
        np.testing.assert_allclose(samples.mean(axis=0), 1 / (1 + np.exp(-pdparam)), atol=0.01)
    else:
        parts = np.split(pdparam, [1, 3])
        for i, logits in enumerate(parts):
            probs = np.exp(logits) / np.exp(logits).sum()
            freq = np.bincount(samples[:, i], minlength=len(logits)) / N_SAMPLES
            np.testing.assert_allclose(freq, probs, atol=0.01)


# ----------------------------------------------------------------------------------------------------------------
# dtypes and shapes
# ----------------------------------------------------------------------------------------------------------------

def test_categorical_dtypes():
    pdtype = CategoricalProbabilityDistributionType(4)
    flat = np.array([[0.1, 2.0, -1.0, 0.3], [3.0, 0.0, 0.0, 0.0]], np.float32)
    dist = pdtype.proba_distribution_from_flat(tf.constant(flat))
    assert dist.mode().dtype == tf.int64 and dist.sample().dtype == tf.int64
    np.testing.assert_array_equal(dist.mode().numpy(), [1, 0])
    assert pdtype.sample_dtype() == tf.int64
    assert pdtype.param_shape() == [4] and pdtype.sample_shape() == []
    assert pdtype.np_mode(flat).dtype == np.int64 and pdtype.np_sample(flat, np.random.default_rng()).dtype == np.int64
    np.testing.assert_array_equal(pdtype.np_mode(flat), [1, 0])


def test_multicategorical_dtypes():
    pdtype = MultiCategoricalProbabilityDistributionType([2, 3])
    flat = np.array([[0.0, 1.0, 5.0, 0.0, 0.0]], np.float32)
    dist = pdtype.proba_distribution_from_flat(tf.constant(flat))
    assert dist.mode().dtype == tf.int64 and dist.sample().dtype == tf.int64
    np.testing.assert_array_equal(dist.mode().numpy(), [[1, 0]])
    assert dist.sample().shape == (1, 2)
    assert pdtype.param_shape() == [5] and pdtype.sample_shape() == [2] and pdtype.sample_dtype() == tf.int64
    np.testing.assert_array_equal(pdtype.np_mode(flat), [[1, 0]])
    assert pdtype.np_mode(flat).dtype == np.int64
    assert pdtype.np_sample(flat, np.random.default_rng()).dtype == np.int64
    probas = pdtype.np_proba(flat)
    assert isinstance(probas, list) and [p.shape for p in probas] == [(1, 2), (1, 3)]


def test_diag_gaussian_dtypes():
    pdtype = DiagGaussianProbabilityDistributionType(2)
    flat = np.array([[0.5, -1.0, 0.0, np.log(2.0)]], np.float32)
    dist = pdtype.proba_distribution_from_flat(tf.constant(flat))
    assert dist.mode().dtype == tf.float32 and dist.sample().dtype == tf.float32
    np.testing.assert_allclose(dist.mode().numpy(), [[0.5, -1.0]])
    assert pdtype.param_shape() == [4] and pdtype.sample_shape() == [2] and pdtype.sample_dtype() == tf.float32
    assert pdtype.np_sample(flat, np.random.default_rng()).dtype == np.float32
    mean, std = pdtype.np_proba(flat)
    np.testing.assert_allclose(mean, [[0.5, -1.0]])
    np.testing.assert_allclose(std, [[1.0, 2.0]], rtol=1e-6)


def test_bernoulli_dtypes():
    """SB2 quirk 31: declared sample dtype int32, but samples and modes are float32."""
    pdtype = BernoulliProbabilityDistributionType(3)
    flat = np.array([[-3.0, 0.2, 4.0]], np.float32)
    dist = pdtype.proba_distribution_from_flat(tf.constant(flat))
    assert dist.mode().dtype == tf.float32 and dist.sample().dtype == tf.float32
    np.testing.assert_array_equal(dist.mode().numpy(), [[0.0, 1.0, 1.0]])
    assert pdtype.sample_dtype() == tf.int32
    assert pdtype.param_shape() == [3] and pdtype.sample_shape() == [3]
    assert pdtype.np_mode(flat).dtype == np.float32
    assert pdtype.np_sample(flat, np.random.default_rng()).dtype == np.float32
    np.testing.assert_array_equal(pdtype.np_mode(flat), [[0.0, 1.0, 1.0]])
    # neglogp accepts int actions as well as float ones
    np.testing.assert_allclose(dist.neglogp(np.array([[0, 1, 1]], np.int32)).numpy(),
                               dist.neglogp(np.array([[0.0, 1.0, 1.0]], np.float32)).numpy())


# ----------------------------------------------------------------------------------------------------------------
# closed forms (spec section 3)
# ----------------------------------------------------------------------------------------------------------------

def test_categorical_closed_forms():
    logits = np.array([[1.0, -0.5, 2.0], [0.0, 0.0, 0.0]], np.float32)
    other = np.array([[0.3, 0.1, -1.0], [1.0, 2.0, 3.0]], np.float32)
    dist = CategoricalProbabilityDistribution(tf.constant(logits))
    dist2 = CategoricalProbabilityDistribution(tf.constant(other))
    logp = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
    logq = other - np.log(np.exp(other).sum(axis=1, keepdims=True))
    p = np.exp(logp)
    actions = np.array([2, 1])
    np.testing.assert_allclose(dist.neglogp(actions).numpy(), -logp[[0, 1], actions], rtol=1e-5)
    np.testing.assert_allclose(dist.entropy().numpy(), -(p * logp).sum(axis=1), rtol=1e-5)
    np.testing.assert_allclose(dist.kl(dist2).numpy(), (p * (logp - logq)).sum(axis=1), rtol=1e-5)
    np.testing.assert_allclose(dist.logp(actions).numpy(), logp[[0, 1], actions], rtol=1e-5)


def test_diag_gaussian_closed_forms():
    mean, logstd = np.array([[0.5, -1.0]]), np.array([[0.2, -0.3]])
    mean2, logstd2 = np.array([[0.0, 0.5]]), np.array([[-0.1, 0.4]])
    dist = DiagGaussianProbabilityDistribution(tf.constant(np.hstack([mean, logstd]), tf.float32))
    dist2 = DiagGaussianProbabilityDistribution(tf.constant(np.hstack([mean2, logstd2]), tf.float32))
    x = np.array([[1.0, 1.0]])
    std, std2 = np.exp(logstd), np.exp(logstd2)
    neglogp = 0.5 * (((x - mean) / std) ** 2).sum() + 0.5 * np.log(2 * np.pi) * 2 + logstd.sum()
    np.testing.assert_allclose(dist.neglogp(x.astype(np.float32)).numpy(), [neglogp], rtol=1e-5)
    np.testing.assert_allclose(dist.entropy().numpy(), [(logstd + 0.5 * np.log(2 * np.pi * np.e)).sum()], rtol=1e-5)
    kl = (logstd2 - logstd + (std ** 2 + (mean - mean2) ** 2) / (2 * std2 ** 2) - 0.5).sum()
    np.testing.assert_allclose(dist.kl(dist2).numpy(), [kl], rtol=1e-5)


def test_bernoulli_closed_forms():
    logits = np.array([[-1.0, 0.5, 2.0]], np.float32)
    dist = BernoulliProbabilityDistribution(tf.constant(logits))
    p = 1 / (1 + np.exp(-logits))
    x = np.array([[1.0, 0.0, 1.0]], np.float32)
    nll = -(x * np.log(p) + (1 - x) * np.log(1 - p)).sum()
    np.testing.assert_allclose(dist.neglogp(x).numpy(), [nll], rtol=1e-5)
    np.testing.assert_allclose(dist.entropy().numpy(), [-(p * np.log(p) + (1 - p) * np.log(1 - p)).sum()], rtol=1e-5)


def test_np_proba_matches_spec():
    logits = np.array([[1.0, 2.0, 3.0]], np.float32)
    np.testing.assert_allclose(CategoricalProbabilityDistributionType(3).np_proba(logits),
                               np.exp(logits) / np.exp(logits).sum(), rtol=1e-6)
    np.testing.assert_allclose(BernoulliProbabilityDistributionType(3).np_proba(logits),
                               1 / (1 + np.exp(-logits)), rtol=1e-6)


# ----------------------------------------------------------------------------------------------------------------
# make_proba_dist_type
# ----------------------------------------------------------------------------------------------------------------

def test_make_proba_dist_type_per_space():
    assert isinstance(make_proba_dist_type(spaces.Box(-1, 1, (3,))), DiagGaussianProbabilityDistributionType)
    assert make_proba_dist_type(spaces.Box(-1, 1, (3,))).param_shape() == [6]
    assert isinstance(make_proba_dist_type(spaces.Discrete(5)), CategoricalProbabilityDistributionType)
    md = make_proba_dist_type(spaces.MultiDiscrete([2, 3, 4]))
    assert isinstance(md, MultiCategoricalProbabilityDistributionType) and md.param_shape() == [9]
    assert isinstance(make_proba_dist_type(spaces.MultiBinary(4)), BernoulliProbabilityDistributionType)


@pytest.mark.parametrize("space", [spaces.Dict({"a": spaces.Discrete(2)}),
                                   spaces.Tuple((spaces.Discrete(2), spaces.Discrete(3)))],
                         ids=["dict", "tuple"])
def test_make_proba_dist_type_unsupported(space):
    with pytest.raises(NotImplementedError):
        make_proba_dist_type(space)


def test_make_proba_dist_type_2d_box():
    # SB2 raises AssertionError("Error: the action space must be a vector"); the port may use ValueError.
    with pytest.raises((AssertionError, ValueError), match="must be a vector"):
        make_proba_dist_type(spaces.Box(-1, 1, (2, 2)))
