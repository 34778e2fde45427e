"""The RL zoo's PPO2 hyperparameter files (``ppo2.yml``), read without running any code from them.

A file maps env ids to settings. Besides PPO2's constructor arguments a setting may hold
``n_envs``, ``n_timesteps``, ``policy``, ``policy_kwargs`` (a dict, or the zoo's string
``"dict(net_arch=[...], act_fun=tf.nn.relu)"``), ``normalize`` (``true`` or a dict string of
VecNormalize arguments), ``frame_stack``, ``env_wrapper`` and ``env_kwargs``. Schedules written
``lin_0.001`` become :func:`~stable_ppo2.common.schedules.linear_schedule`. Strings are parsed with
:mod:`ast` into literals only; the one name allowed is ``dict`` and the only attributes are the
activation functions in :data:`ACTIVATIONS`.
"""
from __future__ import annotations

import ast
import os
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Tuple

import yaml

from stable_ppo2.common.schedules import linear_schedule
from stable_ppo2.zoo.envs import gymnasium_id, is_atari

#: The zoo's tuned PPO2 hyperparameters (rl-baselines-zoo ``hyperparams/ppo2.yml``), shipped with the package.
ZOO_FILE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "ppo2.yml")

#: Activation functions a ``policy_kwargs`` string may name, by the spellings the zoo uses.
ACTIVATIONS = {
    "tf.tanh": "tanh", "tf.nn.tanh": "tanh", "tf.nn.relu": "relu", "tf.nn.relu6": "relu6",
    "tf.nn.elu": "elu", "tf.nn.selu": "selu", "tf.nn.sigmoid": "sigmoid", "tf.sigmoid": "sigmoid",
    "tf.nn.softplus": "softplus", "tf.nn.leaky_relu": "leaky_relu", "tf.nn.swish": "silu",
    "tf.nn.silu": "silu",
}

#: Keys of a zoo setting that configure the run rather than PPO2's constructor.
RUN_KEYS = ("n_envs", "n_timesteps", "policy", "normalize", "frame_stack", "env_wrapper", "env_kwargs")
#: PPO2 arguments that may be schedules (``lin_X`` strings).
SCHEDULE_KEYS = ("learning_rate", "cliprange", "cliprange_vf")
#: PPO2 arguments a hyperparameter file may set (the constructor's, less ``policy``/``env``/private ones).
PPO2_KEYS = ("gamma", "n_steps", "ent_coef", "learning_rate", "vf_coef", "max_grad_norm", "lam",
             "nminibatches", "noptepochs", "cliprange", "cliprange_vf", "verbose", "tensorboard_log",
             "policy_kwargs", "full_tensorboard_log", "seed", "n_cpu_tf_sess")
#: Default run settings when a setting does not give them (the zoo's defaults).
DEFAULT_N_TIMESTEPS = 1_000_000


class HyperparamsError(ValueError):
    """A hyperparameter file or value that cannot be used; its message is one line for the user."""


@dataclass
class TrainConfig:
    """Everything ``stable-ppo2 train`` needs, parsed from one zoo setting.

    ``raw`` keeps the setting as written (schedules as ``lin_X`` strings), for the run's ``config.yml``.
    """

    env_id: str
    policy: str = "MlpPolicy"
    n_envs: int = 1
    n_timesteps: int = DEFAULT_N_TIMESTEPS
    normalize: Optional[Dict[str, Any]] = None
    frame_stack: Optional[int] = None
    env_wrapper: Optional[str] = None
    env_kwargs: Dict[str, Any] = field(default_factory=dict)
    model_kwargs: Dict[str, Any] = field(default_factory=dict)
    raw: Dict[str, Any] = field(default_factory=dict)
    source: str = ""
    #: where each key of ``raw`` came from (file, ``-params``, a flag, default), for ``config.yml``
    sources: Dict[str, str] = field(default_factory=dict)
    #: True when the zoo's file has no setting for the env (PPO2's defaults)
    no_zoo_entry: bool = False


