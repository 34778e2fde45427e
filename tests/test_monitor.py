"""Monitor wrapper: episode statistics, the CSV log and load_results."""
import json
import os
import uuid

import gymnasium as gym
import numpy as np
import pandas
import pytest

from stable_ppo2.bench import LoadMonitorResultsError, Monitor, get_monitor_files, load_results
from stable_ppo2.common.identity_env import IdentityEnv
from stable_ppo2.common.vec_env import DummyVecEnv


def _run(monitor, n_steps, action=None):
    """Step ``n_steps`` times (resetting at episode ends); return the episode infos seen."""
    episodes = []
    monitor.reset(seed=0)
    for _ in range(n_steps):
        act = monitor.action_space.sample() if action is None else action
        _, _, terminated, truncated, info = monitor.step(act)
        if terminated or truncated:
            episodes.append(info["episode"])
            monitor.reset()
    return episodes


def test_monitor_file_header_and_columns(tmp_path):
    mon_file = str(tmp_path / "stable_ppo2-test-{}.monitor.csv".format(uuid.uuid4()))
    menv = Monitor(gym.make("CartPole-v1"), mon_file)
    episodes = _run(menv, 1000, action=0)
    menv.close()
    assert menv.file_handler.closed

    with open(mon_file, "rt") as file_handler:
        first_line = file_handler.readline()
        assert first_line.startswith("#")
        metadata = json.loads(first_line[1:])
        assert metadata["env_id"] == "CartPole-v1"
        assert set(metadata.keys()) == {"env_id", "t_start"}
        rows = pandas.read_csv(file_handler, index_col=None)
    assert set(rows.keys()) == {"l", "t", "r"}
    assert len(rows) == len(episodes) > 0
    assert rows["l"].tolist() == [ep["l"] for ep in episodes]
    assert np.allclose(rows["r"], [ep["r"] for ep in episodes])


def test_episode_info_and_statistics():
    menv = Monitor(IdentityEnv(dim=2, ep_length=5), None)
    assert menv.file_handler is None
    obs, _ = menv.reset(seed=1)
    infos = []
    for _ in range(5):
        obs, reward, _, truncated, info = menv.step(obs)  # always right: reward 1 per step
        infos.append(info)
    assert truncated
    assert all("episode" not in info for info in infos[:-1])
    episode = infos[-1]["episode"]
    assert episode["r"] == 5 and episode["l"] == 5 and episode["t"] >= 0
    assert menv.get_episode_rewards() == [5]
    assert menv.get_episode_lengths() == [5]
    assert len(menv.get_episode_times()) == 1
    assert menv.get_total_steps() == 5


def test_needs_reset_and_early_resets():
    menv = Monitor(IdentityEnv(dim=2, ep_length=3), None, allow_early_resets=False)
    with pytest.raises(RuntimeError, match="needs reset"):
        menv.step(0)
    menv.reset()
    menv.step(0)
    with pytest.raises(RuntimeError, match="before done"):
        menv.reset()
    menv.step(0)
    menv.step(0)  # episode over
    with pytest.raises(RuntimeError, match="needs reset"):
        menv.step(0)
    menv.reset()

    lenient = Monitor(IdentityEnv(dim=2, ep_length=3), None)
    lenient.reset()
    lenient.step(0)
    lenient.reset()  # allowed by default; the partial episode is dropped
    for _ in range(3):
        lenient.step(0)
    assert lenient.get_episode_lengths() == [3]


class _KeywordEnv(IdentityEnv):
    """Accepts an extra reset keyword and reports an info key."""

    def reset(self, *, seed=None, options=None, level=None):
        return super().reset(seed=seed, options=options)

    def step(self, action):
        obs, reward, terminated, truncated, info = super().step(action)
        return obs, reward, terminated, truncated, {"score": 42}


def test_reset_and_info_keywords_are_logged(tmp_path):
    env = _KeywordEnv(dim=2, ep_length=2)
    menv = Monitor(env, str(tmp_path), reset_keywords=("level",), info_keywords=("score",))
    with pytest.raises(ValueError, match="Expected you to pass kwarg level into reset"):
        menv.reset()
    menv.reset(level=3)
    menv.step(0)
    info = menv.step(0)[4]
    assert info["episode"]["level"] == 3 and info["episode"]["score"] == 42
    menv.close()
    frame = pandas.read_csv(str(tmp_path / "monitor.csv"), comment="#")  # a directory gets monitor.csv inside
    assert list(frame.columns) == ["r", "l", "t", "level", "score"]
    assert frame[["l", "level", "score"]].values.tolist() == [[2, 3, 42]]


