"""Export a trained policy for serving: a TF SavedModel or a TFLite flatbuffer (issue #11).

The exported graph goes from the env's **raw** observations to actions and values, with
everything ``model.predict`` does on the way: VecNormalize's observation normalisation (when
statistics are given; baked in as constants), SB2's preprocessing (one-hot, uint8 -> float, /255
for CNN policies), the network, the distribution's mode (or a sample) and, for Box actions, the
clipping to the action bounds. Recurrent policies take and return their state. The batch
dimension is dynamic.

A SavedModel loads with plain ``tf.saved_model.load`` (no stable_ppo2 needed)::

    policy = tf.saved_model.load("exported")
    out = policy.signatures["serving_default"](obs=tf.constant(obs))
    actions = out["action"].numpy()

Serving signature ``serving_default`` (also callable as ``policy.serve(obs[, state, mask])``,
which returns the same dict):

- inputs: ``obs`` ``[batch, *obs_shape]`` (the observation space's dtype; int32 for Discrete and
  MultiDiscrete); recurrent policies also ``state`` float32 ``[batch, state_size]`` and ``mask``
  float32 ``[batch]`` (1.0 where an episode starts: the state is reset before the step, as
  ``predict``'s ``mask``);
- outputs: ``action`` (int64 ``[batch]`` for Discrete, int64 ``[batch, n]`` for MultiDiscrete,
  float32 ``[batch, n]`` for Box and MultiBinary), ``value`` float32 ``[batch]``, and for
  recurrent policies ``state`` float32 ``[batch, state_size]``.

``stochastic=True`` samples instead (Gumbel-max for categoricals, Gaussian noise for Box,
uniform thresholds for MultiBinary) with TF's seeded ``RandomUniform``/``RandomStandardNormal``
ops, which serialise in both formats and give a new draw on every call.
"""
from __future__ import annotations

import json
import os
import shutil
import tempfile
import warnings
from typing import TYPE_CHECKING, Any, Dict, Optional, Tuple

import numpy as np
from gymnasium import spaces

from stable_ppo2.common.input import input_dtype, input_shape
from stable_ppo2.common.model_files.atomic import atomic_write
from stable_ppo2.common.tf_util import tf

if TYPE_CHECKING:
    from stable_ppo2.common.base_class import ActorCriticRLModel
    from stable_ppo2.common.policies import ActorCriticPolicy

FORMATS = ("saved_model", "tflite")
SIGNATURE_KEY = "serving_default"
#: written into the SavedModel folder (and beside a .tflite file as ``<file>.json``)
INFO_FILE = "stable_ppo2_export.json"


class ExportWarning(UserWarning):
    """Something about an export the user should know (a fallback taken, statistics left out)."""


# ---------------------------------------------------------------------------------- normalisation
def observation_normalization(vec_normalize: Any, ob_space: spaces.Space) -> Optional[Dict[str, Any]]:
    """VecNormalize's observation statistics as constants: ``{mean, std, clip}`` (float32) or None.

    ``vec_normalize``: a :class:`~stable_ppo2.common.vec_env.VecNormalize` (attached to an env or
    not), or anything with an ``obs_rms`` (``mean``, ``var``) and optionally ``epsilon``,
    ``clip_obs``, ``norm_obs``; or a bare ``RunningMeanStd`` (VecNormalize's defaults
    ``epsilon=1e-8``, ``clip_obs=10``). None, or ``norm_obs=False``: no normalisation.
    """
    if vec_normalize is None:
        return None
    if hasattr(vec_normalize, "obs_rms"):
        if not getattr(vec_normalize, "norm_obs", True):
            return None
        rms = vec_normalize.obs_rms
        epsilon = float(getattr(vec_normalize, "epsilon", 1e-8))
        clip_obs = float(getattr(vec_normalize, "clip_obs", 10.0))
    elif hasattr(vec_normalize, "mean") and hasattr(vec_normalize, "var"):
        rms, epsilon, clip_obs = vec_normalize, 1e-8, 10.0
    else:
        raise TypeError(f"vec_normalize must be a VecNormalize (or have obs_rms with mean and var), "
                        f"got {type(vec_normalize).__name__}")
    if not isinstance(ob_space, spaces.Box):
        raise ValueError(f"VecNormalize statistics only apply to Box observations, the model's "
                         f"observation space is {ob_space}")
    mean, var = np.asarray(rms.mean, np.float64), np.asarray(rms.var, np.float64)
    if mean.shape != tuple(ob_space.shape) or var.shape != tuple(ob_space.shape):
        raise ValueError(f"VecNormalize statistics of shape {mean.shape} do not fit the model's "
                         f"observations of shape {ob_space.shape}")
    return {"mean": mean.astype(np.float32), "std": np.sqrt(var + epsilon).astype(np.float32),
            "clip": np.float32(clip_obs)}


