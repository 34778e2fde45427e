"""PPO2's public API (spec sections 1 and 4): constructor defaults and env handling, schedules and
``cliprange_vf`` semantics, update counts, the compiled update, env resets across ``learn`` calls, ``set_env``,
construction errors, seeding/determinism (SB2 test_0deterministic), VecNormalize access, verbose logging,
and save/load (SB2 test_save / test_custom_policy / test_ppo2).
"""
import base64
import inspect
import io
import json
import os
import zipfile
from typing import Any, Dict, List

import gymnasium as gym
import numpy as np
import pytest
from gymnasium import spaces

from stable_ppo2 import PPO2, logger
from stable_ppo2.bench import Monitor
from stable_ppo2.common.callbacks import BaseCallback
from stable_ppo2.common.identity_env import IdentityEnv, IdentityEnvBox
from stable_ppo2.common.policies import FeedForwardPolicy, MlpPolicy
from stable_ppo2.common.tf_util import tf
from stable_ppo2.common.vec_env import DummyVecEnv, VecCheckNan, VecNormalize
from tests.helpers import model_for_spaces

FAST = dict(n_steps=64, nminibatches=2, noptepochs=2)


def cartpole_vec(n_envs=1) -> DummyVecEnv:
    return DummyVecEnv([lambda: gym.make("CartPole-v1")] * n_envs)


class ResetCounter(gym.Wrapper):
    """Counts the resets that reach the wrapped env."""

    def __init__(self, env):
        super().__init__(env)
        self.n_resets = 0

    def reset(self, **kwargs):
        self.n_resets += 1
        return self.env.reset(**kwargs)


class CountingCallback(BaseCallback):
    def __init__(self):
        super().__init__()
        self.counts = {"training_start": 0, "rollout_start": 0, "step": 0, "rollout_end": 0, "training_end": 0}

    def _on_training_start(self):
        self.counts["training_start"] += 1

    def _on_rollout_start(self):
        self.counts["rollout_start"] += 1

    def _on_step(self):
        self.counts["step"] += 1
        return True

    def _on_rollout_end(self):
        self.counts["rollout_end"] += 1

    def _on_training_end(self):
        self.counts["training_end"] += 1


class CustomPolicy(FeedForwardPolicy):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs, net_arch=[8, dict(vf=[8, 8], pi=[8, 8])], feature_extraction="mlp")


# ----------------------------------------------------------------------------------------------------------------
# Constructor
# ----------------------------------------------------------------------------------------------------------------

SB2_SIGNATURE = [  # spec 1.1, in order
    ("policy", inspect.Parameter.empty), ("env", inspect.Parameter.empty), ("gamma", 0.99), ("n_steps", 128),
    ("ent_coef", 0.01), ("learning_rate", 2.5e-4), ("vf_coef", 0.5), ("max_grad_norm", 0.5), ("lam", 0.95),
    ("nminibatches", 4), ("noptepochs", 4), ("cliprange", 0.2), ("cliprange_vf", None), ("verbose", 0),
    ("tensorboard_log", None), ("_init_setup_model", True), ("policy_kwargs", None),
    ("full_tensorboard_log", False), ("seed", None), ("n_cpu_tf_sess", None),
]


def test_constructor_signature_equals_sb2():
    parameters = list(inspect.signature(PPO2.__init__).parameters.values())[1:]  # drop self
    assert [(p.name, p.default) for p in parameters] == SB2_SIGNATURE
    assert all(p.kind == inspect.Parameter.POSITIONAL_OR_KEYWORD for p in parameters)


def test_constructor_attributes():
    model = PPO2("MlpPolicy", "CartPole-v1")
    for name, default in SB2_SIGNATURE[2:]:
        if name in ("_init_setup_model", "cliprange_vf", "policy_kwargs"):
            continue
        assert getattr(model, name) == default, name
    assert model.policy_kwargs == {}
    assert model.cliprange_vf == 0.2  # quirk 6: None -> cliprange at setup
    assert model.n_envs == 1 and model.n_batch == 128 and model.num_timesteps == 0
    assert model.episode_reward is None and model.ep_info_buf is None
    assert model.loss_names == ["policy_loss", "value_loss", "policy_entropy", "approxkl", "clipfrac"]
    assert model.initial_state is None and model._vectorize_action is False
    assert model.graph is None and model.sess is None
    assert model.step == model.act_model.step and model.proba_step == model.act_model.proba_step
    assert model.value == model.act_model.value
    assert [v.name for v in model.params] == list(model.get_parameters())
    assert isinstance(model.observation_space, spaces.Box) and model.action_space == spaces.Discrete(2)


