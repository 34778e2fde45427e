"""The training state of a PPO2 run, saved in the model file so that a killed run resumes exactly.

``model.save(path, include_training_state=True)`` adds one entry, ``training_state``, to SB2's zip
(SB2 and older stable_ppo2 ignore entries they do not know); ``PPO2.load(path, env=env)`` restores it
and ``model.learn(total_timesteps, reset_num_timesteps=False)`` with the interrupted call's
``total_timesteps`` then runs only its remaining updates, with the same schedule values. The state is:

- the update index and ``total_timesteps`` of the interrupted ``learn`` call, ``num_timesteps``;
- Adam's moments and power accumulators;
- the numpy global RNG (minibatch shuffling), Python's RNG and the policy's action-sampling RNG
  (``act_model.np_random``); TensorFlow's RNG is not used while training;
- the runner's current observations, recurrent states and done flags, the last 100 episodes;
- every wrapper layer of every env of a ``DummyVecEnv`` (``TimeLimit``'s elapsed steps, ``Monitor``'s
  counters, the env's own ``unwrapped`` attributes and ``np_random``), and VecNormalize's statistics
  and running returns;
- where each Monitor file ended, so that a resumed run drops the rows written after the checkpoint.

An env whose attributes cannot be saved safely (Box2D and MuJoCo simulators, custom objects) is not
restored mid-episode: it starts a new episode when the run resumes (its interrupted episode is not
logged), and :func:`restore_training_state` names it. The entry is a pickle read with stable_ppo2's
safe unpickler (numpy, builtins and spaces only), like every other pickle in a model file.
"""
from __future__ import annotations

import io
import os
import pickle
import random
import re
import warnings
from typing import IO, Any, Dict, List, Optional, Tuple, Union

import numpy as np

from stable_ppo2.common.callbacks import BaseCallback
from stable_ppo2.common.model_files.formats import read_zip_entry
from stable_ppo2.common.model_files.unpickler import load_object

ENTRY = "training_state"
FORMAT = 1
#: Wrapper attributes that belong to the process (open files, writers), not to the env's state.
_PROCESS_ATTRIBUTES = ("env", "file_handler", "logger", "spec")


class TrainingStateWarning(UserWarning):
    """Part of the training state could not be restored exactly (named in the message)."""


# ------------------------------------------------------------------------------------ safe pickles
def _read_safe(data: bytes, trust: bool = False) -> Any:
    """A pickled training-state value read back with the model files' safe unpickler."""
    return load_object(io.BytesIO(data), "the training state", trust)


def _safe_bytes(value: Any) -> Optional[bytes]:
    """``value`` pickled, if stable_ppo2's safe unpickler reads it back whole; else None."""
    try:
        data = pickle.dumps(value, protocol=4)
        _read_safe(data)
    except Exception:  # pylint: disable=broad-except
        return None
    return data


# ------------------------------------------------------------------------------------------- envs
def _layers(env: Any) -> List[Any]:
    """An env's wrapper chain, outermost first, down to ``unwrapped``."""
    layers = [env]
    while hasattr(layers[-1], "env") and layers[-1] is not layers[-1].unwrapped:
        layers.append(layers[-1].env)
    return layers


def _capture_env(env: Any) -> Optional[List[Dict[str, Any]]]:
    """The attributes of every layer, or None if the env itself cannot be saved (restore at an episode
    boundary). A wrapper attribute that cannot be saved is left as the fresh env has it."""
    captured = []
    for layer in _layers(env):
        state = {}
        for name, value in vars(layer).items():
            if name in _PROCESS_ATTRIBUTES:
                continue
            if _safe_bytes(value) is None:
                if layer is env.unwrapped:
                    return None
                continue
            state[name] = value
        if getattr(layer, "file_handler", None) is not None:
            layer.file_handler.flush()
            state["_monitor_file"] = (layer.file_handler.name, layer.file_handler.tell())
        captured.append(state)
    return captured


def _restore_env(env: Any, captured: List[Dict[str, Any]]) -> None:
    for layer, state in zip(_layers(env), captured):
        state = dict(state)
        monitor_file = state.pop("_monitor_file", None)
        vars(layer).update(state)
        if monitor_file is not None and getattr(layer, "file_handler", None) is not None:
            _continue_monitor_file(layer.file_handler, *monitor_file)


def _continue_monitor_file(handler: IO[str], path: str, size: int) -> None:
    """Put the rows the file had at the checkpoint back into the Monitor's (re-created) file."""
    backup = path + ".resume"
    source = backup if os.path.isfile(backup) else None
    if source is None:
        return
    with open(source, "rb") as file:
        content = file.read(size).decode()
    handler.seek(0)
    handler.truncate()
    handler.write(content)
    handler.flush()


