"""The action-space objects (``make_proba_dist_type``): for each of Discrete, Box, MultiDiscrete and
MultiBinary, numpy vs TF log-probability and entropy, sample and mode shapes and dtypes (numpy, TF and the
seeded TF sampler of exported policies), action checking and its errors, clipping, the probability
``action_probability`` returns, and the behaviour-cloning loss; and the one list of supported spaces.
"""
import numpy as np
import pytest
from gymnasium import spaces

from stable_ppo2.common.distributions import (
    DiagGaussianProbabilityDistributionType,
    MultiCategoricalProbabilityDistributionType,
    make_proba_dist_type,
)
from stable_ppo2.common.input import SUPPORTED_SPACES, check_observation_space
from stable_ppo2.common.tf_util import tf

SPACES = {
    "discrete": spaces.Discrete(3),
    "box": spaces.Box(np.array([-1.0, 0.0], np.float32), np.array([1.0, 2.0], np.float32)),
    "multidiscrete": spaces.MultiDiscrete([2, 3]),
    "multibinary": spaces.MultiBinary(3),
}
BATCH = 5


def _flat(pdtype, seed=0):
    return np.random.default_rng(seed).normal(size=(BATCH, pdtype.param_shape()[0])).astype(np.float32)


def _actions(space, n=BATCH, seed=1):
    space.seed(seed)
    return np.stack([space.sample() for _ in range(n)])


def _entropy_from_proba(name, proba):
    """The entropy of the distribution ``np_proba`` describes, in numpy."""
    if name == "discrete":
        return -(proba * np.log(proba)).sum(axis=1)
    if name == "multidiscrete":
        return sum(-(part * np.log(part)).sum(axis=1) for part in proba)
    if name == "multibinary":
        return -(proba * np.log(proba) + (1 - proba) * np.log(1 - proba)).sum(axis=1)
    _, std = proba
    return (np.log(std) + 0.5 * np.log(2 * np.pi * np.e)).sum(axis=1)


