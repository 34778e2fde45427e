"""VecNormalize and RunningMeanStd: SB2's test_vec_normalize intent (non-MPI, on-policy parts)."""
import os
import pickle
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest

from stable_ppo2.common.running_mean_std import RunningMeanStd
from stable_ppo2.common.vec_env import (
    DummyVecEnv,
    VecCheckNan,
    VecFrameStack,
    VecNormalize,
    sync_envs_normalization,
    unwrap_vec_normalize,
)
from tests.helpers import SB2_ZOO as SB2_ZOO_PATH

ENV_ID = "Pendulum-v1"
SB2_ZOO = Path(SB2_ZOO_PATH)


def make_env():
    return gym.make(ENV_ID)


def make_norm_env(n_envs=1, seed=0, **kwargs):
    venv = DummyVecEnv([make_env for _ in range(n_envs)])
    venv.seed(seed)
    return VecNormalize(venv, **kwargs)


def run_steps(venv, n_steps=50, seed=0):
    rng = np.random.default_rng(seed)
    for _ in range(n_steps):
        venv.step(rng.uniform(-2, 2, size=(venv.num_envs, 1)).astype(np.float32))


def check_rms_equal(rms_a, rms_b):
    np.testing.assert_allclose(rms_a.mean, rms_b.mean)
    np.testing.assert_allclose(rms_a.var, rms_b.var)
    assert rms_a.count == rms_b.count


def check_vec_norm_equal(norm_a, norm_b):
    assert norm_a.observation_space == norm_b.observation_space
    assert norm_a.action_space == norm_b.action_space
    assert norm_a.num_envs == norm_b.num_envs
    check_rms_equal(norm_a.obs_rms, norm_b.obs_rms)
    check_rms_equal(norm_a.ret_rms, norm_b.ret_rms)
    for name in ("clip_obs", "clip_reward", "norm_obs", "norm_reward", "gamma", "epsilon", "training"):
        assert getattr(norm_a, name) == getattr(norm_b, name), name
    np.testing.assert_array_equal(norm_a.old_obs, norm_b.old_obs)
    np.testing.assert_array_equal(norm_a.old_rews, norm_b.old_rews)


@pytest.mark.parametrize(
    "shapes", [((3,), (3,), (3,)), ((3, 2), (4, 2), (5, 2)), ((2, 3, 4), (5, 3, 4), (1, 3, 4))], ids=str
)
def test_running_mean_std_merge(shapes):
    rng = np.random.default_rng(0)
    x_1, x_2, x_3 = (rng.normal(size=shape) for shape in shapes)
    rms = RunningMeanStd(epsilon=0.0, shape=x_1.shape[1:])
    for x in (x_1, x_2, x_3):
        rms.update(x)
    x_cat = np.concatenate([x_1, x_2, x_3], axis=0)
    np.testing.assert_allclose(rms.mean, x_cat.mean(axis=0))
    np.testing.assert_allclose(rms.var, x_cat.var(axis=0))
    assert rms.count == len(x_cat)


def test_running_mean_std_defaults_and_pickle():
    rms = RunningMeanStd(shape=(2,))
    assert rms.mean.dtype == np.float64 and rms.var.dtype == np.float64
    np.testing.assert_array_equal(rms.mean, [0, 0])
    np.testing.assert_array_equal(rms.var, [1, 1])
    assert rms.count == 1e-4
    rms.update(np.array([[1.0, 2.0], [3.0, 4.0]]))
    restored = pickle.loads(pickle.dumps(rms))
    assert set(vars(restored)) == {"mean", "var", "count"}
    check_rms_equal(rms, restored)


def test_sb2_running_average_files_load():
    """SB2's pickled RunningMeanStd (obs_rms.pkl) unpickles into this class."""

    class Sb2Unpickler(pickle.Unpickler):
        def find_class(self, module, name):
            if module == "stable_baselines.common.running_mean_std":
                return RunningMeanStd
            return super().find_class(module, name)

    with open(SB2_ZOO / "Acrobot-v1" / "obs_rms.pkl", "rb") as file_handler:
        rms = Sb2Unpickler(file_handler).load()
    assert isinstance(rms, RunningMeanStd)
    assert rms.mean.shape == (6,) and rms.var.shape == (6,) and rms.count > 1
    rms.update(np.zeros((2, 6)))


