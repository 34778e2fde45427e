"""DummyVecEnv: steps its environments one after the other in this process."""
from collections import OrderedDict
from typing import Any, Callable, List, Optional, Sequence

import gymnasium
import numpy as np

from stable_ppo2.common.gym_compat import render_env, to_gymnasium
from stable_ppo2.common.vec_env.base_vec_env import Indices, VecEnv
from stable_ppo2.common.vec_env.util import AutoResetEnv, copy_obs_dict, dict_to_obs, obs_space_info


class DummyVecEnv(VecEnv):
    """Vectorised env that runs every env sequentially in the current process (cheap for fast envs).

    Envs may follow the gymnasium or the old gym API (see :func:`~stable_ppo2.common.gym_compat.to_gymnasium`);
    outward the SB2 API holds: rewards float32, dones bool, auto-reset with ``info['terminal_observation']``.

    :param env_fns: functions that each build one environment
    """

    def __init__(self, env_fns: Sequence[Callable[[], Any]]) -> None:
        #: the envs as ``env_fns`` built them (old-API envs too, as in SB2); stepped through ``gym_envs``
        self.envs: List[Any] = [fn() for fn in env_fns]
        self.gym_envs: List[gymnasium.Env] = [to_gymnasium(env) for env in self.envs]
        env = self.gym_envs[0]
        VecEnv.__init__(self, len(env_fns), env.observation_space, env.action_space)
        self.keys, shapes, dtypes = obs_space_info(env.observation_space)
        self.buf_obs = OrderedDict(
            (key, np.zeros((self.num_envs,) + shapes[key], dtype=dtypes[key])) for key in self.keys
        )
        self.buf_dones = np.zeros((self.num_envs,), dtype=bool)
        self.buf_rews = np.zeros((self.num_envs,), dtype=np.float32)
        self.buf_infos: List[dict] = [{} for _ in range(self.num_envs)]
        self.actions: Any = None
        self.metadata = env.metadata
        self._drivers = [AutoResetEnv(env) for env in self.gym_envs]
        # Plain (non Dict/Tuple) observations skip the dict machinery in the step loop.
        self._flat_buf: Optional[np.ndarray] = self.buf_obs[None] if self.keys == [None] else None

    def step_async(self, actions: np.ndarray) -> None:
        self.actions = actions

    def step_wait(self) -> Any:
        rews, dones, flat_buf = self.buf_rews, self.buf_dones, self._flat_buf
        infos = []
        for i, (driver, action) in enumerate(zip(self._drivers, self.actions)):
            obs, rews[i], dones[i], info = driver.step(action)
            if flat_buf is not None:
                flat_buf[i] = obs
            else:
                self._save_obs(i, obs)
            infos.append(info)
        self.buf_infos = infos
        return self._obs_from_buf(), rews.copy(), dones.copy(), infos

    def reset(self) -> Any:
        for i, driver in enumerate(self._drivers):
            self._save_obs(i, driver.reset())
        return self._obs_from_buf()

    def seed(self, seed: Optional[int] = None) -> List[Optional[int]]:
        return [driver.seed(None if seed is None else seed + i) for i, driver in enumerate(self._drivers)]

    def close(self) -> None:
        for env in self.gym_envs:
            env.close()

    def get_images(self) -> Sequence[np.ndarray]:
        return [render_env(env, "rgb_array") for env in self.gym_envs]

    def render(self, mode: str = "human") -> Optional[np.ndarray]:
        """With one env: that env's ``render`` in ``mode``; with several: the tiled images (see VecEnv.render)."""
        if self.num_envs == 1:
            return render_env(self.gym_envs[0], mode)
        return super().render(mode=mode)

    def _save_obs(self, env_idx: int, obs: Any) -> None:
        for key in self.keys:
            self.buf_obs[key][env_idx] = obs if key is None else obs[key]

    def _obs_from_buf(self) -> Any:
        if self._flat_buf is not None:
            return self._flat_buf.copy()
        return dict_to_obs(self.observation_space, copy_obs_dict(self.buf_obs))

    def get_attr(self, attr_name: str, indices: Indices = None) -> List[Any]:
        return [env.get_wrapper_attr(attr_name) for env in self._get_target_envs(indices)]

    def set_attr(self, attr_name: str, value: Any, indices: Indices = None) -> None:
        for env in self._get_target_envs(indices):
            env.set_wrapper_attr(attr_name, value)

    def env_method(
        self, method_name: str, *method_args: Any, indices: Indices = None, **method_kwargs: Any
    ) -> List[Any]:
        return [
            env.get_wrapper_attr(method_name)(*method_args, **method_kwargs) for env in self._get_target_envs(indices)
        ]

    def _get_target_envs(self, indices: Indices) -> List[gymnasium.Env]:
        return [self.gym_envs[i] for i in self._get_indices(indices)]