def preserve_monitor_files(monitor_dir: str) -> None:
    """Copy each Monitor file to ``*.resume`` before the envs of a resumed run re-create them (a new
    Monitor starts its file afresh); :func:`restore_training_state` then puts the rows back up to the
    checkpoint and :func:`drop_monitor_backups` removes the copies."""
    import shutil

    for name in os.listdir(monitor_dir) if os.path.isdir(monitor_dir) else []:
        if name.endswith("monitor.csv"):
            path = os.path.join(monitor_dir, name)
            if not os.path.isfile(path + ".resume"):  # a resume killed before finishing keeps the first copy
                shutil.copyfile(path, path + ".resume")


def drop_monitor_backups(monitor_dir: str) -> None:
    for name in os.listdir(monitor_dir) if os.path.isdir(monitor_dir) else []:
        if name.endswith(".resume"):
            os.remove(os.path.join(monitor_dir, name))


def _vec_env_chain(env: Any) -> Tuple[List[Any], Any]:
    """``([VecEnvWrapper...], innermost VecEnv)``."""
    wrappers = []
    while hasattr(env, "venv"):
        wrappers.append(env)
        env = env.venv
    return wrappers, env


def _capture_vec_env(env: Any) -> Dict[str, Any]:
    from stable_ppo2.common.vec_env import VecNormalize

    wrappers, base = _vec_env_chain(env)
    state: Dict[str, Any] = {"wrappers": []}
    for wrapper in wrappers:
        if isinstance(wrapper, VecNormalize):
            state["wrappers"].append({name: getattr(wrapper, name) for name in
                                      ("obs_rms", "ret_rms", "ret", "old_obs", "old_rews")})
        else:
            state["wrappers"].append({name: value for name, value in vars(wrapper).items()
                                      if isinstance(value, np.ndarray)})  # e.g. VecFrameStack's stacked frames
    envs = getattr(base, "envs", None)
    state["envs"] = [_capture_env(single) for single in envs] if envs is not None else None
    return state


def _restore_vec_env(env: Any, state: Dict[str, Any]) -> List[int]:
    """Restore what :func:`_capture_vec_env` saved; returns the indices of the envs that start a new episode."""
    wrappers, base = _vec_env_chain(env)
    for wrapper, saved in zip(wrappers, state["wrappers"]):
        for name, value in saved.items():
            setattr(wrapper, name, value.copy() if isinstance(value, np.ndarray) else value)
    envs = getattr(base, "envs", None)
    if state["envs"] is None or envs is None:
        return list(range(env.num_envs))
    boundary = []
    for index, (single, captured) in enumerate(zip(envs, state["envs"])):
        if captured is None:
            boundary.append(index)
        else:
            _restore_env(single, captured)
    return boundary


# ----------------------------------------------------------------------------------------- model
def capture_training_state(model: Any) -> Dict[str, Any]:
    """Everything besides the parameters that :func:`restore_training_state` needs to continue exactly."""
    total, updates_done = getattr(model, "_learn_progress", None) or (None, 0)
    state: Dict[str, Any] = {
        "format": FORMAT, "num_timesteps": int(model.num_timesteps),
        "learn_total_timesteps": total, "updates_done": int(updates_done),
        "optimizer": [variable.numpy() for variable in model._optimizer.state_variables()],
        "numpy_rng": np.random.get_state(), "python_rng": random.getstate(),
        "action_rng": model.act_model.np_random.bit_generator.state,
        "ep_info_buf": list(model.ep_info_buf or []), "episode_reward": model.episode_reward,
        "runner": None, "vec_env": None,
    }
    if model._runner is not None and model.get_env() is not None:
        runner = model._runner
        states = None if runner.states is None else np.copy(runner.states)
        state["runner"] = {"obs": runner.obs.copy(), "states": states, "dones": np.copy(runner.dones)}
        state["vec_env"] = _capture_vec_env(model.get_env())
    return state


