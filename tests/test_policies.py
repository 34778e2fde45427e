"""Policies (SB2's ``common.policies``): parameter names/shapes/order, initial values, policy kwargs,
the registry, legacy subclasses, custom CNN extractors, observation scaling and the numpy rollout path.

The parameter tables are transcribed from ``shared/reference/SB2_PARAM_NAMES.md`` and section 2.10 of
``SB2_PPO2_SPEC.md`` (both produced by running the real SB2 2.10.2 on TF 1.15).
"""
import contextlib
from typing import Any, Dict, Optional

import gymnasium as gym
import numpy as np
import pytest
from gymnasium import spaces

from stable_ppo2 import PPO2
from stable_ppo2.common import policies as policies_module
from stable_ppo2.common.input import preprocess_obs_np, preprocess_obs_tf
from stable_ppo2.common.policies import (
    ActorCriticPolicy,
    CnnPolicy,
    FeedForwardPolicy,
    MlpPolicy,
    get_policy_from_name,
    nature_cnn,
    register_policy,
)
from stable_ppo2.common.tf_layers import conv, conv_to_fc, linear
from stable_ppo2.common.tf_util import tf
from stable_ppo2.common.vec_env import DummyVecEnv
from tests.helpers import model_for_spaces

BOX4 = spaces.Box(-np.inf, np.inf, (4,), np.float32)  # CartPole-like observation
IMAGE = spaces.Box(0, 255, (84, 84, 4), np.uint8)


# ----------------------------------------------------------------------------------------------------------------
# Parameter tables (SB2 2.10.2, verified): name without the "model/" prefix and ":0" suffix, shape.
# ----------------------------------------------------------------------------------------------------------------

def _mlp_separate(n_obs, pi_out, q_out=None, logstd=None, hidden=64):
    """Default MlpPolicy: separate 64-64 towers, created pi_fc0, vf_fc0, pi_fc1, vf_fc1, then vf, pi, (logstd), q."""
    q_out = pi_out if q_out is None else q_out
    rows = [("pi_fc0/w", (n_obs, hidden)), ("pi_fc0/b", (hidden,)),
            ("vf_fc0/w", (n_obs, hidden)), ("vf_fc0/b", (hidden,)),
            ("pi_fc1/w", (hidden, hidden)), ("pi_fc1/b", (hidden,)),
            ("vf_fc1/w", (hidden, hidden)), ("vf_fc1/b", (hidden,)),
            ("vf/w", (hidden, 1)), ("vf/b", (1,)),
            ("pi/w", (hidden, pi_out)), ("pi/b", (pi_out,))]
    if logstd is not None:
        rows.append(("pi/logstd", (1, logstd)))
    rows += [("q/w", (hidden, q_out)), ("q/b", (q_out,))]
    return rows


def _cnn(n_actions):
    return [("c1/w", (8, 8, 4, 32)), ("c1/b", (1, 32, 1, 1)),
            ("c2/w", (4, 4, 32, 64)), ("c2/b", (1, 64, 1, 1)),
            ("c3/w", (3, 3, 64, 64)), ("c3/b", (1, 64, 1, 1)),
            ("fc1/w", (3136, 512)), ("fc1/b", (512,)),
            ("vf/w", (512, 1)), ("vf/b", (1,)),
            ("pi/w", (512, n_actions)), ("pi/b", (n_actions,)),
            ("q/w", (512, n_actions)), ("q/b", (n_actions,))]


