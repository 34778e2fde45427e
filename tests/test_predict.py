"""``predict`` and ``action_probability`` (SB2's base_class): single-vs-batch detection, output shapes and dtypes
for every space (SB2 test_auto_vec_detection), Box clipping, shape errors, probability shapes and values
(spec 4.3, SB2 test_identity/test_continuous/test_action_space), SB2's test_log_prob and batch-size checks.
"""
import gymnasium as gym
import numpy as np
import pytest
from gymnasium import spaces

from stable_ppo2 import PPO2
from stable_ppo2.common.evaluation import evaluate_policy
from stable_ppo2.common.identity_env import (
    IdentityEnv,
    IdentityEnvBox,
    IdentityEnvMultiBinary,
    IdentityEnvMultiDiscrete,
)
from stable_ppo2.common.tf_util import tf
from stable_ppo2.common.vec_env import DummyVecEnv
from tests.helpers import model_for_spaces

SPACES = {
    "discrete": spaces.Discrete(10),
    "box": spaces.Box(-1, 1, (1,), np.float32),
    "multibinary": spaces.MultiBinary(10),
    "multidiscrete": spaces.MultiDiscrete([10, 10]),
}
# (single action shape, batch-of-k action shape, dtype) [spec 4.2, verified]
EXPECTED = {
    "discrete": ((), lambda k: (k,), np.int64),
    "box": ((1,), lambda k: (k, 1), np.float32),
    "multibinary": ((10,), lambda k: (k, 10), np.float32),
    "multidiscrete": ((2,), lambda k: (k, 2), np.int64),
}
_MODELS = {}


def identity_model(name) -> PPO2:
    """An untrained model whose observation and action spaces are both SPACES[name] (as the identity envs)."""
    if name not in _MODELS:
        _MODELS[name] = model_for_spaces("MlpPolicy", SPACES[name], SPACES[name], seed=0)
    return _MODELS[name]


def sample_obs(space, k=None, seed=0):
    """One observation (k None) or a batch of k, drawn from the space."""
    space.seed(seed)
    if k is None:
        return np.asarray(space.sample())
    return np.stack([np.asarray(space.sample()) for _ in range(k)])


@pytest.mark.parametrize("name", sorted(SPACES))
def test_predict_single_vs_batch(name):
    model = identity_model(name)
    space = SPACES[name]
    single_shape, batch_shape, dtype = EXPECTED[name]
    action, state = model.predict(sample_obs(space))
    assert state is None
    assert np.shape(action) == single_shape
    assert np.asarray(action).dtype == dtype
    for k in (1, 5):
        actions, state = model.predict(sample_obs(space, k))
        assert actions.shape == batch_shape(k) and actions.dtype == dtype and state is None
    for deterministic in (True, False):
        action, _ = model.predict(sample_obs(space), deterministic=deterministic)
        assert np.shape(action) == single_shape
        assert space.contains(np.asarray(action).astype(space.dtype) if name != "discrete" else int(action))
    # lists are accepted too
    actions, _ = model.predict(sample_obs(space, 3).tolist())
    assert actions.shape == batch_shape(3)


@pytest.mark.parametrize("env_class,name", [(lambda: IdentityEnv(10), "discrete"), (IdentityEnvBox, "box"),
                                            (lambda: IdentityEnvMultiBinary(10), "multibinary"),
                                            (lambda: IdentityEnvMultiDiscrete(10), "multidiscrete")],
                         ids=["discrete", "box", "multibinary", "multidiscrete"])
def test_auto_vec_detection(env_class, name):
    """SB2 test_auto_vec_detection: a gym env gives unbatched actions, a DummyVecEnv batched ones (k = 1)."""
    single_shape, batch_shape, _ = EXPECTED[name]
    model = PPO2("MlpPolicy", DummyVecEnv([env_class]), n_steps=16, nminibatches=1, seed=0)
    seen = []

    def callback(locals_, _globals):
        seen.append(np.shape(locals_["action"]))

    evaluate_policy(model, env_class(), n_eval_episodes=1, callback=callback)
    assert seen and set(seen) == {single_shape}
    seen.clear()
    evaluate_policy(model, DummyVecEnv([env_class]), n_eval_episodes=1, callback=callback)
    assert seen and set(seen) == {batch_shape(1)}


def test_box_single_obs_of_shape_1_is_not_vectorized():
    model = identity_model("box")
    action, _ = model.predict(np.array([0.3], np.float32))
    assert action.shape == (1,)
    actions, _ = model.predict(np.array([[0.3]], np.float32))
    assert actions.shape == (1, 1)


