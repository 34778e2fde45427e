"""evaluate_policy with small fake models on gymnasium envs and on one-env VecEnvs."""
import gymnasium as gym
import numpy as np
import pytest

from stable_ppo2.common.evaluation import evaluate_policy
from stable_ppo2.common.identity_env import (
    IdentityEnv,
    IdentityEnvBox,
    IdentityEnvMultiBinary,
    IdentityEnvMultiDiscrete,
)
from stable_ppo2.common.vec_env import DummyVecEnv


class CopyModel:
    """Answers with the observation (the right action in identity envs), or a wrong one if ``wrong``."""

    n_envs = 1
    initial_state = None

    def __init__(self, wrong=False):
        self.wrong = wrong
        self.deterministic_flags = []

    def predict(self, obs, state=None, mask=None, deterministic=False):
        self.deterministic_flags.append(deterministic)
        action = np.asarray(obs)
        return (1 - action if self.wrong else action), state


def test_step_counts_and_callback_locals():
    model = CopyModel()
    calls = []

    def callback(locals_, globals_):
        assert locals_["model"] is model and "evaluate_policy" in globals_
        calls.append((locals_["episode_length"], locals_["done"]))

    rewards, lengths = evaluate_policy(model, IdentityEnv(dim=3, ep_length=20), n_eval_episodes=3,
                                       callback=callback, return_episode_rewards=True)
    assert lengths == [20, 20, 20] and rewards == [20, 20, 20]
    assert len(calls) == sum(lengths)
    assert calls[19] == (19, True)  # called after the step, before the length is incremented
    assert all(model.deterministic_flags)


def test_mean_std_and_reward_threshold():
    env = IdentityEnv(dim=2, ep_length=10)
    mean, std = evaluate_policy(CopyModel(), env, n_eval_episodes=2)
    assert (mean, std) == (10.0, 0.0)
    assert evaluate_policy(CopyModel(), env, n_eval_episodes=2, reward_threshold=9.5)[0] == 10.0
    with pytest.raises(AssertionError, match="Mean reward below threshold: 0.00 < 1.00"):
        evaluate_policy(CopyModel(wrong=True), env, n_eval_episodes=2, reward_threshold=1.0)


def test_vec_env_rewards_are_arrays_and_reset_once():
    resets = []

    class CountingEnv(IdentityEnv):
        def reset(self, **kwargs):
            resets.append(1)
            return super().reset(**kwargs)

    env = DummyVecEnv([lambda: CountingEnv(dim=3, ep_length=5)])
    resets.clear()
    rewards, lengths = evaluate_policy(CopyModel(), env, n_eval_episodes=3, return_episode_rewards=True)
    assert lengths == [5, 5, 5]
    # SB2 quirk kept: with a VecEnv every episode reward is a 1-element array
    assert all(isinstance(r, np.ndarray) and r.shape == (1,) and r[0] == 5 for r in rewards)
    # one explicit reset; the VecEnv resets itself after each of the 3 episodes
    assert len(resets) == 1 + 3
    mean, std = evaluate_policy(CopyModel(), env, n_eval_episodes=2)
    assert mean == 5.0 and std == 0.0


def test_vec_env_must_hold_one_env():
    env = DummyVecEnv([lambda: IdentityEnv(dim=2)] * 2)
    with pytest.raises(ValueError, match="only one environment"):
        evaluate_policy(CopyModel(), env)


@pytest.mark.parametrize("make_env,gym_shape,vec_shape", [
    (lambda: IdentityEnv(dim=10), (), (1,)),
    (lambda: IdentityEnvBox(eps=0.5), (1,), (1, 1)),
    (lambda: IdentityEnvMultiBinary(dim=10), (10,), (1, 10)),
    (lambda: IdentityEnvMultiDiscrete(dim=10), (2,), (1, 2)),
])
def test_observation_and_action_shapes_gym_vs_vec_env(make_env, gym_shape, vec_shape):
    for env, shape in [(make_env(), gym_shape), (DummyVecEnv([make_env]), vec_shape)]:
        def callback(locals_, _globals):
            assert np.asarray(locals_["obs"]).shape == shape
            assert np.asarray(locals_["action"]).shape == shape

        mean, _ = evaluate_policy(CopyModel(), env, n_eval_episodes=2, callback=callback)
        assert mean == 100


class RecurrentModel:
    """A recurrent model trained with 4 envs: evaluation passes the real observation (no padding:
    stable_ppo2's recurrent models predict on any batch) and restarts the state at each episode."""

    n_envs = 4
    initial_state = np.zeros((4, 8))
    observation_space = gym.spaces.Box(0, 9, (1,))

    def __init__(self):
        self.states_seen = []

    def predict(self, obs, state=None, mask=None, deterministic=False):
        assert np.shape(obs) in ((), (1,))
        self.states_seen.append(state)
        return np.asarray(obs).astype(np.int64).reshape(np.shape(obs)), (0 if state is None else state + 1)


@pytest.mark.parametrize("vec", [False, True])
def test_recurrent_models_restart_their_state_each_episode(vec):
    def make_env():
        return IdentityEnv(dim=10, ep_length=4)

    env = DummyVecEnv([make_env]) if vec else make_env()
    model = RecurrentModel()
    rewards, lengths = evaluate_policy(model, env, n_eval_episodes=2, return_episode_rewards=True)
    assert lengths == [4, 4]
    assert np.all(np.asarray(rewards) == 4)
    assert model.states_seen == [None, 0, 1, 2, None, 0, 1, 2]



class _OldApiEnv:
    """Old gym API: reset -> obs, step -> (obs, reward, done, info)."""

    observation_space = gym.spaces.Discrete(2)
    action_space = gym.spaces.Discrete(2)

    def reset(self):
        self.t = 0
        return 0

    def step(self, action):
        self.t += 1
        return 0, float(action == 0), self.t >= 3, {}


def test_old_api_env_and_render():
    rewards, lengths = evaluate_policy(CopyModel(), _OldApiEnv(), n_eval_episodes=2, return_episode_rewards=True)
    assert rewards == [3.0, 3.0] and lengths == [3, 3]

    renders = []

    class RenderEnv(IdentityEnv):
        def render(self):
            renders.append(1)

    evaluate_policy(CopyModel(), RenderEnv(dim=2, ep_length=3), n_eval_episodes=1, render=True)
    assert len(renders) == 3