PARAM_TABLE = {
    # SB2_PARAM_NAMES.md "MlpPolicy on CartPole-v1"
    "mlp-box4-discrete2": ("MlpPolicy", BOX4, spaces.Discrete(2), {}, _mlp_separate(4, 2)),
    # SB2_PARAM_NAMES.md "MlpPolicy on Pendulum-v0"
    "mlp-box3-box1": ("MlpPolicy", spaces.Box(-8.0, 8.0, (3,), np.float32), spaces.Box(-2.0, 2.0, (1,), np.float32),
                      {}, _mlp_separate(3, 1, logstd=1)),
    # spec 2.10: Box(3) action
    "mlp-box4-box3": ("MlpPolicy", BOX4, spaces.Box(-1, 1, (3,), np.float32), {}, _mlp_separate(4, 3, logstd=3)),
    # spec 2.10: Discrete(5) observation -> one-hot (5,)
    "mlp-discrete5obs": ("MlpPolicy", spaces.Discrete(5), spaces.Discrete(2), {}, _mlp_separate(5, 2)),
    # spec 2.10: MultiDiscrete([2,3]) observation -> concatenated one-hots (5,)
    "mlp-multidiscrete-obs": ("MlpPolicy", spaces.MultiDiscrete([2, 3]), spaces.Discrete(2), {}, _mlp_separate(5, 2)),
    # spec 2.10: MultiDiscrete([2,3]) action -> 5 logits
    "mlp-multidiscrete-act": ("MlpPolicy", BOX4, spaces.MultiDiscrete([2, 3]), {}, _mlp_separate(4, 5)),
    # spec 2.10: MultiBinary(3) action -> 3 logits
    "mlp-multibinary-act": ("MlpPolicy", BOX4, spaces.MultiBinary(3), {}, _mlp_separate(4, 3)),
    # spec 2.10: net_arch=[12, dict(vf=[16], pi=[8])]
    "mlp-netarch-shared12": (
        "MlpPolicy", BOX4, spaces.Discrete(2), {"net_arch": [12, dict(vf=[16], pi=[8])]},
        [("shared_fc0/w", (4, 12)), ("shared_fc0/b", (12,)),
         ("pi_fc0/w", (12, 8)), ("pi_fc0/b", (8,)),
         ("vf_fc0/w", (12, 16)), ("vf_fc0/b", (16,)),
         ("vf/w", (16, 1)), ("vf/b", (1,)), ("pi/w", (8, 2)), ("pi/b", (2,)), ("q/w", (16, 2)), ("q/b", (2,))]),
    # spec 2.10: net_arch=[8, dict(vf=[8, 8], pi=[8])] -> shared_fc0, pi_fc0, vf_fc0, vf_fc1, vf, pi, q
    "mlp-netarch-vf-deeper": (
        "MlpPolicy", BOX4, spaces.Discrete(2), {"net_arch": [8, dict(vf=[8, 8], pi=[8])]},
        [("shared_fc0/w", (4, 8)), ("shared_fc0/b", (8,)),
         ("pi_fc0/w", (8, 8)), ("pi_fc0/b", (8,)),
         ("vf_fc0/w", (8, 8)), ("vf_fc0/b", (8,)),
         ("vf_fc1/w", (8, 8)), ("vf_fc1/b", (8,)),
         ("vf/w", (8, 1)), ("vf/b", (1,)), ("pi/w", (8, 2)), ("pi/b", (2,)), ("q/w", (8, 2)), ("q/b", (2,))]),
    # SB2 test_custom_policy: act_fun=relu, net_arch=[4, 4] (two shared layers, no dict)
    "mlp-netarch-shared-only": (
        "MlpPolicy", BOX4, spaces.Discrete(2), {"act_fun": tf.nn.relu, "net_arch": [4, 4]},
        [("shared_fc0/w", (4, 4)), ("shared_fc0/b", (4,)), ("shared_fc1/w", (4, 4)), ("shared_fc1/b", (4,)),
         ("vf/w", (4, 1)), ("vf/b", (1,)), ("pi/w", (4, 2)), ("pi/b", (2,)), ("q/w", (4, 2)), ("q/b", (2,))]),
    # deprecated `layers` -> net_arch=[dict(vf=layers, pi=layers)]
    "mlp-layers-deprecated": (
        "MlpPolicy", BOX4, spaces.Discrete(2), {"layers": [16]},
        [("pi_fc0/w", (4, 16)), ("pi_fc0/b", (16,)), ("vf_fc0/w", (4, 16)), ("vf_fc0/b", (16,)),
         ("vf/w", (16, 1)), ("vf/b", (1,)), ("pi/w", (16, 2)), ("pi/b", (2,)), ("q/w", (16, 2)), ("q/b", (2,))]),
    # SB2_PARAM_NAMES.md "CnnPolicy on image env" (spec 2.10 shows the same with Discrete(4))
    "cnn-discrete6": ("CnnPolicy", IMAGE, spaces.Discrete(6), {}, _cnn(6)),
}


def _expected(rows):
    return [("model/" + name + ":0", shape) for name, shape in rows]


_MODEL_CACHE: Dict[str, PPO2] = {}


