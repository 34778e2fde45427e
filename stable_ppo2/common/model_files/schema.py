"""Which ``data`` entries a model file may carry, and the checks loading adds to the constructor's.

Loading sets a model's attributes from the file's ``data`` dict, so what a file may set is
declared per algorithm (PPO2 declares its :class:`DataSchema`): known entries are set; an entry
that names a method or any other attribute that is not data (``predict``, ``_check_hyperparameters``,
``sess``) is refused with a :class:`ModelDataError` naming it; other entries are ignored, with one
:class:`IgnoredEntryWarning` listing them. Values are then checked by the algorithm's own
constructor checks (``_check_hyperparameters``), and by :meth:`DataSchema.check` for what the
constructor does not take (``_vectorize_action``) and for sizes no machine could allocate.
"""
from __future__ import annotations

import warnings
from typing import Any, Dict, Iterable, Iterator, List, Mapping, Optional, Sequence, Tuple

import numpy as np

from stable_ppo2.common.model_files.errors import IgnoredEntryWarning, ModelDataError

#: A network layer wider than this many units is refused (the widest PPO2 networks in use have a
#: few thousand).
MAX_LAYER_WIDTH = 2 ** 16
#: A layer with more weights than this (inputs x units, 1 GiB of float32) is refused.
MAX_LAYER_WEIGHTS = 2 ** 28
#: A rollout (``n_steps * n_envs`` samples) longer than this is refused.
MAX_ROLLOUT_SAMPLES = 2 ** 24
#: A rollout whose observations alone take more bytes than this (as float32) is refused.
MAX_ROLLOUT_BYTES = 2 ** 34


class DataSchema:
    """The ``data`` entries of one algorithm's model files.

    :param entries: entry name -> its type and range in words (documentation and messages); the
        values are checked by the algorithm's constructor checks
    :param types: the types of entries the constructor does not check
    :param rollout: the entries whose product is the number of samples of a rollout
    """

    def __init__(self, entries: Mapping[str, str], *, types: Optional[Mapping[str, tuple]] = None,
                 rollout: Sequence[str] = ()) -> None:
        self.entries = dict(entries)
        self.types = dict(types or {})
        self.rollout = tuple(rollout)

    def select(self, data: Mapping[str, Any], model: Any, source: str, origin: str = "data entry",
               supplied: Iterable[str] = ()) -> Dict[str, Any]:
        """The entries of ``data`` that ``model``'s attributes may be set from.

        ``source`` names where ``data`` comes from (the file) and ``origin`` what its keys are, in
        messages. An entry naming a method or another attribute of ``model`` that is not data is
        refused, naming it (:class:`ModelDataError`); other unknown entries are dropped with one
        :class:`IgnoredEntryWarning`. ``supplied`` names entries the caller gave (``load()``'s
        keywords, custom objects): as in SB2 they may set any instance attribute
        (``tensorboard_log``), but never a method or another class attribute (ValueError).
        """
        supplied = set(supplied)
        class_attributes = set(dir(type(model)))
        non_data = class_attributes | set(vars(model))
        selected, unknown = {}, []
        for key, value in data.items():
            if not isinstance(key, str):
                raise ModelDataError(f"{origin} {key!r} is not a name")
            if key in self.entries:
                selected[key] = value
            elif key in supplied and key not in class_attributes and not key.startswith("__"):
                selected[key] = value
            elif key in non_data or key.startswith("__"):
                kind = "a method" if callable(getattr(type(model), key, None)) else "an attribute that is not data"
                error_type = ValueError if key in supplied else ModelDataError  # the caller's, or the file's
                raise error_type(f"{origin} {key!r} names {kind} of {type(model).__name__}, which a "
                                 f"model file never sets (it may set {', '.join(self.entries)})")
            else:
                unknown.append(key)
        if unknown:
            warnings.warn(f"{source}: ignoring data entries that {type(model).__name__} does not know: "
                          f"{', '.join(repr(key) for key in unknown)}", IgnoredEntryWarning)
        return selected

    def check(self, values: Mapping[str, Any]) -> None:
        """ModelDataError (naming the entry) for a value of the wrong type among :attr:`types`, or
        a size no machine could allocate: the rollout, or a layer of ``policy_kwargs``."""
        for key, expected in self.types.items():
            if key in values and not isinstance(values[key], expected):
                raise ModelDataError(f"data entry {key!r} must be {self.entries[key]}, got {values[key]!r}")
        self._check_rollout(values)
        policy_kwargs = values.get("policy_kwargs") or {}
        if isinstance(policy_kwargs, Mapping):
            _check_layers(policy_kwargs, _observation_width(values.get("observation_space")))

    def _check_rollout(self, values: Mapping[str, Any]) -> None:
        if not self.rollout:
            return
        factors = [values.get(key) for key in self.rollout]
        samples = int(np.prod([int(f) for f in factors if isinstance(f, (int, np.integer))], dtype=object))
        names = " * ".join(self.rollout)
        if samples > MAX_ROLLOUT_SAMPLES:
            raise ModelDataError(f"data entries {names} = {samples} samples per rollout, more than the "
                                 f"{MAX_ROLLOUT_SAMPLES} that can be allocated")
        width = _observation_width(values.get("observation_space"))
        if samples * width * 4 > MAX_ROLLOUT_BYTES:
            raise ModelDataError(f"data entries {names} = {samples} samples of {width} observation values "
                                 f"need {samples * width * 4} bytes, more than the {MAX_ROLLOUT_BYTES} "
                                 "that can be allocated")


