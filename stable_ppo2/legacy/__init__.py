"""Run Stable-Baselines 2 code unchanged: the ``stable_baselines`` alias and the old gym API.

``import stable_ppo2.legacy`` (or :func:`install`) makes ``stable_baselines`` and every
``stable_baselines.X`` import resolve to ``stable_ppo2.X``: the *same* module objects, so
``isinstance`` checks hold and pickles naming ``stable_baselines.common.policies.MlpPolicy`` load
our class. SB2's other algorithms (A2C, DQN, SAC, ...) are placeholders that import and can be
subclassed but raise, when used, an error saying that stable_ppo2 ports PPO2 only (:mod:`.unported`).
``stable-ppo2 legacy enable`` makes all this work without the runner (:mod:`.hook`). SB2-era env ids
that gymnasium retired (``Pendulum-v0``, ``LunarLander-v2``, ...) are registered with gymnasium as
aliases of their successors.

``python -m stable_ppo2.legacy SCRIPT [ARGS...]`` runs a legacy script as if it were run directly
(``__name__ == "__main__"``, ``sys.argv == [SCRIPT, ARGS...]``, the script's folder first on
``sys.path``). When the real ``gym`` package is not installed, :func:`install_gym` also makes
``import gym`` give :mod:`stable_ppo2.legacy.gym`, the old gym API over gymnasium, and env ids
given as strings (``PPO2("MlpPolicy", "CartPole-v1")``, ``make_vec_env("CartPole-v1")``) are made
with its ``gym.make``, as SB2 made them. Processes started by the script (``SubprocVecEnv``) get
the same set-up (see ``_bootstrap``).

Nothing here imports TensorFlow.
"""
from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import os
import sys
import types
from typing import Dict, Optional, Sequence

__all__ = ["install", "install_gym", "uninstall", "uninstall_gym", "is_installed", "gym_installed",
           "register_retired_env_ids", "run_script", "RETIRED_ALGORITHMS", "PPO2_ONLY_MESSAGE"]

#: SB2's other algorithms: class name -> SB2 module.
RETIRED_ALGORITHMS: Dict[str, str] = {
    "A2C": "a2c", "ACER": "acer", "ACKTR": "acktr", "DDPG": "ddpg", "DQN": "deepq", "GAIL": "gail",
    "HER": "her", "PPO1": "ppo1", "SAC": "sac", "TD3": "td3", "TRPO": "trpo_mpi",
}
_RETIRED_MODULES = {module for name, module in RETIRED_ALGORITHMS.items() if name != "GAIL"}

PPO2_ONLY_MESSAGE = ("stable_ppo2 ports PPO2 only: {what} (SB2's {algo}) has no counterpart here. "
                     "Use PPO2 (from stable_baselines import PPO2), or Stable-Baselines3 for other algorithms.")

_SB2 = "stable_baselines"
_GYM = "gym"
_ALIAS_PACKAGE = "stable_ppo2.legacy.alias"
_GYM_PACKAGE = "stable_ppo2.legacy.gym"
# gym submodules that are gymnasium's own (same API then and now).
_GYM_TO_GYMNASIUM = ("spaces", "error", "logger")
_BOOTSTRAP_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "_bootstrap")
# Put on sys.path by the opt-in startup hook (``stable-ppo2 legacy enable``, see ``hook``).
_HOOK_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "_hook")
_STAND_IN_DIRS = (_BOOTSTRAP_DIR, _HOOK_DIR)
# Set by the runner for the processes a legacy script starts (read by the bootstrap packages).
_ENV_ALIAS = "STABLE_PPO2_LEGACY"
_ENV_GYM = "STABLE_PPO2_LEGACY_GYM"