def _table_model(key: str) -> PPO2:
    """One model per table row, built once (seeded) and shared by the read-only tests below."""
    if key not in _MODEL_CACHE:
        policy, ob_space, ac_space, kwargs, _ = PARAM_TABLE[key]
        with pytest.warns(DeprecationWarning) if "layers" in kwargs else contextlib.nullcontext():
            _MODEL_CACHE[key] = model_for_spaces(policy, ob_space, ac_space, policy_kwargs=dict(kwargs), seed=0)
    return _MODEL_CACHE[key]


@pytest.mark.parametrize("key", sorted(PARAM_TABLE))
def test_parameter_names_shapes_and_order(key):
    model = _table_model(key)
    expected = _expected(PARAM_TABLE[key][4])
    params = model.get_parameters()
    assert [(name, tuple(value.shape)) for name, value in params.items()] == expected
    assert all(value.dtype == np.float32 for value in params.values())
    # get_parameter_list(): same variables, same order, names identical to the keys
    assert [v.name for v in model.get_parameter_list()] == [name for name, _ in expected]
    assert [tuple(v.shape) for v in model.get_parameter_list()] == [shape for _, shape in expected]


def _flat2d(weight: np.ndarray) -> np.ndarray:
    return weight.reshape(-1, weight.shape[-1]) if weight.ndim == 4 else weight


@pytest.mark.parametrize("key", sorted(PARAM_TABLE))
def test_initial_values(key):
    """Hidden w: orthogonal * sqrt(2); pi/q w: columns of norm 0.01; vf/w norm 1; biases 0; logstd 0."""
    params = _table_model(key).get_parameters()
    for name, value in params.items():
        short = name[len("model/"):-len(":0")]
        scope, kind = short.rsplit("/", 1)
        if kind in ("b", "logstd"):
            np.testing.assert_array_equal(value, 0.0, err_msg=name)
            continue
        weight = _flat2d(value).astype(np.float64)
        a, b = weight.shape
        if scope in ("pi", "q"):
            scale = 0.01
        elif scope == "vf":
            scale = 1.0
        else:
            scale = np.sqrt(2)
        # orthogonal: W W^T (a <= b) or W^T W (a > b) equals scale^2 * I
        gram = weight @ weight.T if a <= b else weight.T @ weight
        np.testing.assert_allclose(gram, scale ** 2 * np.eye(min(a, b)), atol=1e-5, err_msg=name)
        np.testing.assert_allclose(np.linalg.norm(weight), scale * np.sqrt(min(a, b)), rtol=1e-5, err_msg=name)
        if scope in ("pi", "q") and a >= b:
            np.testing.assert_allclose(np.linalg.norm(weight, axis=0), 0.01, rtol=1e-5, err_msg=name)
        if scope == "vf":
            np.testing.assert_allclose(np.linalg.norm(weight), 1.0, rtol=1e-5, err_msg=name)


def test_hidden_init_norm_example():
    """Spec 2.10: the hidden (4, 64) kernel has Frobenius norm sqrt(2) * sqrt(4) = 2.83."""
    params = _table_model("mlp-box4-discrete2").get_parameters()
    assert np.linalg.norm(params["model/pi_fc0/w:0"]) == pytest.approx(2.8284, abs=1e-3)


def test_init_is_seeded_by_numpy():
    """ortho_init draws from the global numpy RNG, so the same seed gives the same weights."""
    first = model_for_spaces("MlpPolicy", BOX4, spaces.Discrete(2), seed=3).get_parameters()
    second = model_for_spaces("MlpPolicy", BOX4, spaces.Discrete(2), seed=3).get_parameters()
    other = model_for_spaces("MlpPolicy", BOX4, spaces.Discrete(2), seed=4).get_parameters()
    for name in first:
        np.testing.assert_array_equal(first[name], second[name])
    assert not np.allclose(first["model/pi_fc0/w:0"], other["model/pi_fc0/w:0"])


# ----------------------------------------------------------------------------------------------------------------
# Policy kwargs
# ----------------------------------------------------------------------------------------------------------------

