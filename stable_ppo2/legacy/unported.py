"""SB2's other algorithms (A2C, ACER, ACKTR, DDPG, DQN, GAIL, HER, PPO1, SAC, TD3, TRPO) as placeholders.

Legacy programs import them next to PPO2 (the RL zoo's ``train.py`` puts them all in one dict) and
subclass their policy classes at import time. Every public name of their modules imports, and every
class can be subclassed (policy classes derive from stable_ppo2's ``BasePolicy``, so ``register_policy``
accepts subclasses, as in SB2); constructing, loading or calling one, or reading a public attribute of
such a class, raises :class:`UnportedAlgorithmError`, which names the algorithm. The modules are made
from one table, :data:`UNPORTED_MODULES`, by the ``stable_baselines`` alias.
"""
from __future__ import annotations

import abc
import ast
import importlib
import types
from typing import Any, Callable, Dict, Optional, Tuple

from stable_ppo2.legacy import PPO2_ONLY_MESSAGE, RETIRED_ALGORITHMS

__all__ = ["UNPORTED_MODULES", "UnportedAlgorithmError", "UnportedMeta", "placeholder_class", "placeholder_function",
           "is_unported_module", "is_package", "make_module", "fill_module", "add_missing_names", "unported_attribute"]

# SB2 module (below ``stable_baselines``) -> its public names, space-separated:
#   ``Name``        a placeholder class;      ``Name(Base)``  one whose base is ``Base`` (an earlier name of the
#   ``name()``      a placeholder function;   module, or ``BasePolicy``: stable_ppo2's policy base class)
#   ``a.b.Name``    the object ``stable_baselines.a.b.Name`` (a package's re-export; real or placeholder)
#   ``NAME=value``  a constant (a Python literal without spaces)
# Modules that stable_ppo2 has (``gail``, ``common.base_class``) get the names they lack.
_POLICIES = "FeedForwardPolicy({0}) CnnPolicy(FeedForwardPolicy) LnCnnPolicy(FeedForwardPolicy) " \
            "MlpPolicy(FeedForwardPolicy) LnMlpPolicy(FeedForwardPolicy)"