def read_hyperparams_file(path: str) -> Dict[str, Any]:
    """The YAML mapping in ``path`` (``yaml.safe_load``: no Python objects)."""
    try:
        with open(path, encoding="utf-8") as file:
            table = yaml.safe_load(file)
    except OSError as exc:
        raise HyperparamsError(f"cannot read hyperparameter file {path}: {exc.strerror or exc}") from exc
    except yaml.YAMLError as exc:
        raise HyperparamsError(f"{path} is not valid YAML: {' '.join(str(exc).split())}") from exc
    if not isinstance(table, dict):
        raise HyperparamsError(f"{path} must hold a mapping of env ids (or of hyperparameters), "
                               f"got {type(table).__name__}")
    return table


def find_setting(table: Dict[str, Any], env_id: str) -> Optional[Tuple[str, Dict[str, Any]]]:
    """``(key, setting)`` for ``env_id`` in a zoo table, or None.

    Tries the id itself, then any key that names the same gymnasium env (``Pendulum-v0`` for
    ``Pendulum-v1`` and the other way round), then ``atari`` for Atari ids.
    """
    if isinstance(table.get(env_id), dict):
        return env_id, table[env_id]
    target = gymnasium_id(env_id)
    for key, setting in table.items():
        if isinstance(setting, dict) and isinstance(key, str) and gymnasium_id(key) == target:
            return key, setting
    if is_atari(env_id) and isinstance(table.get("atari"), dict):
        return "atari", table["atari"]
    return None


def _looks_flat(table: Dict[str, Any]) -> bool:
    """Whether a file holds one setting directly (``n_steps: 128``...) rather than env ids."""
    known = set(RUN_KEYS) | set(PPO2_KEYS)
    return bool(table) and all(key in known for key in table)


def load_setting(env_id: str, path: Optional[str] = None) -> Tuple[Optional[Dict[str, Any]], str]:
    """The setting for ``env_id`` from ``path`` (default: the zoo's file) and a description of where it came from.

    Returns ``(None, ...)`` when the zoo's own file has no entry for the env; a user's file without
    one is an error.
    """
    table = read_hyperparams_file(path or ZOO_FILE)
    if path is not None and _looks_flat(table):
        return dict(table), path
    found = find_setting(table, env_id)
    if found is None:
        if path is None:
            return None, "PPO2's defaults (no zoo entry)"
        keys = ", ".join(str(key) for key in list(table)[:12])
        raise HyperparamsError(f"{path} has no hyperparameters for {env_id} (it has: {keys})")
    key, setting = found
    where = "the RL zoo's ppo2.yml" if path is None else path
    return dict(setting), f"{key} in {where}"


# ---------------------------------------------------------------------------------- values
def _number(value: Any, key: str) -> float:
    if isinstance(value, bool):
        raise HyperparamsError(f"{key}: expected a number, got {value!r}")
    if isinstance(value, (int, float)):
        return value
    if isinstance(value, str):
        try:
            return float(value)  # YAML 1.1 reads "3e-4" as a string; the zoo writes !!float for those
        except ValueError:
            pass
    raise HyperparamsError(f"{key}: expected a number, got {value!r}")


def parse_schedule(value: Any, key: str = "schedule") -> Any:
    """A number, or ``lin_X`` -> ``linear_schedule(X)`` (``X`` at the start of training, 0 at the end)."""
    if isinstance(value, str) and value.startswith("lin_"):
        return linear_schedule(float(_number(value[len("lin_"):], key)))
    if value is None:
        return None
    return float(_number(value, key))