class PolicyModule(tf.Module):
    """A ``tf.Module`` serving one policy: raw observations -> actions, values (and states).

    It refers to the policy's variables (it does not copy them); :func:`export_policy` saves it.
    """

    def __init__(self, policy: ActorCriticPolicy, normalization: Optional[Dict[str, Any]] = None,
                 stochastic: bool = False, seed: Optional[int] = None) -> None:
        super().__init__(name="stable_ppo2_policy")
        policy.build()
        self.policy_variables = list(policy.get_parameter_list())
        ob_space = policy.ob_space
        pdtype = policy.pdtype
        recurrent = bool(policy.recurrent)

        def actions_and_values(obs, state=None, mask=None):
            if normalization is not None:
                obs = tf.cast(obs, tf.float32)
                obs = tf.clip_by_value((obs - normalization["mean"]) / normalization["std"],
                                       -normalization["clip"], normalization["clip"])
            pdparam, value, _, new_state = policy.network_with_state(obs, state, mask)
            actions = (pdtype.tf_sample(pdparam, seed) if stochastic
                       else pdtype.proba_distribution_from_flat(pdparam).mode())
            actions = pdtype.tf_clip_actions(actions)
            outputs = {"action": tf.identity(actions, name="action"), "value": tf.identity(value, name="value")}
            if recurrent:
                outputs["state"] = tf.identity(new_state, name="state")
            return outputs

        obs_spec = tf.TensorSpec((None,) + tuple(input_shape(ob_space)), tf.as_dtype(input_dtype(ob_space)),
                                 name="obs")
        if recurrent:
            specs = [obs_spec, tf.TensorSpec((None, int(policy.state_size)), tf.float32, name="state"),
                     tf.TensorSpec((None,), tf.float32, name="mask")]

            def serve(obs, state, mask):
                return actions_and_values(obs, state, mask)
        else:
            specs = [obs_spec]

            # the exported function's arguments follow the policy: one signature per branch on purpose
            def serve(obs):  # type: ignore[misc]
                return actions_and_values(obs)

        self.serve = tf.function(serve, input_signature=specs, autograph=False)


# ---------------------------------------------------------------------------------- export
def _info(model, policy, format: str, normalization, stochastic: bool) -> Dict[str, Any]:
    import stable_ppo2  # pylint: disable=import-outside-toplevel

    inputs = {"obs": {"shape": [None] + list(input_shape(policy.ob_space)),
                      "dtype": np.dtype(input_dtype(policy.ob_space)).name}}
    outputs = {"action": {"shape": [None] + list(policy.pdtype.sample_shape()),
                          "dtype": np.dtype(policy.pdtype.action_dtype).name},
               "value": {"shape": [None], "dtype": "float32"}}
    if policy.recurrent:
        inputs["state"] = {"shape": [None, int(policy.state_size)], "dtype": "float32"}
        inputs["mask"] = {"shape": [None], "dtype": "float32"}
        outputs["state"] = {"shape": [None, int(policy.state_size)], "dtype": "float32"}
    return {
        "stable_ppo2": stable_ppo2.__version__, "format": format, "signature": SIGNATURE_KEY,
        "policy": type(policy).__name__, "recurrent": bool(policy.recurrent),
        "observation_space": repr(policy.ob_space), "action_space": repr(model.action_space),
        "stochastic": bool(stochastic), "vec_normalize": None if normalization is None else {
            "mean": normalization["mean"].tolist(), "std": normalization["std"].tolist(),
            "clip_obs": float(normalization["clip"])},
        "inputs": inputs, "outputs": outputs,
    }


def _save_saved_model(module: PolicyModule, path: str) -> None:
    concrete = module.serve.get_concrete_function()
    tf.saved_model.save(module, path, signatures={SIGNATURE_KEY: concrete})


