"""VecNormalize: running normalisation of observations and rewards, and the helpers that find or sync it."""
import os
import pickle
import warnings
from copy import deepcopy
from typing import Any, Dict, Optional

import numpy as np

from stable_ppo2.common.model_files.atomic import atomic_write
from stable_ppo2.common.running_mean_std import RunningMeanStd
from stable_ppo2.common.vec_env.base_vec_env import VecEnv, VecEnvWrapper

# Values for attributes that VecNormalize pickles written by older SB2 versions may lack.
_STATE_DEFAULTS: Dict[str, Any] = dict(
    training=True, norm_obs=True, norm_reward=True, clip_obs=10.0, clip_reward=10.0, gamma=0.99, epsilon=1e-8
)


class VecNormalize(VecEnvWrapper):
    """Normalises observations by their running mean/std and rewards by the running std of the discounted return.

    Statistics are updated only while ``training`` is True. Like SB2, every ``reset()`` in training mode merges a
    zero return per env into the return statistics.

    :param venv: the VecEnv to wrap
    :param training: update the running statistics
    :param norm_obs: normalise observations
    :param norm_reward: scale rewards (no mean subtraction)
    :param clip_obs: bound of the normalised observations
    :param clip_reward: bound of the scaled rewards
    :param gamma: discount of the return whose std scales the rewards
    :param epsilon: added to the variances before the square root
    """

    def __init__(
        self,
        venv: VecEnv,
        training: bool = True,
        norm_obs: bool = True,
        norm_reward: bool = True,
        clip_obs: float = 10.0,
        clip_reward: float = 10.0,
        gamma: float = 0.99,
        epsilon: float = 1e-8,
    ) -> None:
        VecEnvWrapper.__init__(self, venv)
        obs_shape = self.observation_space.shape
        if obs_shape is None:
            raise TypeError(f"VecNormalize normalizes array observations; {self.observation_space} has no shape")
        self.obs_rms = RunningMeanStd(shape=obs_shape)
        self.ret_rms = RunningMeanStd(shape=())
        self.clip_obs = clip_obs
        self.clip_reward = clip_reward
        self.ret = np.zeros(self.num_envs)
        self.gamma = gamma
        self.epsilon = epsilon
        self.training = training
        self.norm_obs = norm_obs
        self.norm_reward = norm_reward
        self.old_obs = np.array([])
        self.old_rews = np.array([])

    def __getstate__(self) -> Dict[str, Any]:
        """Everything but the wrapped env and the running return (restored by :meth:`set_venv`)."""
        state = self.__dict__.copy()
        for name in ("venv", "class_attributes", "ret"):
            state.pop(name, None)
        return state

    def __setstate__(self, state: Dict[str, Any]) -> None:
        self.__dict__.update(state)
        for name, value in _STATE_DEFAULTS.items():
            self.__dict__.setdefault(name, value)
        for name in ("old_obs", "old_rews"):
            self.__dict__.setdefault(name, np.array([]))
        self.venv = None  # type: ignore[assignment]  # a loaded VecNormalize has no env until set_venv

    def set_venv(self, venv: VecEnv) -> None:
        """Attach ``venv`` to an unpickled wrapper; its observation shape must match the statistics.

        :raises ValueError: if a venv is already set or the shapes differ
        """
        if self.venv is not None:
            raise ValueError("Trying to set venv of already initialized VecNormalize wrapper.")
        if self.obs_rms.mean.shape != venv.observation_space.shape:
            raise ValueError(
                f"venv is incompatible with current statistics: observation shape {venv.observation_space.shape} "
                f"!= statistics shape {self.obs_rms.mean.shape}"
            )
        VecEnvWrapper.__init__(self, venv)
        self.ret = np.zeros(self.num_envs)

    def step_wait(self) -> Any:
        obs, rews, news, infos = self.venv.step_wait()
        self.old_obs = obs
        self.old_rews = rews
        if self.training:
            self.obs_rms.update(obs)
        obs = self.normalize_obs(obs)
        if self.training:
            self.ret = self.ret * self.gamma + rews
            self.ret_rms.update(self.ret)
        rews = self.normalize_reward(rews)
        self.ret[news] = 0
        return obs, rews, news, infos

    def normalize_obs(self, obs: np.ndarray) -> np.ndarray:
        """Observations standardised by the running statistics and clipped to ``[-clip_obs, clip_obs]``."""
        if self.norm_obs:
            scaled = (obs - self.obs_rms.mean) / np.sqrt(self.obs_rms.var + self.epsilon)
            obs = np.clip(scaled, -self.clip_obs, self.clip_obs)
        return obs

    def normalize_reward(self, reward: np.ndarray) -> np.ndarray:
        """Rewards divided by the running return std and clipped to ``[-clip_reward, clip_reward]``.

        Float rewards keep their dtype (float32 from the VecEnvs, like ``get_original_reward()``): SB2 ran on
        numpy 1, where an array divided by the scalar statistics kept the array's float dtype."""
        if self.norm_reward:
            reward = np.asarray(reward)
            scale = np.sqrt(self.ret_rms.var + self.epsilon)
            if np.issubdtype(reward.dtype, np.floating):
                scale = np.asarray(scale, dtype=reward.dtype)
            reward = np.clip(reward / scale, -self.clip_reward, self.clip_reward)
        return reward

    def get_original_obs(self) -> np.ndarray:
        """Copy of the last observations before normalisation."""
        return self.old_obs.copy()

    def get_original_reward(self) -> np.ndarray:
        """Copy of the last rewards before normalisation."""
        return self.old_rews.copy()

    def reset(self) -> np.ndarray:
        obs = self.venv.reset()
        self.old_obs = obs
        self.ret = np.zeros(self.num_envs)
        if self.training:
            self.ret_rms.update(self.ret)  # SB2 quirk, kept: pulls the return statistics toward 0
        return self.normalize_obs(obs)

    @staticmethod
    def load(load_path: str, venv: VecEnv, *, trust_file: bool = False) -> "VecNormalize":
        """Unpickle a VecNormalize saved with :meth:`save` (by stable_ppo2 or SB2) and attach it to ``venv``.

        Read safely (see :mod:`stable_ppo2.common.model_files.unpickler`): the pickle may only name
        VecNormalize, RunningMeanStd, spaces and numpy helpers; ``trust_file=True`` lifts that.
        ``load_path`` may also be a binary file object.
        """
        from stable_ppo2.common.model_files.unpickler import load_object_from_path

        vec_normalize = load_object_from_path(load_path, trust=trust_file, expected=(VecNormalize,))
        vec_normalize.set_venv(venv)
        return vec_normalize

    def save(self, save_path: str) -> None:
        """Pickle the wrapper (without its venv); written to a temporary file first so a crash leaves no half file."""
        _atomic_pickle(self, save_path)

    def save_running_average(self, path: str) -> None:
        """Deprecated: write ``obs_rms.pkl`` and ``ret_rms.pkl`` into the directory ``path``."""
        warnings.warn("save_running_average is deprecated: use save() or pickle the VecNormalize", DeprecationWarning)
        for name in ("obs_rms", "ret_rms"):
            _atomic_pickle(getattr(self, name), os.path.join(path, f"{name}.pkl"))

    def load_running_average(self, path: str) -> None:
        """Deprecated: read ``obs_rms.pkl`` and ``ret_rms.pkl`` (pickled RunningMeanStd, e.g. the RL zoo's
        SB2 files) from the directory ``path``, safely (nothing but the statistics is built)."""
        from stable_ppo2.common.model_files.unpickler import load_object_from_path

        warnings.warn("load_running_average is deprecated: use VecNormalize.load() or unpickle", DeprecationWarning)
        loaded = {name: load_object_from_path(os.path.join(path, f"{name}.pkl"), expected=(RunningMeanStd,))
                  for name in ("obs_rms", "ret_rms")}
        for name, stats in loaded.items():  # both read before either is set
            setattr(self, name, stats)