def test_env_from_id_string_trains(capsys, tmp_path):
    model = PPO2("MlpPolicy", "CartPole-v1", verbose=1, **FAST)
    assert "Creating environment from the given name, wrapped in a DummyVecEnv." in capsys.readouterr().out
    assert isinstance(model.get_env(), DummyVecEnv) and model.n_envs == 1
    with logger.ScopedConfigure(str(tmp_path), ["json"]):
        model.learn(128)
    assert model.num_timesteps == 128
    # without a Monitor wrapper the ep_* keys are absent
    with open(tmp_path / "progress.json") as file:
        rows = [json.loads(line) for line in file if line.strip()]
    assert len(rows) == 2 and set(rows[0]) == SB2_LOG_KEYS - {"ep_reward_mean", "ep_len_mean"}
    model.verbose = 0
    # reset_num_timesteps
    model.learn(128, reset_num_timesteps=False)
    assert model.num_timesteps == 256
    model.learn(64)
    assert model.num_timesteps == 64


def test_env_gymnasium_env_is_wrapped(capsys):
    env = gym.make("CartPole-v1")
    model = PPO2("MlpPolicy", env, verbose=1, **FAST)
    assert "Wrapping the env in a DummyVecEnv." in capsys.readouterr().out
    assert isinstance(model.get_env(), DummyVecEnv)
    assert model.get_env().envs[0] is env or model.get_env().envs[0].unwrapped is env.unwrapped
    assert model.n_envs == 1 and model.n_batch == 64


def test_env_vecenv_is_kept():
    env = cartpole_vec(2)
    model = PPO2("MlpPolicy", env, n_steps=32, nminibatches=2)
    assert model.get_env() is env and model.n_envs == 2 and model.n_batch == 64


def test_env_none_then_learn_raises():
    model = model_for_spaces("MlpPolicy", spaces.Box(-1, 1, (2,), np.float32), spaces.Discrete(2))
    assert model.get_env() is None
    with pytest.raises(ValueError, match="cannot train the model without a valid environment"):
        model.learn(256)


def test_unknown_env_id_raises():
    with pytest.raises(Exception):
        PPO2("MlpPolicy", "NoSuchEnv-v42")


class DictObsEnv(gym.Env):
    metadata: Dict[str, Any] = {"render_modes": []}

    def __init__(self, tuple_space=False):
        inner = spaces.Box(-1, 1, (2,), np.float32)
        self.observation_space = spaces.Tuple((inner, inner)) if tuple_space else spaces.Dict({"a": inner, "b": inner})
        self.action_space = spaces.Discrete(2)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        return self.observation_space.sample(), {}

    def step(self, action):
        return self.observation_space.sample(), 0.0, False, False, {}


@pytest.mark.parametrize("tuple_space", [False, True], ids=["dict", "tuple"])
def test_dict_tuple_observations_clear_error(tuple_space):
    with pytest.raises(NotImplementedError, match="Dict|Tuple") as error:
        PPO2("MlpPolicy", DictObsEnv(tuple_space))
    assert "Box" in str(error.value)  # names what is supported


def test_dict_action_space_clear_error():
    class DictActionEnv(IdentityEnv):
        def __init__(self):
            super().__init__(2)
            self.action_space = spaces.Dict({"a": spaces.Discrete(2)})

    with pytest.raises(NotImplementedError, match="action space"):
        PPO2("MlpPolicy", DummyVecEnv([DictActionEnv]))


def test_nminibatches_not_dividing_batch_raises():
    with pytest.raises(ValueError, match="nminibatches"):
        PPO2("MlpPolicy", "CartPole-v1", n_steps=10, nminibatches=4)
    with pytest.raises(ValueError, match="nminibatches"):
        PPO2("MlpPolicy", cartpole_vec(3), n_steps=5, nminibatches=2)
    PPO2("MlpPolicy", cartpole_vec(2), n_steps=5, nminibatches=2)  # 10 % 2 == 0


def test_policy_must_be_actor_critic():
    with pytest.raises(ValueError, match="ActorCriticPolicy"):
        PPO2(dict, "CartPole-v1")


# ----------------------------------------------------------------------------------------------------------------
# Schedules and cliprange_vf
# ----------------------------------------------------------------------------------------------------------------

CLIPRANGE_VF_VARIANTS = {
    "none": None,
    "float": 0.2,
    "callable": lambda f: 0.3 * f,
    "negative": -1,
    "negative-callable": lambda f: -1.0,  # SB2 crashes here (quirk 7); the port treats it as "no clipping"
}