def _convert_tflite(saved_model_dir: str) -> bytes:
    """TFLite builtin ops first; TF ops (Flex, needs the full TF runtime) only if that fails."""
    converter = tf.lite.TFLiteConverter.from_saved_model(saved_model_dir, signature_keys=[SIGNATURE_KEY])
    try:
        return converter.convert()
    except Exception as error:  # pylint: disable=broad-except
        warnings.warn(f"TFLite builtin ops cannot express this policy ({' '.join(str(error).split())[:300]}); "
                      "converting with SELECT_TF_OPS: the interpreter then needs the Flex delegate "
                      "(the full TF runtime or tensorflow-lite-select-tf-ops)", ExportWarning)
        converter = tf.lite.TFLiteConverter.from_saved_model(saved_model_dir, signature_keys=[SIGNATURE_KEY])
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS, tf.lite.OpsSet.SELECT_TF_OPS]
        return converter.convert()


def export_policy(model: ActorCriticRLModel, path: str, format: str = "saved_model", vec_normalize: Any = None,
                  stochastic: bool = False, seed: Optional[int] = None) -> str:
    """Write ``model``'s policy as a SavedModel folder or a ``.tflite`` file at ``path``; returns ``path``.

    :param model: a PPO2 (actor-critic) model, trained, loaded from our files or from SB2's
    :param path: a folder (``saved_model``; replaced if it holds a SavedModel) or a file (``tflite``)
    :param format: ``"saved_model"`` or ``"tflite"``
    :param vec_normalize: VecNormalize (or its ``obs_rms`` statistics) the model was trained
        with: ``clip((obs - mean) / sqrt(var + epsilon), -clip_obs, clip_obs)`` is folded in;
        default None: none (a warning says so when the model trains on a VecNormalize env)
    :param stochastic: sample actions instead of taking the distribution's mode
    :param seed: op seed of the sampling ops (stochastic only; None: TF's global seed, if any)
    """
    if format not in FORMATS:
        raise ValueError(f"format must be one of {', '.join(FORMATS)}, got {format!r}")
    policy = getattr(model, "act_model", None)
    if policy is None:
        raise ValueError("the model has no policy to export (call setup_model() or load it first)")
    path = os.fspath(path)
    if vec_normalize is None and getattr(model, "get_vec_normalize_env", lambda: None)() is not None:
        warnings.warn("the model trains on a VecNormalize env but no vec_normalize= was given: the export "
                      "expects observations normalised already (pass vec_normalize=model.get_vec_normalize_env() "
                      "to fold the statistics in)", ExportWarning)
    normalization = observation_normalization(vec_normalize, policy.ob_space)
    module = PolicyModule(policy, normalization, stochastic=stochastic, seed=seed)
    info = _info(model, policy, format, normalization, stochastic)
    if format == "saved_model":
        if os.path.isfile(path):
            raise ValueError(f"{path} is a file; a SavedModel is a folder")
        if os.path.isdir(path) and os.listdir(path):
            if not os.path.isfile(os.path.join(path, "saved_model.pb")):
                raise ValueError(f"{path} is a non-empty folder that holds no SavedModel: not overwriting it")
            shutil.rmtree(path)
        _save_saved_model(module, path)
        with open(os.path.join(path, INFO_FILE), "w", encoding="utf-8") as file:
            json.dump(info, file, indent=1)
        return path
    if os.path.isdir(path):
        raise ValueError(f"{path} is a folder; a TFLite model is one file")
    with tempfile.TemporaryDirectory(prefix="stable_ppo2_export_") as tmp:
        saved_dir = os.path.join(tmp, "saved_model")
        _save_saved_model(module, saved_dir)
        flatbuffer = _convert_tflite(saved_dir)
    atomic_write(path, lambda file: file.write(flatbuffer))
    with open(path + ".json", "w", encoding="utf-8") as file:
        json.dump(info, file, indent=1)
    return path


def load_statistics(found: Tuple[str, str]) -> Any:
    """The statistics ``zoo.normalization.find_statistics`` found, without an env: a VecNormalize
    (ours, read safely) or a ``RunningMeanStd`` (the zoo's ``obs_rms.pkl``)."""
    from stable_ppo2.common.model_files.unpickler import load_object_from_path, load_running_mean_std  # pylint: disable=import-outside-toplevel
    from stable_ppo2.common.vec_env import VecNormalize  # pylint: disable=import-outside-toplevel

    kind, path = found
    if kind == "vecnormalize":
        return load_object_from_path(path, trust=False, expected=(VecNormalize,))
    return load_running_mean_std(os.path.join(path, "obs_rms.pkl"))
