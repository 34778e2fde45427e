"""Evaluate a trained model over a number of episodes (SB2's ``common.evaluation``)."""
from typing import Any, Callable, Dict, List, Optional, Tuple, Union

import gymnasium
import numpy as np

from stable_ppo2.common.gym_compat import to_gymnasium
from stable_ppo2.common.vec_env import VecEnv


def evaluate_policy(
    model: Any,
    env: Any,
    n_eval_episodes: int = 10,
    deterministic: bool = True,
    render: bool = False,
    callback: Optional[Callable[[Dict[str, Any], Dict[str, Any]], Any]] = None,
    reward_threshold: Optional[float] = None,
    return_episode_rewards: bool = False,
) -> Union[Tuple[float, float], Tuple[List[Any], List[int]]]:
    """Run ``model`` for ``n_eval_episodes`` episodes and return the mean and std of the episode returns.

    :param model: anything with ``predict(obs, state=None, mask=None, deterministic=...)``; recurrent models get
        the real observation (they predict on any batch) and a fresh state at each episode start
    :param env: a gymnasium env (an old-gym-API env is converted) or a VecEnv holding exactly one env; a VecEnv is
        reset only before the first episode since it resets itself when an episode ends
    :param callback: called as ``callback(locals(), globals())`` after every step
    :param reward_threshold: if given, an AssertionError is raised unless the mean return exceeds it
    :param return_episode_rewards: return ``(episode_rewards, episode_lengths)`` instead of ``(mean, std)``.
        With a VecEnv each episode reward is a 1-element array, as in SB2.
    """
    is_vec_env = isinstance(env, VecEnv)
    if is_vec_env:
        if env.num_envs != 1:
            raise ValueError("You must pass only one environment when using this function")
    elif not isinstance(env, gymnasium.Env):
        env = to_gymnasium(env)

    episode_rewards: List[Any] = []
    episode_lengths: List[int] = []
    for i in range(n_eval_episodes):
        if not is_vec_env or i == 0:
            obs = env.reset() if is_vec_env else env.reset()[0]
        done, state = False, None  # recurrent models: a zero state at each episode start
        episode_reward = 0.0
        episode_length = 0
        while not done:
            action, state = model.predict(obs, state=state, deterministic=deterministic)
            if is_vec_env:
                new_obs, reward, done, _info = env.step(action)
            else:
                new_obs, reward, terminated, truncated, _info = env.step(action)
                done = terminated or truncated
            obs = new_obs
            episode_reward += reward
            if callback is not None:
                callback(locals(), globals())
            episode_length += 1
            if render:
                env.render()
        episode_rewards.append(episode_reward)
        episode_lengths.append(episode_length)
    mean_reward = np.mean(episode_rewards)
    std_reward = np.std(episode_rewards)
    if reward_threshold is not None:
        if not mean_reward > reward_threshold:  # SB2's AssertionError, raised under ``python -O`` too
            raise AssertionError("Mean reward below threshold: {:.2f} < {:.2f}".format(mean_reward, reward_threshold))
    if return_episode_rewards:
        return episode_rewards, episode_lengths
    return mean_reward, std_reward


def evaluate_on_envs(model: Any, venv: VecEnv, n_eval_episodes: int = 10,
                     deterministic: bool = True) -> Tuple[List[float], List[int]]:
    """Episode returns and lengths of ``n_eval_episodes`` episodes run on all envs of ``venv`` at once.

    Env ``i`` contributes ``(n_eval_episodes + i) // num_envs`` episodes (its first ones), so that envs
    whose episodes end sooner are not counted more often.
    """
    n_envs = venv.num_envs
    targets = np.array([(n_eval_episodes + i) // n_envs for i in range(n_envs)])
    counts = np.zeros(n_envs, dtype=int)
    current_rewards = np.zeros(n_envs)
    current_lengths = np.zeros(n_envs, dtype=int)
    rewards: List[float] = []
    lengths: List[int] = []
    obs = venv.reset()
    state, dones = None, np.zeros(n_envs, dtype=bool)
    while (counts < targets).any():
        actions, state = model.predict(obs, state=state, mask=dones, deterministic=deterministic)
        obs, step_rewards, dones, _infos = venv.step(actions)
        current_rewards += step_rewards
        current_lengths += 1
        for i in np.flatnonzero(dones):
            if counts[i] < targets[i]:
                rewards.append(float(current_rewards[i]))
                lengths.append(int(current_lengths[i]))
                counts[i] += 1
            current_rewards[i], current_lengths[i] = 0.0, 0
    return rewards, lengths
