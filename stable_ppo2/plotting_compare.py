"""Several runs compared as a paper would: mean learning curves with 95% bootstrap bands, and final scores.

:func:`plot_comparison` groups runs by env and configuration (the run's ``config.yml`` values less the
seed) and writes

- ``comparison.png``: per env, for each configuration the mean over its runs of the smoothed episodic
  return (each run's rolling mean of the last episodes, read at common timesteps) with a 95% percentile
  bootstrap confidence band of that mean (runs resampled with replacement);
- ``scores.md`` and ``scores.csv``: per env and configuration the number of runs, the mean final score,
  the interquartile mean (IQM) and its 95% bootstrap confidence interval. A run's final score is the
  mean return of its last evaluation (``evaluations.npz``) if it evaluated, else of its last 100
  training episodes. IQM is rliable's ``aggregate_iqm`` (the mean of the middle 50% of the scores);
  without the optional ``rliable`` package (``pip install 'stable_ppo2[plots]'``) those columns say so.
"""
from __future__ import annotations

import json
import os
from typing import Any, Callable, Dict, List, Optional, Tuple

import numpy as np

from stable_ppo2.plotting import (
    NothingToPlot,
    _figure,
    _timesteps_axis,
    episode_returns,
    evaluation_returns,
    rolling_mean,
)

BOOTSTRAP_SAMPLES = 2000
CURVE_POINTS = 100
FINAL_EPISODES = 100


def _run_identity(run_dir: str) -> Tuple[str, str]:
    """``(env id, configuration)``: the run's settings less its seed, as one comparable string."""
    info: Dict[str, Any] = {}
    path = os.path.join(run_dir, "run.json")
    if os.path.isfile(path):
        with open(path, encoding="utf-8") as file:
            info = json.load(file)
    config_path = os.path.join(run_dir, "config.yml")
    setting: Dict[str, Any] = {}
    if os.path.isfile(config_path):
        import yaml

        with open(config_path, encoding="utf-8") as file:
            table = yaml.safe_load(file) or {}
        setting = next(iter(table.values())) if len(table) == 1 else {}
    setting = {key: value for key, value in setting.items() if key != "seed"}
    return str(info.get("env_id", os.path.basename(run_dir))), json.dumps(setting, sort_keys=True, default=str)


def _labels(configs: List[str]) -> Dict[str, str]:
    """Short names for configurations: the keys in which they differ (``config 1`` when none)."""
    parsed = [json.loads(config) for config in configs]
    keys = sorted({key for p in parsed for key in p if any(p.get(key) != q.get(key) for q in parsed)})
    labels = {}
    for index, (config, values) in enumerate(zip(configs, parsed)):
        shown = ", ".join(f"{key}={values.get(key)}" for key in keys)
        labels[config] = shown or ("PPO2" if len(configs) == 1 else f"config {index + 1}")
    return labels


def bootstrap_ci(values: np.ndarray, statistic: Callable[[np.ndarray], Any], seed: int = 0,
                 samples: int = BOOTSTRAP_SAMPLES) -> Tuple[np.ndarray, np.ndarray]:
    """The 95% percentile bootstrap interval of ``statistic`` over axis 0 of ``values`` (runs resampled)."""
    rng = np.random.default_rng(seed)
    n_runs = len(values)
    estimates = np.array([statistic(values[rng.integers(0, n_runs, n_runs)]) for _ in range(samples)])
    return np.percentile(estimates, 2.5, axis=0), np.percentile(estimates, 97.5, axis=0)


def _iqm() -> Optional[Callable[[np.ndarray], float]]:
    try:
        from rliable import metrics
    except ImportError:
        return None
    return lambda scores: float(metrics.aggregate_iqm(np.asarray(scores, dtype=float).reshape(-1, 1)))


def final_score(run_dir: str) -> Optional[float]:
    """The run's last evaluation mean, else the mean return of its last 100 training episodes."""
    evaluations = evaluation_returns(run_dir)
    if evaluations is not None:
        return float(evaluations[1][-1])
    returns = episode_returns(run_dir)
    if returns is None or not len(returns[1]):
        return None
    return float(np.mean(returns[1][-FINAL_EPISODES:]))