def test_file_naming(tmp_path):
    Monitor(IdentityEnv(), str(tmp_path / "run")).close()
    Monitor(IdentityEnv(), str(tmp_path / "exact.monitor.csv")).close()
    names = sorted(os.listdir(str(tmp_path)))
    assert names == ["exact.monitor.csv", "run.monitor.csv"]
    with open(str(tmp_path / "run.monitor.csv")) as file_handler:
        assert json.loads(file_handler.readline()[1:])["env_id"] is None  # no spec: null


class _OldApiEnv:
    """An env written against the old gym API (reset -> obs, step -> 4-tuple)."""

    def __init__(self):
        self.observation_space = gym.spaces.Discrete(3)
        self.action_space = gym.spaces.Discrete(3)
        self.t = 0

    def reset(self):
        self.t = 0
        return 0

    def step(self, action):
        self.t += 1
        return self.t % 3, 0.5, self.t >= 4, {}

    def close(self):
        pass


def test_old_gym_api_env_keeps_the_old_api():
    """As SB2's Monitor: around an old-API env it steps the old way; VecEnvs still convert it."""
    menv = Monitor(_OldApiEnv(), None)
    assert menv.old_gym_api and menv.reset() == 0
    for _ in range(4):
        result = menv.step(0)
    assert len(result) == 4 and result[2] is True
    assert result[3]["episode"]["r"] == 2.0 and result[3]["episode"]["l"] == 4
    assert menv.get_episode_lengths() == [4]
    with pytest.raises(AttributeError, match="old gym API"):
        Monitor(gym.make("CartPole-v1"), None).seed(0)
    vec_env = DummyVecEnv([lambda: Monitor(_OldApiEnv(), None)])
    assert isinstance(vec_env.envs[0], Monitor)  # the env as built
    vec_env.reset()
    infos = [vec_env.step([0])[3][0] for _ in range(4)]
    assert infos[-1]["episode"] == {"r": 2.0, "l": 4, "t": infos[-1]["episode"]["t"]}


def test_old_gym_api_monitor_seeds_and_renders():
    class Seeded(_OldApiEnv):
        def seed(self, seed=None):
            self.seeded = seed
            return [seed]

        def render(self, mode="human"):
            return mode

    menv = Monitor(Seeded(), None)
    assert menv.seed(5) == [5] and menv.env.env.seeded == 5
    assert menv.render(mode="rgb_array") == "rgb_array" and menv.render() == "human"
    vec_env = DummyVecEnv([lambda: Monitor(Seeded(), None)])
    vec_env.seed(7)
    vec_env.reset()
    assert vec_env.get_attr("seeded") == [7]
    assert vec_env.get_images() == ["rgb_array"]
    gymnasium_monitor = Monitor(gym.make("CartPole-v1", render_mode="rgb_array"), None)
    gymnasium_monitor.reset(seed=0)
    assert gymnasium_monitor.render().shape == gymnasium_monitor.render("rgb_array").shape == (400, 600, 3)
    with pytest.raises(ValueError, match="render_mode='rgb_array'"):
        gymnasium_monitor.render("human")


def test_load_results(tmp_path):
    tmp = str(tmp_path)
    with pytest.raises(LoadMonitorResultsError):
        load_results(tmp)

    file1 = os.path.join(tmp, "stable_ppo2-test-{}.monitor.csv".format(uuid.uuid4()))
    env1 = Monitor(gym.make("CartPole-v1"), file1)
    assert get_monitor_files(tmp) == [file1]
    count1 = len(_run(env1, 1000))
    results1 = load_results(tmp)
    assert len(results1.index) == count1
    assert list(results1.columns) == ["index", "r", "l", "t"]
    assert results1["t"].is_monotonic_increasing and results1["t"].min() >= 0

    file2 = os.path.join(tmp, "stable_ppo2-test-{}.monitor.csv".format(uuid.uuid4()))
    env2 = Monitor(gym.make("CartPole-v1"), file2)
    assert sorted(get_monitor_files(tmp)) == sorted([file1, file2])
    count2 = len(_run(env2, 1000))
    results2 = load_results(tmp)
    assert len(results2.index) == count1 + count2
    assert results2["t"].is_monotonic_increasing
    env1.close()
    env2.close()


def test_load_results_legacy_json(tmp_path):
    with open(str(tmp_path / "old.monitor.json"), "w") as file_handler:
        file_handler.write(json.dumps({"t_start": 100.0, "env_id": "X"}) + "\n")
        file_handler.write(json.dumps({"r": 1.0, "l": 2, "t": 3.0}) + "\n")
    frame = load_results(str(tmp_path))
    assert frame[["r", "l", "t"]].values.tolist() == [[1.0, 2, 3.0]]