@pytest.mark.parametrize("variant", sorted(CLIPRANGE_VF_VARIANTS))
def test_cliprange_vf_variants_learn(variant):
    """SB2 test_ppo2 (shortened): every cliprange_vf variant trains and saves; the saved value reloads."""
    cliprange_vf = CLIPRANGE_VF_VARIANTS[variant]
    cliprange = 0.2
    model = PPO2("MlpPolicy", "CartPole-v1", cliprange=cliprange, cliprange_vf=cliprange_vf, **FAST)
    before = model.get_parameters()["model/pi/w:0"]
    model.learn(256)
    assert model.num_timesteps == 256
    assert not np.allclose(before, model.get_parameters()["model/pi/w:0"])
    assert all(np.all(np.isfinite(v)) for v in model.get_parameters().values())
    if cliprange_vf is None:
        assert model.cliprange_vf is cliprange  # quirk 6: the value given at setup
    else:
        assert model.cliprange_vf is cliprange_vf  # not replaced by learn()
    assert model.learning_rate == 2.5e-4 and model.cliprange is cliprange  # learn() leaves them as given
    buffer = io.BytesIO()
    model.save(buffer)
    buffer.seek(0)
    expected = 0.2 if cliprange_vf is None else cliprange_vf
    if callable(expected):
        # a lambda is pickled by value: safe loading falls back to the default (issue #3);
        # trust_file=True rebuilds it
        from stable_ppo2.common.safe_pickle import FallbackWarning
        with pytest.warns(FallbackWarning, match="cliprange_vf"):
            assert PPO2.load(io.BytesIO(buffer.getvalue())).cliprange_vf == 0.2  # = cliprange
        loaded = PPO2.load(buffer, trust_file=True)
    else:
        loaded = PPO2.load(buffer)
    if callable(expected):
        assert callable(loaded.cliprange_vf) and loaded.cliprange_vf(0.5) == expected(0.5)
    else:
        assert loaded.cliprange_vf == expected


def test_cliprange_vf_none_becomes_cliprange():
    assert PPO2("MlpPolicy", "CartPole-v1").cliprange_vf == 0.2
    schedule = lambda f: 0.05 * f  # noqa: E731
    model = PPO2("MlpPolicy", "CartPole-v1", cliprange=schedule)
    assert model.cliprange_vf is schedule
    assert PPO2("MlpPolicy", "CartPole-v1", cliprange_vf=-1).cliprange_vf == -1


def test_schedules_become_callables_and_see_frac():
    """learning_rate/cliprange become callables after learn; schedules get frac = 1 - (update - 1) / n_updates."""
    seen: Dict[str, List[float]] = {"lr": [], "clip": [], "clip_vf": []}

    def recorder(key, value):
        def schedule(frac):
            seen[key].append(frac)
            return value
        return schedule

    # the learning-rate schedule returns 0: its value is what Adam uses, so nothing may change
    model = PPO2("MlpPolicy", "CartPole-v1", learning_rate=recorder("lr", 0.0), cliprange=recorder("clip", 0.2),
                 cliprange_vf=recorder("clip_vf", 0.5), **FAST)
    before = model.get_parameters()
    model.learn(256)  # n_batch 64 -> 4 updates
    for key in seen:
        assert seen[key] == [1.0, 0.75, 0.5, 0.25], key
    for name, value in model.get_parameters().items():
        np.testing.assert_array_equal(value, before[name], err_msg=name)
    # a second learn call restarts frac at 1
    model.learn(128)
    assert seen["lr"][-2:] == [1.0, 0.5]
    model = PPO2("MlpPolicy", "CartPole-v1", learning_rate=3e-4, cliprange=0.1, **FAST)
    assert model.learning_rate == 3e-4 and model.cliprange == 0.1


def _fixed_batch(model, n=16, offset=3.0):
    """A batch whose old values differ from the current predictions by `offset`, old neglogp = current."""
    rng = np.random.RandomState(0)
    obs = rng.randn(n, 4).astype(np.float32)
    pdparam, vpred, _ = model.act_model.network(obs)
    dist = model.act_model.pdtype.proba_distribution_from_flat(pdparam)
    actions = rng.randint(2, size=n).astype(np.int64)
    neglogpacs = dist.neglogp(actions).numpy()
    vpred = vpred.numpy()
    values = vpred + offset
    returns = values + rng.randn(n).astype(np.float32) * 5 - 2 * offset
    return obs, returns.astype(np.float32), actions, values.astype(np.float32), neglogpacs, vpred