def _curves(runs: List[str]) -> Optional[Tuple[np.ndarray, np.ndarray]]:
    """``(timesteps, curves[run, point])``: each run's rolling mean return on the timesteps all runs reached."""
    series = [s for s in (episode_returns(run) for run in runs) if s is not None and len(s[0]) > 1]
    if not series:
        return None
    end = min(float(timesteps[-1]) for timesteps, _ in series)
    start = max(float(timesteps[0]) for timesteps, _ in series)
    grid = np.linspace(start, end, CURVE_POINTS)
    window = max(1, min(FINAL_EPISODES, min(len(values) for _, values in series) // 5))
    curves = np.array([np.interp(grid, timesteps, rolling_mean(values, window)) for timesteps, values in series])
    return grid, curves


def plot_comparison(runs: List[str], out_dir: str) -> List[str]:
    """Write ``comparison.png``, ``scores.md`` and ``scores.csv`` for ``runs`` into ``out_dir``."""
    groups: Dict[str, Dict[str, List[str]]] = {}
    for run in runs:
        env_id, config = _run_identity(run)
        groups.setdefault(env_id, {}).setdefault(config, []).append(run)
    os.makedirs(out_dir, exist_ok=True)
    iqm = _iqm()
    rows = []
    fig = _figure((7.5 * len(groups), 5))
    axes = np.atleast_1d(fig.subplots(1, len(groups)))
    drawn = False
    for ax, (env_id, configs) in zip(axes, sorted(groups.items())):
        labels = _labels(list(configs))
        for color, (config, members) in zip(("tab:blue", "tab:orange", "tab:green", "tab:red", "tab:purple",
                                              "tab:brown", "tab:pink", "tab:grey"), configs.items()):
            curves = _curves(members)
            if curves is not None:
                grid, values = curves
                low, high = bootstrap_ci(values, lambda sample: sample.mean(axis=0))
                ax.plot(grid, values.mean(axis=0), color=color, linewidth=2,
                        label=f"{labels[config]} (mean of {len(values)} runs)")
                ax.fill_between(grid, low, high, color=color, alpha=0.25, linewidth=0)
                drawn = True
            scores = np.array([s for s in (final_score(run) for run in members) if s is not None])
            if len(scores):
                row = {"env": env_id, "configuration": labels[config], "runs": len(scores),
                       "mean": float(scores.mean()), "IQM": None, "IQM 95% CI": None}
                if iqm is not None:
                    row["IQM"] = iqm(scores)
                    row["IQM 95% CI"] = tuple(float(x) for x in bootstrap_ci(scores, iqm))
                rows.append(row)
        ax.set_title(f"PPO2 on {env_id}: mean return, 95% bootstrap CI")
        ax.set_xlabel("timesteps")
        ax.set_ylabel("episode return (rolling mean)")
        ax.grid(alpha=0.3)
        ax.legend(loc="best", fontsize=8)
        _timesteps_axis(ax)
    if not drawn and not rows:
        raise NothingToPlot("none of the runs has Monitor files to compare")
    written = []
    if drawn:
        fig.tight_layout()
        path = os.path.join(out_dir, "comparison.png")
        fig.savefig(path, dpi=110)
        written.append(path)
    written.extend(_write_scores(rows, out_dir, iqm is not None))
    return written


def _write_scores(rows: List[Dict[str, Any]], out_dir: str, have_iqm: bool) -> List[str]:
    import csv

    def cell(row: Dict[str, Any], key: str) -> str:
        value = row[key]
        if value is None:
            return "n/a (pip install 'stable_ppo2[plots]')" if not have_iqm else ""
        if isinstance(value, tuple):
            return f"[{value[0]:.2f}, {value[1]:.2f}]"
        return f"{value:.2f}" if isinstance(value, float) else str(value)

    keys = ["env", "configuration", "runs", "mean", "IQM", "IQM 95% CI"]
    md_path, csv_path = os.path.join(out_dir, "scores.md"), os.path.join(out_dir, "scores.csv")
    with open(md_path, "w", encoding="utf-8") as file:
        file.write("| " + " | ".join(keys) + " |\n|" + "---|" * len(keys) + "\n")
        for row in rows:
            file.write("| " + " | ".join(cell(row, key) for key in keys) + " |\n")
    with open(csv_path, "w", encoding="utf-8", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(keys)
        writer.writerows([[cell(row, key) for key in keys] for row in rows])
    return [md_path, csv_path]