_REEXPORTED_POLICIES = "{0}.policies.MlpPolicy {0}.policies.CnnPolicy {0}.policies.LnMlpPolicy {0}.policies.LnCnnPolicy"
UNPORTED_MODULES: Dict[str, str] = {
    "a2c": "a2c.a2c.A2C",
    "a2c.a2c": "discount_with_dones() A2C A2CRunner",
    "acer": "acer.acer_simple.ACER",
    "acer.acer_simple": "get_by_index() strip() q_retrace() EpisodeStats ACER",
    "acer.buffer": "Buffer",
    "acktr": "acktr.acktr.ACKTR",
    "acktr.acktr": "ACKTR",
    "acktr.kfac": "KFAC_DEBUG=False KfacOptimizer",
    "acktr.kfac_utils": "gmatmul() clipout_neg() detect_min_val() factor_reshape()",
    "ddpg": "common.noise.AdaptiveParamNoiseSpec common.noise.NormalActionNoise "
            "common.noise.OrnsteinUhlenbeckActionNoise ddpg.ddpg.DDPG " + _REEXPORTED_POLICIES.format("ddpg"),
    "ddpg.ddpg": "normalize() denormalize() reduce_std() reduce_var() get_target_updates() get_perturbable_vars() "
                 "get_perturbed_actor_updates() DDPG",
    "ddpg.noise": "common.noise.AdaptiveParamNoiseSpec common.noise.ActionNoise common.noise.NormalActionNoise "
                  "common.noise.OrnsteinUhlenbeckActionNoise",
    "ddpg.policies": "DDPGPolicy(BasePolicy) " + _POLICIES.format("DDPGPolicy"),
    "deepq": _REEXPORTED_POLICIES.format("deepq") + " deepq.build_graph.build_act deepq.build_graph.build_train "
             "deepq.dqn.DQN common.buffers.ReplayBuffer common.buffers.PrioritizedReplayBuffer wrap_atari_dqn()",
    "deepq.build_graph": "scope_vars() scope_name() absolute_scope_name() default_param_noise_filter() build_act() "
                         "build_act_with_param_noise() build_train()",
    "deepq.dqn": "DQN",
    "deepq.policies": "DQNPolicy(BasePolicy) " + _POLICIES.format("DQNPolicy"),
    "gail": "gail.model.GAIL",
    "gail.adversary": "logsigmoid() logit_bernoulli_entropy() TransitionClassifier",
    "gail.model": "GAIL",
    "her": "her.her.HER her.replay_buffer.GoalSelectionStrategy her.replay_buffer.HindsightExperienceReplayWrapper "
           "her.utils.HERGoalEnvWrapper",
    "her.her": "HER",
    "her.replay_buffer": "GoalSelectionStrategy HindsightExperienceReplayWrapper",
    "her.utils": "KEY_ORDER=['observation','achieved_goal','desired_goal'] HERGoalEnvWrapper",
    "ppo1": "ppo1.pposgd_simple.PPO1",
    "ppo1.pposgd_simple": "PPO1",
    "sac": "sac.sac.SAC " + _REEXPORTED_POLICIES.format("sac"),
    "sac.policies": "EPS=1e-6 LOG_STD_MAX=2 LOG_STD_MIN=-20 gaussian_likelihood() gaussian_entropy() "
                    "clip_but_pass_gradient() apply_squashing_func() SACPolicy(BasePolicy) "
                    + _POLICIES.format("SACPolicy"),
    "sac.sac": "SAC",
    "td3": "common.noise.NormalActionNoise common.noise.OrnsteinUhlenbeckActionNoise td3.td3.TD3 "
           + _REEXPORTED_POLICIES.format("td3"),
    "td3.policies": "TD3Policy(BasePolicy) " + _POLICIES.format("TD3Policy"),
    "td3.td3": "TD3",
    "trpo_mpi": "trpo_mpi.trpo_mpi.TRPO",
    "trpo_mpi.trpo_mpi": "TRPO",
    "trpo_mpi.utils": "add_vtarg_and_adv()",
    "common.buffers": "ReplayBuffer PrioritizedReplayBuffer(ReplayBuffer)",
    "common.segment_tree": "unique() SegmentTree SumSegmentTree(SegmentTree) MinSegmentTree(SegmentTree)",
    "common.bit_flipping_env": "BitFlippingEnv",
    "common.base_class": "stable_ppo2.legacy.unvec._UnvecWrapper OffPolicyRLModel",
}

# Who needs the shared modules' names (for the error message).
_OWNERS = {"common.buffers": "DQN", "common.segment_tree": "DQN", "common.bit_flipping_env": "HER",
           "common.base_class": "DQN, SAC, TD3, DDPG and HER"}
_MODULE_TO_ALGO = {module: name for name, module in RETIRED_ALGORITHMS.items()}


class UnportedAlgorithmError(NotImplementedError):
    """An SB2 algorithm other than PPO2 (or a piece of one) was constructed, loaded or called."""


def _algorithm_of(module: str) -> str:
    return _OWNERS.get(module) or _MODULE_TO_ALGO[module.split(".")[0]]


def _error(what: str, algo: str) -> UnportedAlgorithmError:
    return UnportedAlgorithmError(PPO2_ONLY_MESSAGE.format(what=what, algo=algo))