@pytest.mark.parametrize("name", sorted(SPACES))
def test_numpy_and_tf_agree(name):
    """np_neglogp equals the TF distribution's neglogp, np_likelihood its exp, and the TF entropy the
    entropy of what np_proba describes."""
    pdtype = make_proba_dist_type(SPACES[name])
    flat, actions = _flat(pdtype), _actions(SPACES[name])
    checked = pdtype.check_actions(actions, BATCH)
    dist = pdtype.proba_distribution_from_flat(tf.constant(flat))
    tf_neglogp = dist.neglogp(tf.constant(checked.astype(pdtype.action_dtype))).numpy()
    np.testing.assert_allclose(pdtype.np_neglogp(flat, checked), tf_neglogp, rtol=1e-5, atol=1e-6)
    proba = pdtype.np_proba(flat)
    np.testing.assert_allclose(pdtype.np_likelihood(proba, checked, logp=True), -tf_neglogp, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(pdtype.np_likelihood(proba, checked), np.exp(-tf_neglogp), rtol=1e-5)
    np.testing.assert_allclose(dist.entropy().numpy(), _entropy_from_proba(name, proba), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name", sorted(SPACES))
def test_sample_and_mode_shapes_and_dtypes(name):
    pdtype = make_proba_dist_type(SPACES[name])
    flat = _flat(pdtype)
    expected = (BATCH,) + tuple(pdtype.sample_shape())
    dist = pdtype.proba_distribution_from_flat(tf.constant(flat))
    for actions in (pdtype.np_sample(flat, np.random.default_rng(0)), pdtype.np_mode(flat),
                    pdtype.tf_sample(tf.constant(flat), seed=3).numpy(), dist.mode().numpy()):
        assert actions.shape == expected
        assert actions.dtype == pdtype.action_dtype
        if name != "box":  # Gaussian samples are unbounded
            assert all(SPACES[name].contains(row.astype(SPACES[name].dtype)) for row in actions)


@pytest.mark.parametrize("name", sorted(SPACES))
def test_tf_sample_draws_from_the_distribution(name):
    """The seeded TF sampler (exported policies) has the numpy sampler's statistics."""
    pdtype = make_proba_dist_type(SPACES[name])
    n = 20000
    flat = np.repeat(_flat(pdtype)[:1], n, axis=0)
    tf_samples = pdtype.tf_sample(tf.constant(flat), seed=7).numpy().astype(np.float64)
    np_samples = pdtype.np_sample(flat, np.random.default_rng(7)).astype(np.float64)
    spread = np.maximum(np_samples.std(axis=0), 0.05)
    tolerance = float(6 * spread.max() / np.sqrt(n))
    np.testing.assert_allclose(tf_samples.mean(axis=0), np_samples.mean(axis=0), atol=tolerance)


def test_check_actions_casts_and_batches():
    discrete = make_proba_dist_type(SPACES["discrete"])
    checked = discrete.check_actions(np.array([0.0, 2.0, 1.0]), 3)
    assert checked.dtype == np.int64 and checked.tolist() == [0, 2, 1]
    assert discrete.check_actions(2, 1).tolist() == [2]
    multi = make_proba_dist_type(SPACES["multidiscrete"])
    assert multi.check_actions([1, 2], 1).shape == (1, 2)
    assert multi.check_actions(np.array([1, 2, 0, 0]), 2).tolist() == [[1, 2], [0, 0]]
    box = make_proba_dist_type(SPACES["box"])
    one = box.check_actions(np.array([0.5, 7.0]), 4)  # one Box action stands for the batch, unbounded (SB2)
    assert one.shape == (1, 2) and one.dtype == np.float64
    assert make_proba_dist_type(SPACES["multibinary"]).check_actions([1, 0, 1], 1).dtype == np.int64


@pytest.mark.parametrize("name,actions,batch,message", [
    ("discrete", np.array(["a"]), 1, "numeric actions"),
    ("discrete", np.array([0.5]), 1, "must be whole numbers"),
    ("discrete", np.array([3]), 1, r"outside the Discrete\(3\) space"),
    ("discrete", np.array([-1]), 1, "outside"),
    ("discrete", np.array([0, 1]), 3, "batch sizes differ"),
    ("multidiscrete", np.array([1, 3]), 1, r"expected whole numbers in \[0, \[2, 3\]\)"),
    ("multidiscrete", np.array([1, 2, 0]), 1, r"do not fit the action space .*expected \(2,\)"),
    ("multibinary", np.array([1, 2, 0]), 1, "outside"),
    ("multibinary", np.array([[1, 0, 1]] * 2), 3, "batch sizes differ"),
    ("box", np.array([0.1, 0.2, 0.3]), 1, "do not fit"),
    ("box", np.zeros((2, 2)), 3, "batch sizes differ"),
    ("box", np.array([]), 1, "do not fit"),
])
def test_check_actions_errors_name_the_problem(name, actions, batch, message):
    with pytest.raises(ValueError, match=message):
        make_proba_dist_type(SPACES[name]).check_actions(actions, batch)


@pytest.mark.parametrize("name", sorted(SPACES))
def test_clipping(name):
    """Box actions are clipped to the bounds (numpy and TF alike); the other spaces have nothing to clip."""
    pdtype = make_proba_dist_type(SPACES[name])
    actions = pdtype.np_sample(_flat(pdtype) * 5, np.random.default_rng(0))
    clipped, tf_clipped = pdtype.np_clip_actions(actions), pdtype.tf_clip_actions(tf.constant(actions)).numpy()
    np.testing.assert_array_equal(tf_clipped, clipped)
    if name == "box":
        space = SPACES[name]
        np.testing.assert_array_equal(clipped, np.clip(actions, space.low, space.high))
        assert np.any(clipped != actions)
    else:
        np.testing.assert_array_equal(clipped, actions)


def test_box_likelihood_from_mean_and_std():
    """The Gaussian's log-density of ``action_probability`` is np_neglogp's, from (mean, std)."""
    pdtype = make_proba_dist_type(spaces.Box(-1, 1, (1,), np.float32))
    logprob = pdtype.np_likelihood((np.array([-0.4]), np.array([[0.1]])), np.array([[0.2]]), logp=True)
    np.testing.assert_allclose(logprob, [-16.616353440210627], rtol=1e-12)  # SB2 test_log_prob


@pytest.mark.parametrize("name", sorted(SPACES))
def test_behaviour_cloning_loss(name):
    """Discrete spaces: the negative log-likelihood of the expert action (SB2's cross-entropy for
    Discrete); Box: SB2's squared error of the mean, averaged over the action dimensions."""
    pdtype = make_proba_dist_type(SPACES[name])
    flat, actions = _flat(pdtype), _actions(SPACES[name])
    columns = actions.reshape(BATCH, -1).astype(pdtype.action_dtype)
    loss = pdtype.bc_loss(tf.constant(flat), tf.constant(columns)).numpy()
    assert loss.shape == (BATCH,)
    if name == "box":
        np.testing.assert_allclose(loss, ((columns - flat[:, :2]) ** 2).mean(axis=1), rtol=1e-6)
    else:
        np.testing.assert_allclose(loss, pdtype.np_neglogp(flat, actions), rtol=1e-5, atol=1e-6)


def test_space_defaults_when_built_from_sizes():
    """SB2's constructors take sizes; the object then stands for the matching unbounded space."""
    box = DiagGaussianProbabilityDistributionType(2)
    assert box.space.shape == (2,) and np.all(np.isinf(box.space.high))
    np.testing.assert_array_equal(box.np_clip_actions(np.array([[1e6, -1e6]])), [[1e6, -1e6]])
    assert MultiCategoricalProbabilityDistributionType([2, 4]).space == spaces.MultiDiscrete([2, 4])


def test_one_list_of_supported_spaces():
    """Observations and actions: the same four spaces, each with an action-space object."""
    assert set(SUPPORTED_SPACES) == {spaces.Box, spaces.Discrete, spaces.MultiDiscrete, spaces.MultiBinary}
    for space in SPACES.values():
        check_observation_space(space)
        assert make_proba_dist_type(space).space is space
    for unsupported in (spaces.Dict({"a": spaces.Discrete(2)}), spaces.Text(4)):
        with pytest.raises(NotImplementedError, match="Box, Discrete, MultiDiscrete, MultiBinary"):
            make_proba_dist_type(unsupported)
        with pytest.raises(NotImplementedError, match="Box, Discrete, MultiDiscrete, MultiBinary"):
            check_observation_space(unsupported)
