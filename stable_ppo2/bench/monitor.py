"""Monitor wrapper: records each episode's return, length and wall time, optionally to a CSV file.

File format (SB2's): a first line ``#{"t_start": <unix time>, "env_id": <id or null>}``, then a CSV header
``r,l,t`` (+ reset and info keywords) and one row per finished episode; ``t`` is seconds since ``t_start``.
"""
import csv
import json
import os
import time
from glob import glob
from typing import Any, Dict, List, Optional, Sequence, TextIO, Tuple, cast

import gymnasium as gym

from stable_ppo2.common.gym_compat import render_env, to_gymnasium

__all__ = ["Monitor", "get_monitor_files", "load_results", "LoadMonitorResultsError", "open_monitor_log"]


def open_monitor_log(filename: str, t_start: float, env_id: Optional[str],
                     fieldnames: Sequence[str]) -> Tuple[TextIO, csv.DictWriter]:
    """Create a Monitor log (``filename``: a directory, a ``...monitor.csv`` path, or a prefix that gets
    ``.monitor.csv``) with its JSON first line and CSV header written; return the file and its writer."""
    if not filename.endswith(Monitor.EXT):
        if os.path.isdir(filename):
            filename = os.path.join(filename, Monitor.EXT)
        else:
            filename = filename + "." + Monitor.EXT
    file_handler = open(filename, "wt")
    file_handler.write("#%s\n" % json.dumps({"t_start": t_start, "env_id": env_id}))
    writer = csv.DictWriter(file_handler, fieldnames=tuple(fieldnames))
    writer.writeheader()
    file_handler.flush()
    return file_handler, writer


class Monitor(gym.Wrapper):
    """Gymnasium wrapper that adds ``info["episode"] = {"r", "l", "t"}`` on the step that ends an episode.

    A Monitor speaks the API of the env it wraps, as SB2's did: around an old-gym-API env (``reset() -> obs``,
    4-value ``step``) its ``reset``, ``step``, ``seed`` and ``render(mode)`` are the old API too
    (``old_gym_api`` is True; VecEnvs and ``to_gymnasium`` convert it like any old-API env).

    :param env: the environment (gymnasium API, or old gym API)
    :param filename: where to write the CSV log (a directory, a path ending in ``monitor.csv``, or a prefix that gets
        ``.monitor.csv`` appended); None writes nothing
    :param allow_early_resets: allow ``reset()`` before the episode has ended
    :param reset_keywords: keyword arguments that every ``reset()`` must receive; they are logged with each episode
    :param info_keywords: keys of the final step's ``info`` to log with each episode
    """

    EXT = "monitor.csv"
    file_handler = None
    old_gym_api = False

    def __init__(self, env: Any, filename: Optional[str], allow_early_resets: bool = True,
                 reset_keywords: Sequence[str] = (), info_keywords: Sequence[str] = ()) -> None:
        super().__init__(to_gymnasium(env))
        self.old_gym_api = not isinstance(env, gym.Env)
        self.t_start = time.time()
        self.reset_keywords = tuple(reset_keywords)
        self.info_keywords = tuple(info_keywords)
        if filename is None:
            self.file_handler = None
            self.logger: Optional[csv.DictWriter] = None
        else:
            spec = self.env.spec
            self.file_handler, self.logger = open_monitor_log(
                filename, self.t_start, None if spec is None else spec.id,
                ("r", "l", "t") + self.reset_keywords + self.info_keywords)

        self.allow_early_resets = allow_early_resets
        self.needs_reset = True
        self.episode_rewards: List[float] = []
        self.episode_lengths: List[int] = []
        self.episode_times: List[float] = []
        self.total_steps = 0
        self.current_reset_info: Dict[str, Any] = {}  # reset keywords of the running episode
        # Running sums instead of a per-step list of rewards; same result as sum() of the list (also starts at int 0).
        self._ep_return: Any = 0
        self._ep_length = 0

    def reset(self, **kwargs: Any) -> Any:
        """Reset the env; only allowed mid-episode if ``allow_early_resets``. All kwargs go to the env's reset.

        Returns ``(observation, info)``, or the observation alone with the old gym API."""
        if not self.allow_early_resets and not self.needs_reset:
            raise RuntimeError("Tried to reset an environment before done. If you want to allow early resets, "
                               "wrap your env with Monitor(env, path, allow_early_resets=True)")
        for key in self.reset_keywords:
            value = kwargs.get(key)
            if value is None:
                raise ValueError("Expected you to pass kwarg {} into reset".format(key))
            self.current_reset_info[key] = value
        self._ep_return = 0
        self._ep_length = 0
        self.needs_reset = False
        observation, info = self.env.reset(**kwargs)
        return observation if self.old_gym_api else (observation, info)

    def step(self, action: Any) -> Tuple[Any, ...]:
        """Step the env; when the episode ends, log it and put its summary in ``info["episode"]``.

        Returns gymnasium's 5-tuple, or ``(observation, reward, done, info)`` with the old gym API."""
        if self.needs_reset:
            raise RuntimeError("Tried to step environment that needs reset")
        observation, reward, terminated, truncated, info = self.env.step(action)
        self._ep_return += reward
        self._ep_length += 1
        self.total_steps += 1
        if terminated or truncated:
            self._end_episode(info)
        if self.old_gym_api:  # the old env's own `done` (its TimeLimit.truncated info split it, see to_gymnasium)
            return observation, reward, terminated or truncated, info
        return observation, reward, terminated, truncated, info

    def seed(self, seed: Optional[int] = None) -> Any:
        """Old gym API: seed the wrapped env (gymnasium envs take their seed in ``reset(seed=...)``)."""
        if not self.old_gym_api:
            raise AttributeError("seed() is the old gym API; this Monitor wraps a gymnasium env: use reset(seed=...)")
        return cast(Any, self.env).seed(seed)  # an old gym env (old_gym_api) has seed()

    def render(self, mode: Optional[str] = None) -> Any:
        """The env's frame: ``render(mode)`` with the old gym API (default ``'human'``); a gymnasium env renders in
        the mode it was made with (a different ``mode`` is a ValueError, see ``render_env``)."""
        if self.old_gym_api:
            return cast(Any, self.env).render(mode=mode)  # an old gym env renders in the mode asked
        return self.env.render() if mode is None else render_env(self.env, mode)

    def _end_episode(self, info: Dict[str, Any]) -> None:
        self.needs_reset = True
        ep_return, ep_length = self._ep_return, self._ep_length
        elapsed = time.time() - self.t_start
        ep_info = {"r": round(ep_return, 6), "l": ep_length, "t": round(elapsed, 6)}
        for key in self.info_keywords:
            ep_info[key] = info[key]
        self.episode_rewards.append(ep_return)
        self.episode_lengths.append(ep_length)
        self.episode_times.append(elapsed)
        ep_info.update(self.current_reset_info)
        if self.logger is not None and self.file_handler is not None:  # both, or neither, are set
            self.logger.writerow(ep_info)
            self.file_handler.flush()
        info["episode"] = ep_info

    def close(self) -> None:
        """Close the env and the log file."""
        super().close()
        if self.file_handler is not None:
            self.file_handler.close()

    def get_total_steps(self) -> int:
        """Steps taken over all episodes."""
        return self.total_steps

    def get_episode_rewards(self) -> List[float]:
        """Return of every finished episode."""
        return self.episode_rewards

    def get_episode_lengths(self) -> List[int]:
        """Length of every finished episode."""
        return self.episode_lengths

    def get_episode_times(self) -> List[float]:
        """Seconds from the Monitor's creation to the end of every finished episode."""
        return self.episode_times


