"""Plots of a training run: episodic returns and PPO2's per-update diagnostics.

:func:`plot_run` reads a run folder as ``stable-ppo2 train`` writes it (``monitor/*.monitor.csv`` from
:class:`~stable_ppo2.bench.Monitor`, ``progress.csv`` from the logger) and draws

- ``plots/returns.png``: every episode's return against timesteps, with its rolling mean (and the mean
  return of each evaluation from ``evaluations.npz``, when the run evaluated with ``--eval-freq``);
- ``plots/training.png``: per update, the policy loss, value loss, entropy, approximate KL, clip fraction
  and explained variance;
- ``plots/training.html``: all of it in one interactive page (plotly), if plotly is installed.

Any folder holding Monitor files and/or a logger ``progress.csv`` (or ``monitor.csv``/``progress.csv``
directly) can be plotted.
"""
from __future__ import annotations

import glob
import json
import os
from typing import Any, Dict, List, Optional, Tuple

import numpy as np

#: The per-update panels: (``progress.csv`` column, title, y label).
UPDATE_PANELS = [
    ("policy_loss", "Policy loss", "clipped surrogate loss"),
    ("value_loss", "Value loss", "value function loss"),
    ("policy_entropy", "Entropy", "policy entropy (nats)"),
    ("approxkl", "Approximate KL", "KL(old || new)"),
    ("clipfrac", "Clip fraction", "fraction of samples clipped"),
    ("explained_variance", "Explained variance", "1 - Var[R - V] / Var[R]"),
]
RETURN_WINDOW = 100


class NothingToPlot(ValueError):
    """The folder has neither Monitor files nor a progress.csv."""


def _monitor_folder(run_dir: str) -> Optional[str]:
    for folder in (os.path.join(run_dir, "monitor"), run_dir):
        if glob.glob(os.path.join(glob.escape(folder), "*monitor.csv")):
            return folder
    return None


def episode_returns(run_dir: str) -> Optional[Tuple[np.ndarray, np.ndarray]]:
    """``(timesteps, returns)`` of every finished episode in time order (timesteps: cumulated lengths
    over all envs), or None without Monitor files."""
    folder = _monitor_folder(run_dir)
    if folder is None:
        return None
    from stable_ppo2.bench import load_results

    results = load_results(folder).sort_values("t", kind="stable")
    return np.cumsum(results["l"].to_numpy()), results["r"].to_numpy(dtype=float)


def update_metrics(run_dir: str) -> Optional[Dict[str, np.ndarray]]:
    """The columns of ``progress.csv`` as float arrays (``total_timesteps`` included), or None."""
    path = os.path.join(run_dir, "progress.csv")
    if not os.path.isfile(path) or os.path.getsize(path) == 0:
        return None
    import pandas

    frame = pandas.read_csv(path)
    if frame.empty:
        return None
    return {column: pandas.to_numeric(frame[column], errors="coerce").to_numpy(dtype=float)
            for column in frame.columns}


def evaluation_returns(run_dir: str) -> Optional[Tuple[np.ndarray, np.ndarray]]:
    """``(timesteps, mean return per evaluation)`` from the run's ``evaluations.npz``, or None."""
    path = os.path.join(run_dir, "evaluations.npz")
    if not os.path.isfile(path):
        return None
    with np.load(path) as data:
        results = np.asarray(data["results"], dtype=float)
        timesteps = np.asarray(data["timesteps"], dtype=float)
    if len(timesteps) == 0:
        return None
    return timesteps, results.reshape(len(timesteps), -1).mean(axis=1)


def is_run(path: str) -> bool:
    """Whether ``path`` is a run folder (``run.json``, Monitor files or a ``progress.csv``)."""
    return os.path.isfile(os.path.join(path, "run.json")) or _monitor_folder(path) is not None or os.path.isfile(
        os.path.join(path, "progress.csv"))


def find_runs(paths: List[str]) -> List[str]:
    """The run folders among ``paths``: each path that is a run, else the runs directly inside it."""
    runs: List[str] = []
    for path in paths:
        if is_run(path):
            runs.append(path)
        else:
            runs.extend(sorted(child for child in glob.glob(os.path.join(glob.escape(path), "*"))
                               if os.path.isdir(child) and is_run(child)))
    return runs