class _LiteralParser:
    """Evaluates the zoo's Python-expression strings, allowing literals, ``dict(...)`` and activations only."""

    def __init__(self, text: str, key: str) -> None:
        self.text = text
        self.key = key

    def fail(self, node: ast.AST, why: str) -> HyperparamsError:
        snippet = ast.get_source_segment(self.text, node) or self.text
        return HyperparamsError(f"{self.key}: {why} in {self.text!r} (at {snippet!r}); only literals, dict(...) "
                                f"and activations such as tf.nn.relu are allowed")

    def parse(self) -> Any:
        try:
            tree = ast.parse(self.text.strip(), mode="eval")
        except SyntaxError as exc:
            raise HyperparamsError(f"{self.key}: cannot parse {self.text!r}: {exc.msg}") from exc
        return self.value(tree.body)

    def value(self, node: ast.AST) -> Any:
        if isinstance(node, ast.Constant):
            return node.value
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
            operand = self.value(node.operand)
            if isinstance(operand, (int, float)) and not isinstance(operand, bool):
                return -operand if isinstance(node.op, ast.USub) else operand
            raise self.fail(node, "a sign before a non-number")
        if isinstance(node, ast.List):
            return [self.value(item) for item in node.elts]
        if isinstance(node, ast.Tuple):
            return tuple(self.value(item) for item in node.elts)
        if isinstance(node, ast.Dict):
            keys = [key for key in node.keys if key is not None]  # None: a '**' entry
            if len(keys) < len(node.keys):
                raise self.fail(node, "'**' unpacking")
            return {self.value(key): self.value(val) for key, val in zip(keys, node.values)}
        if isinstance(node, ast.Call):
            if not (isinstance(node.func, ast.Name) and node.func.id == "dict") or node.args:
                raise self.fail(node, "a call other than dict(key=value, ...)")
            if any(keyword.arg is None for keyword in node.keywords):
                raise self.fail(node, "'**' unpacking")
            return {keyword.arg: self.value(keyword.value) for keyword in node.keywords}
        if isinstance(node, (ast.Attribute, ast.Name)):
            dotted = _dotted_name(node)
            if dotted in ACTIVATIONS:
                return _Activation(dotted)
            if dotted in ("True", "False", "None"):
                return {"True": True, "False": False, "None": None}[dotted]
            raise self.fail(node, f"the name {dotted or '?'}")
        raise self.fail(node, f"a {type(node).__name__} expression")