def test_cliprange_vf_semantics_in_loss():
    """Value loss: no clipping for negative/None (or huge) clip ranges, SB2's max of clipped/unclipped otherwise.

    One minibatch and one epoch: the reported losses are those of the parameters before the update, which are
    restored before each variant.
    """
    model = model_for_spaces("MlpPolicy", spaces.Box(-5, 5, (4,), np.float32), spaces.Discrete(2), seed=0,
                             nminibatches=1, noptepochs=1, n_steps=16)
    initial = model.get_parameters()
    obs, returns, actions, values, neglogpacs, vpred = _fixed_batch(model)
    vf_losses = {}
    for cliprange_vf in (-1.0, None, 1e6, 1e-6, 0.5):
        model.load_parameters(initial)
        losses = model.train_on_batch(obs, returns, actions, values, neglogpacs, np.arange(16)[None, :],
                                      learning_rate=1e-3, cliprange=0.2, cliprange_vf=cliprange_vf)
        pg_loss, vf_loss, entropy, approxkl, clipfrac = losses
        if cliprange_vf is None or cliprange_vf < 0 or cliprange_vf > 1e5:
            expected_vf = 0.5 * np.mean((vpred - returns) ** 2)
        else:
            clipped = values + np.clip(vpred - values, -cliprange_vf, cliprange_vf)
            expected_vf = 0.5 * np.mean(np.maximum((vpred - returns) ** 2, (clipped - returns) ** 2))
        assert vf_loss == pytest.approx(expected_vf, rel=1e-4), cliprange_vf
        # ratio == 1 (old neglogp = current): no clipping, no KL, normalised advantages average to 0
        assert approxkl == pytest.approx(0.0, abs=1e-8) and clipfrac == 0.0
        assert pg_loss == pytest.approx(0.0, abs=1e-5)
        assert entropy > 0
        vf_losses[cliprange_vf] = vf_loss
    assert vf_losses[1e-6] > vf_losses[-1.0]  # clipping made a difference on this batch
    assert model._train_trace_count == 1


# ----------------------------------------------------------------------------------------------------------------
# Update counts, compiled update, resets
# ----------------------------------------------------------------------------------------------------------------

def test_learn_shorter_than_a_batch_does_nothing():
    counter = ResetCounter(gym.make("CartPole-v1"))
    model = PPO2("MlpPolicy", DummyVecEnv([lambda: counter]))  # n_batch 128
    before = model.get_parameters()
    callback = CountingCallback()
    model.learn(100, callback=callback)
    assert model.num_timesteps == 0
    assert callback.counts == {"training_start": 1, "rollout_start": 0, "step": 0, "rollout_end": 0,
                               "training_end": 1}
    assert counter.n_resets == 0  # the runner (which resets the env) is never created
    for name, value in model.get_parameters().items():
        np.testing.assert_array_equal(value, before[name])


def test_compiled_update_traced_once_and_set_env_other_number_of_envs():
    """The compiled update is traced once across learn calls, also after set_env with another env count,
    which recomputes n_batch (SB2 quirk 8 fixed)."""
    model = PPO2("MlpPolicy", cartpole_vec(1), learning_rate=lambda f: 1e-3 * f, n_steps=32, nminibatches=2,
                 noptepochs=1)
    # n_updates = total_timesteps // n_batch (floor): 100 // 32 = 3 updates, 96 steps
    callback = CountingCallback()
    model.learn(100, callback=callback)
    assert callback.counts == {"training_start": 1, "rollout_start": 3, "step": 96, "rollout_end": 3,
                               "training_end": 1}
    assert model.num_timesteps == 96
    for total in (32, 96):
        model.learn(total)
    assert model._train_trace_count == 1
    assert model.n_batch == 32
    model.set_env(cartpole_vec(3))
    assert model.n_envs == 3 and model.n_batch == 96
    assert model.episode_reward is None and model.ep_info_buf is None
    callback = CountingCallback()
    model.learn(192, callback=callback)
    assert model.num_timesteps == 192
    assert callback.counts["rollout_start"] == 2 and callback.counts["step"] == 64
    assert model.episode_reward.shape == (3,)
    assert model._train_trace_count == 1


def test_env_reset_once_across_learn_calls_and_on_set_env():
    """SB2 test_multiple_learn: 4 learn calls reset the env once and keep the runner; set_env -> new env reset once."""
    first = ResetCounter(IdentityEnvBox(ep_length=10 ** 10))
    model = PPO2("MlpPolicy", DummyVecEnv([lambda: first]), n_steps=32, nminibatches=1, noptepochs=1)
    assert first.n_resets == 0
    model.learn(64)
    runner = model.runner
    for _ in range(3):
        model.learn(64)
    assert first.n_resets == 1
    assert model.runner is runner
    assert model.num_timesteps == 64

    second = ResetCounter(IdentityEnvBox(ep_length=10 ** 10))
    model.set_env(DummyVecEnv([lambda: second]))
    assert second.n_resets == 0
    for _ in range(4):
        model.learn(64)
    assert second.n_resets == 1 and first.n_resets == 1
    assert model.runner is not runner


# ----------------------------------------------------------------------------------------------------------------
# set_env
# ----------------------------------------------------------------------------------------------------------------

def test_set_env_with_incompatible_env_count_raises_and_keeps_env():
    env = cartpole_vec(2)
    model = PPO2("MlpPolicy", env, n_steps=2, nminibatches=4)
    with pytest.raises(ValueError, match="nminibatches"):
        model.set_env(cartpole_vec(3))
    assert model.get_env() is env and model.n_envs == 2 and model.n_batch == 4