def _observation_width(space: Any) -> int:
    """The number of values of one observation (1 for a space without a shape)."""
    shape = getattr(space, "shape", None) or ()
    try:
        return max(1, int(np.prod([int(n) for n in shape], dtype=object)))
    except (TypeError, ValueError):
        return 1


def _layer_chains(policy_kwargs: Mapping[str, Any]) -> Iterator[Tuple[str, list]]:
    """``(entry, widths)`` for each chain of layers ``policy_kwargs`` describes, entries named as
    in the file (``policy_kwargs['net_arch'][1]['pi']``)."""
    if "n_lstm" in policy_kwargs:
        yield "policy_kwargs['n_lstm']", [("policy_kwargs['n_lstm']", policy_kwargs["n_lstm"])]
    layers = policy_kwargs.get("layers")
    if isinstance(layers, (list, tuple)):
        yield "layers", [(f"policy_kwargs['layers'][{i}]", width) for i, width in enumerate(layers)]
    net_arch = policy_kwargs.get("net_arch")
    if isinstance(net_arch, (list, tuple)):
        shared: List[Tuple[str, Any]] = []
        for i, layer in enumerate(net_arch):
            if isinstance(layer, Mapping):
                for head in ("pi", "vf"):
                    widths = layer.get(head)
                    if isinstance(widths, (list, tuple)):
                        yield "net_arch", shared + [(f"policy_kwargs['net_arch'][{i}][{head!r}][{j}]", width)
                                                    for j, width in enumerate(widths)]
            elif not (isinstance(layer, str) and layer == "lstm"):  # "lstm" marks where the LSTM sits
                shared.append((f"policy_kwargs['net_arch'][{i}]", layer))
        yield "net_arch", shared


def _check_layers(policy_kwargs: Mapping[str, Any], input_width: int) -> None:
    for _, chain in _layer_chains(policy_kwargs):
        previous = input_width
        for entry, width in chain:
            if isinstance(width, (bool, np.bool_)) or not isinstance(width, (int, np.integer)):
                raise ModelDataError(f"data entry {entry} must be a layer width (an int), got {width!r}")
            if width > MAX_LAYER_WIDTH:
                raise ModelDataError(f"data entry {entry} = {width} units, wider than the {MAX_LAYER_WIDTH} "
                                     "a layer may have")
            if previous * int(width) > MAX_LAYER_WEIGHTS:
                raise ModelDataError(f"data entry {entry} = {width} units after {previous} inputs: "
                                     f"{previous * int(width)} weights, more than the {MAX_LAYER_WEIGHTS} "
                                     "that can be allocated")
            previous = max(int(width), 1)