def test_act_fun_relu_and_net_arch_via_policy_kwargs():
    model = model_for_spaces("MlpPolicy", BOX4, spaces.Discrete(2),
                             policy_kwargs=dict(act_fun=tf.nn.relu, net_arch=[4, 4]), seed=0)
    policy = model.act_model
    assert policy.act_fun is tf.nn.relu
    assert policy.net_arch == [4, 4]
    # the network really uses relu: compare with a hand-written forward pass
    params = {k[len("model/"):-2]: v for k, v in model.get_parameters().items()}
    obs = np.random.RandomState(0).randn(5, 4).astype(np.float32) * 3
    hidden = np.maximum(obs @ params["shared_fc0/w"] + params["shared_fc0/b"], 0)
    hidden = np.maximum(hidden @ params["shared_fc1/w"] + params["shared_fc1/b"], 0)
    logits, value = hidden @ params["pi/w"] + params["pi/b"], (hidden @ params["vf/w"] + params["vf/b"])[:, 0]
    pdparam, vpred, _ = policy.network(obs)
    np.testing.assert_allclose(pdparam.numpy(), logits, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(vpred.numpy(), value, rtol=1e-5, atol=1e-6)


def test_default_mlp_is_tanh_with_separate_towers():
    model = _table_model("mlp-box4-discrete2")
    params = {k[len("model/"):-2]: v for k, v in model.get_parameters().items()}
    obs = np.random.RandomState(1).randn(3, 4).astype(np.float32)
    pi = np.tanh(np.tanh(obs @ params["pi_fc0/w"] + params["pi_fc0/b"]) @ params["pi_fc1/w"] + params["pi_fc1/b"])
    vf = np.tanh(np.tanh(obs @ params["vf_fc0/w"] + params["vf_fc0/b"]) @ params["vf_fc1/w"] + params["vf_fc1/b"])
    pdparam, value, q_values = model.act_model.network(obs)
    np.testing.assert_allclose(pdparam.numpy(), pi @ params["pi/w"] + params["pi/b"], rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(value.numpy(), (vf @ params["vf/w"] + params["vf/b"])[:, 0], rtol=1e-5, atol=1e-6)
    # the unused q head reads the VALUE latent (spec 2.8)
    np.testing.assert_allclose(q_values.numpy(), vf @ params["q/w"] + params["q/b"], rtol=1e-5, atol=1e-7)


def test_unknown_policy_kwarg_raises_value_error():
    with pytest.raises(ValueError, match="Unknown keywords for policy"):
        PPO2("MlpPolicy", "CartPole-v1", policy_kwargs=dict(this_is_not_a_kwarg=3))


def test_layers_and_net_arch_both_given_net_arch_wins():
    with pytest.warns(DeprecationWarning):
        model = model_for_spaces("MlpPolicy", BOX4, spaces.Discrete(2),
                                 policy_kwargs=dict(layers=[32], net_arch=[8]))
    assert [name for name in model.get_parameters()][:2] == ["model/shared_fc0/w:0", "model/shared_fc0/b:0"]


def test_invalid_net_arch_entry_raises():
    with pytest.raises((ValueError, AssertionError)):
        model_for_spaces("MlpPolicy", BOX4, spaces.Discrete(2), policy_kwargs=dict(net_arch=[8, "lstm"]))


# ----------------------------------------------------------------------------------------------------------------
# Registry
# ----------------------------------------------------------------------------------------------------------------

@pytest.fixture
def clean_registry():
    """Remove the names a test registers so the global registry is left as it was."""
    before = {base: dict(names) for base, names in policies_module._policy_registry.items()}
    yield
    policies_module._policy_registry.clear()
    policies_module._policy_registry.update(before)


class SmallMlpPolicy(FeedForwardPolicy):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs, net_arch=[dict(pi=[8], vf=[8])], feature_extraction="mlp")


class OtherSmallMlpPolicy(FeedForwardPolicy):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs, net_arch=[4], feature_extraction="mlp")


def test_policies_by_name():
    assert get_policy_from_name(ActorCriticPolicy, "MlpPolicy") is MlpPolicy
    assert get_policy_from_name(ActorCriticPolicy, "CnnPolicy") is CnnPolicy
    model = PPO2("MlpPolicy", "CartPole-v1", n_steps=16, nminibatches=1)
    assert model.policy is MlpPolicy
    assert isinstance(model.act_model, MlpPolicy)


def test_unknown_policy_name_raises():
    with pytest.raises(ValueError, match="unknown policy type"):
        PPO2("NoSuchPolicy", "CartPole-v1")
    with pytest.raises(ValueError, match="unknown policy type"):
        get_policy_from_name(ActorCriticPolicy, "NoSuchPolicy")


def test_unregistered_base_raises():
    with pytest.raises(ValueError, match="not registered"):
        get_policy_from_name(int, "MlpPolicy")