@pytest.mark.parametrize("other", ["obs", "action"])
def test_set_env_other_spaces_raises(other):
    model = PPO2("MlpPolicy", "CartPole-v1", **FAST)
    env = model.get_env()
    if other == "obs":
        new_env = DummyVecEnv([lambda: IdentityEnv(2)])  # Discrete(2) observations, same Discrete(2) actions
    else:
        class OtherActions(gym.Wrapper):  # same observation space, other action space
            def __init__(self):
                super().__init__(gym.make("CartPole-v1"))
                self.action_space = spaces.Discrete(3)
        new_env = DummyVecEnv([OtherActions])
    with pytest.raises((ValueError, AssertionError), match="space"):
        model.set_env(new_env)
    assert model.get_env() is env


def test_set_env_non_vecenv_raises():
    model = PPO2("MlpPolicy", "CartPole-v1", **FAST)
    with pytest.raises((ValueError, AssertionError), match="not a vectorized environment"):
        model.set_env(gym.make("CartPole-v1"))


def test_set_env_none():
    model = PPO2("MlpPolicy", "CartPole-v1", **FAST)
    with pytest.raises(ValueError, match="with None"):
        model.set_env(None)
    no_env = model_for_spaces("MlpPolicy", model.observation_space, model.action_space)
    no_env.set_env(None)  # allowed: nothing to replace
    assert no_env.get_env() is None
    env = cartpole_vec(2)
    no_env.set_env(env)
    assert no_env.get_env() is env and no_env.n_envs == 2 and no_env.n_batch == 256


# ----------------------------------------------------------------------------------------------------------------
# get_env / get_vec_normalize_env
# ----------------------------------------------------------------------------------------------------------------

def test_get_env_and_vec_normalize_env():
    env = cartpole_vec()
    model = PPO2("MlpPolicy", env, **FAST)
    assert model.get_env() is env
    assert model.get_vec_normalize_env() is None

    normalized = VecNormalize(cartpole_vec())
    model = PPO2("MlpPolicy", normalized, **FAST)
    assert model.get_env() is normalized
    assert model.get_vec_normalize_env() is normalized

    inner = VecNormalize(cartpole_vec())
    outer = VecCheckNan(inner)
    model.set_env(outer)
    assert model.get_env() is outer and model.get_vec_normalize_env() is inner
    model.set_env(cartpole_vec())
    assert model.get_vec_normalize_env() is None


# ----------------------------------------------------------------------------------------------------------------
# Seeding (SB2 test_0deterministic)
# ----------------------------------------------------------------------------------------------------------------

def _deterministic_run(seed):
    model = PPO2("MlpPolicy", "CartPole-v1", seed=seed, n_cpu_tf_sess=1)
    model.learn(5000)
    env = model.get_env()
    obs = env.reset()
    actions, rewards = [], []
    for _ in range(100):
        action, _ = model.predict(obs, deterministic=False)
        obs, reward, _, _ = env.step(action)
        actions.append(action)
        rewards.append(reward)
    return model, np.array(actions), np.array(rewards)


def test_seed_makes_training_deterministic():
    model_a, actions_a, rewards_a = _deterministic_run(0)
    model_b, actions_b, rewards_b = _deterministic_run(0)
    np.testing.assert_array_equal(actions_a, actions_b)
    np.testing.assert_array_equal(rewards_a, rewards_b)
    assert sum(actions_a) == sum(actions_b) and sum(rewards_a) == sum(rewards_b)  # SB2's assertion
    params_a, params_b = model_a.get_parameters(), model_b.get_parameters()
    for name in params_a:
        np.testing.assert_array_equal(params_a[name], params_b[name], err_msg=name)
    assert model_a.seed == 0 and model_a.n_cpu_tf_sess == 1



def test_different_seed_different_parameters():
    params = [PPO2("MlpPolicy", "CartPole-v1", seed=seed, **FAST).get_parameters() for seed in (0, 0, 1)]
    for name in params[0]:
        np.testing.assert_array_equal(params[0][name], params[1][name])
        if name.endswith("/w:0"):
            assert not np.allclose(params[0][name], params[2][name]), name


def test_set_random_seed_restarts_stochastic_actions_of_a_loaded_model(tmp_path):
    """A file saved without a seed: its sampler's seed is drawn at load time, so only
    ``set_random_seed`` makes stochastic actions repeat (as ``enjoy --seed`` does)."""
    PPO2("MlpPolicy", "CartPole-v1", **FAST).save(str(tmp_path / "unseeded.zip"))
    obs = np.random.RandomState(0).randn(8, 4).astype(np.float32)
    runs = []
    for global_seed in (1, 2):
        np.random.seed(global_seed)
        model = PPO2.load(str(tmp_path / "unseeded.zip"))
        model.set_random_seed(5)
        runs.append(np.stack([model.predict(obs)[0] for _ in range(20)]))
    np.testing.assert_array_equal(runs[0], runs[1])
    fresh = PPO2("MlpPolicy", "CartPole-v1", seed=5, **FAST)
    fresh.load_parameters(PPO2.load(str(tmp_path / "unseeded.zip")).get_parameters())
    np.testing.assert_array_equal(np.stack([fresh.predict(obs)[0] for _ in range(20)]), runs[0])


