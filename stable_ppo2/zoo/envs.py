"""Env ids from the SB2 era on gymnasium: renamed versions, optional dependencies, Atari preprocessing
(SB2's wrappers, from :mod:`stable_ppo2.common.atari_wrappers`).

Nothing here imports TensorFlow, so the command line can refuse a bad env id in well under a second.
"""
from __future__ import annotations

import difflib
import functools
import importlib
from typing import Any, Callable, Optional

import gymnasium

#: SB2-era ids that gymnasium renamed (a new version of the same env).
ENV_RENAMES = {
    "Pendulum-v0": "Pendulum-v1",
    "LunarLander-v2": "LunarLander-v3",
    "LunarLanderContinuous-v2": "LunarLanderContinuous-v3",
    "BipedalWalker-v2": "BipedalWalker-v3",
    "BipedalWalkerHardcore-v2": "BipedalWalkerHardcore-v3",
    "CarRacing-v0": "CarRacing-v3",
}

#: Which extra of this package installs what an env family needs.
EXTRAS = {"box2d": "box2d", "atari": "atari", "ale": "atari", "mujoco": "mujoco"}


class EnvError(ValueError):
    """An env that cannot be made here; its message is one line for the user."""


def is_atari(env_id: str) -> bool:
    return "NoFrameskip" in env_id or env_id.startswith("ALE/")


def _register_atari() -> bool:
    """Register the ALE's envs with gymnasium if ale-py is installed; False if it is not."""
    try:
        ale_py = importlib.import_module("ale_py")
    except ImportError:
        return False
    gymnasium.register_envs(ale_py)
    return True


def gymnasium_id(env_id: str) -> str:
    """The gymnasium id for an SB2-era id: known renames, then the newest version of a deprecated or
    mujoco-py-only id (``HalfCheetah-v2`` -> ``HalfCheetah-v5``); unknown ids come back unchanged."""
    if env_id in ENV_RENAMES:
        return ENV_RENAMES[env_id]
    from gymnasium.envs.registration import find_highest_version, parse_env_id

    try:
        spec = gymnasium.spec(env_id)
    except gymnasium.error.DeprecatedEnv:
        spec = None
    except gymnasium.error.Error:
        return env_id
    if spec is not None and "mujoco_py" not in getattr(spec.entry_point, "__name__", ""):
        return env_id
    namespace, name, _version = parse_env_id(env_id)
    newest = find_highest_version(namespace, name)
    if newest is None:
        return env_id
    prefix = f"{namespace}/" if namespace else ""
    return f"{prefix}{name}-v{newest}"


def import_gym_packages(modules: Any) -> None:
    """Import the modules that register envs (``--gym-packages``); :class:`EnvError` names one that fails."""
    for module in modules or ():
        try:
            importlib.import_module(module)
        except Exception as exc:  # an import error or the module's own failure: one line for the user
            raise EnvError(f"cannot import the gym package {module!r}: {type(exc).__name__}: "
                           f"{' '.join(str(exc).split())}") from exc


def split_module(env_id: str) -> tuple:
    """``"module.path:EnvId"`` -> ``("module.path", "EnvId")``; a plain id -> ``(None, id)``."""
    module, sep, name = env_id.rpartition(":")
    return (module, name) if sep else (None, env_id)


def check_env_id(env_id: str, env_kwargs: Optional[dict] = None) -> str:
    """The gymnasium id to make for ``env_id``; :class:`EnvError` if gymnasium does not know it, its
    optional dependencies (box2d, atari, mujoco) are missing, or it does not take ``env_kwargs``.

    ``module.path:EnvId`` imports the module first (it registers the env) and comes back in that form,
    so that gymnasium imports the module again wherever the env is made.
    """
    module, plain_id = split_module(env_id)
    if module is not None:
        import_gym_packages([module])
        return f"{module}:{check_env_id(plain_id, env_kwargs)}"
    if is_atari(env_id) and not _register_atari():
        raise EnvError(f"{env_id} is an Atari env and needs ale-py: pip install 'stable_ppo2[atari]'")
    target = gymnasium_id(env_id)
    try:
        gymnasium.spec(target)
    except gymnasium.error.Error as exc:
        known = list(gymnasium.registry)
        close = difflib.get_close_matches(env_id, known, n=3, cutoff=0.6)
        hint = f" (did you mean {', '.join(close)}?)" if close else ""
        raise EnvError(f"unknown env id {env_id!r}: gymnasium has no such environment{hint}") from exc
    try:
        env = gymnasium.make(target, **(env_kwargs or {}))
    except TypeError as exc:
        if not env_kwargs:
            raise
        raise EnvError(f"{target} does not take the env_kwargs {env_kwargs}: {' '.join(str(exc).split())}") from exc
    except gymnasium.error.DependencyNotInstalled as exc:
        raise EnvError(f"{target} needs an optional dependency that is not installed: "
                       f"{' '.join(str(exc).split())}{_install_hint(target)}") from exc
    except ImportError as exc:
        raise EnvError(f"{target} needs a module that is not installed ({exc.name or exc})"
                       f"{_install_hint(target)}") from exc
    env.close()
    return target