def test_register_policy_and_use_by_name(clean_registry):
    register_policy("SmallMlpPolicyForTest", SmallMlpPolicy)
    assert get_policy_from_name(ActorCriticPolicy, "SmallMlpPolicyForTest") is SmallMlpPolicy
    model = PPO2("SmallMlpPolicyForTest", "CartPole-v1", n_steps=32, nminibatches=1)
    assert model.policy is SmallMlpPolicy
    assert list(model.get_parameters())[:4] == ["model/pi_fc0/w:0", "model/pi_fc0/b:0",
                                                "model/vf_fc0/w:0", "model/vf_fc0/b:0"]
    assert model.get_parameters()["model/pi_fc0/w:0"].shape == (4, 8)


def test_register_duplicate_name_raises(clean_registry):
    register_policy("DuplicateNameForTest", SmallMlpPolicy)
    with pytest.raises(ValueError, match="already registered|alreay registered"):
        register_policy("DuplicateNameForTest", OtherSmallMlpPolicy)
    # the first registration is kept
    assert get_policy_from_name(ActorCriticPolicy, "DuplicateNameForTest") is SmallMlpPolicy
    # the built-in names cannot be overridden either
    with pytest.raises(ValueError):
        register_policy("MlpPolicy", OtherSmallMlpPolicy)
    assert get_policy_from_name(ActorCriticPolicy, "MlpPolicy") is MlpPolicy


def test_register_non_policy_raises(clean_registry):
    class NotAPolicy:
        pass

    with pytest.raises(ValueError, match="not of any known subclasses"):
        register_policy("NotAPolicyForTest", NotAPolicy)


# ----------------------------------------------------------------------------------------------------------------
# Legacy subclass (SB2 test_custom_policy / docs pattern)
# ----------------------------------------------------------------------------------------------------------------

class CustomPolicy(FeedForwardPolicy):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs, net_arch=[8, dict(vf=[8, 8], pi=[8, 8])], feature_extraction="mlp")


CUSTOM_POLICY_PARAMS = _expected([
    ("shared_fc0/w", (4, 8)), ("shared_fc0/b", (8,)),
    ("pi_fc0/w", (8, 8)), ("pi_fc0/b", (8,)), ("vf_fc0/w", (8, 8)), ("vf_fc0/b", (8,)),
    ("pi_fc1/w", (8, 8)), ("pi_fc1/b", (8,)), ("vf_fc1/w", (8, 8)), ("vf_fc1/b", (8,)),
    ("vf/w", (8, 1)), ("vf/b", (1,)), ("pi/w", (8, 2)), ("pi/b", (2,)), ("q/w", (8, 2)), ("q/b", (2,)),
])


def test_legacy_custom_policy_trains_with_sb2_names():
    model = PPO2(CustomPolicy, "CartPole-v1", n_steps=64, nminibatches=2, noptepochs=2, seed=0)
    assert [(n, v.shape) for n, v in model.get_parameters().items()] == CUSTOM_POLICY_PARAMS
    before = model.get_parameters()
    model.learn(256)
    assert model.num_timesteps == 256
    after = model.get_parameters()
    # everything the loss reaches moved; the unused q head did not (it gets no gradient)
    for name in after:
        if "/q/" in name:
            np.testing.assert_array_equal(before[name], after[name])
        elif name.endswith("/w:0"):
            assert not np.allclose(before[name], after[name]), name
    obs = model.get_env().reset()
    action, state = model.predict(obs)
    assert action.shape == (1,) and state is None
    assert model.action_probability(obs).shape == (1, 2)


def test_legacy_positional_subclass_signature():
    """Subclasses that spell out SB2's positional signature.

    They receive (sess, ob_space, ac_space, n_env, n_steps, n_batch).
    """
    seen: Dict[str, Any] = {}

    class PositionalPolicy(FeedForwardPolicy):
        def __init__(self, sess, ob_space, ac_space, n_env, n_steps, n_batch, reuse=False, **_kwargs):
            seen.update(sess=sess, ob_space=ob_space, ac_space=ac_space, n_env=n_env, n_steps=n_steps, reuse=reuse)
            super().__init__(sess, ob_space, ac_space, n_env, n_steps, n_batch, reuse,
                             net_arch=[dict(vf=[4], pi=[4])], feature_extraction="mlp", **_kwargs)

    env = DummyVecEnv([lambda: gym.make("CartPole-v1")] * 2)
    model = PPO2(PositionalPolicy, env, n_steps=16, nminibatches=2)
    assert seen["ob_space"] == env.observation_space and seen["ac_space"] == env.action_space
    assert seen["n_env"] == 2 and seen["sess"] is None
    assert isinstance(model.act_model, PositionalPolicy)


