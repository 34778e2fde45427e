"""``stable-ppo2 train --resume RUN_FOLDER``: continue an interrupted run from its last checkpoint.

The run is rebuilt from its own ``config.yml`` (the final values) and ``run.json``; the checkpoint's
training state (:mod:`stable_ppo2.common.training_state`) puts the optimizer, the RNGs, the envs and the
runner back, so the run ends as it would have without the interruption. The Monitor files and
``progress.csv`` keep the rows up to the checkpoint and continue from there; ``evaluations.npz`` and the
best model's score continue too.
"""
from __future__ import annotations

import argparse
import csv
import json
import os
import warnings
from typing import Any, List

import numpy as np


def resume_run(args: argparse.Namespace, run_dir: str) -> int:
    """Continue the run in ``run_dir``; the flags given with ``--resume`` other than the run's own
    settings (``--no-progress-bar``, ``-v``) apply."""
    from stable_ppo2 import PPO2
    from stable_ppo2.cli import CLIError, _learn_and_save, _make_train_env, _one_line, _train_config, build_parser
    from stable_ppo2.common.callbacks import latest_checkpoint
    from stable_ppo2.common.training_state import drop_monitor_backups, preserve_monitor_files

    info_path = os.path.join(run_dir, "run.json")
    if not os.path.isfile(info_path):
        raise CLIError(f"{run_dir} is not a run folder made by train (no run.json)")
    with open(info_path, encoding="utf-8") as file:
        info = json.load(file)
    if info.get("finished"):
        raise CLIError(f"{run_dir} finished its {info.get('n_timesteps'):,} timesteps: nothing to resume")
    checkpoint = latest_checkpoint(run_dir)
    if checkpoint is None:
        raise CLIError(f"no checkpoint in {run_dir} to resume from (train with --save-freq N to keep them)")

    original = build_parser().parse_args(info["command"][1:])
    original.hyperparams = os.path.join(run_dir, "config.yml")
    original.params = original.env_kwargs = None
    original.n_timesteps = original.n_envs = original.seed = None
    config = _train_config(original, None)
    original.no_progress_bar, original.verbose = args.no_progress_bar, args.verbose
    original.argv = info["command"][1:]

    from stable_ppo2.cli import _vec_env_class

    vec_env_cls = _vec_env_class(original, config)
    monitor_dir = os.path.join(run_dir, "monitor")
    preserve_monitor_files(monitor_dir)
    env = _make_train_env(config, monitor_dir, int(config.raw["seed"]), vec_env_cls,
                          {"address": original.ray_address} if original.vec_env == "ray" else None)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            model = PPO2.load(checkpoint.path, env=env, verbose=1)
    except Exception as exc:  # any load failure is one line
        env.close()
        raise CLIError(f"cannot resume from {checkpoint.path}: {_one_line(exc)}", code=1) from exc
    if getattr(_innermost(env), "envs", None) is not None:
        drop_monitor_backups(monitor_dir)
    else:
        print(f"note: the envs run in other processes ({original.vec_env}): they start new episodes, and their "
              f"Monitor files start afresh (the rows before the resume are kept as {monitor_dir}/*.resume)")
    for warning in caught:
        if "cannot be saved mid-episode" in str(warning.message):
            print(f"note: {warning.message}")
    preserve_progress_csv(run_dir)
    print(f"resuming {run_dir} from {checkpoint.path} ({checkpoint.num_timesteps:,} of "
          f"{config.n_timesteps:,} timesteps)", flush=True)
    return _learn_and_save(original, config, model, env, run_dir, resumed_from=checkpoint.num_timesteps)


def _innermost(env: Any) -> Any:
    while hasattr(env, "venv"):
        env = env.venv
    return env


def continue_callbacks(callbacks: List[Any], run_dir: str, model: Any) -> None:
    """Give the resumed run's callbacks the call count and the evaluation history they had."""
    for callback in callbacks:
        callback.n_calls = model.num_timesteps // model.n_envs
        if hasattr(callback, "evaluations_results"):
            path = os.path.join(run_dir, "evaluations.npz")
            if not os.path.isfile(path):
                continue
            with np.load(path) as data:
                keep = data["timesteps"] <= model.num_timesteps
                callback.evaluations_timesteps = [int(t) for t in data["timesteps"][keep]]
                callback.evaluations_results = [list(r) for r in data["results"][keep]]
                callback.evaluations_length = [list(r) for r in data["ep_lengths"][keep]]
            means = [np.mean(r) for r in callback.evaluations_results]
            callback.best_mean_reward = max(means, default=-np.inf)


def continue_progress_csv(run_dir: str, num_timesteps: int) -> None:
    """Put the rows of ``progress.csv`` up to ``num_timesteps`` back into the logger's (re-opened) file."""
    from stable_ppo2 import logger
    from stable_ppo2.logger import CSVOutputFormat

    backup = os.path.join(run_dir, "progress.csv.resume")
    if not os.path.isfile(backup):
        return
    with open(backup, encoding="utf-8") as file:
        rows = list(csv.reader(file))
    os.remove(backup)
    if not rows:
        return
    header = rows[0]
    kept = [row for row in rows[1:] if _timesteps(header, row) <= num_timesteps]
    for output in logger.Logger.CURRENT.output_formats:
        if isinstance(output, CSVOutputFormat):
            output.keys = list(header)
            writer = csv.writer(output.file, lineterminator="\n")
            writer.writerow(header)
            writer.writerows(kept)
            output.file.flush()


def preserve_progress_csv(run_dir: str) -> None:
    """Keep ``progress.csv`` aside before the resumed run's logger re-creates it."""
    import shutil

    path = os.path.join(run_dir, "progress.csv")
    if os.path.isfile(path) and not os.path.isfile(path + ".resume"):
        shutil.copyfile(path, path + ".resume")


def _timesteps(header: List[str], row: List[str]) -> float:
    try:
        return float(row[header.index("total_timesteps")])
    except (ValueError, IndexError):
        return float("inf")
