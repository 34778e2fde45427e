"""Record an expert's trajectories in SB2's expert-data format (see :mod:`.dataset`)."""
from __future__ import annotations

import os
import warnings
from typing import Any, Callable, Dict, List, Optional, Union, cast

import gymnasium
import numpy as np

from stable_ppo2.common.base_class import BaseRLModel
from stable_ppo2.common.gym_compat import to_gymnasium
from stable_ppo2.common.input import SUPPORTED_SPACE_NAMES, SUPPORTED_SPACES, is_image_space, stored_shape
from stable_ppo2.common.vec_env import VecEnv, VecFrameStack
from stable_ppo2.gail.dataset.dataset import import_cv2


def _check_space(space: gymnasium.Space, role: str) -> None:
    if not isinstance(space, SUPPORTED_SPACES):
        raise ValueError(f"{role} space type not supported: {space} (generate_expert_traj records "
                         f"{SUPPORTED_SPACE_NAMES} spaces)")


def _stack(items: List[Any], space: gymnasium.Space) -> np.ndarray:
    """``(N,) + shape`` for Box/MultiDiscrete/MultiBinary, ``(N, 1)`` for Discrete (SB2's layout)."""
    return np.asarray(items).reshape((-1,) + stored_shape(space))


def generate_expert_traj(model: Union[BaseRLModel, Callable[[np.ndarray], Any]], save_path: Optional[str] = None,
                         env: Any = None, n_timesteps: int = 0, n_episodes: int = 100,
                         image_folder: str = "recorded_images") -> Dict[str, np.ndarray]:
    """Run an expert for ``n_episodes`` episodes and return (and save) its trajectories.

    :param model: a model (``predict`` is used, stochastic as in SB2) or a callable
        ``action = model(obs)``
    :param save_path: where to write the ``.npz`` archive (``np.savez`` adds the extension);
        None: nothing is written. Image observations are written as files next to it.
    :param env: a gymnasium env, an old-gym-API env or a VecEnv (only its first env is recorded);
        default: the model's env. It is closed at the end, as in SB2.
    :param n_timesteps: train the model for that many steps first (models only)
    :param n_episodes: number of episodes to record
    :param image_folder: folder, relative to ``save_path``'s folder, for image observations
    :return: dict with ``actions``, ``obs``, ``rewards`` ``(N,)``, ``episode_returns``
        ``(n_episodes,)`` and ``episode_starts`` ``(N,)`` bool
    """
    rl_model = model if isinstance(model, BaseRLModel) else None
    if rl_model is None and not callable(model):
        raise TypeError(f"model must be a stable_ppo2 model or a callable obs -> action, got {model!r}")
    if env is None and rl_model is not None:
        env = rl_model.get_env()
    if env is None:
        raise ValueError("You must set the env in the model or pass it to the function.")
    if int(n_episodes) < 1:
        raise ValueError(f"n_episodes must be at least 1, got {n_episodes}")

    is_vec_env = isinstance(env, VecEnv)
    if is_vec_env:
        if env.num_envs > 1:
            warnings.warn("You are using multiple envs, only the data from the first one will be recorded.")
    elif not isinstance(env, gymnasium.Env):
        env = to_gymnasium(env)
    obs_space, action_space = env.observation_space, env.action_space
    _check_space(obs_space, "Observation")
    _check_space(action_space, "Action")

    looks_like_images = is_image_space(obs_space) and obs_space.dtype == np.uint8
    record_images = looks_like_images and obs_space.shape[-1] in (1, 3, 4)
    if record_images and save_path is None:
        warnings.warn("Observations are images but no save path was specified, so will save in numpy "
                      "archive; this can lead to higher memory usage.")
        record_images = False
    if looks_like_images and not record_images and obs_space.shape[-1] not in (1, 3, 4):
        warnings.warn(f"The observations look like images (shape = {obs_space.shape}) but have more "
                      "than 4 channels, so they are saved in the numpy archive, which can use a lot "
                      "of memory")

    cv2: Any = None
    image_ext = "jpg"
    if record_images:
        cv2 = import_cv2()
        if isinstance(env, VecFrameStack) and env.n_stack == 4:
            image_ext = "png"  # 4 channels
        assert save_path is not None  # images are recorded only with a save path (checked above)
        image_folder = os.path.join(os.path.dirname(save_path), image_folder)
        os.makedirs(image_folder, exist_ok=True)
        print("=" * 10)
        print(f"Images will be recorded to {image_folder}/")
        print(f"Image shape: {obs_space.shape}")
        print("=" * 10)

    if n_timesteps > 0 and rl_model is not None:
        rl_model.learn(n_timesteps)

    observations: List[Any] = []  # image file paths, or the observations themselves
    actions: List[np.ndarray] = []
    rewards: List[float] = []
    episode_starts: List[bool] = []
    episode_returns = np.zeros((int(n_episodes),))
    ep_idx, reward_sum, idx = 0, 0.0, 0
    state, mask = None, None  # recurrent models
    if is_vec_env:
        obs = env.reset()
        mask = [True for _ in range(env.num_envs)]
    else:
        obs, _ = env.reset()
    new_episode = True

    while ep_idx < n_episodes:
        obs_ = np.asarray(obs[0] if is_vec_env else obs)
        if record_images:
            image_path = os.path.join(image_folder, f"{idx}.{image_ext}")
            image = cv2.cvtColor(obs_, cv2.COLOR_RGB2BGR) if obs_.shape[-1] == 3 else obs_
            if not cv2.imwrite(image_path, image):
                raise OSError(f"OpenCV could not write {image_path}")
            observations.append(image_path)
        else:
            observations.append(np.array(obs_))
        episode_starts.append(new_episode)

        if rl_model is not None:
            # ``predict`` is defined by the model classes (ActorCriticRLModel), not by BaseRLModel itself
            action, state = cast(Any, rl_model).predict(obs, state=state, mask=mask)
        else:
            action = cast(Callable[[np.ndarray], Any], model)(obs)

        if is_vec_env:
            obs, reward, done, _ = env.step(action)
            mask = [done[0] for _ in range(env.num_envs)]
            action, reward, done = np.asarray(action)[0], float(reward[0]), bool(done[0])
        else:
            obs, reward, terminated, truncated, _ = env.step(action)
            reward, done = float(reward), bool(terminated or truncated)

        actions.append(np.array(action))
        rewards.append(reward)
        reward_sum += reward
        idx += 1
        new_episode = done
        if done:
            if not is_vec_env:
                obs, _ = env.reset()
                state = None  # a recurrent model starts the next episode from its initial state
            episode_returns[ep_idx] = reward_sum
            reward_sum = 0.0
            ep_idx += 1

    numpy_dict: Dict[str, np.ndarray] = {
        "actions": _stack(actions, action_space),
        "obs": np.array(observations) if record_images else _stack(observations, obs_space),
        "rewards": np.asarray(rewards, dtype=np.float64),
        "episode_returns": episode_returns,
        "episode_starts": np.asarray(episode_starts, dtype=bool),  # (N,) (SB2 quirk 18 fixed)
    }
    assert len(numpy_dict["obs"]) == len(numpy_dict["actions"]) == len(numpy_dict["episode_starts"])

    for key, val in numpy_dict.items():
        print(key, val.shape)
    if save_path is not None:
        # numpy's stub has an ``allow_pickle: bool`` keyword too, which mypy matches against the arrays
        np.savez(save_path, **numpy_dict)  # type: ignore[arg-type]
    env.close()
    return numpy_dict