# ----------------------------------------------------------------------------------------------------------------
# CNN policies: custom extractor, scaling
# ----------------------------------------------------------------------------------------------------------------

class RandomImageEnv(gym.Env):
    """Random uint8 images and a Discrete(3) action; reward 1 for action 0; episodes of 20 steps."""

    metadata: Dict[str, Any] = {"render_modes": []}

    def __init__(self, shape=(16, 16, 3)):
        self.observation_space = spaces.Box(0, 255, shape, np.uint8)
        self.action_space = spaces.Discrete(3)
        self.t = 0

    def reset(self, *, seed: Optional[int] = None, options=None):
        super().reset(seed=seed)
        self.t = 0
        return self.observation_space.sample(), {}

    def step(self, action):
        self.t += 1
        return self.observation_space.sample(), float(action == 0), False, self.t >= 20, {}


def small_cnn(scaled_images, **kwargs):
    layer = tf.nn.relu(conv(scaled_images, "c1", n_filters=4, filter_size=3, stride=2, init_scale=np.sqrt(2), **kwargs))
    return tf.nn.relu(linear(conv_to_fc(layer), "fc1", 16, init_scale=np.sqrt(2)))


def test_custom_cnn_extractor_with_tf_layers():
    model = PPO2("CnnPolicy", DummyVecEnv([RandomImageEnv]), n_steps=32, nminibatches=2, noptepochs=1,
                 policy_kwargs=dict(cnn_extractor=small_cnn), seed=0)
    # (16 - 3) // 2 + 1 = 7 -> 7 * 7 * 4 = 196 features
    assert [(n, v.shape) for n, v in model.get_parameters().items()] == _expected([
        ("c1/w", (3, 3, 3, 4)), ("c1/b", (1, 4, 1, 1)), ("fc1/w", (196, 16)), ("fc1/b", (16,)),
        ("vf/w", (16, 1)), ("vf/b", (1,)), ("pi/w", (16, 3)), ("pi/b", (3,)), ("q/w", (16, 3)), ("q/b", (3,))])
    before = model.get_parameters()["model/c1/w:0"]
    model.learn(64)
    assert model.num_timesteps == 64
    assert not np.allclose(before, model.get_parameters()["model/c1/w:0"])
    obs = model.get_env().reset()
    action, _ = model.predict(obs)
    assert action.shape == (1,) and action.dtype == np.int64


def test_cnn_policy_kwargs_are_forwarded_to_extractor():
    received = {}

    def extractor(scaled_images, **kwargs):
        received.update(kwargs)
        return small_cnn(scaled_images)

    model_for_spaces("CnnPolicy", spaces.Box(0, 255, (16, 16, 3), np.uint8), spaces.Discrete(2),
                     policy_kwargs=dict(cnn_extractor=extractor, my_option=7))
    assert received == {"my_option": 7}


def test_cnn_conv_kwargs_forwarded_by_nature_cnn():
    """SB2: extra CnnPolicy kwargs go to nature_cnn, which passes them to every conv (here: one_dim_bias)."""
    # 36x36 is the smallest input nature_cnn accepts: 8x8 -> 3x3 -> 1x1x64
    model = model_for_spaces("CnnPolicy", spaces.Box(0, 255, (36, 36, 1), np.uint8), spaces.Discrete(2),
                             policy_kwargs=dict(one_dim_bias=True))
    shapes = {n: v.shape for n, v in model.get_parameters().items()}
    assert shapes["model/c1/b:0"] == (32,) and shapes["model/c3/b:0"] == (64,)
    assert shapes["model/fc1/w:0"] == (64, 512)