def _atomic_pickle(obj: Any, path: str) -> None:
    atomic_write(path, lambda file: pickle.dump(obj, file))


def unwrap_vec_normalize(env: VecEnv) -> Optional[VecNormalize]:
    """The first VecNormalize in ``env``'s wrapper chain, or None."""
    env_tmp = env
    while isinstance(env_tmp, VecEnvWrapper):
        if isinstance(env_tmp, VecNormalize):
            return env_tmp
        env_tmp = env_tmp.venv
    return None


def sync_envs_normalization(env: VecEnv, eval_env: VecEnv) -> None:
    """Copy the running statistics of every VecNormalize in ``env``'s chain into the matching level of ``eval_env``."""
    if type(env).__name__ == "_UnvecWrapper":  # a single gym env seen as a VecEnv: nothing to sync (as SB2)
        return
    env_tmp, eval_env_tmp = env, eval_env
    while isinstance(env_tmp, VecEnvWrapper):
        if isinstance(env_tmp, VecNormalize):
            if not isinstance(eval_env_tmp, VecNormalize):
                raise ValueError(f"sync_envs_normalization: eval env has {type(eval_env_tmp).__name__} where env "
                                 "has VecNormalize")
            eval_env_tmp.obs_rms = deepcopy(env_tmp.obs_rms)
            eval_env_tmp.ret_rms = deepcopy(env_tmp.ret_rms)
        env_tmp = env_tmp.venv
        if not isinstance(eval_env_tmp, VecEnvWrapper):
            raise ValueError("sync_envs_normalization: eval env has fewer wrappers than env")
        eval_env_tmp = eval_env_tmp.venv