class UnportedMeta(abc.ABCMeta):
    """Metaclass of the placeholder classes: reading a public attribute they lack (``DQN.load``) raises."""

    def __getattr__(cls, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        raise _error(f"{cls._sb2_path}.{name}", cls._sb2_algorithm)


def _refuse(self: Any, *args: Any, **kwargs: Any) -> None:
    cls = type(self)
    what = cls._sb2_path if "_sb2_path" in vars(cls) else f"{cls.__qualname__} (a subclass of {cls._sb2_path})"
    raise _error(what, cls._sb2_algorithm)


def placeholder_class(name: str, module: str, bases: Tuple[type, ...] = ()) -> type:
    """A subclassable class ``stable_baselines.<module>.<name>`` whose construction raises."""
    path = f"stable_baselines.{module}.{name}"
    algo = _algorithm_of(module)
    namespace = {"__init__": _refuse, "__module__": f"stable_baselines.{module}", "__qualname__": name,
                 "__doc__": f"Placeholder for SB2's {path}: " + PPO2_ONLY_MESSAGE.format(what=path, algo=algo),
                 "_sb2_path": path, "_sb2_algorithm": algo}
    made = UnportedMeta(name, bases or (object,), namespace)
    made.__abstractmethods__ = frozenset()  # constructing it (or a subclass) reaches _refuse
    return made


def placeholder_function(name: str, module: str) -> Callable[..., Any]:
    """A function ``stable_baselines.<module>.<name>`` that raises when called."""
    path = f"stable_baselines.{module}.{name}"
    algo = _algorithm_of(module)

    def placeholder(*args: Any, **kwargs: Any) -> Any:
        raise _error(path, algo)

    placeholder.__name__ = placeholder.__qualname__ = name
    placeholder.__module__ = f"stable_baselines.{module}"
    placeholder.__doc__ = f"Placeholder for SB2's {path}."
    return placeholder


def _resolve(reference: str) -> Any:
    """``a.b.Name`` -> the object ``stable_baselines.a.b.Name`` (``stable_ppo2.x.Name``: that module's)."""
    module, _, name = reference.rpartition(".")
    if not module.startswith("stable_ppo2."):
        module = "stable_baselines." + module
    return getattr(importlib.import_module(module), name)


def _items(module: str) -> Dict[str, Any]:
    """The names of ``module``'s table row, made (in order, so bases come first)."""
    made: Dict[str, Any] = {}
    for item in UNPORTED_MODULES[module].split():
        if "=" in item:
            name, value = item.split("=", 1)
            made[name] = ast.literal_eval(value)
        elif item.endswith("()"):
            made[item[:-2]] = placeholder_function(item[:-2], module)
        elif "(" in item:
            name, base_name = item[:-1].split("(")
            base = made[base_name] if base_name in made else _base(base_name)
            made[name] = placeholder_class(name, module, (base,))
        elif "." in item:
            made[item.rsplit(".", 1)[1]] = _resolve(item)
        else:
            made[item] = placeholder_class(item, module)
    return made


def _base(name: str) -> type:
    if name != "BasePolicy":
        raise KeyError(f"unknown base {name!r} in UNPORTED_MODULES")
    from stable_ppo2.common.policies import BasePolicy

    return BasePolicy


def is_unported_module(module: str) -> bool:
    """Whether ``stable_baselines.<module>`` has a row in the table (a placeholder module, or names for ours)."""
    return module in UNPORTED_MODULES


def is_package(module: str) -> bool:
    """Whether the table has submodules of ``module``."""
    return any(other.startswith(module + ".") for other in UNPORTED_MODULES)


def make_module(module: str) -> types.ModuleType:
    """The placeholder module ``stable_baselines.<module>`` (its names are made when it is executed)."""
    made = types.ModuleType(f"stable_baselines.{module}",
                            f"Placeholder for SB2's stable_baselines.{module}: " + PPO2_ONLY_MESSAGE.format(
                                what=f"stable_baselines.{module}", algo=_algorithm_of(module)))
    if is_package(module):
        made.__path__ = []  # a package: its submodules come from the alias finder too
    return made


def fill_module(target: types.ModuleType, module: str) -> None:
    """Put the names of ``module``'s table row on ``target``."""
    made = _items(module)
    for name, value in made.items():
        setattr(target, name, value)
    setattr(target, "__all__", list(made))  # a module object: its __all__ is set like any attribute


def add_missing_names(target: types.ModuleType, module: str) -> None:
    """Give a stable_ppo2 module the SB2 names of ``module``'s table row that it lacks (``gail.GAIL``)."""
    if module in UNPORTED_MODULES:
        for name, value in _items(module).items():
            if not hasattr(target, name):
                setattr(target, name, value)


def unported_attribute(name: str) -> Optional[Any]:
    """``stable_baselines.<name>`` for SB2's other algorithms (``A2C``...), else None."""
    module = RETIRED_ALGORITHMS.get(name)
    if module is None:
        return None
    return _resolve(f"{module}.{name}")