class LoadMonitorResultsError(Exception):
    """No monitor file was found where results were to be loaded from."""


def get_monitor_files(path: str) -> List[str]:
    """Paths of all ``*monitor.csv`` files in directory ``path``."""
    return glob(os.path.join(path, "*" + Monitor.EXT))


def load_results(path: str) -> Any:
    """Load every ``*monitor.csv`` (and legacy ``*monitor.json``) file in ``path`` into one pandas DataFrame.

    Rows are sorted by time; ``t`` is relative to the earliest ``t_start`` of the files; ``reset_index`` adds an
    ``index`` column holding each row's position in its own file.
    """
    try:
        import pandas
    except ImportError as exc:
        raise ImportError("load_results needs pandas: pip install pandas") from exc

    monitor_files = glob(os.path.join(path, "*monitor.json")) + get_monitor_files(path)
    if not monitor_files:
        raise LoadMonitorResultsError("no monitor files of the form *%s found in %s" % (Monitor.EXT, path))
    data_frames = []
    headers = []
    for file_name in monitor_files:
        with open(file_name, "rt") as file_handler:
            if file_name.endswith("csv"):
                first_line = file_handler.readline()
                if not first_line.startswith("#"):
                    raise LoadMonitorResultsError("%s does not start with a '#{...}' JSON header" % file_name)
                header = json.loads(first_line[1:])
                data_frame = pandas.read_csv(file_handler, index_col=None)
            else:  # legacy JSON format: a header object, then one object per episode
                lines = file_handler.readlines()
                header = json.loads(lines[0])
                data_frame = pandas.DataFrame([json.loads(line) for line in lines[1:]])
            headers.append(header)
            data_frame["t"] += header["t_start"]
        data_frames.append(data_frame)
    data_frame = pandas.concat(data_frames).sort_values("t").reset_index()
    data_frame["t"] -= min(header["t_start"] for header in headers)
    return data_frame