def _install_hint(env_id: str) -> str:
    entry_point = str(gymnasium.spec(env_id).entry_point)
    for family, extra in EXTRAS.items():
        if family in entry_point.lower() or (family == "atari" and is_atari(env_id)):
            if extra is None:
                return f" (pip install 'gymnasium[{family}]')"
            return f" (pip install 'stable_ppo2[{extra}]')"
    return ""


def load_wrapper(dotted: str) -> Callable[[gymnasium.Env], gymnasium.Env]:
    """The gymnasium wrapper class named ``module.Class`` (the zoo's ``env_wrapper``).

    Only subclasses of ``gymnasium.Wrapper`` are accepted.
    """
    module_name, _, class_name = dotted.rpartition(".")
    if not module_name:
        raise EnvError(f"env_wrapper must be a dotted name module.Class, got {dotted!r}")
    try:
        wrapper = getattr(importlib.import_module(module_name), class_name)
    except (ImportError, AttributeError) as exc:
        raise EnvError(f"env_wrapper {dotted} cannot be imported ({exc}); it is a wrapper from the RL zoo or "
                       f"another package that is not installed") from exc
    if not (isinstance(wrapper, type) and issubclass(wrapper, gymnasium.Wrapper)):
        raise EnvError(f"env_wrapper {dotted} is not a gymnasium.Wrapper class")
    return wrapper


def _make_atari(env_id: str, **kwargs: Any) -> gymnasium.Env:
    from stable_ppo2.common.atari_wrappers import make_atari

    return make_atari(env_id, **kwargs)


def _wrap_deepmind(env: Any, evaluation: bool = False) -> Any:
    from stable_ppo2.common.atari_wrappers import wrap_deepmind

    if evaluation:  # whole games and their real scores
        return wrap_deepmind(env, episode_life=False, clip_rewards=False)
    return wrap_deepmind(env)


def env_maker(env_id: str) -> Any:
    """What ``make_vec_env`` makes for ``env_id``: the id itself, or for Atari ids SB2's ``make_atari``
    (no-op reset, 4-frame max-pooled skip), so that the Monitor sits below ``wrap_deepmind`` as in SB2's
    ``make_atari_env`` and logs unclipped full-game scores."""
    if is_atari(env_id):
        return functools.partial(_make_atari, env_id)
    return env_id


def env_wrapper_for(env_id: str, dotted: Optional[str] = None,
                    evaluation: bool = False) -> Optional[Callable[[Any], Any]]:
    """The wrapper applied to each env after its Monitor: for Atari ids SB2's ``wrap_deepmind`` (end of life
    ends an episode, FIRE at reset, 84x84 grey frames, rewards clipped to their sign; with ``evaluation``
    whole games and unclipped rewards), then the zoo's ``env_wrapper``."""
    wrappers: list = []
    if is_atari(env_id):
        wrappers.append(functools.partial(_wrap_deepmind, evaluation=evaluation))
    if dotted:
        wrappers.append(load_wrapper(dotted))
    if not wrappers:
        return None

    def wrap(env: Any) -> Any:
        for wrapper in wrappers:
            env = wrapper(env)
        return env

    return wrap



#: Env families of the zoo's file that cannot run on gymnasium today, and why.
UNAVAILABLE = {
    "Bullet": "pybullet's envs (pybullet_envs) are written for the old gym API and are not registered with "
                 "gymnasium; no release runs them on this Python",
}
#: Env families registered by a separate package: (name prefix, module to import, pip package).
REGISTERING_PACKAGES = (("MiniGrid-", "minigrid", "minigrid"),)


def env_status(env_id: str) -> tuple:
    """``(True, gymnasium id)`` if ``env_id`` can be trained here, else ``(False, why, in one line)``."""
    if env_id == "atari":
        return (True, "any ALE id, e.g. BreakoutNoFrameskip-v4") if _register_atari() else (
            False, "needs ale-py: pip install 'stable_ppo2[atari]'")
    for family, why in UNAVAILABLE.items():
        if family in env_id:
            return False, f"not available: {why}"
    for prefix, module, package in REGISTERING_PACKAGES:
        if env_id.startswith(prefix):
            try:
                importlib.import_module(module)
            except ImportError:
                return False, f"needs {package}: pip install {package}, then train with --gym-packages {module}"
            return True, f"{gymnasium_id(env_id)} (train with --gym-packages {module})"
    try:
        return True, check_env_id(env_id)
    except EnvError as exc:
        return False, str(exc)
