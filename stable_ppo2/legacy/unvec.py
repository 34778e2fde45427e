"""``_UnvecWrapper``, the private SB2 class legacy programs import from ``stable_baselines.common.base_class``
(the RL zoo's ``enjoy.py`` checks for it): a VecEnv of one env seen as a single env."""
from collections import OrderedDict
from typing import Any, Dict, List, Optional, Tuple

import numpy as np

from stable_ppo2.common.vec_env import VecEnv, VecEnvWrapper

__all__ = ["_UnvecWrapper"]


class _UnvecWrapper(VecEnvWrapper):
    """A VecEnv holding exactly one env, presented through the old single-env API: ``reset()`` returns that
    env's observation, ``step(action)`` takes one action and returns ``(obs, float reward, done, info)``.
    Unknown attributes are the VecEnv's."""

    def __init__(self, venv: VecEnv) -> None:
        if venv.num_envs != 1:
            raise ValueError(f"_UnvecWrapper needs a VecEnv of one env, got {venv.num_envs}")
        super().__init__(venv)

    def __getattr__(self, name: str) -> Any:
        if name == "venv" or name.startswith("__"):
            raise AttributeError(name)
        return getattr(self.venv, name)

    @staticmethod
    def unvec_obs(obs: Any) -> Any:
        """The first (only) env's observation; a dict observation keeps its keys."""
        if isinstance(obs, dict):
            return OrderedDict((key, value[0]) for key, value in obs.items())
        return obs[0]

    def seed(self, seed: Optional[int] = None) -> List[Any]:
        return self.venv.seed(seed)

    def reset(self) -> Any:
        return self.unvec_obs(self.venv.reset())

    def step_async(self, actions: Any) -> None:
        self.venv.step_async(np.asarray([actions]))

    def step_wait(self) -> Tuple[Any, float, bool, Dict[str, Any]]:
        obs, rewards, dones, infos = self.venv.step_wait()
        return self.unvec_obs(obs), float(rewards[0]), bool(dones[0]), infos[0]

    def compute_reward(self, achieved_goal: Any, desired_goal: Any, info: Dict[str, Any]) -> float:
        return float(self.venv.env_method("compute_reward", achieved_goal, desired_goal, info)[0])

    def render(self, mode: str = "human") -> Optional[np.ndarray]:
        return self.venv.render(mode=mode)
