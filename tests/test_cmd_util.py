"""make_vec_env: env ids and callables, VecEnv classes, wrappers, monitor files and seeding."""
import functools
import os

import gymnasium as gym
import numpy as np
import pytest

from stable_ppo2.bench import Monitor, load_results
from stable_ppo2.common.cmd_util import make_vec_env
from stable_ppo2.common.identity_env import IdentityEnv
from stable_ppo2.common.vec_env import DummyVecEnv, SubprocVecEnv

TIME_LIMIT_50 = functools.partial(gym.wrappers.TimeLimit, max_episode_steps=50)


@pytest.mark.parametrize("env_id", ["CartPole-v1", lambda: gym.make("CartPole-v1")])
@pytest.mark.parametrize("n_envs", [1, 2])
@pytest.mark.parametrize("wrapper_class", [None, TIME_LIMIT_50])
def test_make_vec_env_dummy(env_id, n_envs, wrapper_class):
    env = make_vec_env(env_id, n_envs, wrapper_class=wrapper_class, monitor_dir=None, seed=0)
    assert isinstance(env, DummyVecEnv) and env.num_envs == n_envs
    if wrapper_class is None:
        assert all(isinstance(sub_env, Monitor) for sub_env in env.envs)
    else:
        assert all(isinstance(sub_env, gym.wrappers.TimeLimit) for sub_env in env.envs)
        assert all(isinstance(sub_env.env, Monitor) for sub_env in env.envs)
    obs = env.reset()
    assert obs.shape == (n_envs, 4)
    env.close()


def test_make_vec_env_with_an_old_api_wrapper_class():
    """An old-API wrapper class (a legacy ``gym.wrappers.TimeLimit``) wraps each env; envs[i] is an instance of it."""
    from stable_ppo2.legacy.gym.wrappers import TimeLimit as OldApiTimeLimit

    env = make_vec_env("CartPole-v1", 2, wrapper_class=functools.partial(OldApiTimeLimit, max_episode_steps=5), seed=0)
    assert all(isinstance(sub_env, OldApiTimeLimit) for sub_env in env.envs)
    env.reset()
    dones = [env.step([0, 0])[2] for _ in range(5)]
    assert not any(done.any() for done in dones[:4]) and dones[4].all()
    env.close()


@pytest.mark.parametrize("env_id", ["CartPole-v1", lambda: gym.make("CartPole-v1")])
@pytest.mark.parametrize("n_envs", [1, 2])
def test_make_vec_env_subproc(env_id, n_envs):
    env = make_vec_env(env_id, n_envs, vec_env_cls=SubprocVecEnv, wrapper_class=TIME_LIMIT_50, seed=0)
    assert isinstance(env, SubprocVecEnv) and env.num_envs == n_envs
    assert env.reset().shape == (n_envs, 4)
    env.close()


def test_monitor_dir_and_vec_env_kwargs(tmp_path):
    monitor_dir = str(tmp_path / "logs" / "make_vec_env")
    env = make_vec_env("CartPole-v1", n_envs=2, start_index=3, monitor_dir=monitor_dir, seed=0,
                       vec_env_cls=SubprocVecEnv, vec_env_kwargs={"start_method": None})
    assert isinstance(env, SubprocVecEnv) and env.num_envs == 2
    env.reset()
    dones = 0
    while dones < 3:
        _, _, done, infos = env.step(np.zeros(2, dtype=np.int64))
        dones += int(done.sum())
        assert all(("episode" in info) == bool(d) for info, d in zip(infos, done))
    env.close()
    assert sorted(os.listdir(monitor_dir)) == ["3.monitor.csv", "4.monitor.csv"]
    assert len(load_results(monitor_dir)) >= 3


def test_bad_vec_env_kwargs_raise_type_error():
    with pytest.raises(TypeError):
        make_vec_env("CartPole-v1", n_envs=1, vec_env_kwargs={"dummy": False})


def test_unknown_env_id_names_it():
    with pytest.raises(ValueError, match="NoSuchEnv-v9"):
        make_vec_env("NoSuchEnv-v9")


def test_env_kwargs_reach_the_constructor():
    env = make_vec_env(IdentityEnv, n_envs=2, env_kwargs={"dim": 3, "ep_length": 4})
    assert env.observation_space == gym.spaces.Discrete(3)
    assert env.get_attr("ep_length") == [4, 4]
    env.reset()
    for _ in range(4):
        _, _, dones, infos = env.step(np.zeros(2, dtype=np.int64))
    assert dones.all() and all(info["episode"]["l"] == 4 for info in infos)

    pendulum = make_vec_env("Pendulum-v1", env_kwargs={"g": 3.5})
    assert pendulum.envs[0].unwrapped.g == 3.5


def _first_obs_and_samples(seed, vec_env_cls=None, start_index=0):
    env = make_vec_env("CartPole-v1", n_envs=2, seed=seed, start_index=start_index, vec_env_cls=vec_env_cls)
    obs = env.reset()
    # the action spaces of the envs are seeded too; sample them where they live
    samples = env.env_method("get_wrapper_attr", "action_space")
    env.close()
    return obs, [[space.sample() for _ in range(5)] for space in samples] if vec_env_cls is None else None


def test_seeding_is_reproducible_and_per_rank():
    obs_a, samples_a = _first_obs_and_samples(0)
    obs_b, samples_b = _first_obs_and_samples(0)
    assert np.array_equal(obs_a, obs_b)
    assert samples_a == samples_b
    assert not np.array_equal(obs_a[0], obs_a[1])  # ranks get different seeds
    # rank r is seeded with seed + r: env 1 of seed 0 matches env 0 of seed 1, and start_index shifts ranks
    obs_c, _ = _first_obs_and_samples(1)
    assert np.array_equal(obs_a[1], obs_c[0])
    obs_d, _ = _first_obs_and_samples(0, start_index=1)
    assert np.array_equal(obs_d, obs_c)
    # the first observation equals a plain gymnasium reset with seed + rank
    plain, _ = gym.make("CartPole-v1").reset(seed=1)
    assert np.allclose(obs_a[1], plain)


def test_seeding_same_in_dummy_and_subproc():
    obs_dummy, _ = _first_obs_and_samples(7)
    obs_subproc, _ = _first_obs_and_samples(7, vec_env_cls=SubprocVecEnv)
    assert np.array_equal(obs_dummy, obs_subproc)