def test_vec_env_clipping_and_save_load(tmp_path):
    clip_obs, clip_reward = 0.5, 5.0
    orig_venv = DummyVecEnv([make_env])
    norm_venv = VecNormalize(orig_venv, norm_obs=True, norm_reward=True, clip_obs=clip_obs, clip_reward=clip_reward)
    norm_venv.reset()
    done = [False]
    while not done[0]:
        obs, rew, done, _ = norm_venv.step([norm_venv.action_space.sample()])
        assert np.max(np.abs(obs)) <= clip_obs
        assert np.max(np.abs(rew)) <= clip_reward

    path = tmp_path / "vec_normalize.pkl"
    norm_venv.save(str(path))
    assert os.listdir(tmp_path) == ["vec_normalize.pkl"]  # no temporary file left behind
    deserialized = VecNormalize.load(str(path), venv=orig_venv)
    check_vec_norm_equal(norm_venv, deserialized)
    np.testing.assert_array_equal(deserialized.ret, np.zeros(1))
    norm_venv.save(str(path))  # overwriting works too
    check_vec_norm_equal(norm_venv, VecNormalize.load(str(path), venv=orig_venv))


def test_pickled_state_and_set_venv():
    norm_venv = make_norm_env()
    norm_venv.reset()
    run_steps(norm_venv, 5)
    state = norm_venv.__getstate__()
    assert not {"venv", "ret", "class_attributes"} & set(state)
    restored = pickle.loads(pickle.dumps(norm_venv))
    assert restored.venv is None
    with pytest.raises(ValueError, match="incompatible"):
        restored.set_venv(DummyVecEnv([lambda: gym.make("CartPole-v1")]))
    restored.set_venv(DummyVecEnv([make_env]))
    check_vec_norm_equal(norm_venv, restored)
    with pytest.raises(ValueError, match="already initialized"):
        restored.set_venv(DummyVecEnv([make_env]))


def test_unpickle_state_of_an_older_version():
    """Attributes missing from an older pickle get the constructor defaults."""
    norm_venv = make_norm_env(norm_reward=False, gamma=0.9)
    state = norm_venv.__getstate__()
    for name in ("training", "old_obs", "old_rews", "epsilon"):
        del state[name]
    restored = VecNormalize.__new__(VecNormalize)
    restored.__setstate__(state)
    restored.set_venv(DummyVecEnv([make_env]))
    assert restored.training is True and restored.epsilon == 1e-8
    assert restored.norm_reward is False and restored.gamma == 0.9
    assert restored.old_obs.size == 0
    restored.reset()


def test_save_load_running_average(tmp_path):
    norm_venv = make_norm_env()
    norm_venv.reset()
    run_steps(norm_venv, 20)
    with pytest.warns(DeprecationWarning):
        norm_venv.save_running_average(str(tmp_path))
    assert sorted(os.listdir(tmp_path)) == ["obs_rms.pkl", "ret_rms.pkl"]
    other = make_norm_env()
    with pytest.warns(DeprecationWarning):
        other.load_running_average(str(tmp_path))
    check_rms_equal(norm_venv.obs_rms, other.obs_rms)
    check_rms_equal(norm_venv.ret_rms, other.ret_rms)


def test_get_original_obs_and_reward():
    raw_venv = DummyVecEnv([make_env for _ in range(2)])
    raw_venv.seed(0)
    norm_venv = make_norm_env(n_envs=2, seed=0)
    np.testing.assert_array_equal(norm_venv.reset(), norm_venv.normalize_obs(raw_venv.reset()))
    rng = np.random.default_rng(0)
    for _ in range(10):
        actions = rng.uniform(-2, 2, size=(2, 1)).astype(np.float32)
        obs, rews, _, _ = raw_venv.step(actions)
        norm_obs, norm_rews, _, _ = norm_venv.step(actions)
        np.testing.assert_array_equal(norm_venv.get_original_obs(), obs)
        np.testing.assert_array_equal(norm_venv.get_original_reward(), rews)
        assert not np.allclose(norm_obs, obs) and not np.allclose(norm_rews, rews)
    norm_venv.get_original_obs()[:] = 123  # copies: the wrapper's values stay
    assert not np.any(norm_venv.get_original_obs() == 123)


def test_normalized_rewards_keep_the_original_dtype():
    """As SB2 on numpy 1: float32 rewards stay float32 (get_original_reward too); integers become float64."""
    norm_venv = make_norm_env(n_envs=2, seed=0)
    norm_venv.reset()
    _, rewards, _, _ = norm_venv.step(np.zeros((2, 1), dtype=np.float32))
    assert rewards.dtype == norm_venv.get_original_reward().dtype == np.float32
    scale = np.sqrt(norm_venv.ret_rms.var + norm_venv.epsilon)
    np.testing.assert_array_equal(rewards, np.clip(norm_venv.get_original_reward() / np.float32(scale), -10, 10))
    assert norm_venv.normalize_reward(np.array([1, 1])).dtype == np.float64