def test_seed_seeds_env_and_action_space():
    first = PPO2("MlpPolicy", "CartPole-v1", seed=3, **FAST)
    second = PPO2("MlpPolicy", "CartPole-v1", seed=3, **FAST)
    np.testing.assert_array_equal(first.get_env().reset(), second.get_env().reset())
    assert [first.action_space.sample() for _ in range(20)] == [second.action_space.sample() for _ in range(20)]


# ----------------------------------------------------------------------------------------------------------------
# verbose logging
# ----------------------------------------------------------------------------------------------------------------

SB2_LOG_KEYS = {"fps", "approxkl", "clipfrac", "explained_variance", "ep_reward_mean", "ep_len_mean",
                "policy_entropy", "policy_loss", "value_loss", "n_updates", "serial_timesteps", "time_elapsed",
                "total_timesteps"}


def test_verbose_prints_sb2_table(tmp_path, capsys):
    env = DummyVecEnv([lambda: Monitor(gym.make("CartPole-v1"), None)])
    model = PPO2("MlpPolicy", env, verbose=1, **FAST)
    capsys.readouterr()
    with logger.ScopedConfigure(str(tmp_path), ["stdout", "json"]):
        model.learn(256, log_interval=2)  # 4 updates: logged at 1, 2 and 4
    out = capsys.readouterr().out
    for key in SB2_LOG_KEYS:
        assert f"| {key}" in out, key
    with open(tmp_path / "progress.json") as file:
        rows = [json.loads(line) for line in file if line.strip()]
    assert [row["n_updates"] for row in rows] == [1, 2, 4]
    for row in rows:
        assert set(row) == SB2_LOG_KEYS
        assert row["serial_timesteps"] == row["n_updates"] * 64
        assert row["total_timesteps"] == row["n_updates"] * 64
        assert row["ep_len_mean"] > 0 and row["ep_reward_mean"] == row["ep_len_mean"]  # CartPole: reward 1 per step
        assert row["policy_entropy"] > 0 and row["value_loss"] > 0 and 0 <= row["clipfrac"] <= 1

    # verbose=0: nothing is logged, and the logger level is restored afterwards
    model.verbose = 0
    with logger.ScopedConfigure(str(tmp_path / "quiet"), ["stdout", "json"]):
        level = logger.get_level()
        capsys.readouterr()
        model.learn(128)
        assert logger.get_level() == level
    assert "fps" not in capsys.readouterr().out
    assert os.path.getsize(tmp_path / "quiet" / "progress.json") == 0


# ----------------------------------------------------------------------------------------------------------------
# save / load
# ----------------------------------------------------------------------------------------------------------------

SAVED_KEYS = ["gamma", "n_steps", "vf_coef", "ent_coef", "max_grad_norm", "learning_rate", "lam", "nminibatches",
              "noptepochs", "cliprange", "cliprange_vf", "verbose", "policy", "observation_space", "action_space",
              "n_envs", "n_cpu_tf_sess", "seed", "_vectorize_action", "policy_kwargs"]


@pytest.fixture(scope="module")
def trained_model():
    model = PPO2("MlpPolicy", DummyVecEnv([lambda: IdentityEnv(10)]), seed=0, **FAST)
    model.learn(256)
    return model


def _same_predictions(model_a, model_b):
    obs = np.arange(10)
    np.testing.assert_array_equal(model_a.predict(obs, deterministic=True)[0],
                                  model_b.predict(obs, deterministic=True)[0])
    np.testing.assert_array_equal(model_a.action_probability(obs), model_b.action_probability(obs))
    params_a, params_b = model_a.get_parameters(), model_b.get_parameters()
    assert list(params_a) == list(params_b)
    for name in params_a:
        np.testing.assert_array_equal(params_a[name], params_b[name])


@pytest.mark.parametrize("form", ["zip-path", "zip-no-ext", "bytesio", "cloudpickle-path", "cloudpickle-bytesio"])
def test_save_load_round_trip(trained_model, tmp_path, form):
    cloudpickle = form.startswith("cloudpickle")
    if form.endswith("bytesio"):
        target = io.BytesIO()
        trained_model.save(target, cloudpickle=cloudpickle)
        target.seek(0)
        source = target
    else:
        path = str(tmp_path / ("model.zip" if form == "zip-path" else "model"))
        trained_model.save(path, cloudpickle=cloudpickle)
        expected_file = path if form == "zip-path" else path + (".pkl" if cloudpickle else ".zip")
        assert os.path.isfile(expected_file)
        source = path
    loaded = PPO2.load(source)
    _same_predictions(trained_model, loaded)
    for key in ("gamma", "n_steps", "ent_coef", "vf_coef", "lam", "nminibatches", "noptepochs", "seed", "n_envs"):
        assert getattr(loaded, key) == getattr(trained_model, key), key
    assert loaded.policy is MlpPolicy
    assert loaded.observation_space == trained_model.observation_space
    assert loaded.action_space == trained_model.action_space
    assert loaded.num_timesteps == 0 and loaded.get_env() is None
    assert (loaded.learning_rate, loaded.cliprange, loaded.cliprange_vf) == (2.5e-4, 0.2, 0.2)  # as given


