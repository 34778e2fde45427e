"""Learning curves from Monitor files (SB2's ``stable_baselines.results_plotter``), with matplotlib.

``plot_results(dirs, num_timesteps, xaxis, task_name)`` draws one figure with, for each folder of
``*monitor.csv`` files, every episode's return as a dot and, once there are ``EPISODES_WINDOW`` episodes,
their rolling mean as a line. ``ts2xy`` turns the DataFrame of :func:`load_results` into x/y arrays for
one of the x axes ``X_TIMESTEPS``, ``X_EPISODES`` or ``X_WALLTIME``.

``python -m stable_ppo2.results_plotter --dirs DIR [DIR ...]`` shows the figure.
"""
from typing import TYPE_CHECKING, Callable, List, Optional, Sequence, Tuple

import numpy as np

if TYPE_CHECKING:
    import pandas

from stable_ppo2.bench.monitor import load_results

__all__ = ["X_TIMESTEPS", "X_EPISODES", "X_WALLTIME", "POSSIBLE_X_AXES", "EPISODES_WINDOW", "COLORS",
           "rolling_window", "window_func", "ts2xy", "plot_curves", "plot_results", "load_results", "main"]

X_TIMESTEPS = "timesteps"
X_EPISODES = "episodes"
X_WALLTIME = "walltime_hrs"
POSSIBLE_X_AXES = [X_TIMESTEPS, X_EPISODES, X_WALLTIME]
EPISODES_WINDOW = 100
COLORS = ["blue", "green", "red", "cyan", "magenta", "yellow", "black", "purple", "pink", "brown", "orange",
          "teal", "coral", "lightblue", "lime", "lavender", "turquoise", "darkgreen", "tan", "salmon", "gold",
          "darkred", "darkblue"]


def rolling_window(array: np.ndarray, window: int) -> np.ndarray:
    """A read-only view of ``array`` whose last axis holds every run of ``window`` consecutive values."""
    return np.lib.stride_tricks.sliding_window_view(np.asarray(array), window, axis=-1)


def window_func(var_1: np.ndarray, var_2: np.ndarray, window: int,
                func: Callable[..., np.ndarray]) -> Tuple[np.ndarray, np.ndarray]:
    """``func`` (e.g. ``np.mean``) over each window of ``var_2``, paired with the ``var_1`` value at the
    window's last element: returns ``(var_1[window - 1:], func(windows, axis=-1))``."""
    return np.asarray(var_1)[window - 1:], func(rolling_window(var_2, window), axis=-1)


def ts2xy(timesteps: "pandas.DataFrame", xaxis: str) -> Tuple[np.ndarray, np.ndarray]:
    """x and y of a learning curve from a :func:`load_results` DataFrame (columns ``r``, ``l``, ``t``).

    y is each episode's return; x is the total number of steps at its end (``X_TIMESTEPS``), its index
    (``X_EPISODES``) or the hours elapsed (``X_WALLTIME``).
    """
    if xaxis == X_TIMESTEPS:
        x_var = np.cumsum(timesteps.l.values)
    elif xaxis == X_EPISODES:
        x_var = np.arange(len(timesteps))
    elif xaxis == X_WALLTIME:
        x_var = timesteps.t.values / 3600.0
    else:
        raise NotImplementedError(f"unknown x axis {xaxis!r} (one of {POSSIBLE_X_AXES})")
    return x_var, timesteps.r.values


def plot_curves(xy_list: Sequence[Tuple[np.ndarray, np.ndarray]], xaxis: str, title: str) -> None:
    """One figure: each (x, y) pair as dots, plus its rolling mean over ``EPISODES_WINDOW`` episodes."""
    import matplotlib.pyplot as plt

    plt.figure(figsize=(8, 2))
    max_x = max(x[-1] for x, _ in xy_list if len(x) > 0) if any(len(x) > 0 for x, _ in xy_list) else 1
    min_x = 0
    for i, (x, y) in enumerate(xy_list):
        color = COLORS[i % len(COLORS)]
        plt.scatter(x, y, s=2, color=color)
        if len(x) >= EPISODES_WINDOW:
            x_mean, y_mean = window_func(x, y, EPISODES_WINDOW, np.mean)
            plt.plot(x_mean, y_mean, color=color)
    plt.xlim(min_x, max_x)
    plt.title(title)
    plt.xlabel(xaxis)
    plt.ylabel("Episode Rewards")
    plt.tight_layout()


def plot_results(dirs: Sequence[str], num_timesteps: Optional[int], xaxis: str, task_name: str) -> None:
    """Plot the learning curves of the Monitor files in each folder of ``dirs`` (episodes up to
    ``num_timesteps`` total steps; None: all) against ``xaxis``, titled ``task_name``."""
    xy_list: List[Tuple[np.ndarray, np.ndarray]] = []
    for folder in dirs:
        timesteps = load_results(folder)
        if num_timesteps is not None:
            timesteps = timesteps[timesteps.l.cumsum() <= num_timesteps]
        xy_list.append(ts2xy(timesteps, xaxis))
    plot_curves(xy_list, xaxis, task_name)


def main(argv: Optional[Sequence[str]] = None) -> None:
    """``--dirs DIR [DIR ...] [--num_timesteps N] [--xaxis AXIS] [--task_name NAME]``: show the curves."""
    import argparse

    import matplotlib.pyplot as plt

    parser = argparse.ArgumentParser(description="Plot the episode returns of Monitor files",
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--dirs", help="folders of *monitor.csv files", nargs="*", default=["./log"])
    parser.add_argument("--num_timesteps", type=int, default=int(10e6))
    parser.add_argument("--xaxis", help="x axis", default=X_TIMESTEPS, choices=POSSIBLE_X_AXES)
    parser.add_argument("--task_name", help="title of the plot", default="Breakout")
    args = parser.parse_args(argv)
    plot_results(args.dirs, args.num_timesteps, args.xaxis, args.task_name)
    plt.show()


if __name__ == "__main__":
    main()
