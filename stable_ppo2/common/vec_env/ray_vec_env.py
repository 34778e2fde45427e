"""RayVecEnv: environments in Ray actors, on one machine or across a Ray cluster.

Ray is optional (``pip install stable_ppo2[ray]``) and imported only when a RayVecEnv is made.
"""
import os
import time
import warnings
from collections import OrderedDict
from typing import Any, Callable, Dict, List, NamedTuple, Optional, Sequence, Tuple

import numpy as np

from stable_ppo2.common.gym_compat import render_env, to_gymnasium
from stable_ppo2.common.vec_env.base_vec_env import Indices, NotSteppingError, VecEnv
from stable_ppo2.common.vec_env.subproc_vec_env import WorkerDiedError
from stable_ppo2.common.vec_env.util import AutoResetEnv, concat_obs, stack_obs

#: Seconds ``close()`` waits for the actors to close their envs before killing them.
CLOSE_TIMEOUT = 5.0

#: Options every actor gets unless ``actor_options`` says otherwise: spread the actors over the
#: cluster's nodes (Ray's default packs them onto as few nodes as it can).
DEFAULT_ACTOR_OPTIONS: Dict[str, Any] = {"scheduling_strategy": "SPREAD"}


#: Numeric arrays up to this many elements cross between processes as lists (see :class:`PackedArray`).
PACK_MAX_SIZE = 4096


class PackedArray(NamedTuple):
    """A small numeric array as a list and its dtype. Ray serialises a numpy array for its zero-copy
    path at about 0.3 ms per call; a list of a few numbers costs a fraction of that, and the round trip
    through ``tolist`` is exact."""

    values: list
    dtype: str


def pack(value: Any) -> Any:
    """``value`` as a :class:`PackedArray` if it is a small numeric array, else unchanged."""
    if isinstance(value, np.ndarray) and value.dtype.kind in "biuf" and value.size <= PACK_MAX_SIZE:
        return PackedArray(value.tolist(), value.dtype.str)
    return value


def unpack(value: Any) -> Any:
    """The array that :func:`pack` packed (anything else unchanged)."""
    if isinstance(value, PackedArray):
        return np.array(value.values, dtype=np.dtype(value.dtype))
    return value


def import_ray() -> Any:
    """The ``ray`` module, or an ImportError that says how to install it."""
    try:
        import ray
    except ImportError as exc:
        raise ImportError("RayVecEnv needs Ray, which is not installed: pip install 'stable_ppo2[ray]'") from exc
    return ray


class EnvBatch:
    """The body of one Ray actor: ``len(env_fns)`` envs stepped one after the other with SB2's
    auto-reset contract (:class:`AutoResetEnv`). Results come back batched, one message per actor."""

    def __init__(self, env_fns: Sequence[Callable[[], Any]]) -> None:
        self.drivers = [AutoResetEnv(to_gymnasium(env_fn())) for env_fn in env_fns]
        self.observation_space = self.drivers[0].env.observation_space
        self.action_space = self.drivers[0].env.action_space

    def spaces(self) -> Tuple[Any, Any]:
        return self.observation_space, self.action_space

    def where(self) -> Tuple[int, str]:
        """``(pid, node IP)`` of this actor's process."""
        import ray

        return os.getpid(), ray.util.get_node_ip_address()

    def step(self, actions: Any) -> Tuple[Any, Any, Any, List[dict]]:
        """Step every env with its action; the arrays come back packed (:func:`pack`)."""
        results = [driver.step(action) for driver, action in zip(self.drivers, unpack(actions))]
        obs, rewards, dones, infos = zip(*results)
        return (pack(stack_obs(obs, self.observation_space)), pack(np.asarray(rewards, np.float32)),
                pack(np.asarray(dones, bool)), list(infos))

    def reset(self) -> Any:
        return stack_obs([driver.reset() for driver in self.drivers], self.observation_space)

    def seed(self, seeds: Sequence[Optional[int]]) -> List[Optional[int]]:
        return [driver.seed(seed) for driver, seed in zip(self.drivers, seeds)]

    def env_method(self, local: Sequence[int], name: str, args: tuple, kwargs: dict) -> List[Any]:
        return [self.drivers[i].env.get_wrapper_attr(name)(*args, **kwargs) for i in local]

    def get_attr(self, local: Sequence[int], name: str) -> List[Any]:
        return [self.drivers[i].env.get_wrapper_attr(name) for i in local]

    def set_attr(self, local: Sequence[int], name: str, value: Any) -> List[Any]:
        return [self.drivers[i].env.set_wrapper_attr(name, value) for i in local]

    def render(self, mode: str) -> List[Any]:
        return [render_env(driver.env, mode) for driver in self.drivers]

    def close(self) -> None:
        for driver in self.drivers:
            driver.env.close()