def test_loaded_model_without_env_cannot_learn(trained_model, tmp_path):
    path = str(tmp_path / "model.zip")
    trained_model.save(path)
    loaded = PPO2.load(path)
    with pytest.raises(ValueError, match="valid environment"):
        loaded.learn(128)


def test_load_with_env_and_overrides(trained_model, tmp_path):
    path = str(tmp_path / "model")
    trained_model.save(path)
    env = DummyVecEnv([lambda: IdentityEnv(10)] * 2)
    loaded = PPO2.load(path, env=env, verbose=1, n_steps=32)
    assert loaded.get_env() is env and loaded.n_envs == 2 and loaded.n_steps == 32 and loaded.n_batch == 64
    assert loaded.verbose == 1
    _same_predictions(trained_model, loaded)
    # training continues from the loaded parameters
    loaded.verbose = 0
    before = loaded.get_parameters()
    loaded.learn(128)
    assert loaded.num_timesteps == 128
    after = loaded.get_parameters()
    assert not np.allclose(before["model/pi/w:0"], after["model/pi/w:0"])
    assert np.max(np.abs(before["model/pi/w:0"] - after["model/pi/w:0"])) < 0.05
    np.testing.assert_array_equal(before["model/q/w:0"], after["model/q/w:0"])


def test_zip_layout(trained_model, tmp_path):
    path = str(tmp_path / "model.zip")
    trained_model.save(path)
    with zipfile.ZipFile(path) as archive:
        assert archive.namelist() == ["data", "parameters", "parameter_list"]
        assert all(info.compress_type == zipfile.ZIP_STORED for info in archive.infolist())
        data = json.loads(archive.read("data"))
        parameter_list = json.loads(archive.read("parameter_list"))
    assert list(data) == SAVED_KEYS
    assert parameter_list == list(trained_model.get_parameters())
    assert data["cliprange_vf"] == 0.2 and data["gamma"] == 0.99 and data["n_steps"] == 64
    assert data["policy_kwargs"] == {} and data["seed"] == 0 and data["_vectorize_action"] is False
    assert data["learning_rate"] == 2.5e-4 and data["cliprange"] == 0.2  # as given, after learn() too
    assert ":serialized:" in data["policy"] and ":serialized:" in data["observation_space"]
    # readable side fields (gymnasium stores n as a numpy integer, hence str() per SB2's rule)
    assert int(data["action_space"]["n"]) == 10


@pytest.mark.parametrize("learning_rate", [3e-4, "linear"])
def test_learn_leaves_the_saved_hyperparameters_unchanged(learning_rate):
    """The schedules are local to learn(): save() writes the same data before and after it."""
    if learning_rate == "linear":
        from stable_ppo2.common.schedules import linear_schedule
        learning_rate = linear_schedule(3e-4)
    model = PPO2("MlpPolicy", "CartPole-v1", learning_rate=learning_rate, cliprange=0.1, **FAST)

    def saved_data():
        buffer = io.BytesIO()
        model.save(buffer)
        with zipfile.ZipFile(buffer) as archive:
            return archive.read("data")

    before = saved_data()
    if not callable(learning_rate):
        data = json.loads(before)
        assert data["learning_rate"] == 3e-4 and data["cliprange"] == 0.1 and data["cliprange_vf"] == 0.1
    model.learn(128)
    assert saved_data() == before
    assert model.learning_rate is learning_rate and model.cliprange == 0.1


def _corrupt_policy_entry(path):
    """Rewrite the archive with an undecodable `policy` entry (as SB2 test_save_custom_objects)."""
    with zipfile.ZipFile(path) as archive:
        entries = {name: archive.read(name) for name in archive.namelist()}
    data = json.loads(entries["data"])
    data["policy"][":serialized:"] = base64.b64encode(b"this is not a pickle").decode()
    entries["data"] = json.dumps(data, indent=4).encode()
    with zipfile.ZipFile(path, "w") as archive:
        for name, content in entries.items():
            archive.writestr(name, content)