def test_cnn_observations_scaled_by_255():
    captured = []

    def extractor(scaled_images, **kwargs):
        captured.append(scaled_images)
        return conv_to_fc(scaled_images)

    space = spaces.Box(0, 255, (4, 4, 1), np.uint8)
    model = model_for_spaces("CnnPolicy", space, spaces.Discrete(2), policy_kwargs=dict(cnn_extractor=extractor))
    assert model.act_model.scale is True
    obs = np.stack([np.full((4, 4, 1), 255, np.uint8), np.full((4, 4, 1), 51, np.uint8)])
    model.act_model.network(obs)
    seen = np.asarray(captured[-1])
    np.testing.assert_allclose(seen[0], 1.0, rtol=1e-6)
    np.testing.assert_allclose(seen[1], 0.2, rtol=1e-6)
    # the output equals a hand-written head on obs / 255
    params = {k[len("model/"):-2]: v for k, v in model.get_parameters().items()}
    flat = obs.reshape(2, -1).astype(np.float32) / 255.0
    pdparam, value, _ = model.act_model.network(obs)
    np.testing.assert_allclose(pdparam.numpy(), flat @ params["pi/w"] + params["pi/b"], rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(value.numpy(), (flat @ params["vf/w"] + params["vf/b"])[:, 0], rtol=1e-5, atol=1e-6)


def test_observation_preprocessing_rules():
    image = spaces.Box(0, 255, (2, 2, 1), np.uint8)
    obs = np.array([[[[0], [255]], [[51], [102]]]], np.uint8)
    np.testing.assert_allclose(preprocess_obs_np(obs, image, scale=True), obs / 255.0, rtol=1e-6)
    np.testing.assert_allclose(preprocess_obs_tf(obs, image, scale=True).numpy(), obs / 255.0, rtol=1e-6)
    # MLP policies never scale
    np.testing.assert_array_equal(preprocess_obs_np(obs, image, scale=False), obs.astype(np.float32))
    assert model_for_spaces("MlpPolicy", image, spaces.Discrete(2)).act_model.scale is False
    # general finite bounds: (x - low) / (high - low)
    box = spaces.Box(-1.0, 3.0, (2,), np.float32)
    np.testing.assert_allclose(preprocess_obs_np(np.array([[-1.0, 1.0]], np.float32), box, scale=True), [[0.0, 0.5]])
    # infinite bounds: no scaling
    x = np.array([[5.0, -7.0, 1.0, 2.0]], np.float32)
    np.testing.assert_array_equal(preprocess_obs_np(x, BOX4, scale=True), x)
    # one-hot Discrete / MultiDiscrete, float MultiBinary
    np.testing.assert_array_equal(preprocess_obs_np(np.array([2, 0]), spaces.Discrete(3)), [[0, 0, 1], [1, 0, 0]])
    np.testing.assert_array_equal(preprocess_obs_tf(np.array([2, 0]), spaces.Discrete(3)).numpy(),
                                  [[0, 0, 1], [1, 0, 0]])
    md = spaces.MultiDiscrete([2, 3])
    np.testing.assert_array_equal(preprocess_obs_np(np.array([[1, 2]]), md), [[0, 1, 0, 0, 1]])
    np.testing.assert_array_equal(preprocess_obs_tf(np.array([[1, 2]]), md).numpy(), [[0, 1, 0, 0, 1]])
    mb = preprocess_obs_np(np.array([[1, 0, 1]]), spaces.MultiBinary(3))
    assert mb.dtype == np.float32
    np.testing.assert_array_equal(mb, [[1, 0, 1]])


def test_dict_and_tuple_observations_rejected_by_policy():
    for space in (spaces.Dict({"a": BOX4}), spaces.Tuple((BOX4, BOX4))):
        with pytest.raises(NotImplementedError, match="does not support input space"):
            MlpPolicy(None, space, spaces.Discrete(2), 1, 1, None)


# ----------------------------------------------------------------------------------------------------------------
# numpy rollout path vs TF network
# ----------------------------------------------------------------------------------------------------------------

def _sample_obs(space, n, seed=0):
    rng = np.random.RandomState(seed)
    if isinstance(space, spaces.Discrete):
        return rng.randint(space.n, size=n)
    if isinstance(space, spaces.MultiDiscrete):
        return rng.randint(0, space.nvec, size=(n, len(space.nvec)))
    if isinstance(space, spaces.MultiBinary):
        return rng.randint(0, 2, size=(n, space.n))
    if space.dtype == np.uint8:
        return rng.randint(0, 256, size=(n,) + space.shape).astype(np.uint8)
    return (rng.randn(n, *space.shape) * 2).astype(space.dtype)


@pytest.mark.parametrize("key", sorted(PARAM_TABLE))
def test_numpy_path_flag_and_agreement(key):
    model = _table_model(key)
    policy = model.act_model
    is_cnn = PARAM_TABLE[key][0] == "CnnPolicy"
    assert policy.uses_numpy_forward is (not is_cnn)
    obs = _sample_obs(model.observation_space, 6, seed=1)
    pdparam_np, value_np = policy.forward_np(obs)
    pdparam_tf, value_tf, _ = policy.network(obs)
    np.testing.assert_allclose(pdparam_np, pdparam_tf.numpy(), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(value_np, value_tf.numpy(), rtol=1e-4, atol=1e-5)
    assert value_np.shape == (6,)
    assert pdparam_np.shape == (6, policy.pdtype.param_shape()[0])


def test_numpy_path_follows_parameter_changes():
    """The numpy weight copies are refreshed by load_parameters and by training."""
    model = PPO2("MlpPolicy", "CartPole-v1", n_steps=64, nminibatches=2, noptepochs=2, seed=0)
    assert model.act_model.uses_numpy_forward
    obs = _sample_obs(model.observation_space, 5)

    def agree():
        pdparam_np, value_np = model.act_model.forward_np(obs)
        pdparam_tf, value_tf, _ = model.act_model.network(obs)
        np.testing.assert_allclose(pdparam_np, pdparam_tf.numpy(), rtol=1e-4, atol=1e-5)
        np.testing.assert_allclose(value_np, value_tf.numpy(), rtol=1e-4, atol=1e-5)

    rng = np.random.RandomState(0)
    loaded = {n: 0.3 * rng.randn(*v.shape) for n, v in model.get_parameters().items()}
    model.load_parameters(loaded)
    agree()
    model.learn(128)
    agree()
    # training started from the loaded values (the compiled update reads the same variables)
    after = model.get_parameters()
    np.testing.assert_allclose(after["model/q/w:0"], loaded["model/q/w:0"], rtol=1e-6)  # no gradient
    moved = np.max(np.abs(after["model/pi/w:0"] - loaded["model/pi/w:0"]))
    assert 0 < moved < 0.05


def test_custom_activation_falls_back_to_tf():
    """An activation with no numpy twin makes the policy use the compiled TF forward pass, with the same outputs."""
    def leaky(x):
        return tf.nn.leaky_relu(x, alpha=0.1)

    model = model_for_spaces("MlpPolicy", BOX4, spaces.Discrete(3), policy_kwargs=dict(act_fun=leaky, net_arch=[8]),
                             seed=0)
    policy = model.act_model
    assert policy.uses_numpy_forward is False
    obs = _sample_obs(BOX4, 4)
    pdparam_np, value_np = policy.forward_np(obs)
    pdparam_tf, value_tf, _ = policy.network(obs)
    np.testing.assert_allclose(pdparam_np, pdparam_tf.numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(value_np, value_tf.numpy(), rtol=1e-5, atol=1e-6)


def test_step_outputs():
    """step -> (actions, values, None, neglogp of the SAMPLED action, also when deterministic)."""
    model = _table_model("mlp-box4-discrete2")
    policy = model.act_model
    obs = _sample_obs(BOX4, 7)
    policy.np_random = np.random.default_rng(5)
    actions, values, states, neglogp = policy.step(obs)
    assert actions.shape == (7,) and actions.dtype == np.int64
    assert values.shape == (7,) and states is None and neglogp.shape == (7,)
    pdparam, value_tf, _ = policy.network(obs)
    dist = policy.pdtype.proba_distribution_from_flat(pdparam)
    np.testing.assert_allclose(neglogp, dist.neglogp(actions).numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(values, value_tf.numpy(), rtol=1e-5, atol=1e-6)
    # deterministic: mode actions, neglogp still of a sample drawn with the same RNG state
    policy.np_random = np.random.default_rng(5)
    det_actions, _, _, det_neglogp = policy.step(obs, deterministic=True)
    np.testing.assert_array_equal(det_actions, np.argmax(pdparam.numpy(), axis=1))
    np.testing.assert_allclose(det_neglogp, neglogp, rtol=1e-6)
    np.testing.assert_allclose(policy.value(obs), values, rtol=1e-6)
    np.testing.assert_allclose(policy.proba_step(obs).sum(axis=1), 1.0, rtol=1e-5)


def test_nature_cnn_and_mlp_extractor_exported():
    assert callable(nature_cnn)
    assert callable(policies_module.mlp_extractor)