def _same_cluster(ray: Any, current: str, requested: str) -> bool:
    """Whether ``host:port`` addresses name the same GCS; this machine's IP and loopback count as one host."""
    (host, _, port), (other_host, _, other_port) = current.rpartition(":"), requested.rpartition(":")
    local = {"", "localhost", "127.0.0.1", ray.util.get_node_ip_address()}
    return port == other_port and (host == other_host or {host, other_host} <= local)


def connect(address: Optional[str] = None, init_kwargs: Optional[Dict[str, Any]] = None) -> Any:
    """Connect this process to Ray unless it is already connected; return the ``ray`` module.

    ``address=None`` starts a local Ray instance (shut down when this process exits);
    ``"host:port"`` joins the cluster whose head runs there (``ray start --head``); ``"auto"`` finds
    a cluster started on this machine. A connection that already exists is reused; asking for
    another cluster than the one connected to is a ValueError.
    """
    ray = import_ray()
    if ray.is_initialized():
        if address not in (None, "auto") and not address.startswith("ray://"):
            current = ray.get_runtime_context().gcs_address
            if not _same_cluster(ray, current, address):
                raise ValueError(f"Ray is already connected to the cluster at {current}, not {address}: "
                                 "call ray.shutdown() first to use another cluster")
        return ray
    ray.init(**{"address": address, "logging_level": "warning", **(init_kwargs or {})})
    return ray