def _sb2_target(fullname: str) -> str:
    """``stable_baselines.X`` -> ``stable_ppo2.X``; raises ImportError for SB2's other algorithms' scripts
    (their library modules are placeholders, see :mod:`stable_ppo2.legacy.unported`)."""
    if fullname == _SB2:
        return _ALIAS_PACKAGE
    rest = fullname[len(_SB2) + 1:]
    head = rest.split(".", 1)[0]
    if head in _RETIRED_MODULES:
        algo = next(name for name, module in RETIRED_ALGORITHMS.items() if module == head)
        raise ImportError(PPO2_ONLY_MESSAGE.format(what=f"the module {fullname}", algo=algo), name=fullname)
    return "stable_ppo2." + rest


class _PlaceholderLoader(importlib.abc.Loader):
    """Makes the placeholder module ``stable_baselines.<module>`` of an algorithm stable_ppo2 does not port."""

    def __init__(self, module: str) -> None:
        self.module = module

    def create_module(self, spec):
        from stable_ppo2.legacy import unported

        return unported.make_module(self.module)

    def exec_module(self, module) -> None:
        from stable_ppo2.legacy import unported

        unported.fill_module(module, self.module)


def _gym_target(fullname: str) -> str:
    if fullname == _GYM:
        return _GYM_PACKAGE
    rest = fullname[len(_GYM) + 1:]
    if rest.split(".", 1)[0] in _GYM_TO_GYMNASIUM:
        return "gymnasium." + rest
    return _GYM_PACKAGE + "." + rest


class _AliasLoader(importlib.abc.Loader):
    """Hands out the already-imported target module itself, leaving its own ``__spec__`` in place."""

    def __init__(self, target: str, sb2_module: Optional[str] = None) -> None:
        self.target = target
        self.sb2_module = sb2_module
        self._target_spec = None

    def create_module(self, spec):
        module = importlib.import_module(self.target)
        self._target_spec = getattr(module, "__spec__", None)
        return module

    def exec_module(self, module) -> None:
        # The import system stamped the alias spec on the module; the module keeps its real identity.
        if self._target_spec is not None:
            module.__spec__ = self._target_spec
        if self.sb2_module is not None:  # SB2 names of other algorithms that this module had (gail.GAIL)
            from stable_ppo2.legacy import unported

            unported.add_missing_names(module, self.sb2_module)


class AliasFinder(importlib.abc.MetaPathFinder):
    """Maps ``stable_baselines[.X]`` onto stable_ppo2 and, when enabled, ``gym[.X]`` onto the compatibility gym."""

    def __init__(self) -> None:
        self.gym_enabled = False

    def _target(self, fullname: str) -> Optional[str]:
        if fullname == _SB2 or fullname.startswith(_SB2 + "."):
            return _sb2_target(fullname)
        if self.gym_enabled and (fullname == _GYM or fullname.startswith(_GYM + ".")):
            return _gym_target(fullname)
        return None

    def find_spec(self, fullname: str, path: Optional[Sequence[str]] = None,
                  target: Optional[types.ModuleType] = None) -> Optional[importlib.machinery.ModuleSpec]:
        placeholder = self._placeholder(fullname)
        if placeholder is not None:
            return placeholder
        target_name = self._target(fullname)
        if target_name is None:
            return None
        try:
            found = importlib.util.find_spec(target_name)
        except ModuleNotFoundError:
            found = None
        if found is None:
            what = ("stable_ppo2 ports PPO2 and the parts of Stable-Baselines 2 that PPO2 uses"
                    if fullname.split(".", 1)[0] == _SB2 else
                    "the old gym API over gymnasium has gym's main classes, make/register, spaces and a few "
                    "wrappers; see docs/legacy.md")
            raise ModuleNotFoundError(f"No module named {fullname!r}: the legacy alias maps it to {target_name!r}, "
                                      f"which does not exist ({what})", name=fullname)
        sb2_module = fullname[len(_SB2) + 1:] if fullname.startswith(_SB2 + ".") else None
        return importlib.util.spec_from_loader(fullname, _AliasLoader(target_name, sb2_module),
                                               is_package=found.submodule_search_locations is not None)

    @staticmethod
    def _placeholder(fullname: str):
        """The spec of a placeholder module of SB2's other algorithms (one stable_ppo2 does not have), or None."""
        if not fullname.startswith(_SB2 + "."):
            return None
        from stable_ppo2.legacy import unported

        module = fullname[len(_SB2) + 1:]
        if not unported.is_unported_module(module) or _has_module("stable_ppo2." + module):
            return None
        return importlib.util.spec_from_loader(fullname, _PlaceholderLoader(module),
                                               is_package=unported.is_package(module))


