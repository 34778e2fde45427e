"""EnvPoolVecEnv: envpool's batched C++ environments behind SB2's VecEnv contract.

envpool is optional (``pip install stable_ppo2[envpool]``) and imported only when an EnvPoolVecEnv is made.
"""
import os
import time
from typing import Any, Dict, List, Optional, Tuple

import numpy as np
from gymnasium import spaces

from stable_ppo2.common.vec_env.base_vec_env import Indices, VecEnv

#: Keys of envpool's info dict that are bookkeeping, not per-env information.
_POOL_INFO_KEYS = ("env_id", "players")


def import_envpool() -> Any:
    """The ``envpool`` module, or an ImportError that says how to install it."""
    try:
        import envpool
    except ImportError as exc:
        raise ImportError("EnvPoolVecEnv needs envpool, which is not installed (or does not import here: "
                          f"{exc}): pip install 'stable_ppo2[envpool]' (envpool has no Windows wheels)") from exc
    return envpool


class EnvPoolVecEnv(VecEnv):
    """``num_envs`` copies of one envpool env (``envpool.make(env_id, env_type="gymnasium")``), stepped
    in C++ threads, with the contract of the other VecEnvs.

    envpool resets a finished env on the *next* step (that step ignores its action and returns the
    first observation with reward 0). This class restores SB2's same-step reset: on the step that
    ends an episode it resets the finished envs at once, returns their first observations, and puts
    the last one in ``info['terminal_observation']`` with ``info['TimeLimit.truncated']``. It also
    counts what :class:`~stable_ppo2.bench.Monitor` counts: ``info['episode'] = {'r', 'l', 't'}``
    at each episode's end (PPO2's ``ep_info_buf``), written to ``monitor_dir/<rank>.monitor.csv`` if
    given. Envpool's own per-env info (``elapsed_step``, Atari's ``lives``...) is in each info too.

    Differences from the Python envs: envpool's envs are C++ objects, so ``env_method`` and
    ``set_attr`` raise AttributeError and ``get_attr`` reads the pool's settings (``max_episode_steps``,
    ``seed``...). ``seed(s)`` rebuilds the pool with env ``i`` seeded ``s + i`` at once: call ``reset()``
    after it. envpool's Atari envs do their own preprocessing (frame stack, channels first).

    :param env_id: an envpool id (``envpool.list_all_envs()``), e.g. ``"CartPole-v1"``
    :param num_envs: number of envs
    :param seed: env ``i`` is seeded ``seed + i``; None draws a random seed (envpool's default is a fixed 42)
    :param monitor_dir: if given, env ``i`` logs its episodes to ``monitor_dir/<start_index + i>.monitor.csv``
    :param start_index: rank of the first env (for the Monitor file names)
    :param make_kwargs: passed to ``envpool.make`` (``max_episode_steps``, ``num_threads``, env options)
    """

    #: :func:`~stable_ppo2.common.cmd_util.make_vec_env` builds this VecEnv from the env id
    #: (:meth:`from_env_id`) instead of from env functions.
    builds_from_env_id = True

    def __init__(self, env_id: str, num_envs: int = 1, seed: Optional[int] = None,
                 monitor_dir: Optional[str] = None, start_index: int = 0, **make_kwargs: Any) -> None:
        envpool = import_envpool()
        if env_id not in envpool.list_all_envs():
            raise ValueError(f"envpool has no env {env_id!r} (envpool.list_all_envs() lists its ids): use "
                             "DummyVecEnv or SubprocVecEnv for gymnasium envs")
        if num_envs < 1:
            raise ValueError(f"num_envs must be at least 1, got {num_envs}")
        self.env_id = env_id
        self._envpool = envpool
        self._make_kwargs = dict(make_kwargs)
        self.closed = False
        self._pool: Any = None
        self._actions: Optional[np.ndarray] = None
        self._needs_reset = True
        self._pool = self._make_pool(num_envs, seed)
        observation_space, action_space = self._pool.observation_space, self._pool.action_space
        if not isinstance(observation_space, spaces.Box):
            self._pool.close()
            raise ValueError(f"EnvPoolVecEnv handles array observations only; {env_id} has {observation_space}")
        VecEnv.__init__(self, num_envs, observation_space, action_space)
        self._all_ids = np.arange(num_envs, dtype=np.int32)
        self._ep_returns = np.zeros(num_envs, np.float64)
        self._ep_lengths = np.zeros(num_envs, np.int64)
        self.t_start = time.time()
        self._logs: List[Tuple[Any, Any]] = []
        if monitor_dir is not None:
            from stable_ppo2.bench.monitor import open_monitor_log

            os.makedirs(monitor_dir, exist_ok=True)
            self._logs = [open_monitor_log(os.path.join(monitor_dir, str(start_index + i)), self.t_start, env_id,
                                           ("r", "l", "t")) for i in range(num_envs)]

    @classmethod
    def from_env_id(cls, env_id: str, n_envs: int, seed: Optional[int], start_index: int,
                    monitor_dir: Optional[str], env_kwargs: Optional[Dict[str, Any]],
                    **vec_env_kwargs: Any) -> "EnvPoolVecEnv":
        """What ``make_vec_env(env_id, ..., vec_env_cls=EnvPoolVecEnv)`` builds: ``env_kwargs`` and
        ``vec_env_kwargs`` both go to ``envpool.make``."""
        return cls(env_id, num_envs=n_envs, seed=None if seed is None else seed + start_index,
                   monitor_dir=monitor_dir, start_index=start_index, **(env_kwargs or {}), **vec_env_kwargs)

    def _make_pool(self, num_envs: int, seed: Optional[int]) -> Any:
        if seed is None:
            seed = int(np.random.SeedSequence().generate_state(1)[0] >> 1)
        self._seed = seed
        return self._envpool.make(self.env_id, env_type="gymnasium", num_envs=num_envs, seed=seed,
                                  **self._make_kwargs)

    # ------------------------------------------------------------------------------ VecEnv API
    def reset(self) -> np.ndarray:
        self._check_open("reset")
        obs, info = self._pool.reset(self._all_ids)
        self._ep_returns[:] = 0.0
        self._ep_lengths[:] = 0
        self._needs_reset = False
        return np.array(obs[np.argsort(info["env_id"])])

    def step_async(self, actions: np.ndarray) -> None:
        self._check_open("step")
        if self._needs_reset:
            raise RuntimeError("EnvPoolVecEnv: call reset() before step() (after construction or seed())")
        self._actions = np.asarray(actions)

    def step_wait(self) -> Tuple[np.ndarray, np.ndarray, np.ndarray, List[Dict[str, Any]]]:
        obs, rewards, terminated, truncated, pool_info = self._pool.step(self._actions, self._all_ids)
        order = np.argsort(pool_info["env_id"])  # sync mode answers in env order; make sure
        obs, rewards = np.array(obs[order]), np.asarray(rewards[order], np.float32)
        terminated, truncated = np.asarray(terminated[order], bool), np.asarray(truncated[order], bool)
        dones = terminated | truncated
        self._ep_returns += rewards
        self._ep_lengths += 1
        infos = self._per_env_infos(pool_info, order)
        finished = np.flatnonzero(dones)
        if finished.size:
            first_obs, reset_info = self._pool.reset(finished.astype(np.int32))
            first_obs = first_obs[np.argsort(reset_info["env_id"])]
            elapsed = round(time.time() - self.t_start, 6)
            for k, i in enumerate(finished):
                info = infos[i]
                info["terminal_observation"] = obs[i].copy()
                info["TimeLimit.truncated"] = bool(truncated[i] and not terminated[i])
                info["episode"] = {"r": round(float(self._ep_returns[i]), 6), "l": int(self._ep_lengths[i]),
                                   "t": elapsed}
                if self._logs:
                    file_handler, writer = self._logs[i]
                    writer.writerow(info["episode"])
                    file_handler.flush()
                obs[i] = first_obs[k]
            self._ep_returns[finished] = 0.0
            self._ep_lengths[finished] = 0
        return obs, rewards, dones, infos

    def _per_env_infos(self, pool_info: Dict[str, Any], order: np.ndarray) -> List[Dict[str, Any]]:
        """Envpool's info (arrays over envs) as one dict per env."""
        columns = {key: value[order] for key, value in pool_info.items()
                   if key not in _POOL_INFO_KEYS and isinstance(value, np.ndarray) and len(value) == self.num_envs}
        return [{key: value[i] for key, value in columns.items()} for i in range(self.num_envs)]

    def seed(self, seed: Optional[int] = None) -> List[Optional[int]]:
        """Rebuild the pool with env ``i`` seeded ``seed + i`` (a random seed for None); ``reset()`` next."""
        self._check_open("seed")
        self._pool.close()
        self._pool = self._make_pool(self.num_envs, seed)
        self._needs_reset = True
        if seed is not None:
            self.action_space.seed(seed)
        return [None if seed is None else seed + i for i in range(self.num_envs)]

    def get_attr(self, attr_name: str, indices: Indices = None) -> List[Any]:
        """The pool's setting ``attr_name`` (a key of ``envpool.make``'s config, or an attribute of the pool),
        once per selected env."""
        if attr_name in self._pool.config:
            value = self._pool.config[attr_name]
        elif hasattr(self._pool, attr_name):
            value = getattr(self._pool, attr_name)
        else:
            raise AttributeError(f"envpool env {self.env_id} has no setting {attr_name!r} (its settings: "
                                 f"{', '.join(sorted(self._pool.config))})")
        return [value for _ in self._get_indices(indices)]

    def set_attr(self, attr_name: str, value: Any, indices: Indices = None) -> None:
        raise AttributeError(f"EnvPoolVecEnv cannot set {attr_name!r}: envpool's envs are C++ objects whose settings "
                             "are fixed when the pool is made (pass them to EnvPoolVecEnv as keyword arguments)")

    def env_method(
        self, method_name: str, *method_args: Any, indices: Indices = None, **method_kwargs: Any
    ) -> List[Any]:
        raise AttributeError(f"EnvPoolVecEnv cannot call {method_name!r}: envpool's envs are C++ objects without "
                             "Python methods (use DummyVecEnv or SubprocVecEnv for envs with custom methods)")

    def close(self) -> None:
        """Close the pool and the Monitor files; calling it again does nothing."""
        if self.closed:
            return
        self.closed = True
        if self._pool is not None:
            self._pool.close()
        for file_handler, _ in self._logs:
            file_handler.close()

    def _check_open(self, cmd: str) -> None:
        if self.closed:
            raise RuntimeError(f"EnvPoolVecEnv is closed: cannot '{cmd}'")

    @property
    def current_seed(self) -> int:
        """The seed the pool was made with (env ``i`` has ``current_seed + i``)."""
        return self._seed
