"""Helpers that build monitored, vectorised environments (SB2's ``common.cmd_util``)."""
import argparse
import os
from typing import Any, Callable, Dict, Optional, Union, cast

import gymnasium

from stable_ppo2.bench.monitor import Monitor
from stable_ppo2.common.gym_compat import make_env_from_id
from stable_ppo2.common.vec_env import DummyVecEnv, VecEnv


def _check_env_id(env_id: str) -> None:
    """Fail early, in this process, with a message naming an id that gymnasium does not know."""
    if ":" in env_id:  # "module:EnvId" registers the env on import inside gymnasium.make; cannot check beforehand
        return
    try:
        gymnasium.spec(env_id)
    except gymnasium.error.Error as exc:
        raise ValueError("Unknown environment id {!r}: it is not registered with gymnasium ({})".format(env_id, exc)) \
            from exc


def make_vec_env(
    env_id: Union[str, Callable[..., Any]],
    n_envs: int = 1,
    seed: Optional[int] = None,
    start_index: int = 0,
    monitor_dir: Optional[str] = None,
    wrapper_class: Optional[Callable[[gymnasium.Env], gymnasium.Env]] = None,
    env_kwargs: Optional[Dict[str, Any]] = None,
    vec_env_cls: Optional[Callable[..., VecEnv]] = None,
    vec_env_kwargs: Optional[Dict[str, Any]] = None,
) -> VecEnv:
    """Create ``n_envs`` copies of an env, each wrapped in a :class:`Monitor`, inside a VecEnv.

    :param env_id: a gymnasium id (made with ``gymnasium.make(env_id, **env_kwargs)``) or an env class/callable
        (called as ``env_id(**env_kwargs)``; old-gym-API envs are converted by the Monitor)
    :param n_envs: number of envs
    :param seed: if given, env of rank ``r`` is reset first with ``seed + r`` and its action space seeded with
        ``seed + r``; ranks are ``start_index, ..., start_index + n_envs - 1``
    :param start_index: rank of the first env
    :param monitor_dir: if given, env ``r`` logs to ``monitor_dir/<r>.monitor.csv`` (the folder is created);
        otherwise the Monitor keeps its statistics in memory only
    :param wrapper_class: applied to each env after the Monitor
    :param env_kwargs: keyword arguments for the env's constructor
    :param vec_env_cls: VecEnv class, ``DummyVecEnv`` by default (``SubprocVecEnv``, ``RayVecEnv``...);
        ``EnvPoolVecEnv`` makes envpool's envs from ``env_id`` itself (ranks, seeds and Monitor files as
        here; ``env_kwargs`` go to ``envpool.make``; no ``wrapper_class``)
    :param vec_env_kwargs: keyword arguments for ``vec_env_cls``
    """
    env_kwargs = {} if env_kwargs is None else env_kwargs
    vec_env_kwargs = {} if vec_env_kwargs is None else vec_env_kwargs
    if getattr(vec_env_cls, "builds_from_env_id", False):  # EnvPoolVecEnv: the VecEnv makes the envs itself
        builder = cast(Any, vec_env_cls)  # a class with its own ``from_env_id``
        if not isinstance(env_id, str) or wrapper_class is not None:
            raise ValueError(f"{builder.__name__} builds its envs from an env id, without Python wrappers: "
                             f"give an id string and no wrapper_class (got {env_id!r}, {wrapper_class!r})")
        return builder.from_env_id(env_id, n_envs=n_envs, seed=seed, start_index=start_index,
                                   monitor_dir=monitor_dir, env_kwargs=env_kwargs, **vec_env_kwargs)
    if isinstance(env_id, str):
        _check_env_id(env_id)

    def make_env(rank: int) -> Callable[[], gymnasium.Env]:
        def _init() -> gymnasium.Env:
            if isinstance(env_id, str):
                env = make_env_from_id(env_id, **env_kwargs)
            else:
                env = env_id(**env_kwargs)
            monitor_path = None
            if monitor_dir is not None:
                monitor_path = os.path.join(monitor_dir, str(rank))
                os.makedirs(monitor_dir, exist_ok=True)
            env = Monitor(env, filename=monitor_path)
            if seed is not None:
                # The first reset's seed goes through VecEnv.seed below (gymnasium envs are seeded by reset).
                env.action_space.seed(seed + rank)
            if wrapper_class is not None:
                env = wrapper_class(env)
            return env
        return _init

    if vec_env_cls is None:
        vec_env_cls = DummyVecEnv
    vec_env = vec_env_cls([make_env(i + start_index) for i in range(n_envs)], **vec_env_kwargs)
    if seed is not None:
        vec_env.seed(seed + start_index)
    return vec_env