def test_load_with_policy_kwarg_does_not_deserialise(tmp_path):
    model = PPO2(CustomPolicy, "CartPole-v1", **FAST)
    path = str(tmp_path / "custom.zip")
    model.save(path)
    _corrupt_policy_entry(path)
    with pytest.raises(RuntimeError, match="Could not deserialize object policy"):
        PPO2.load(path)
    loaded = PPO2.load(path, policy=CustomPolicy)
    assert loaded.policy is CustomPolicy and isinstance(loaded.act_model, CustomPolicy)
    obs = np.random.RandomState(0).randn(5, 4).astype(np.float32)
    np.testing.assert_array_equal(loaded.action_probability(obs), model.action_probability(obs))
    loaded = PPO2.load(path, custom_objects={"policy": CustomPolicy})
    assert loaded.policy is CustomPolicy


@pytest.mark.parametrize("custom_objects", [["policy"], ("ab",), 5], ids=["list", "tuple-of-pair", "int"])
def test_load_custom_objects_must_be_dict(tmp_path, custom_objects):
    """SB2 json_to_data: ValueError("custom_objects argument must be a dict or None").

    LIBRARY BUG (fails at the time of writing): BaseRLModel.load() runs ``dict(custom_objects or {})`` before
    the check in save_util.json_to_data, so ["policy"] raises an unrelated ValueError ("dictionary update
    sequence element #0 has length 6"), 5 raises TypeError, and ("ab",) is silently accepted as {"a": "b"}.
    """
    path = str(tmp_path / "model.zip")
    model_for_spaces("MlpPolicy", spaces.Box(-1, 1, (2,), np.float32), spaces.Discrete(2)).save(path)
    with pytest.raises(ValueError, match="custom_objects argument must be a dict or None"):
        PPO2.load(path, custom_objects=custom_objects)


def test_load_policy_kwargs(tmp_path):
    """SB2 test_custom_policy: same/no policy_kwargs load; different ones -> ValueError."""
    policy_kwargs = dict(act_fun=tf.nn.relu, net_arch=[4, 4])
    model = PPO2("MlpPolicy", "CartPole-v1", policy_kwargs=policy_kwargs, **FAST)
    path = str(tmp_path / "kwargs_model")
    model.save(path)
    loaded = PPO2.load(path, policy_kwargs=dict(act_fun=tf.nn.relu, net_arch=[4, 4]))
    assert loaded.policy_kwargs["act_fun"] is tf.nn.relu
    assert loaded.act_model.uses_numpy_forward
    loaded = PPO2.load(path)
    _same_predictions_box(model, loaded)
    with pytest.raises(ValueError, match="policy kwargs"):
        PPO2.load(path, policy_kwargs=dict(wrong="kwargs"))
    with pytest.raises(ValueError, match="policy kwargs"):
        PPO2.load(path, policy_kwargs=dict(act_fun=tf.nn.relu, net_arch=[8, 8]))


def _same_predictions_box(model_a, model_b):
    obs = np.random.RandomState(1).randn(6, 4).astype(np.float32)
    np.testing.assert_array_equal(model_a.action_probability(obs), model_b.action_probability(obs))


def test_load_missing_file_raises(tmp_path):
    with pytest.raises(ValueError, match="could not be found"):
        PPO2.load(str(tmp_path / "nothing_here"))


@pytest.mark.parametrize("which", ["observation", "action"])
def test_discrete_space_with_nonzero_start(which):
    """gymnasium's ``Discrete(n, start)`` (SB2's gym had no ``start``): supported, or rejected clearly at construction.

    LIBRARY BUG (fails at the time of writing): observation space Discrete(3, start=1) -> PPO2 construction
    crashes with ``IndexError: index 3 is out of bounds`` (numpy one-hot of obs without subtracting start, reached
    from ActorCriticPolicy.build's probe; the TF one-hot silently gives all zeros for obs == 3); action space
    Discrete(3, start=5) -> predict()/the Runner return actions in [0, 3), outside the space.
    """
    space = spaces.Discrete(3, start=5) if which == "action" else spaces.Discrete(3, start=1)
    obs_space = space if which == "observation" else spaces.Box(-1, 1, (2,), np.float32)
    act_space = space if which == "action" else spaces.Discrete(2)
    try:
        model = model_for_spaces("MlpPolicy", obs_space, act_space, seed=0)
    except (ValueError, NotImplementedError) as error:  # a clear rejection is acceptable
        assert "start" in str(error)
        return
    obs = np.array([1, 2, 3]) if which == "observation" else np.zeros((3, 2), np.float32)
    for deterministic in (True, False):
        actions, _ = model.predict(obs, deterministic=deterministic)
        assert all(act_space.contains(int(a)) for a in actions), actions
    if which == "observation":
        pdparam_np, _ = model.act_model.forward_np(obs)
        pdparam_tf, _, _ = model.act_model.network(obs)
        np.testing.assert_allclose(pdparam_np, pdparam_tf.numpy(), rtol=1e-5, atol=1e-6)
        from stable_ppo2.common.input import preprocess_obs_tf
        np.testing.assert_array_equal(preprocess_obs_tf(obs, obs_space).numpy().sum(axis=1), 1.0)
