"""SubprocVecEnv: one worker process per environment, talking over pipes."""
import itertools
import multiprocessing as mp
import signal
import time
import traceback
from multiprocessing.connection import wait as wait_for_any
from multiprocessing.reduction import ForkingPickler
from typing import Any, Callable, Dict, Iterable, List, Optional, Sequence, Tuple, Union

import numpy as np

from stable_ppo2.common.gym_compat import render_env, to_gymnasium
from stable_ppo2.common.vec_env.base_vec_env import CloudpickleWrapper, Indices, VecEnv
from stable_ppo2.common.vec_env.util import AutoResetEnv, stack_obs

#: Seconds ``close()`` waits for a worker's pending answer and then for its exit before terminating it.
CLOSE_TIMEOUT = 5.0


class WorkerDiedError(EOFError):
    """A worker process exited (killed, crashed) while the VecEnv needed it; names the worker and its
    exit code. The VecEnv cannot be used any more (``close()`` it). An EOFError, as SB2's pipes gave."""


class RemoteTraceback(Exception):
    """Carries a worker's formatted traceback; set as the cause of the exception re-raised in the parent."""

    def __str__(self) -> str:
        return str(self.args[0])


def _send_error(remote: Any, seq: int, exc: BaseException) -> None:
    tb_text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    try:
        message = ForkingPickler.dumps((seq, False, (exc, tb_text)))
        ForkingPickler.loads(message)  # exceptions whose __init__ needs other arguments do not unpickle
    except Exception:  # pylint: disable=broad-except  (send its text instead)
        message = ForkingPickler.dumps((seq, False, (RuntimeError(f"{type(exc).__name__}: {exc}"), tb_text)))
    remote.send_bytes(message)


