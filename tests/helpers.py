"""Shared test helpers: models built for given spaces, and the paths of the reference data."""
import json
import os
import subprocess
import sys
import time

import numpy as np
from gymnasium import spaces

from stable_ppo2 import PPO2

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURES = os.path.join(HERE, "fixtures")
#: SB2's reference data (see tests/data/README.md); ``STABLE_PPO2_SHARED`` points to another copy.
SHARED = os.environ.get("STABLE_PPO2_SHARED") or os.path.join(HERE, "data")
SB2_ZOO = os.path.join(SHARED, "sb2-zoo")


def space_from_json(desc: dict):
    """A gymnasium space from the JSON description written by the SB2 reference scripts."""
    kind = desc["class"]
    if kind == "Box":
        dtype = np.dtype(desc.get("dtype", "float32"))
        low, high = np.array(desc["low"], np.float32), np.array(desc["high"], np.float32)
        if low.ndim == 0:  # scalar bounds: the shape is given separately
            return spaces.Box(low.item(), high.item(), shape=tuple(desc["shape"]), dtype=dtype)
        return spaces.Box(low, high, dtype=dtype)
    if kind == "Discrete":
        return spaces.Discrete(desc["n"])
    if kind == "MultiDiscrete":
        return spaces.MultiDiscrete(desc["nvec"])
    if kind == "MultiBinary":
        return spaces.MultiBinary(desc["n"])
    raise ValueError(f"unknown space {desc}")


def model_for_spaces(policy, observation_space, action_space, n_envs=1, **kwargs) -> PPO2:
    """A PPO2 model without an env (as ``PPO2.load`` builds one), for the given spaces."""
    model = PPO2(policy, env=None, _init_setup_model=False, **kwargs)
    model.observation_space, model.action_space, model.n_envs = observation_space, action_space, n_envs
    model.setup_model()
    return model


def read_json(path: str) -> dict:
    with open(path) as file:
        return json.load(file)


def process_alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie counts as exited: its parent may be gone)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def parent_pid(pid: int) -> int:
    with open(f"/proc/{pid}/stat") as stat:
        return int(stat.read().rsplit(")", 1)[1].split()[1])


def wait_until(condition, timeout: float, poll: float = 0.05) -> bool:
    """Poll ``condition`` until it holds or ``timeout`` seconds pass; its last value."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(poll)
    return condition()


def run_training_script(module: str, args, tmp_path):
    """Run ``python -m module args`` in ``tmp_path``, SB2's logger writing stdout, csv and log files to
    ``tmp_path/log``; return the finished process (text output captured) and that folder."""
    log_dir = tmp_path / "log"
    env = dict(os.environ, OPENAI_LOGDIR=str(log_dir), OPENAI_LOG_FORMAT="stdout,csv,log")
    proc = subprocess.run([sys.executable, "-m", module, *args], env=env, capture_output=True, text=True,
                          cwd=str(tmp_path), timeout=400)
    return proc, log_dir