def restore_training_state(model: Any, state: Dict[str, Any]) -> List[int]:
    """Put ``state`` back into ``model`` (and its env, if it has one); returns the indices of the envs that
    could not be restored mid-episode and start a new one."""
    from collections import deque

    if state.get("format") != FORMAT:
        raise ValueError(f"unknown training state format {state.get('format')!r}")
    model.num_timesteps = state["num_timesteps"]
    model._pending_resume = (state["learn_total_timesteps"], state["updates_done"])
    for variable, value in zip(model._optimizer.state_variables(), state["optimizer"]):
        variable.assign(value)
    model.ep_info_buf = deque(state["ep_info_buf"], maxlen=100)
    model.episode_reward = state["episode_reward"]
    boundary: List[int] = []
    env = model.get_env()
    if env is not None and state["runner"] is not None:
        if tuple(state["runner"]["obs"].shape) != (env.num_envs,) + tuple(env.observation_space.shape):
            raise ValueError(f"the training state was saved with observations of shape "
                             f"{state['runner']['obs'].shape}; this env gives {env.num_envs} x "
                             f"{env.observation_space.shape}: resume on the run's own envs")
        runner = model.runner  # made now: it resets the envs, which are then set back
        boundary = _restore_vec_env(env, state["vec_env"])
        fresh_obs = runner.obs.copy()
        runner.obs[:] = state["runner"]["obs"]
        runner.states = state["runner"]["states"]
        runner.dones = state["runner"]["dones"].copy()
        for index in boundary:
            runner.obs[index] = fresh_obs[index]
            runner.dones[index] = True
        if boundary:
            warnings.warn(f"env(s) {boundary} cannot be saved mid-episode: they start a new episode, and the "
                          f"rest of this run differs from an uninterrupted one", TrainingStateWarning)
    np.random.set_state(state["numpy_rng"])
    random.setstate(state["python_rng"])
    model.act_model.np_random.bit_generator.state = state["action_rng"]
    return boundary


def first_update(model: Any, total_timesteps: int, reset_num_timesteps: bool) -> int:
    """The update a ``learn`` call starts at: after the saved one when it continues the interrupted call
    (same ``total_timesteps``, ``reset_num_timesteps=False``), else 1."""
    pending, model._pending_resume = getattr(model, "_pending_resume", None), None
    if pending is None or reset_num_timesteps or pending[0] != total_timesteps:
        return 1
    return pending[1] + 1


# ------------------------------------------------------------------------------------------ files
def training_state_entries(model: Any) -> Dict[str, bytes]:
    """The zip entries ``model.save(..., include_training_state=True)`` adds to SB2's layout."""
    return {ENTRY: pickle.dumps(capture_training_state(model), protocol=4)}


def read_training_state(load_path: Union[str, os.PathLike, IO[bytes]], trust: bool = False) -> Optional[Dict[str, Any]]:
    """The ``training_state`` entry of a model file, or None if it has none (or is not a zip)."""
    data = read_zip_entry(load_path, ENTRY)
    return None if data is None else _read_safe(data, trust)


def load_training_state_into(model: Any, load_path: Any, trust: bool = False) -> None:
    """The hook of ``load``: restore the file's training state, if it has one and the model is loaded with an
    env to train on (a model loaded to predict leaves the process's RNGs alone)."""
    if model.get_env() is None:
        return
    state = read_training_state(load_path, trust)
    if state is not None:
        restore_training_state(model, state)


# ------------------------------------------------------------------------------------ checkpoints
class TrainingCheckpointCallback(BaseCallback):
    """Save ``{save_path}/{name_prefix}_{num_timesteps}_steps.zip`` with its training state (and
    ``..._vecnormalize.pkl``) once per ``save_freq`` timesteps, between updates, where a resumed run can
    continue exactly (a save in the middle of a rollout could not). Saves are atomic."""

    def __init__(self, save_freq: int, save_path: str, name_prefix: str = "rl_model", verbose: int = 0) -> None:
        super().__init__(verbose)
        self.save_freq = save_freq
        self.save_path = save_path
        self.name_prefix = name_prefix
        self._last_saved = 0

    def _init_callback(self) -> None:
        os.makedirs(self.save_path, exist_ok=True)

    def _on_training_start(self) -> None:
        self._last_saved = self.model.num_timesteps // self.save_freq

    def _on_rollout_start(self) -> None:
        if self.model.num_timesteps // self.save_freq > self._last_saved:
            self.save()

    def _on_step(self) -> bool:
        return True

    def save(self) -> str:
        """Write the checkpoint now; returns its path."""
        self._last_saved = self.model.num_timesteps // self.save_freq
        path = os.path.join(self.save_path, f"{self.name_prefix}_{self.model.num_timesteps}_steps")
        vec_normalize = self.model.get_vec_normalize_env()
        if vec_normalize is not None:
            vec_normalize.save(path + "_vecnormalize.pkl")
        self.model.save(path + ".zip", include_training_state=True)
        if self.verbose > 1:
            print(f"checkpoint: {path}.zip")
        return path + ".zip"


def checkpoint_steps(name: str, name_prefix: str = "rl_model") -> Optional[int]:
    match = re.match(rf"^{re.escape(name_prefix)}_(\d+)_steps\.zip$", name)
    return int(match.group(1)) if match else None