def _worker(remote: Any, parent_remote: Any, env_fn_wrapper: CloudpickleWrapper,
            inherited_remotes: Sequence[Any] = ()) -> None:
    """Serve ``(command, data, seq)`` requests for one env until ``close`` or the parent goes away.

    Each request is answered by ``(seq, True, result)`` or ``(seq, False, (exception, traceback
    text))``; ``seq`` lets the parent drop answers that a call interrupted by Ctrl-C left behind.
    The worker ignores SIGINT (Ctrl-C in a terminal reaches the whole process group): the parent
    handles it and can still use or close its envs. It exits when the pipe reports the parent gone
    (EOF), so no worker outlives its parent; ``inherited_remotes`` (start method 'fork' only) are
    the parent's ends of earlier workers' pipes, closed here so that their EOF is not held up.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    parent_remote.close()
    for inherited in inherited_remotes:
        inherited.close()
    try:
        driver = AutoResetEnv(to_gymnasium(env_fn_wrapper.var()))
    except Exception as exc:
        try:
            _, _, seq = remote.recv()  # the parent's first request (get_spaces) gets the error
            _send_error(remote, seq, exc)
        except (EOFError, OSError):  # the parent is gone
            pass
        remote.close()
        return
    env = driver.env
    while True:
        try:
            cmd, data, seq = remote.recv()
        except (EOFError, OSError):  # the parent is gone
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
        except Exception as exc:
            answer: Optional[Exception] = exc
        else:
            answer = None
        try:
            if answer is None:
                try:
                    message = ForkingPickler.dumps((seq, True, result))  # what Connection.send does
                except Exception as exc:  # the result does not pickle: send that error instead
                    _send_error(remote, seq, exc)
                else:
                    remote.send_bytes(message)
            else:
                _send_error(remote, seq, answer)
        except OSError:  # BrokenPipeError, ConnectionResetError: the parent is gone
            break
    try:
        env.close()
    except Exception:  # pylint: disable=broad-except  (exiting anyway)
        pass
    remote.close()


def _default_start_method() -> str:
    return "forkserver" if "forkserver" in mp.get_all_start_methods() else "spawn"


class SubprocVecEnv(VecEnv):
    """Vectorised env with each environment in its own daemon process (for envs whose step is expensive).

    SB2 behaviour kept: rewards come back with the dtype the envs return (usually float64) and infos as a tuple.
    An exception raised in a worker is re-raised here, caused by a :class:`RemoteTraceback` with the worker's traceback.

    Faults: a worker that dies (killed, crashed) makes the call waiting on it raise
    :class:`WorkerDiedError` (naming the worker, its pid and exit code) at once, never a hang; every
    later call raises it too. A call interrupted by Ctrl-C (the workers ignore SIGINT) leaves the
    VecEnv usable: the answer it did not read is dropped. ``close()`` is idempotent and bounded
    (``CLOSE_TIMEOUT``); workers exit when their parent dies (EOF on their pipe) and are stopped
    when the VecEnv is garbage-collected unclosed.

    :param env_fns: functions that each build one environment (pickled with cloudpickle)
    :param start_method: multiprocessing start method; default ``'forkserver'`` where available, else ``'spawn'``
    """

    def __init__(self, env_fns: Sequence[Callable[[], Any]], start_method: Optional[str] = None) -> None:
        self.waiting = False
        self.closed = False
        self.remotes: List[Any] = []
        self.processes: List[Any] = []
        self._seq = itertools.count(1)  # numbers every command; workers echo it in their answers
        self._expected: List[Optional[Tuple[int, str]]] = []  # per worker: (seq, command) awaited
        self._dead: Dict[int, str] = {}  # worker index -> why it is gone
        n_envs = len(env_fns)
        ctx = mp.get_context(start_method or _default_start_method())
        fork = ctx.get_start_method() == "fork"
        try:
            for env_fn in env_fns:
                # One pipe at a time, its worker end closed here once the worker has it: no other
                # process holds a worker end, so a dead worker's pipe reports EOF.
                remote, work_remote = ctx.Pipe(duplex=True)
                inherited = list(self.remotes) if fork else []
                # typeshed declares Process on the concrete contexts only, not on get_context's BaseContext
                process = ctx.Process(target=_worker, daemon=True,  # type: ignore[attr-defined]
                                      args=(work_remote, remote, CloudpickleWrapper(env_fn), inherited))
                process.start()
                work_remote.close()
                self.remotes.append(remote)
                self.processes.append(process)
                self._expected.append(None)
            self._send_all("get_spaces", [None] * n_envs)
            observation_space, action_space = self._recv_all(range(n_envs))[0]
        except BaseException:
            self.close()
            raise
        VecEnv.__init__(self, n_envs, observation_space, action_space)

    def step_async(self, actions: np.ndarray) -> None:
        self._send_all("step", actions)
        self.waiting = True

    def step_wait(self) -> Tuple[Any, np.ndarray, np.ndarray, Tuple[dict, ...]]:
        self.waiting = False
        results = self._recv_all(range(len(self.remotes)))
        obs, rews, dones, infos = zip(*results)
        return stack_obs(obs, self.observation_space), np.stack(rews), np.stack(dones), infos

    def seed(self, seed: Optional[int] = None) -> List[Optional[int]]:
        self._send_all("seed", [None if seed is None else seed + i for i in range(self.num_envs)])
        return self._recv_all(range(self.num_envs))

    def reset(self) -> Any:
        self._send_all("reset", [None] * self.num_envs)
        return stack_obs(self._recv_all(range(self.num_envs)), self.observation_space)

    def close(self) -> None:
        """Stop the workers; calling it again does nothing.

        Each worker gets ``close`` after whatever it is doing; answers it still sends are read and
        dropped (so none blocks on a full pipe). A worker that has not exited after
        ``CLOSE_TIMEOUT`` seconds (an env that hangs) is terminated (SIGTERM, then SIGKILL), so
        ``close()`` returns within seconds.
        """
        if self.closed:
            return
        self.closed = True
        self.waiting = False
        for remote in self.remotes:
            try:
                remote.send(("close", None, 0))
            except OSError:  # the worker is already gone
                pass
        deadline = time.monotonic() + CLOSE_TIMEOUT
        for remote, process in zip(self.remotes, self.processes):
            while process.is_alive() and time.monotonic() < deadline:
                try:
                    if remote.poll(0.05):
                        remote.recv_bytes()
                except (EOFError, OSError):  # the worker closed its end: it is exiting
                    process.join(timeout=max(0.0, min(0.05, deadline - time.monotonic())))
            if process.is_alive():
                process.terminate()
                process.join(timeout=1)
            if process.is_alive():
                process.kill()
            process.join(timeout=1)
        for remote in self.remotes:
            remote.close()

    def __del__(self) -> None:
        """A VecEnv dropped without ``close()`` still stops its workers."""
        try:
            if not getattr(self, "closed", True):
                self.close()
        except Exception:  # pylint: disable=broad-except  (interpreter shutdown)
            pass

    def get_images(self) -> Sequence[np.ndarray]:
        self._send_all("render", ["rgb_array"] * self.num_envs)
        return self._recv_all(range(self.num_envs))

    def get_attr(self, attr_name: str, indices: Indices = None) -> List[Any]:
        targets = list(self._get_indices(indices))
        for index in targets:
            self._send(index, "get_attr", attr_name)
        return self._recv_all(targets)

    def set_attr(self, attr_name: str, value: Any, indices: Indices = None) -> None:
        targets = list(self._get_indices(indices))
        for index in targets:
            self._send(index, "set_attr", (attr_name, value))
        self._recv_all(targets)

    def env_method(
        self, method_name: str, *method_args: Any, indices: Indices = None, **method_kwargs: Any
    ) -> List[Any]:
        targets = list(self._get_indices(indices))
        for index in targets:
            self._send(index, "env_method", (method_name, method_args, method_kwargs))
        return self._recv_all(targets)

    def _get_target_remotes(self, indices: Indices) -> List[Any]:
        return [self.remotes[i] for i in self._get_indices(indices)]

    def _send_all(self, cmd: str, data: Union[Sequence[Any], np.ndarray]) -> None:
        for index, item in zip(range(len(self.remotes)), data):
            self._send(index, cmd, item)

    def _send(self, index: int, cmd: str, data: Any) -> None:
        """Send one command to worker ``index``; its answer is the next one :meth:`_recv` returns."""
        if self.closed:
            raise EOFError(f"SubprocVecEnv is closed: cannot send '{cmd}' to worker {index}")
        if index in self._dead:
            raise WorkerDiedError(self._dead[index])
        seq = next(self._seq)
        try:
            self.remotes[index].send((cmd, data, seq))
        except OSError as error:  # BrokenPipeError: the worker is gone
            raise self._worker_died(index, f"before it could be sent '{cmd}'") from error
        self._expected[index] = (seq, cmd)

    def _recv(self, index: int) -> Tuple[bool, Any]:
        """``(ok, payload)``: worker ``index``'s answer to the last command sent to it. Older
        answers (left by a call that Ctrl-C interrupted) are dropped. WorkerDiedError as soon as
        the process has exited without answering: its sentinel is watched with the pipe, so this
        never hangs on a dead worker."""
        if self.closed:
            raise EOFError(f"SubprocVecEnv is closed: no answer to wait for from worker {index}")
        if index in self._dead:
            raise WorkerDiedError(self._dead[index])
        expected = self._expected[index]
        if expected is None:
            raise RuntimeError(f"SubprocVecEnv worker {index} owes no answer (nothing was sent to it)")
        seq, cmd = expected
        remote, process = self.remotes[index], self.processes[index]
        while True:
            ready = wait_for_any([remote, process.sentinel])
            if remote in ready or remote.poll():
                try:
                    answer_seq, ok, payload = remote.recv()
                except (EOFError, OSError):  # closed by the exiting worker
                    break
                if answer_seq == seq:
                    self._expected[index] = None
                    return ok, payload
                continue  # an answer nobody waits for any more
            if process.sentinel in ready:
                break
        raise self._worker_died(index, f"while handling '{cmd}'")

    def _worker_died(self, index: int, when: str) -> WorkerDiedError:
        process = self.processes[index]
        process.join(timeout=1)
        code = process.exitcode
        if code is None:
            how = "closed its pipe"
        elif code < 0:
            try:
                how = f"died with exit code {code} (killed by {signal.Signals(-code).name})"
            except ValueError:
                how = f"died with exit code {code}"
        else:
            how = f"exited with exit code {code}"
        self._dead[index] = (f"SubprocVecEnv worker {index} (pid {process.pid}) {how} {when}. Its "
                             "environment is lost: close() this VecEnv and make a new one.")
        return WorkerDiedError(self._dead[index])

    def _recv_all(self, indices: Iterable[int]) -> List[Any]:
        """Every worker's answer; re-raise the first worker exception (or death) once all answers are
        in (keeps the pipes of the living workers in step)."""
        answers, died = [], None
        for index in indices:
            try:
                answers.append(self._recv(index))
            except WorkerDiedError as error:
                died = died or error
        if died is not None:
            raise died
        for ok, payload in answers:
            if not ok:
                exc, tb_text = payload
                raise exc from RemoteTraceback(tb_text)
        return [payload for _, payload in answers]
