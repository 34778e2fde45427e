"""Shared code of the bootstrap packages ``stable_baselines`` and ``gym`` in this folder (see ``__init__.py``)."""
import importlib
import importlib.machinery
import importlib.util
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def load_real(name):
    """Import the installed package ``name`` from anywhere but this folder, as ``sys.modules[name]``."""
    search_path = [entry for entry in sys.path if os.path.abspath(entry or os.curdir) != HERE]
    spec = importlib.machinery.PathFinder.find_spec(name, search_path)
    if spec is None:
        del sys.modules[name]
        raise ModuleNotFoundError(f"No module named {name!r}", name=name)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def stand_in(name, target, wanted):
    """Replace the bootstrap package ``name`` by ``target`` (after setting up the alias) or by the real package."""
    if not wanted:
        return load_real(name)
    legacy = importlib.import_module("stable_ppo2.legacy")
    legacy._bootstrap_child()  # pylint: disable=protected-access
    module = importlib.import_module(target)
    sys.modules[name] = module
    return module
