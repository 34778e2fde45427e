"""SubprocVecEnv: one worker process per environment, talking over pipes."""
import multiprocessing as mp
import traceback
from typing import Any, Callable, List, Optional, Sequence, Tuple

import numpy as np

from stable_ppo2.common.gym_compat import render_env, to_gymnasium
from stable_ppo2.common.vec_env.base_vec_env import CloudpickleWrapper, Indices, VecEnv
from stable_ppo2.common.vec_env.util import AutoResetEnv, stack_obs


class RemoteTraceback(Exception):
    """Carries a worker's formatted traceback; set as the cause of the exception re-raised in the parent."""

    def __str__(self) -> str:
        return str(self.args[0])


def _send_error(remote: Any, exc: BaseException) -> None:
    tb_text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    try:
        remote.send((False, (exc, tb_text)))
    except Exception:  # the exception itself does not pickle: send its text
        remote.send((False, (RuntimeError(f"{type(exc).__name__}: {exc}"), tb_text)))


def _worker(remote: Any, parent_remote: Any, env_fn_wrapper: CloudpickleWrapper) -> None:
    """Serve ``(command, data)`` requests for one env until ``close`` or the parent goes away.

    Each request is answered by ``(True, result)`` or ``(False, (exception, traceback text))``.
    """
    parent_remote.close()
    try:
        driver = AutoResetEnv(to_gymnasium(env_fn_wrapper.var()))
    except Exception as exc:
        _send_error(remote, exc)  # answers the parent's first request (get_spaces)
        remote.close()
        return
    env = driver.env
    while True:
        try:
            cmd, data = remote.recv()
        except (EOFError, KeyboardInterrupt):
            break
        try:
            if cmd == "step":
                result: Any = driver.step(data)
            elif cmd == "reset":
                result = driver.reset()
            elif cmd == "seed":
                result = driver.seed(data)
            elif cmd == "render":
                result = render_env(env, data)
            elif cmd == "close":
                env.close()
                remote.close()
                break
            elif cmd == "get_spaces":
                result = (env.observation_space, env.action_space)
            elif cmd == "env_method":
                method_name, args, kwargs = data
                result = env.get_wrapper_attr(method_name)(*args, **kwargs)
            elif cmd == "get_attr":
                result = env.get_wrapper_attr(data)
            elif cmd == "set_attr":
                result = env.set_wrapper_attr(*data)
            else:
                raise NotImplementedError(f"SubprocVecEnv worker got an unknown command {cmd!r}")
            remote.send((True, result))
        except Exception as exc:
            _send_error(remote, exc)


def _default_start_method() -> str:
    return "forkserver" if "forkserver" in mp.get_all_start_methods() else "spawn"


class SubprocVecEnv(VecEnv):
    """Vectorised env with each environment in its own daemon process (for envs whose step is expensive).

    SB2 behaviour kept: rewards come back with the dtype the envs return (usually float64) and infos as a tuple.
    An exception raised in a worker is re-raised here, caused by a :class:`RemoteTraceback` with the worker's traceback.

    :param env_fns: functions that each build one environment (pickled with cloudpickle)
    :param start_method: multiprocessing start method; default ``'forkserver'`` where available, else ``'spawn'``
    """

    def __init__(self, env_fns: Sequence[Callable[[], Any]], start_method: Optional[str] = None) -> None:
        self.waiting = False
        self.closed = False
        n_envs = len(env_fns)
        ctx = mp.get_context(start_method or _default_start_method())
        pipes = [ctx.Pipe(duplex=True) for _ in range(n_envs)]
        self.remotes = [parent_end for parent_end, _ in pipes]
        self.processes = []
        for (remote, work_remote), env_fn in zip(pipes, env_fns):
            process = ctx.Process(target=_worker, args=(work_remote, remote, CloudpickleWrapper(env_fn)), daemon=True)
            process.start()
            self.processes.append(process)
            work_remote.close()
        try:
            self._send_all("get_spaces", [None] * n_envs)
            observation_space, action_space = self._recv_all(self.remotes)[0]
        except BaseException:
            self.close()
            raise
        VecEnv.__init__(self, n_envs, observation_space, action_space)

    def step_async(self, actions: np.ndarray) -> None:
        self._send_all("step", actions)
        self.waiting = True

    def step_wait(self) -> Tuple[Any, np.ndarray, np.ndarray, Tuple[dict, ...]]:
        self.waiting = False
        results = self._recv_all(self.remotes)
        obs, rews, dones, infos = zip(*results)
        return stack_obs(obs, self.observation_space), np.stack(rews), np.stack(dones), infos

    def seed(self, seed: Optional[int] = None) -> List[Optional[int]]:
        self._send_all("seed", [None if seed is None else seed + i for i in range(self.num_envs)])
        return self._recv_all(self.remotes)

    def reset(self) -> Any:
        self._send_all("reset", [None] * self.num_envs)
        return stack_obs(self._recv_all(self.remotes), self.observation_space)

    def close(self) -> None:
        """Stop the workers; calling it again does nothing."""
        if self.closed:
            return
        self.closed = True
        if self.waiting:
            for remote in self.remotes:
                self._recv_quietly(remote)
        for remote in self.remotes:
            try:
                remote.send(("close", None))
            except OSError:  # the worker is already gone
                pass
        for process in self.processes:
            process.join(timeout=5)
            if process.is_alive():
                process.terminate()
        for remote in self.remotes:
            remote.close()

    def get_images(self) -> Sequence[np.ndarray]:
        self._send_all("render", ["rgb_array"] * self.num_envs)
        return self._recv_all(self.remotes)

    def get_attr(self, attr_name: str, indices: Indices = None) -> List[Any]:
        remotes = self._get_target_remotes(indices)
        for remote in remotes:
            remote.send(("get_attr", attr_name))
        return self._recv_all(remotes)

    def set_attr(self, attr_name: str, value: Any, indices: Indices = None) -> None:
        remotes = self._get_target_remotes(indices)
        for remote in remotes:
            remote.send(("set_attr", (attr_name, value)))
        self._recv_all(remotes)

    def env_method(self, method_name: str, *method_args: Any, indices: Indices = None, **method_kwargs: Any) -> List[Any]:
        remotes = self._get_target_remotes(indices)
        for remote in remotes:
            remote.send(("env_method", (method_name, method_args, method_kwargs)))
        return self._recv_all(remotes)

    def _get_target_remotes(self, indices: Indices) -> List[Any]:
        return [self.remotes[i] for i in self._get_indices(indices)]

    def _send_all(self, cmd: str, data: Sequence[Any]) -> None:
        for remote, item in zip(self.remotes, data):
            remote.send((cmd, item))

    @staticmethod
    def _recv_all(remotes: Sequence[Any]) -> List[Any]:
        """Every worker's answer; re-raise the first worker exception once all answers are in (keeps pipes in step)."""
        answers = [remote.recv() for remote in remotes]
        for ok, payload in answers:
            if not ok:
                exc, tb_text = payload
                raise exc from RemoteTraceback(tb_text)
        return [payload for _, payload in answers]

    @staticmethod
    def _recv_quietly(remote: Any) -> None:
        try:
            remote.recv()
        except (EOFError, OSError):
            pass
