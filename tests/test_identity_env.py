"""Identity envs: spaces, rewards, episode length and seeding."""
import numpy as np
import pytest
from gymnasium.spaces import Box, Discrete, MultiBinary, MultiDiscrete

from stable_ppo2.common.identity_env import (
    IdentityEnv,
    IdentityEnvBox,
    IdentityEnvMultiBinary,
    IdentityEnvMultiDiscrete,
)

ENVS = [
    (lambda: IdentityEnv(dim=10, ep_length=7), Discrete),
    (lambda: IdentityEnvBox(eps=0.5, ep_length=7), Box),
    (lambda: IdentityEnvMultiDiscrete(dim=10, ep_length=7), MultiDiscrete),
    (lambda: IdentityEnvMultiBinary(dim=10, ep_length=7), MultiBinary),
]


@pytest.mark.parametrize("make_env,space_cls", ENVS)
def test_copying_the_observation_earns_one_per_step(make_env, space_cls):
    env = make_env()
    assert isinstance(env.observation_space, space_cls)
    assert env.action_space is env.observation_space
    obs, info = env.reset(seed=3)
    assert info == {} and env.observation_space.contains(obs)
    total = 0
    for step in range(1, 8):
        obs, reward, terminated, truncated, _ = env.step(obs)
        total += reward
        assert env.observation_space.contains(obs)
        assert not terminated
        assert truncated == (step == 7)  # the episode is cut by its length, a time limit
    assert total == 7


def test_wrong_actions_earn_nothing():
    env = IdentityEnv(dim=4)
    obs, _ = env.reset(seed=0)
    _, reward, _, _, _ = env.step((obs + 1) % 4)
    assert reward == 0

    env = IdentityEnvMultiDiscrete(dim=4)
    obs, _ = env.reset(seed=0)
    wrong = obs.copy()
    wrong[1] = (wrong[1] + 1) % 4
    assert env.step(wrong)[1] == 0


def test_box_reward_within_eps():
    env = IdentityEnvBox(low=-1, high=1, eps=0.1)
    assert env.observation_space.shape == (1,) and env.observation_space.dtype == np.float32
    obs, _ = env.reset(seed=1)
    assert env.step(obs + 0.09)[1] == 1
    obs = env.state
    assert env.step(obs - 0.11)[1] == 0
    obs = env.state
    assert env.step(obs + 0.5 if obs[0] < 0 else obs - 0.5)[1] == 0


def test_defaults_and_argument_check():
    env = IdentityEnv()
    assert env.observation_space == Discrete(1) and env.ep_length == 100
    assert IdentityEnvMultiDiscrete(dim=3).observation_space == MultiDiscrete([3, 3])
    assert IdentityEnvMultiBinary(dim=5).observation_space == MultiBinary(5)
    with pytest.raises(ValueError, match="at most one"):
        IdentityEnv(dim=2, space=Discrete(2))


def test_seeded_resets_reproduce_the_episode():
    def rollout(seed):
        env = IdentityEnv(dim=100, ep_length=20)
        obs, _ = env.reset(seed=seed)
        states = [obs]
        for _ in range(20):
            obs = env.step(0)[0]
            states.append(obs)
        return states

    assert rollout(5) == rollout(5)
    assert rollout(5) != rollout(6)


def test_num_resets_counts_only_resets_after_construction():
    env = IdentityEnvBox()
    assert env.num_resets == 0
    env.reset()
    env.reset()
    assert env.num_resets == 2 and env.current_step == 0


def test_passes_gymnasium_env_checker():
    from gymnasium.utils.env_checker import check_env

    for make_env, _ in ENVS:
        check_env(make_env(), skip_render_check=True)