def test_normalize_external():
    norm_venv = make_norm_env(n_envs=2)
    norm_venv.reset()
    run_steps(norm_venv, 30)
    obs = np.array([[0.5, -0.5, 1.0], [100.0, -100.0, 0.0]])
    expected_obs = np.clip((obs - norm_venv.obs_rms.mean) / np.sqrt(norm_venv.obs_rms.var + 1e-8), -10, 10)
    np.testing.assert_allclose(norm_venv.normalize_obs(obs), expected_obs)
    rewards = np.array([-1.0, -1000.0])
    expected_rewards = np.clip(rewards / np.sqrt(norm_venv.ret_rms.var + 1e-8), -10, 10)
    np.testing.assert_allclose(norm_venv.normalize_reward(rewards), expected_rewards)
    assert norm_venv.normalize_reward(rewards)[1] == -10  # clipped
    norm_venv.norm_obs = norm_venv.norm_reward = False
    np.testing.assert_array_equal(norm_venv.normalize_obs(obs), obs)
    np.testing.assert_array_equal(norm_venv.normalize_reward(rewards), rewards)


def test_training_false_freezes_statistics():
    norm_venv = make_norm_env(training=False)
    norm_venv.reset()
    run_steps(norm_venv, 10)
    assert norm_venv.obs_rms.count == 1e-4 and norm_venv.ret_rms.count == 1e-4
    norm_venv.training = True
    run_steps(norm_venv, 10)
    assert norm_venv.obs_rms.count == pytest.approx(10 + 1e-4)


def test_return_statistics_and_reset_quirk():
    """ret follows ret*gamma + r; each reset merges a zero return per env into ret_rms (SB2 quirk 15)."""
    norm_venv = make_norm_env(n_envs=2, gamma=0.5)
    norm_venv.reset()
    assert norm_venv.ret_rms.count == pytest.approx(2 + 1e-4)
    np.testing.assert_allclose(norm_venv.ret_rms.mean, 0)
    expected_ret = np.zeros(2)
    rng = np.random.default_rng(0)
    for _ in range(5):
        norm_venv.step(rng.uniform(-2, 2, size=(2, 1)).astype(np.float32))
        expected_ret = expected_ret * 0.5 + norm_venv.get_original_reward()
        np.testing.assert_allclose(norm_venv.ret, expected_ret)
    assert norm_venv.ret_rms.count == pytest.approx(12 + 1e-4)
    mean_before = norm_venv.ret_rms.mean
    norm_venv.reset()
    np.testing.assert_array_equal(norm_venv.ret, np.zeros(2))
    assert norm_venv.ret_rms.count == pytest.approx(14 + 1e-4)
    assert abs(norm_venv.ret_rms.mean) < abs(mean_before)  # pulled toward 0


def test_return_is_zeroed_at_episode_end():
    norm_venv = VecNormalize(DummyVecEnv([lambda: gym.wrappers.TimeLimit(make_env(), max_episode_steps=3)]))
    norm_venv.reset()
    for _ in range(2):
        norm_venv.step([[0.0]])
    assert norm_venv.ret[0] != 0
    _, _, dones, _ = norm_venv.step([[0.0]])
    assert dones[0] and norm_venv.ret[0] == 0


def test_sync_envs_normalization_and_unwrap():
    env = VecFrameStack(make_norm_env(), n_stack=2)
    eval_env = VecFrameStack(make_norm_env(training=False), n_stack=2)
    env.reset()
    run_steps(env, 20)
    train_norm, eval_norm = unwrap_vec_normalize(env), unwrap_vec_normalize(eval_env)
    assert isinstance(train_norm, VecNormalize) and train_norm is env.venv
    sync_envs_normalization(env, eval_env)
    check_rms_equal(train_norm.obs_rms, eval_norm.obs_rms)
    check_rms_equal(train_norm.ret_rms, eval_norm.ret_rms)
    assert eval_norm.obs_rms is not train_norm.obs_rms  # a deep copy
    assert unwrap_vec_normalize(VecCheckNan(DummyVecEnv([make_env]))) is None
    assert unwrap_vec_normalize(DummyVecEnv([make_env])) is None