def _has_module(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except ModuleNotFoundError:
        return False


_finder: Optional[AliasFinder] = None


def _ensure_finder() -> AliasFinder:
    global _finder
    if _finder is None:
        _finder = AliasFinder()
    if _finder not in sys.meta_path:
        sys.meta_path.insert(0, _finder)
    return _finder


def _is_ours(module) -> bool:
    """The alias package, or a bootstrap module standing in for it while it is imported."""
    if getattr(module, "__name__", None) in (_ALIAS_PACKAGE, _GYM_PACKAGE):
        return True
    module_file = getattr(module, "__file__", None) or ""
    return os.path.abspath(module_file).startswith(tuple(folder + os.sep for folder in _STAND_IN_DIRS))


def is_installed() -> bool:
    """True while ``stable_baselines`` imports resolve to stable_ppo2."""
    return _finder is not None and _finder in sys.meta_path


def install() -> None:
    """Make ``stable_baselines`` and its submodules resolve to stable_ppo2 and register retired env ids.

    Idempotent. A real ``stable_baselines`` already imported in this process is left alone (RuntimeError).
    """
    existing = sys.modules.get(_SB2)
    if existing is not None and not _is_ours(existing):
        raise RuntimeError("stable_baselines (the original package) is already imported; "
                           "import stable_ppo2.legacy before it, or use the original library")
    _ensure_finder()
    register_retired_env_ids()


def uninstall_gym() -> None:
    """Undo :func:`install_gym`: ``import gym`` and env ids given as strings behave as before."""
    global _previous_maker
    if _finder is None or not _finder.gym_enabled:
        return
    _finder.gym_enabled = False
    for name in list(sys.modules):
        if name == _GYM or name.startswith(_GYM + "."):
            # the compatibility gym's modules and the gymnasium modules that stood in for gym's
            if getattr(sys.modules[name], "__name__", "").startswith(("gymnasium", _GYM_PACKAGE)):
                del sys.modules[name]
    from stable_ppo2.common import gym_compat

    gym_compat.set_env_id_maker(_previous_maker)
    _previous_maker = None


def uninstall() -> None:
    """Undo :func:`install` and :func:`install_gym` for later imports (objects already imported stay valid)."""
    uninstall_gym()
    if _finder is not None and _finder in sys.meta_path:
        sys.meta_path.remove(_finder)
    for name in list(sys.modules):
        if name == _SB2 or name.startswith(_SB2 + "."):
            del sys.modules[name]


def gym_installed() -> bool:
    """True when a real ``gym`` package can be imported (our bootstrap folder and alias do not count)."""
    module = sys.modules.get(_GYM)
    if module is not None:
        return not _is_ours(module)
    return real_package_installed(_GYM)


def real_package_installed(name: str) -> bool:
    """True when a package ``name`` other than our stand-ins (``_bootstrap``, ``_hook``) is on ``sys.path``."""
    search_path = [entry for entry in sys.path if os.path.abspath(entry or os.curdir) not in _STAND_IN_DIRS]
    return importlib.machinery.PathFinder.find_spec(name, search_path) is not None


_previous_maker = None


def install_gym(force: bool = False) -> bool:
    """Make ``import gym`` give :mod:`stable_ppo2.legacy.gym` (the old gym API over gymnasium).

    Done only when the real ``gym`` package is not installed (or ``force``); then env ids given as
    strings to PPO2 and ``make_vec_env`` are made with the compatibility ``gym.make`` too.
    Returns True when the compatibility module is in use.
    """
    global _previous_maker
    install()
    assert _finder is not None  # install() made it
    if _finder.gym_enabled:
        return True
    if gym_installed() and not force:
        return False
    if force:
        for name in list(sys.modules):
            if name == _GYM or name.startswith(_GYM + "."):
                del sys.modules[name]
    _finder.gym_enabled = True
    from stable_ppo2.common import gym_compat
    from stable_ppo2.legacy.gym.envs.registration import make

    _previous_maker = gym_compat.set_env_id_maker(make)
    return True


def register_retired_env_ids() -> None:
    """Register SB2-era ids that gymnasium retired as aliases of their successors (``Pendulum-v0`` -> v1)."""
    import gymnasium

    from stable_ppo2.zoo.envs import ENV_RENAMES

    for old_id, new_id in ENV_RENAMES.items():
        if old_id in gymnasium.registry or new_id not in gymnasium.registry:
            continue
        spec = gymnasium.registry[new_id]
        gymnasium.register(
            id=old_id, entry_point=spec.entry_point, reward_threshold=spec.reward_threshold,
            nondeterministic=spec.nondeterministic, max_episode_steps=spec.max_episode_steps,
            order_enforce=spec.order_enforce, disable_env_checker=spec.disable_env_checker,
            additional_wrappers=spec.additional_wrappers, vector_entry_point=spec.vector_entry_point,
            kwargs=dict(spec.kwargs))


def _bootstrap_child() -> None:
    """Set-up of a process started by a legacy script (see ``_bootstrap``): alias, and gym if it was on."""
    install()
    if os.environ.get(_ENV_GYM) == "1":
        install_gym(force=True)


def _export_to_children(use_gym: bool) -> None:
    """Let processes the script starts set themselves up (multiprocessing spawn/forkserver re-import the
    script without this runner): the bootstrap folder, on their ``sys.path``, holds ``stable_baselines``
    and ``gym`` packages that install the alias (and the compatibility gym) when the script imports them."""
    if _BOOTSTRAP_DIR not in sys.path:
        sys.path.append(_BOOTSTRAP_DIR)  # spawn: children start with the parent's sys.path
    python_path = [entry for entry in os.environ.get("PYTHONPATH", "").split(os.pathsep) if entry]
    if _BOOTSTRAP_DIR not in python_path:
        os.environ["PYTHONPATH"] = os.pathsep.join(python_path + [_BOOTSTRAP_DIR])  # forkserver
    os.environ[_ENV_ALIAS] = "1"
    os.environ[_ENV_GYM] = "1" if use_gym else "0"


def run_script(script: str, args: Sequence[str] = (), gym: Optional[bool] = None) -> Dict[str, object]:
    """Run ``script`` as ``python script args...`` would, with the alias (and the old gym API) in place.

    :param gym: use the compatibility ``gym`` (None: when the real one is not installed)
    :return: the script's globals
    """
    import runpy

    script_path = os.path.abspath(script)
    if not os.path.isfile(script_path):
        raise FileNotFoundError(f"no such script: {script}")
    install()
    if gym or (gym is None and not gym_installed()):
        install_gym(force=bool(gym))
    assert _finder is not None  # install() made it
    use_gym = _finder.gym_enabled
    sys.argv = [script] + list(args)
    # As for `python script.py`: the script's folder replaces the entry for the current directory.
    script_dir = os.path.dirname(script_path)
    if sys.path and os.path.abspath(sys.path[0] or os.curdir) == os.path.abspath(os.getcwd()):
        sys.path[0] = script_dir
    else:
        sys.path.insert(0, script_dir)
    _export_to_children(use_gym)
    return runpy.run_path(script_path, run_name="__main__")


install()