def make_atari_env(env_id: str, num_env: int, seed: Optional[int], wrapper_kwargs: Optional[Dict[str, Any]] = None,
                   start_index: int = 0, allow_early_resets: bool = True, start_method: Optional[str] = None,
                   use_subprocess: bool = False) -> VecEnv:
    """Create a monitored VecEnv of Atari games with SB2's preprocessing (``make_atari`` + ``wrap_deepmind``).

    Env of rank ``r`` (``start_index, ..., start_index + num_env - 1``) is ``make_atari(env_id)``, then a
    :class:`Monitor` logging to ``logger.get_dir()/<r>.monitor.csv`` (when the logger has a folder), then
    ``wrap_deepmind(env, **wrapper_kwargs)``; its first reset is seeded with ``seed + r`` and its action space
    with ``seed + r``. The global seeds are set with ``set_global_seeds(seed)``. Needs
    ``pip install "stable_ppo2[atari]"``.

    :param env_id: ``...NoFrameskip-v4`` or ``ALE/...`` id
    :param num_env: number of envs
    :param seed: first seed (None: unseeded)
    :param wrapper_kwargs: keyword arguments of ``wrap_deepmind`` (``episode_life``, ``clip_rewards``,
        ``frame_stack``, ``scale``)
    :param start_index: rank of the first env
    :param allow_early_resets: passed to the Monitor
    :param start_method: start method of ``SubprocVecEnv``'s workers
    :param use_subprocess: ``SubprocVecEnv`` when ``num_env > 1`` (default: ``DummyVecEnv``, usually faster)
    """
    from stable_ppo2 import logger
    from stable_ppo2.common.atari_wrappers import make_atari, register_ale_envs, wrap_deepmind
    from stable_ppo2.common.misc_util import set_global_seeds
    from stable_ppo2.common.tf_util import tf  # noqa: F401  (imports TensorFlow quietly before set_global_seeds)
    from stable_ppo2.common.vec_env import SubprocVecEnv

    register_ale_envs()
    _check_env_id(env_id)
    wrapper_kwargs = {} if wrapper_kwargs is None else dict(wrapper_kwargs)
    log_dir = logger.get_dir()  # read here: SubprocVecEnv's workers do not share this process's logger

    def make_env(rank: int) -> Callable[[], gymnasium.Env]:
        def _thunk() -> gymnasium.Env:
            env = make_atari(env_id)
            if seed is not None:
                env.action_space.seed(seed + rank)
            env = Monitor(env, log_dir and os.path.join(log_dir, str(rank)), allow_early_resets=allow_early_resets)
            return wrap_deepmind(env, **wrapper_kwargs)
        return _thunk

    if seed is not None:
        set_global_seeds(seed)
    env_fns = [make_env(i + start_index) for i in range(num_env)]
    if num_env == 1 or not use_subprocess:
        vec_env: VecEnv = DummyVecEnv(env_fns)
    else:
        vec_env = SubprocVecEnv(env_fns, start_method=start_method)
    if seed is not None:
        vec_env.seed(seed + start_index)  # gymnasium envs take their seed at the next reset
    return vec_env


def arg_parser() -> argparse.ArgumentParser:
    """An empty ``argparse.ArgumentParser`` that shows defaults in ``--help``."""
    return argparse.ArgumentParser(formatter_class=argparse.ArgumentDefaultsHelpFormatter)


def atari_arg_parser() -> argparse.ArgumentParser:
    """SB2's parser for ``run_atari``: ``--env BreakoutNoFrameskip-v4 --seed 0 --num-timesteps 10000000``."""
    parser = arg_parser()
    parser.add_argument("--env", help="environment ID", default="BreakoutNoFrameskip-v4")
    parser.add_argument("--seed", help="RNG seed", type=int, default=0)
    parser.add_argument("--num-timesteps", type=int, default=int(1e7))
    return parser


def mujoco_arg_parser() -> argparse.ArgumentParser:
    """SB2's parser for ``run_mujoco``: ``--env Reacher-v2 --seed 0 --num-timesteps 1000000 [--play]``."""
    parser = arg_parser()
    parser.add_argument("--env", help="environment ID", type=str, default="Reacher-v2")
    parser.add_argument("--seed", help="RNG seed", type=int, default=0)
    parser.add_argument("--num-timesteps", type=int, default=int(1e6))
    parser.add_argument("--play", default=False, action="store_true")
    return parser