class RayVecEnv(VecEnv):
    """Vectorised env whose environments live in Ray actors, each stepping ``envs_per_actor`` envs.

    For envs whose step is expensive, or more envs than one machine has cores: the actors run
    wherever the Ray cluster has room (spread over its nodes by default). ``step_async`` sends each
    actor its slice of the actions, ``step_wait`` gathers the slices in env order; each actor steps
    its envs locally, so a step costs one Ray round trip per actor, not per env. The contract is
    DummyVecEnv's: auto-reset with ``info['terminal_observation']`` and ``info['TimeLimit.truncated']``,
    float32 rewards, bool dones, a list of infos, ``seed(s)`` gives env ``i`` the seed ``s + i``.

    Faults: an actor that dies (process killed, node lost) makes the call waiting on it raise
    :class:`~stable_ppo2.common.vec_env.subproc_vec_env.WorkerDiedError` naming the actor, its pid,
    node and env indices; later calls raise it too. With ``restart_failed=True`` the actor is
    replaced instead, with a warning: its envs are rebuilt from their ``env_fns`` and reset (without
    a seed), and the step that found it dead reports them ``done`` with reward 0 and
    ``info['actor_restarted'] = True`` (the episodes were cut, so also ``TimeLimit.truncated``).
    An exception raised by an env is re-raised here (Ray's RayTaskError, an instance of the env's
    exception class, with the actor's traceback).

    :param env_fns: functions that each build one environment (pickled by Ray's cloudpickle; the
        code they need must be importable on every node)
    :param envs_per_actor: envs per actor; the last actor gets the remainder
    :param address: Ray cluster to connect to if this process is not connected yet: None starts a
        local Ray, ``"host:port"`` joins the cluster started there with ``ray start --head``
    :param restart_failed: replace dead actors instead of raising
    :param actor_options: Ray options of each actor (e.g. ``{"num_cpus": 1}``), over
        :data:`DEFAULT_ACTOR_OPTIONS`
    :param timeout: seconds any call waits for the actors before a TimeoutError naming the envs that
        did not answer; None waits as long as they take (a dead actor is reported either way)
    :param start_timeout: seconds the actors have to start and build their envs (a cluster without
        room for them, e.g. too few CPUs for ``actor_options``, would otherwise hang here)
    :param init_kwargs: extra keyword arguments of ``ray.init`` when this VecEnv connects
    """

    def __init__(self, env_fns: Sequence[Callable[[], Any]], envs_per_actor: int = 1, address: Optional[str] = None,
                 restart_failed: bool = False, actor_options: Optional[Dict[str, Any]] = None,
                 timeout: Optional[float] = None, start_timeout: float = 120.0,
                 init_kwargs: Optional[Dict[str, Any]] = None) -> None:
        if not env_fns:
            raise ValueError("RayVecEnv needs at least one env function")
        if envs_per_actor < 1:
            raise ValueError(f"envs_per_actor must be at least 1, got {envs_per_actor}")
        self._ray = connect(address, init_kwargs)
        self._env_fns = list(env_fns)
        self.restart_failed = restart_failed
        self.timeout = timeout
        self.start_timeout = start_timeout
        self.closed = False
        self.waiting = False
        n_envs = len(self._env_fns)
        self.slices = [range(start, min(start + envs_per_actor, n_envs)) for start in range(0, n_envs, envs_per_actor)]
        self._owner = [(j, i - envs.start) for j, envs in enumerate(self.slices) for i in envs]  # env -> (actor, local)
        self._actor_class = self._ray.remote(EnvBatch).options(**{**DEFAULT_ACTOR_OPTIONS, **(actor_options or {})})
        self._actors: List[Any] = []
        self._where: List[Tuple[Optional[int], str]] = []  # per actor: (pid, node IP)
        self._dead: Dict[int, str] = {}  # actor index -> why it is gone
        self._step_refs: List[Any] = []
        try:
            self._actors = [self._actor_class.remote([self._env_fns[i] for i in envs]) for envs in self.slices]
            self._where = [(None, "?")] * len(self._actors)  # until they answer
            where = self._run("where", {j: () for j in range(len(self._actors))}, restartable=False,
                              timeout=start_timeout)
            self._where = [where[j] for j in range(len(self._actors))]
            observation_space, action_space = self._run("spaces", {0: ()}, restartable=False)[0]
        except BaseException:
            self.close()
            raise
        VecEnv.__init__(self, n_envs, observation_space, action_space)

    # ------------------------------------------------------------------------------ VecEnv API
    def step_async(self, actions: np.ndarray) -> None:
        self._check_usable("step")
        self._step_refs = [actor.step.remote(pack(actions[envs.start:envs.stop]))
                           for actor, envs in zip(self._actors, self.slices)]
        self.waiting = True

    def step_wait(self) -> Tuple[Any, np.ndarray, np.ndarray, List[dict]]:
        if not self.waiting:
            raise NotSteppingError()
        self.waiting = False
        refs, self._step_refs = self._step_refs, []
        results = self._gather("step", dict(enumerate(refs)))
        obs, rewards, dones, infos = zip(*(results[j] for j in range(len(self._actors))))
        return (concat_obs([unpack(batch) for batch in obs], self.observation_space),
                np.concatenate([unpack(batch) for batch in rewards]),
                np.concatenate([unpack(batch) for batch in dones]),
                [info for batch in infos for info in batch])

    def reset(self) -> Any:
        results = self._run("reset", {j: () for j in range(len(self._actors))})
        return concat_obs([results[j] for j in range(len(self._actors))], self.observation_space)

    def seed(self, seed: Optional[int] = None) -> List[Optional[int]]:
        seeds = [None if seed is None else seed + i for i in range(self.num_envs)]
        results = self._run("seed", {j: ([seeds[i] for i in envs],) for j, envs in enumerate(self.slices)})
        return [value for j in range(len(self._actors)) for value in results[j]]

    def get_attr(self, attr_name: str, indices: Indices = None) -> List[Any]:
        return self._per_env("get_attr", indices, attr_name)

    def set_attr(self, attr_name: str, value: Any, indices: Indices = None) -> None:
        self._per_env("set_attr", indices, attr_name, value)

    def env_method(
        self, method_name: str, *method_args: Any, indices: Indices = None, **method_kwargs: Any
    ) -> List[Any]:
        return self._per_env("env_method", indices, method_name, method_args, method_kwargs)

    def get_images(self) -> Sequence[np.ndarray]:
        results = self._run("render", {j: ("rgb_array",) for j in range(len(self._actors))})
        return [image for j in range(len(self._actors)) for image in results[j]]

    def close(self) -> None:
        """Close the envs and kill the actors (after ``CLOSE_TIMEOUT`` s at most); calling it again does nothing."""
        if self.closed:
            return
        self.closed = True
        self.waiting = False
        alive = [actor for j, actor in enumerate(self._actors) if j not in self._dead]
        try:
            self._ray.wait([actor.close.remote() for actor in alive], num_returns=len(alive), timeout=CLOSE_TIMEOUT)
        except Exception:  # pylint: disable=broad-except  (the actors are killed below anyway)
            pass
        for actor in self._actors:
            self._kill(actor)
        self._actors = []

    def __del__(self) -> None:
        """A RayVecEnv dropped without ``close()`` still releases its actors."""
        try:
            if not getattr(self, "closed", True) and self._ray.is_initialized():
                self.close()
        except Exception:  # pylint: disable=broad-except  (interpreter shutdown)
            pass

    def actor_pids(self) -> List[Optional[int]]:
        """Process id of each actor (actor ``j`` holds envs ``slices[j]``)."""
        return [pid for pid, _ in self._where]

    # ------------------------------------------------------------------------------ internals
    def _per_env(self, cmd: str, indices: Indices, *args: Any) -> List[Any]:
        """Run ``cmd`` on the selected envs, one call per actor concerned; results in ``indices`` order."""
        targets = [self._owner[index] for index in self._get_indices(indices)]  # negative indices count from the end
        by_actor: Dict[int, List[int]] = OrderedDict()
        for actor, local in targets:
            by_actor.setdefault(actor, []).append(local)
        results = self._run(cmd, {j: (local,) + args for j, local in by_actor.items()})
        answers = {(j, local): value for j in by_actor for local, value in zip(by_actor[j], results[j])}
        return [answers[target] for target in targets]

    def _check_usable(self, cmd: str) -> None:
        if self.closed:
            raise EOFError(f"RayVecEnv is closed: cannot '{cmd}'")
        if self._dead:
            raise WorkerDiedError(next(iter(self._dead.values())))

    def _run(self, cmd: str, calls: Dict[int, tuple], restartable: bool = True,
             timeout: Optional[float] = None) -> Dict[int, Any]:
        """Call ``cmd(*args)`` on actor ``j`` for each ``j: args``; return ``{j: result}``."""
        self._check_usable(cmd)
        refs = {j: getattr(self._actors[j], cmd).remote(*args) for j, args in calls.items()}
        return self._gather(cmd, refs, calls if restartable else None, timeout)

    def _gather(self, cmd: str, refs: Dict[int, Any], calls: Optional[Dict[int, tuple]] = None,
                timeout: Optional[float] = None) -> Dict[int, Any]:
        """Results of ``refs`` (actor index -> object ref), waiting ``timeout`` (default ``self.timeout``)
        at most. Dead actors are replaced (``restart_failed``, and ``cmd`` is ``step``, or restartable
        ``calls`` are given to repeat) or reported by WorkerDiedError; an env's exception is re-raised
        once every answer is in."""
        ray = self._ray
        timeout = self.timeout if timeout is None else timeout
        started = time.monotonic()
        try:  # the common case in one call; any failure is sorted out per actor below
            return dict(zip(refs, ray.get(list(refs.values()), timeout=timeout)))
        except (ray.exceptions.RayActorError, ray.exceptions.RayTaskError, ray.exceptions.GetTimeoutError):
            pass
        left = None if timeout is None else max(0.0, timeout - (time.monotonic() - started))
        _, pending = ray.wait(list(refs.values()), num_returns=len(refs), timeout=left)
        if pending:
            late = [j for j, ref in refs.items() if ref in pending]
            hint = (" (did they start? the cluster may lack the resources that actor_options ask for)"
                    if cmd == "where" else "")
            raise TimeoutError(f"RayVecEnv actors {late} (envs {self._env_list(late)}) did not answer '{cmd}' within "
                               f"{timeout} s{hint}")
        results: Dict[int, Any] = {}
        dead: Dict[int, BaseException] = {}
        failure: Optional[BaseException] = None
        for j, ref in refs.items():
            try:
                results[j] = ray.get(ref)
            except ray.exceptions.RayActorError as exc:
                dead[j] = exc
            except ray.exceptions.RayTaskError as exc:
                failure = failure or exc
        if dead:
            can_restart = self.restart_failed and (cmd == "step" or calls is not None)
            for j, death in dead.items():
                if not can_restart:
                    self._dead[j] = self._death_message(j, cmd, death, time.monotonic() - started)
                    raise WorkerDiedError(self._dead[j]) from death
                first_obs = self._restart(j, cmd, death)
                if cmd == "step":
                    results[j] = self._restarted_step(j, first_obs)
                elif cmd == "reset":
                    results[j] = first_obs
                else:
                    assert calls is not None  # can_restart: commands other than step and reset come with calls
                    results[j] = self._run(cmd, {j: calls[j]}, restartable=False)[j]
        if failure is not None:
            raise failure
        return results

    def _kill(self, actor: Any) -> None:
        """Kill ``actor``; one that is gone already (or a Ray that is shut down) is not an error."""
        try:
            self._ray.kill(actor)
        except Exception:  # pylint: disable=broad-except
            pass

    def _env_list(self, actors: Sequence[int]) -> str:
        return ", ".join(str(i) for j in actors for i in self.slices[j])

    def _death_message(self, j: int, cmd: str, exc: BaseException, waited: float) -> str:
        pid, node = self._where[j]
        cause = " ".join(str(exc).split())
        cause = cause if len(cause) <= 400 else cause[:400] + "..."
        return (f"RayVecEnv actor {j} (pid {pid or '?'} on node {node}), holding envs {self._env_list([j])}, "
                f"died while handling '{cmd}' (reported after {waited:.1f} s): {cause}. Its environments are lost: "
                "close() this VecEnv and make a new one, or pass restart_failed=True to replace dead actors.")

    def _restart(self, j: int, cmd: str, exc: BaseException) -> Any:
        """Replace dead actor ``j`` by a new one with freshly built envs; return their first observations."""
        pid, node = self._where[j]
        self._kill(self._actors[j])
        self._actors[j] = self._actor_class.remote([self._env_fns[i] for i in self.slices[j]])
        self._where[j] = self._run("where", {j: ()}, restartable=False, timeout=self.start_timeout)[j]
        first_obs = self._run("reset", {j: ()}, restartable=False)[j]
        warnings.warn(f"RayVecEnv actor {j} (pid {pid or '?'} on node {node}, envs {self._env_list([j])}) died while "
                      f"handling '{cmd}' ({type(exc).__name__}); replaced by pid {self._where[j][0]} on node "
                      f"{self._where[j][1]}, its envs reset", RuntimeWarning)
        return first_obs

    def _restarted_step(self, j: int, first_obs: Any) -> Tuple[Any, np.ndarray, np.ndarray, List[dict]]:
        """What a step reports for the envs of a replaced actor: their episodes ended (cut), new ones began."""
        n_envs = len(self.slices[j])
        infos = [{"actor_restarted": True, "TimeLimit.truncated": True} for _ in range(n_envs)]
        return first_obs, np.zeros(n_envs, np.float32), np.ones(n_envs, bool), infos