def rolling_mean(values: np.ndarray, window: int) -> np.ndarray:
    """Mean of the last ``window`` values at each position (fewer at the start)."""
    values = np.asarray(values, dtype=float)
    if len(values) == 0:
        return values
    sums = np.cumsum(np.insert(values, 0, 0.0))
    ends = np.arange(1, len(values) + 1)
    starts = np.maximum(ends - window, 0)
    return (sums[ends] - sums[starts]) / (ends - starts)


def _run_title(run_dir: str) -> Tuple[str, Optional[float]]:
    """``("PPO2 on ENV", reward_threshold)`` from the run's ``config.yml``/``run.json``, if any."""
    env_id = None
    info_path = os.path.join(run_dir, "run.json")
    if os.path.isfile(info_path):
        with open(info_path, encoding="utf-8") as file:
            env_id = json.load(file).get("env_id")
    if env_id is None:
        return f"PPO2: {os.path.basename(os.path.abspath(run_dir))}", None
    threshold = None
    try:
        import gymnasium

        threshold = gymnasium.spec(env_id).reward_threshold
    except Exception:  # unknown or unregistered here: no line
        threshold = None
    return f"PPO2 on {env_id}", threshold


def _smoothing_window(n_points: int) -> int:
    return max(1, min(20, n_points // 20))


def plot_run(run_dir: str, out_dir: Optional[str] = None, html: bool = True) -> List[str]:
    """Draw the run's plots into ``out_dir`` (default ``run_dir/plots``); returns the files written."""
    returns = episode_returns(run_dir)
    metrics = update_metrics(run_dir)
    if returns is None and metrics is None:
        raise NothingToPlot(f"{run_dir} has no Monitor files (monitor/*.monitor.csv) and no progress.csv to plot")
    out_dir = out_dir or os.path.join(run_dir, "plots")
    os.makedirs(out_dir, exist_ok=True)
    title, threshold = _run_title(run_dir)

    written = []
    if returns is not None and len(returns[0]):
        path = os.path.join(out_dir, "returns.png")
        _plot_returns(returns, title, threshold, path, evaluation_returns(run_dir))
        written.append(path)
    if metrics is not None:
        path = os.path.join(out_dir, "training.png")
        _plot_updates(metrics, title, path)
        written.append(path)
    if html:
        html_path = _plot_html(returns, metrics, title, threshold, os.path.join(out_dir, "training.html"))
        if html_path is not None:
            written.append(html_path)
    return written


def _figure(figsize: Tuple[float, float]) -> Any:
    """A matplotlib Figure drawn with the Agg canvas (no pyplot: leaves the user's backend alone)."""
    from matplotlib.figure import Figure

    return Figure(figsize=figsize)


def _timesteps_axis(ax: Any) -> None:
    """Timesteps as 20k, 1.5M... rather than with a 1e5 offset."""
    from matplotlib.ticker import EngFormatter

    ax.xaxis.set_major_formatter(EngFormatter(sep=""))


def _plot_returns(returns: Tuple[np.ndarray, np.ndarray], title: str, threshold: Optional[float],
                  path: str, evaluations: Optional[Tuple[np.ndarray, np.ndarray]] = None) -> None:
    timesteps, values = returns
    window = min(RETURN_WINDOW, len(values))
    fig = _figure((9, 5))
    ax = fig.subplots()
    ax.plot(timesteps, values, ".", markersize=3, alpha=0.3, color="tab:blue", label="episode return")
    ax.plot(timesteps, rolling_mean(values, window), linewidth=2.2, color="tab:orange",
            label=f"rolling mean (last {window} episodes)")
    if evaluations is not None:
        ax.plot(*evaluations, "o-", color="tab:green", linewidth=1.5, markersize=4, label="evaluation (mean return)")
    if threshold is not None:
        ax.axhline(threshold, color="grey", linestyle="--", linewidth=1.2, label=f"solved ({threshold:g})")
    ax.set_xlabel("timesteps")
    ax.set_ylabel("episode return")
    ax.set_title(f"{title}: episodic return ({len(values)} episodes)")
    ax.grid(alpha=0.3)
    ax.legend(loc="best")
    _timesteps_axis(ax)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def _plot_updates(metrics: Dict[str, np.ndarray], title: str, path: str) -> None:
    x_key = "total_timesteps" if "total_timesteps" in metrics else None
    n_rows = len(next(iter(metrics.values())))
    x = metrics[x_key] if x_key else np.arange(1, n_rows + 1)
    fig = _figure((15, 8))
    axes = fig.subplots(2, 3)
    for ax, (key, panel_title, y_label) in zip(axes.flat, UPDATE_PANELS):
        ax.set_title(panel_title)
        ax.set_xlabel("timesteps" if x_key else "update")
        ax.set_ylabel(y_label)
        ax.grid(alpha=0.3)
        if key not in metrics or not np.isfinite(metrics[key]).any():
            ax.text(0.5, 0.5, "not logged", ha="center", va="center", transform=ax.transAxes, color="grey")
            continue
        values = metrics[key]
        finite = np.isfinite(values)
        window = _smoothing_window(int(finite.sum()))
        ax.plot(x[finite], values[finite], linewidth=0.8, alpha=0.45, color="tab:blue", label="per update")
        if window > 1:
            ax.plot(x[finite], rolling_mean(values[finite], window), linewidth=2, color="tab:orange",
                    label=f"rolling mean ({window} updates)")
        ax.legend(loc="best", fontsize="small")
        _timesteps_axis(ax)
    fig.suptitle(f"{title}: training diagnostics per update", fontsize=14)
    fig.tight_layout()
    fig.savefig(path, dpi=100)


def _plot_html(returns: Optional[Tuple[np.ndarray, np.ndarray]], metrics: Optional[Dict[str, np.ndarray]],
               title: str, threshold: Optional[float], path: str) -> Optional[str]:
    """One self-contained interactive page (plotly); None if plotly is not installed."""
    try:
        import plotly.graph_objects as go
        from plotly.subplots import make_subplots
    except ImportError:
        return None
    subplot_titles = ["Episodic return"] + [panel_title for _key, panel_title, _label in UPDATE_PANELS]
    fig = make_subplots(rows=4, cols=2, specs=[[{"colspan": 2}, None], [{}, {}], [{}, {}], [{}, {}]],
                        subplot_titles=subplot_titles, vertical_spacing=0.07)
    if returns is not None and len(returns[0]):
        timesteps, values = returns
        window = min(RETURN_WINDOW, len(values))
        fig.add_trace(go.Scattergl(x=timesteps, y=values, mode="markers", marker={"size": 3, "opacity": 0.4},
                                   name="episode return", legendgroup="return"), row=1, col=1)
        fig.add_trace(go.Scatter(x=timesteps, y=rolling_mean(values, window), mode="lines",
                                 name=f"rolling mean (last {window} episodes)", legendgroup="return"),
                      row=1, col=1)
        if threshold is not None:
            fig.add_hline(y=threshold, line_dash="dash", line_color="grey", row=1, col=1,
                          annotation_text=f"solved ({threshold:g})")
        fig.update_yaxes(title_text="episode return", row=1, col=1)
        fig.update_xaxes(title_text="timesteps", row=1, col=1)
    if metrics is not None:
        x_key = "total_timesteps" if "total_timesteps" in metrics else None
        n_rows = len(next(iter(metrics.values())))
        x = metrics[x_key] if x_key else np.arange(1, n_rows + 1)
        for index, (key, panel_title, y_label) in enumerate(UPDATE_PANELS):
            row, col = 2 + index // 2, 1 + index % 2
            if key in metrics:
                finite = np.isfinite(metrics[key])
                fig.add_trace(go.Scatter(x=x[finite], y=metrics[key][finite], mode="lines", name=panel_title,
                                         showlegend=True), row=row, col=col)
            fig.update_xaxes(title_text="timesteps" if x_key else "update", row=row, col=col)
            fig.update_yaxes(title_text=y_label, row=row, col=col)
    fig.update_layout(title_text=title, height=1500, template="plotly_white")
    fig.write_html(path, include_plotlyjs=True, full_html=True)
    return path
