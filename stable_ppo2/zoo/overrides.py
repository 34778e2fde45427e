"""Command-line overrides of a zoo setting: ``-params KEY:VALUE ...`` and ``--env-kwargs KEY:VALUE ...``.

A value is read as the zoo's YAML strings are (:func:`~stable_ppo2.zoo.hyperparams.parse_literal`: literals,
``dict(...)`` and activation names, never ``eval``); ``lin_X`` schedules and bare words such as ``MlpPolicy``
stay strings for :func:`~stable_ppo2.zoo.hyperparams.make_train_config` to check. Each final value keeps
where it came from, for the run's ``config.yml``.
"""
from __future__ import annotations

import re
from typing import Any, Dict, Optional, Sequence

from stable_ppo2.zoo.hyperparams import HyperparamsError, parse_literal

_YAML_WORDS = {"true": True, "false": False, "null": None}  # as the zoo's YAML files spell them
_BARE_WORD = re.compile(r"^[A-Za-z_][A-Za-z0-9_.\-]*$")


def parse_value(text: str, key: str) -> Any:
    """The value ``text`` spells: a literal (number, bool as in Python or YAML, list, dict, ``dict(...)``), or a
    bare word as a string."""
    if text.startswith("lin_"):
        return text
    if text in _YAML_WORDS:
        return _YAML_WORDS[text]
    try:
        return parse_literal(text, key)
    except HyperparamsError:
        if _BARE_WORD.match(text) and text not in ("True", "False", "None"):
            return text
        raise


def parse_pairs(items: Optional[Sequence[str]], flag: str, containers_as_text: bool = False) -> Dict[str, Any]:
    """``["n_steps:256", "policy_kwargs:dict(net_arch=[64])"]`` -> ``{"n_steps": 256, ...}``.

    With ``containers_as_text`` a dict or list value stays the checked text (as the zoo's YAML writes
    ``policy_kwargs``), so that it is recorded in ``config.yml`` as given.
    """
    parsed: Dict[str, Any] = {}
    for item in items or ():
        key, sep, text = item.partition(":")
        key = key.strip()
        if not sep or not key.isidentifier():
            raise HyperparamsError(f"{flag}: expected KEY:VALUE, got {item!r}")
        if not text.strip():
            raise HyperparamsError(f"{flag}: no value for {key!r} in {item!r}")
        value = parse_value(text.strip(), key)
        parsed[key] = text.strip() if containers_as_text and isinstance(value, (dict, list, tuple)) else value
    return parsed


def apply_overrides(setting: Optional[Dict[str, Any]], source: str, params: Dict[str, Any],
                    env_kwargs: Dict[str, Any], command_line: Dict[str, Any]) -> tuple:
    """The setting with ``-params``, ``--env-kwargs`` and other command-line values (``--n-timesteps`` ...)
    applied, and ``{key: where it came from}`` for every key of the result."""
    merged = dict(setting or {})
    sources = {key: source for key in merged}
    for key, value in params.items():
        merged[key] = value
        sources[key] = "-params"
    if env_kwargs:
        base = parse_literal(merged.get("env_kwargs") or {}, "env_kwargs")
        if not isinstance(base, dict):
            raise HyperparamsError(f"env_kwargs must be a dict, got {merged.get('env_kwargs')!r}")
        merged["env_kwargs"] = {**base, **env_kwargs}
        previous = sources.get("env_kwargs")
        sources["env_kwargs"] = "--env-kwargs" if previous is None else f"{previous} + --env-kwargs"
    for flag, (key, value) in command_line.items():
        if value is not None:
            merged[key] = value
            sources[key] = flag
    return merged, sources


def config_yaml(env_id: str, setting: Dict[str, Any], sources: Dict[str, str]) -> str:
    """``setting`` as a zoo file for ``env_id`` (usable with ``--hyperparams``), each line commented with
    where its value came from."""
    import yaml

    lines = [f"{yaml.safe_dump(env_id).splitlines()[0]}:"]
    for key, value in setting.items():
        flow = yaml.safe_dump(value, default_flow_style=True, width=10**6).strip()
        flow = flow[:-len("...")].strip() if flow.endswith("...") else flow
        lines.append(f"  {key}: {flow}  # from {sources.get(key, 'default')}")
    return "\n".join(lines) + "\n"