def test_box_actions_are_clipped():
    space = spaces.Box(-1, 1, (2,), np.float32)
    model = model_for_spaces("MlpPolicy", spaces.Box(-1, 1, (3,), np.float32), space, seed=0)
    params = model.get_parameters()
    model.load_parameters({"model/pi/b:0": np.array([5.0, -5.0]), "model/pi/logstd:0": np.full((1, 2), 1.0)},
                          exact_match=False)
    obs = np.zeros((50, 3), np.float32)
    actions, _ = model.predict(obs, deterministic=True)
    # mean = pi_latent @ pi/w (norm 0.01 columns) + (5, -5): clipped to the bounds
    np.testing.assert_allclose(actions, np.tile([1.0, -1.0], (50, 1)))
    actions, _ = model.predict(obs, deterministic=False)
    assert actions.dtype == np.float32
    assert np.all(actions <= 1.0) and np.all(actions >= -1.0)
    assert np.any(actions == 1.0) and np.any(actions == -1.0)
    single, _ = model.predict(obs[0], deterministic=True)
    np.testing.assert_allclose(single, [1.0, -1.0])
    # step() itself (what the Runner stores) is not clipped
    raw, _, _, _ = model.step(obs, None, None, deterministic=True)
    assert raw[0, 0] > 4.0 and raw[0, 1] < -4.0
    assert params["model/pi/b:0"].shape == (2,)


@pytest.mark.parametrize("space,bad_obs,expected_text", [
    (spaces.Box(-1, 1, (4,), np.float32), np.zeros(3), "(4,)"),
    (spaces.Box(-1, 1, (4,), np.float32), np.zeros((2, 3)), "(4,)"),
    (spaces.Box(-1, 1, (2, 3), np.float32), np.zeros((3, 2)), "(2, 3)"),
    (spaces.Box(-1, 1, (2, 3), np.float32), np.zeros((1, 1, 2, 3)), "(2, 3)"),
    (spaces.Discrete(4), np.zeros((2, 2), np.int64), "(n_env,)"),
    (spaces.MultiDiscrete([3, 3]), np.zeros(3, np.int64), "(2,)"),
    (spaces.MultiDiscrete([3, 3]), np.zeros((4, 3), np.int64), "(2,)"),
    (spaces.MultiBinary(4), np.zeros(5, np.int64), "(4,)"),
    (spaces.MultiBinary(4), np.zeros((2, 5), np.int64), "(4,)"),
], ids=["box-1d", "box-batch", "box-2d", "box-3d", "discrete", "md-single", "md-batch", "mb-single", "mb-batch"])
def test_wrong_observation_shape(space, bad_obs, expected_text):
    model = model_for_spaces("MlpPolicy", space, spaces.Discrete(2))
    with pytest.raises(ValueError, match="Unexpected observation shape") as error:
        model.predict(bad_obs)
    assert expected_text in str(error.value)
    with pytest.raises(ValueError, match="Unexpected observation shape"):
        model.action_probability(bad_obs)


def test_box_shape_error_message_names_both_forms():
    model = model_for_spaces("MlpPolicy", spaces.Box(-1, 1, (4,), np.float32), spaces.Discrete(2))
    with pytest.raises(ValueError) as error:
        model.predict(np.zeros(5))
    message = str(error.value)
    assert "(5,)" in message and "(4,)" in message and "(n_env, 4)" in message


# ----------------------------------------------------------------------------------------------------------------
# action_probability
# ----------------------------------------------------------------------------------------------------------------

def test_action_probability_discrete():
    model = identity_model("discrete")
    obs = sample_obs(SPACES["discrete"], 1)
    proba = model.action_probability(obs)
    assert proba.shape == (1, 10)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-5)
    # single obs: (10,)
    assert model.action_probability(obs[0]).shape == (10,)
    # probability of one action for one obs
    prob = model.action_probability(obs[0], actions=3)
    assert prob.shape == (1,)
    np.testing.assert_allclose(prob, proba[0, 3], rtol=1e-6)


def test_action_probability_multidiscrete():
    model = identity_model("multidiscrete")
    obs = sample_obs(SPACES["multidiscrete"], 1)
    ret = model.action_probability(obs)
    assert np.array(ret).shape == (2, 1, 10)
    for part in ret:
        np.testing.assert_allclose(part.sum(axis=1), 1.0, rtol=1e-5)
    # quirk 11: one unbatched obs returns only the first dimension's probabilities
    assert np.array(model.action_probability(obs[0])).shape == (1, 10)
    prob = model.action_probability(obs, actions=np.array([[2, 7]]))
    assert prob.shape == (1, 1)
    np.testing.assert_allclose(prob[0, 0], ret[0][0, 2] * ret[1][0, 7], rtol=1e-5)
    # one action for one obs: a single probability
    assert model.action_probability(obs[0], actions=np.array([2, 7])).shape == (1,)


def test_action_probability_multibinary():
    model = identity_model("multibinary")
    obs = sample_obs(SPACES["multibinary"], 1)
    proba = model.action_probability(obs)
    assert proba.shape == (1, 10)
    assert np.all((proba >= 0) & (proba <= 1))
    action = np.array([[1, 0, 1, 1, 0, 0, 1, 0, 1, 0]])
    prob = model.action_probability(obs, actions=action)
    assert prob.shape == (1, 1)
    np.testing.assert_allclose(prob[0, 0], np.prod(np.where(action[0] == 1, proba[0], 1 - proba[0])), rtol=1e-5)
    assert model.action_probability(obs[0], actions=action[0]).shape == (1,)


