"""Learning tests: each asserts a return threshold after a fixed budget (marked ``slow``).

CartPole uses the RL zoo's tuned PPO2 hyperparameters (``stable_ppo2/zoo/ppo2.yml``); the
identity tasks follow SB2's test_identity / test_continuous / test_action_space.
"""
import gymnasium as gym
import numpy as np
import pytest

from stable_ppo2 import PPO2
from stable_ppo2.common.cmd_util import make_vec_env
from stable_ppo2.common.evaluation import evaluate_policy
from stable_ppo2.common.identity_env import (
    IdentityEnv,
    IdentityEnvBox,
    IdentityEnvMultiBinary,
    IdentityEnvMultiDiscrete,
)
from stable_ppo2.common.schedules import linear_schedule
from stable_ppo2.common.tf_util import tf
from stable_ppo2.common.vec_env import DummyVecEnv, VecNormalize

pytestmark = pytest.mark.slow
LSTM_NO_VELOCITY_THRESHOLD = 120
#: benchmarks/cartpole_novel.py, seeds 0-4: 353 to 476 (seed 0: 411; with minibatches taking other
#: envs' LSTM states, the bug this guards against, seeds 0-4 gave 236 to 319); the original SB2: 331 to 408
LSTM_ZOO_NO_VELOCITY_THRESHOLD = 300

CARTPOLE_ZOO = dict(n_steps=32, nminibatches=1, lam=0.8, gamma=0.98, noptepochs=20, ent_coef=0.0,
                    learning_rate=linear_schedule(0.001), cliprange=linear_schedule(0.2))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_cartpole_zoo_reaches_475_within_100k_steps(seed):
    """The zoo's score: 20 deterministic evaluation episodes of the trained agent reach CartPole's
    threshold of 475. (The last 100 training episodes, played with sampled actions, gave 463, 500
    and 500 for seeds 0-2 once each epoch took its own shuffle as in SB2.)"""
    env = make_vec_env("CartPole-v1", n_envs=8, seed=seed)
    model = PPO2("MlpPolicy", env, seed=seed, n_cpu_tf_sess=1, **CARTPOLE_ZOO)
    model.learn(total_timesteps=100_000)
    assert model.num_timesteps <= 100_000
    last_100 = [info["r"] for info in model.ep_info_buf]
    assert len(last_100) == 100
    eval_env = make_vec_env("CartPole-v1", n_envs=1, seed=1000 + seed)
    mean_return, _ = evaluate_policy(model, eval_env, n_eval_episodes=20)
    assert mean_return >= 475, (f"seed {seed}: evaluation {mean_return}, mean of the last 100 training "
                                f"episodes {np.mean(last_100)}")


def _identity_model(env_fn, seed=0, **kwargs):
    env = DummyVecEnv([env_fn])
    return PPO2("MlpPolicy", env, seed=seed, n_cpu_tf_sess=1, **kwargs), env


def test_identity_discrete():
    """SB2 test_identity: Discrete(10), 20,000 steps, evaluation reward of at least 90 (of 100)."""
    model, env = _identity_model(lambda: IdentityEnv(10), learning_rate=1.5e-3, lam=0.8)
    model.learn(total_timesteps=20_000)
    mean_reward, _ = evaluate_policy(model, env, n_eval_episodes=20)
    assert mean_reward > 90
    obs = env.reset()
    assert model.action_probability(obs).shape == (1, 10)


def test_identity_box():
    """SB2 test_continuous: IdentityEnvBox(eps=0.5), 15,000 steps, with the other identity tests'
    learning rate and lambda (SB2's defaults score 61-100 over seeds 0-3 in SB2 itself; these
    settings 95-100 here). The untrained policy (mean action 0) scores 50."""
    model, env = _identity_model(lambda: IdentityEnvBox(eps=0.5), learning_rate=1.5e-3, lam=0.8)
    model.learn(total_timesteps=15_000)
    mean_reward, _ = evaluate_policy(model, env, n_eval_episodes=20)
    assert mean_reward > 90


@pytest.mark.parametrize("env_class", [IdentityEnvMultiDiscrete, IdentityEnvMultiBinary])
def test_identity_multi_spaces(env_class):
    """SB2 test_action_space only runs these; here they must learn. Reward needs every dimension
    right, so dim 5 (chance: 1/25 and 1/32 per step) keeps the signal learnable in 20,000 steps."""
    model, env = _identity_model(lambda: env_class(5), learning_rate=1.5e-3, lam=0.8)
    model.learn(total_timesteps=20_000)
    mean_reward, _ = evaluate_policy(model, env, n_eval_episodes=20)
    assert mean_reward > 90


class NoVelocity(gym.ObservationWrapper):
    """CartPole without the velocities: only the cart position and the pole angle are observed."""

    def __init__(self, env):
        super().__init__(env)
        low, high = env.observation_space.low[[0, 2]], env.observation_space.high[[0, 2]]
        self.observation_space = gym.spaces.Box(low, high, dtype=np.float32)

    def observation(self, obs):
        return obs[[0, 2]]


NO_VELOCITY_SETTINGS = dict(n_steps=32, nminibatches=1, noptepochs=20, ent_coef=0.0, lam=0.98, gamma=0.999,
                            learning_rate=linear_schedule(1e-3), cliprange=linear_schedule(0.2))


def _train_without_velocities(policy, policy_kwargs, seed=0):
    env = VecNormalize(make_vec_env("CartPole-v1", n_envs=8, seed=seed, wrapper_class=NoVelocity),
                       norm_reward=False)
    model = PPO2(policy, env, seed=seed, n_cpu_tf_sess=1, policy_kwargs=policy_kwargs, **NO_VELOCITY_SETTINGS)
    model.learn(total_timesteps=100_000)
    return np.mean([info["r"] for info in model.ep_info_buf])


def test_lstm_remembers_what_mlp_cannot_see():
    """Velocities must be inferred from successive positions: only a recurrent policy can."""
    lstm_return = _train_without_velocities(
        "MlpLstmPolicy", dict(n_lstm=64, net_arch=["lstm", dict(pi=[64], vf=[64])], act_fun=tf.nn.relu))
    mlp_return = _train_without_velocities("MlpPolicy", dict(net_arch=[dict(pi=[64], vf=[64])], act_fun=tf.nn.relu))
    assert lstm_return >= LSTM_NO_VELOCITY_THRESHOLD, (lstm_return, mlp_return)
    assert lstm_return >= mlp_return + 50, (lstm_return, mlp_return)


def test_lstm_learns_cartpole_without_velocities_as_sb2():
    """``benchmarks/cartpole_novel.py`` at seed 0: the zoo's CartPole settings, ``MlpLstmPolicy``
    (n_lstm 64), 200,000 steps; the mean return of the last 100 episodes."""
    env = make_vec_env("CartPole-v1", n_envs=8, seed=0, wrapper_class=NoVelocity)
    model = PPO2("MlpLstmPolicy", env, seed=0, n_cpu_tf_sess=1, policy_kwargs=dict(n_lstm=64), **CARTPOLE_ZOO)
    model.learn(total_timesteps=200_000)
    last_100 = [info["r"] for info in model.ep_info_buf]
    assert len(last_100) == 100
    assert np.mean(last_100) >= LSTM_ZOO_NO_VELOCITY_THRESHOLD, np.mean(last_100)
