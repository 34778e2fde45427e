"""The opt-in startup hook: SB2 programs run with plain ``python script.py`` (``stable-ppo2 legacy enable``).

``enable()`` writes ``stable_ppo2_legacy.pth`` into the current environment's site-packages. Python reads it
at every start-up of that environment (scripts, ``python -c``, subprocesses, Jupyter kernels) and appends
the folder it names, ``stable_ppo2/legacy/_hook``, to ``sys.path``: there ``import stable_baselines`` and
``import gym`` find stand-ins that install the alias (and the old gym API over gymnasium) on first import.
Nothing else happens at start-up, and real packages earlier on the path still win. ``disable()`` removes the
file. Both refuse where a real ``stable_baselines`` or ``gym`` package is installed.
"""
from __future__ import annotations

import importlib
import os
import sys
import sysconfig
import tempfile
from typing import List, Optional

from stable_ppo2 import legacy

__all__ = ["PTH_NAME", "HookError", "enable", "disable", "hook_file", "hook_active", "status_lines", "stand_in",
           "main"]

PTH_NAME = "stable_ppo2_legacy.pth"


class HookError(RuntimeError):
    """The hook cannot be installed or removed here (the message says why)."""


def site_packages() -> str:
    """The current environment's site-packages (a venv's own, also with ``--system-site-packages``)."""
    return sysconfig.get_path("purelib")


def hook_file(site_dir: Optional[str] = None) -> str:
    return os.path.join(site_dir or site_packages(), PTH_NAME)


def hook_active() -> bool:
    """Whether this interpreter started with the hook (its folder is on ``sys.path``)."""
    return any(os.path.abspath(entry or os.curdir) == legacy._HOOK_DIR for entry in sys.path)  # pylint: disable=protected-access


def _real_packages() -> List[str]:
    return [name for name in ("stable_baselines", "gym") if legacy.real_package_installed(name)]


def enable(site_dir: Optional[str] = None) -> str:
    """Install the hook into ``site_dir`` (default: this environment's site-packages); returns the file written.

    :raises HookError: where a real ``stable_baselines`` or ``gym`` is installed, or site-packages is not writable
    """
    real = _real_packages()
    if real:
        raise HookError(f"the real {' and '.join(real)} package{'s are' if len(real) > 1 else ' is'} installed in "
                        f"this environment ({sys.prefix}); the hook would give SB2 programs a mix of both. Use that "
                        f"installation as it is, or uninstall it (pip uninstall {' '.join(real)}) and enable again")
    path = hook_file(site_dir)
    folder = os.path.dirname(path)
    if not os.path.isdir(folder) or not os.access(folder, os.W_OK):
        raise HookError(f"cannot write into {folder}: enable the hook in a virtual environment you own "
                        f"(python -m venv ...), or with the rights to change this one")
    text = ("# stable_ppo2 legacy hook (stable-ppo2 legacy enable): `import stable_baselines` and `import gym`\n"
            "# give stable_ppo2's SB2 alias and the old gym API. Remove with `stable-ppo2 legacy disable`\n"
            "# (or delete this file).\n"
            f"{legacy._HOOK_DIR}\n")  # pylint: disable=protected-access
    handle, tmp_path = tempfile.mkstemp(dir=folder, prefix=".tmp-", suffix=".pth-tmp")
    try:
        with os.fdopen(handle, "w") as out:
            out.write(text)
        os.replace(tmp_path, path)
    except BaseException:
        os.unlink(tmp_path)
        raise
    return path


def disable(site_dir: Optional[str] = None) -> Optional[str]:
    """Remove the hook from ``site_dir`` (default: this environment's site-packages); returns the file removed,
    or None when there was none."""
    path = hook_file(site_dir)
    if not os.path.exists(path):
        return None
    os.remove(path)
    return path


def status_lines(site_dir: Optional[str] = None) -> List[str]:
    """What is active in this environment, in words."""
    path = hook_file(site_dir)
    lines = [f"startup hook: {'enabled' if os.path.exists(path) else 'disabled'} ({path})"]
    for name in ("stable_baselines", "gym"):
        if legacy.real_package_installed(name):
            lines.append(f"{name}: the real package is installed (it wins over the hook)")
        elif os.path.exists(path):
            what = "SB2 alias" if name == "stable_baselines" else "old gym API over gymnasium"
            lines.append(f"{name}: stable_ppo2's {what}")
        else:
            lines.append(f"{name}: not importable without the runner (python -m stable_ppo2.legacy SCRIPT)")
    return lines


def stand_in(name: str) -> None:
    """Replace the hook's stand-in package ``name`` (``stable_baselines`` or ``gym``) in ``sys.modules`` by the
    alias package or the compatibility gym, after installing them (the old gym API when no real gym is installed)."""
    legacy.install()
    legacy.install_gym(force=name == "gym")
    target = "stable_ppo2.legacy.alias" if name == "stable_baselines" else "stable_ppo2.legacy.gym"
    sys.modules[name] = importlib.import_module(target)


def main(action: str) -> int:
    """``stable-ppo2 legacy enable|disable|status``; returns the exit code."""
    try:
        if action == "enable":
            path = enable()
            print(f"legacy hook enabled: {path}\nSB2 programs now run with plain `python script.py` in this "
                  f"environment; `stable-ppo2 legacy disable` removes the hook.")
        elif action == "disable":
            removed = disable()
            print(f"legacy hook removed: {removed}" if removed else f"no legacy hook to remove ({hook_file()})")
        else:
            print("\n".join(status_lines()))
    except HookError as exc:
        print(f"stable-ppo2 legacy {action}: error: {exc}", file=sys.stderr)
        return 1
    return 0