def test_action_probability_box():
    model = identity_model("box")
    obs = sample_obs(SPACES["box"], 1)
    mean, std = model.action_probability(obs)
    assert mean.shape == (1, 1) and std.shape == (1, 1)
    np.testing.assert_allclose(std, 1.0, rtol=1e-6)  # logstd starts at 0
    # quirk 11: one unbatched obs returns the mean only
    assert np.asarray(model.action_probability(obs[0])).shape == (1, 1)
    np.testing.assert_allclose(model.action_probability(obs[0]), mean, rtol=1e-6)


@pytest.mark.parametrize("name", sorted(SPACES))
def test_action_probability_of_10_actions(name):
    """SB2 test_continuous/test_save: 10 obs and 10 actions -> (10, 1), >= 0, prob == exp(logp)."""
    model = identity_model(name)
    space = SPACES[name]
    obs = sample_obs(space, 10, seed=1)
    actions = sample_obs(space, 10, seed=2)
    prob = model.action_probability(obs, actions=actions)
    logp = model.action_probability(obs, actions=actions, logp=True)
    assert prob.shape == (10, 1) and logp.shape == (10, 1)
    assert np.all(prob >= 0)
    np.testing.assert_allclose(prob, np.exp(logp), rtol=1e-5)
    # the probability agrees with the TF distribution's neglogp
    pdparam, _, _ = model.act_model.network(obs)
    dist = model.act_model.pdtype.proba_distribution_from_flat(pdparam)
    np.testing.assert_allclose(logp[:, 0], -dist.neglogp(actions).numpy(), rtol=1e-4, atol=1e-5)


def test_log_prob_sb2(monkeypatch):
    """SB2 test_log_prob: fixed mean [-0.4] and std [[0.1]] -> log-probability -16.616353440210627."""
    model = PPO2("MlpPolicy", DummyVecEnv([IdentityEnvBox]), n_steps=16, nminibatches=1)

    def proba_vals(obs, state=None, mask=None):
        return np.array([-0.4]), np.array([[0.1]])

    monkeypatch.setattr(model, "proba_step", proba_vals)
    logprob = model.action_probability(observation=np.array([[0.5], [0.5]]), actions=0.2, logp=True)
    assert np.allclose(logprob, np.array([-16.616353440210627]))
    prob = model.action_probability(observation=np.array([[0.5], [0.5]]), actions=0.2, logp=False)
    assert np.allclose(prob, np.exp(-16.616353440210627))


def test_action_probability_empty_proba_warns_and_returns_none(monkeypatch):
    model = identity_model("discrete")
    monkeypatch.setattr(model, "proba_step", lambda obs, state=None, mask=None: [])
    with pytest.warns(UserWarning, match="not implemented"):
        assert model.action_probability(np.array([1])) is None


@pytest.mark.parametrize("name,n_actions", [("discrete", 3), ("multidiscrete", 3), ("multibinary", 3)])
def test_action_batch_size_mismatch(name, n_actions):
    model = identity_model(name)
    obs = sample_obs(SPACES[name], 2)
    actions = sample_obs(SPACES[name], n_actions, seed=5)
    # SB2 asserts ("Error: batch sizes differ for actions and observations.")
    with pytest.raises((ValueError, AssertionError), match="batch sizes differ"):
        model.action_probability(obs, actions=actions)


def test_predict_uses_the_seeded_sampler():
    """Stochastic predictions come from the model's seeded sampler: same seed, same actions."""
    runs = []
    for _ in range(2):
        model = model_for_spaces("MlpPolicy", SPACES["discrete"], SPACES["discrete"], seed=7)
        runs.append(model.predict(np.arange(10), deterministic=False)[0])
    np.testing.assert_array_equal(runs[0], runs[1])


def test_deterministic_predict_is_the_mode():
    model = identity_model("discrete")
    obs = np.arange(10)
    actions, _ = model.predict(obs, deterministic=True)
    np.testing.assert_array_equal(actions, np.argmax(model.action_probability(obs), axis=1))
    pdparam, _, _ = model.act_model.network(obs)
    np.testing.assert_array_equal(actions, tf.argmax(pdparam, axis=1).numpy())


def test_predict_with_gymnasium_reset_output():
    """A gymnasium env's observation (from reset()[0]) is a single obs."""
    env = gym.make("CartPole-v1")
    model = PPO2("MlpPolicy", env, n_steps=16, nminibatches=1)
    obs, _ = env.reset(seed=0)
    action, _ = model.predict(obs)
    assert np.shape(action) == ()
    assert env.action_space.contains(int(action))