def _dotted_name(node: ast.AST) -> Optional[str]:
    parts: List[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    parts.append(node.id)
    return ".".join(reversed(parts))


class _Activation(str):
    """An activation named in a hyperparameter string, resolved to the TF function when the model is built."""


def resolve_activation(name: str) -> Any:
    """The TensorFlow function for an :data:`ACTIVATIONS` spelling (imports TensorFlow)."""
    from stable_ppo2.common.tf_util import tf

    return getattr(tf.nn, ACTIVATIONS[name])


def parse_literal(value: Any, key: str) -> Any:
    """A value as written in YAML, or, for a string, the literal it spells (see :class:`_LiteralParser`)."""
    if isinstance(value, str):
        return _LiteralParser(value, key).parse()
    return value


def parse_policy_kwargs(value: Any) -> Dict[str, Any]:
    """``policy_kwargs`` as a dict; ``act_fun`` stays a name until :func:`resolve_policy_kwargs`."""
    if value is None:
        return {}
    parsed = parse_literal(value, "policy_kwargs")
    if not isinstance(parsed, dict):
        raise HyperparamsError(f"policy_kwargs must be a dict, got {value!r}")
    act_fun = parsed.get("act_fun")
    if act_fun is not None and not isinstance(act_fun, _Activation):
        if isinstance(act_fun, str) and act_fun in ACTIVATIONS:
            parsed["act_fun"] = _Activation(act_fun)
        else:
            raise HyperparamsError(f"policy_kwargs: act_fun must be one of {', '.join(sorted(ACTIVATIONS))}, "
                                   f"got {act_fun!r}")
    return parsed


def resolve_policy_kwargs(policy_kwargs: Dict[str, Any]) -> Dict[str, Any]:
    """Replace activation names by TensorFlow functions."""
    return {key: resolve_activation(value) if isinstance(value, _Activation) else value
            for key, value in policy_kwargs.items()}


def parse_normalize(value: Any) -> Optional[Dict[str, Any]]:
    """``normalize``: false/None -> None (no VecNormalize); true -> {}; a dict (or dict string) -> its arguments."""
    if value is None or value is False:
        return None
    if value is True:
        return {}
    parsed = parse_literal(value, "normalize")
    if isinstance(parsed, bool):
        return {} if parsed else None
    if not isinstance(parsed, dict):
        raise HyperparamsError(f"normalize must be true, false or a dict of VecNormalize arguments, got {value!r}")
    allowed = {"norm_obs", "norm_reward", "clip_obs", "clip_reward", "gamma", "epsilon"}
    unknown = sorted(set(parsed) - allowed)
    if unknown:
        raise HyperparamsError(f"normalize: unknown VecNormalize argument(s) {', '.join(unknown)}")
    return parsed


def _positive_int(value: Any, key: str) -> int:
    number = _number(value, key)
    if number != int(number) or number < 1:
        raise HyperparamsError(f"{key}: expected a positive integer, got {value!r}")
    return int(number)


def make_train_config(env_id: str, setting: Optional[Dict[str, Any]], source: str = "",
                      n_timesteps: Optional[int] = None, n_envs: Optional[int] = None,
                      seed: Optional[int] = None) -> TrainConfig:
    """Parse a zoo setting (None: PPO2's defaults) and apply the command line's overrides."""
    raw = dict(setting or {})
    if n_timesteps is not None:
        raw["n_timesteps"] = int(n_timesteps)
    if n_envs is not None:
        raw["n_envs"] = int(n_envs)
    if seed is not None:
        raw["seed"] = int(seed)
    config = TrainConfig(env_id=env_id, raw=raw, source=source)
    unknown = sorted(str(key) for key in raw if key not in RUN_KEYS and key not in PPO2_KEYS)
    if unknown:
        raise HyperparamsError(f"unknown hyperparameter(s) {', '.join(unknown)} in {source or 'the settings'} "
                               f"(PPO2 takes: {', '.join(PPO2_KEYS)})")
    for key, value in raw.items():
        if key == "policy":
            if not isinstance(value, str):
                raise HyperparamsError(f"policy must be a policy name such as MlpPolicy, got {value!r}")
            config.policy = value
        elif key == "n_envs":
            config.n_envs = _positive_int(value, key)
        elif key == "n_timesteps":
            config.n_timesteps = _positive_int(value, key)
        elif key == "normalize":
            config.normalize = parse_normalize(value)
        elif key == "frame_stack":
            config.frame_stack = _positive_int(value, key) if value not in (None, False) else None
        elif key == "env_wrapper":
            if value is not None and not isinstance(value, str):
                raise HyperparamsError(f"env_wrapper must be a dotted class name, got {value!r}")
            config.env_wrapper = value
        elif key == "env_kwargs":
            parsed = parse_literal(value, key) if value is not None else {}
            if not isinstance(parsed, dict):
                raise HyperparamsError(f"env_kwargs must be a dict, got {value!r}")
            config.env_kwargs = parsed
        elif key == "policy_kwargs":
            config.model_kwargs[key] = parse_policy_kwargs(value)
        elif key in SCHEDULE_KEYS:
            config.model_kwargs[key] = parse_schedule(value, key)
        elif key in ("n_steps", "nminibatches", "noptepochs", "verbose", "seed", "n_cpu_tf_sess"):
            config.model_kwargs[key] = None if value is None else int(_number(value, key))
        elif key in ("tensorboard_log",):
            config.model_kwargs[key] = value
        elif key == "full_tensorboard_log":
            config.model_kwargs[key] = bool(value)
        else:
            config.model_kwargs[key] = float(_number(value, key))
    return config
