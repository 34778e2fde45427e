"""ExpertDataset, DataLoader and generate_expert_traj (SB2's gail/dataset, quirks 16-18 and 27 fixed)."""
import builtins
import os
import pickle
import sys
import warnings

import gymnasium as gym
import numpy as np
import pytest
from gymnasium import spaces

from stable_ppo2 import PPO2
from stable_ppo2.common.identity_env import IdentityEnv, IdentityEnvBox, IdentityEnvMultiDiscrete
from stable_ppo2.common.vec_env import DummyVecEnv
from stable_ppo2.gail import DataLoader, ExpertDataset, generate_expert_traj

from .helpers import SHARED

EXPERT_CARTPOLE = os.path.join(SHARED, "data", "expert_cartpole.npz")
EXPERT_PENDULUM = os.path.join(SHARED, "data", "expert_pendulum.npz")


def episodes(lengths, obs_dim=2):
    """Expert data with episodes of the given lengths; obs[i] = [i, i], action i % 2, reward 1."""
    n = sum(lengths)
    starts = np.zeros(n, bool)
    starts[np.cumsum([0] + list(lengths[:-1]))] = True
    return dict(obs=np.repeat(np.arange(n, dtype=np.float32)[:, None], obs_dim, axis=1),
                actions=(np.arange(n) % 2).reshape(-1, 1), rewards=np.ones(n),
                episode_returns=np.array(lengths, float), episode_starts=starts)


# ------------------------------------------------------------------------------------ ExpertDataset
def test_import_needs_no_mpi():
    """SB2's ``stable_baselines.gail`` imported GAIL and needed mpi4py (quirk 27)."""
    import stable_ppo2.gail  # noqa: F401
    import stable_ppo2.gail.dataset.record_expert  # noqa: F401
    assert "mpi4py" not in sys.modules


def test_cartpole_file_split_and_batches(capsys):
    np.random.seed(0)
    dataset = ExpertDataset(expert_path=EXPERT_CARTPOLE, batch_size=128)
    printed = capsys.readouterr().out
    assert "obs (49527, 4)" in printed and "episode_starts (49527,)" in printed
    assert dataset.num_transition == 49527 and dataset.num_traj == 100
    assert dataset.observations.shape == (49527, 4) and dataset.actions.shape == (49527, 1)
    assert dataset.avg_ret == pytest.approx(495.27)
    train, val = dataset.train_loader.original_indices, dataset.val_loader.original_indices
    assert len(train) == int(0.7 * 49527) and len(val) == 49527 - int(0.7 * 49527)
    assert sorted(np.concatenate([train, val])) == list(range(49527))
    assert len(dataset.train_loader) == int(np.ceil(len(train) / 128)) == 271
    assert len(dataset.val_loader) == 117
    obs, actions = dataset.get_next_batch("train")
    assert obs.shape == (128, 4) and actions.shape == (128, 1) and actions.dtype == np.int64


def test_argument_errors(tmp_path):
    data = episodes([5, 5])
    with pytest.raises(ValueError, match="Cannot specify both"):
        ExpertDataset(expert_path=EXPERT_CARTPOLE, traj_data=data)
    with pytest.raises(ValueError, match="Must specify one of"):
        ExpertDataset()
    for key in ("obs", "actions", "episode_starts", "episode_returns"):
        incomplete = {k: v for k, v in data.items() if k != key}
        with pytest.raises(KeyError, match=key):
            ExpertDataset(traj_data=incomplete, verbose=0)
    path = str(tmp_path / "broken.npz")
    np.savez(path, **{k: v for k, v in data.items() if k != "actions"})
    with pytest.raises(KeyError, match="broken.npz"):
        ExpertDataset(expert_path=path, verbose=0)
    short = dict(data, actions=data["actions"][:-1])
    with pytest.raises(ValueError, match="9 actions"):
        ExpertDataset(traj_data=short, verbose=0)
    with pytest.raises(ValueError, match="training set"):
        ExpertDataset(traj_data=episodes([1]), train_fraction=0.7, verbose=0)
    with pytest.raises(ValueError, match="train_fraction"):
        ExpertDataset(traj_data=data, train_fraction=1.0, verbose=0)
    with pytest.raises(ValueError, match="split"):
        ExpertDataset(traj_data=data, verbose=0).get_next_batch("test")


@pytest.mark.parametrize("limit, kept", [(1, 5), (2, 10), (3, 15), (4, 15), (-1, 15), (0, 15)])
def test_traj_limitation_cuts_after_episode_k(limit, kept):
    """SB2 kept 8 transitions for traj_limitation=1 and 13 for 2 here (quirk 16)."""
    data = episodes([5, 5, 5])
    data["episode_returns"] = np.array([1.0, 2.0, 3.0])
    dataset = ExpertDataset(traj_data=data, traj_limitation=limit, train_fraction=0.6, verbose=0)
    assert dataset.num_transition == kept
    n_episodes = kept // 5
    assert dataset.num_traj == n_episodes
    np.testing.assert_array_equal(dataset.returns, [1.0, 2.0, 3.0][:n_episodes])
    assert dataset.avg_ret == pytest.approx(np.mean([1.0, 2.0, 3.0][:n_episodes]))
    np.testing.assert_array_equal(dataset.observations[:, 0], np.arange(kept))


def test_traj_limitation_on_cartpole_file():
    full = np.load(EXPERT_CARTPOLE)
    starts = np.flatnonzero(full["episode_starts"])
    dataset = ExpertDataset(expert_path=EXPERT_CARTPOLE, traj_limitation=10, verbose=0)
    assert dataset.num_transition == starts[10]
    assert dataset.num_traj == 10 and len(dataset.returns) == 10
    np.testing.assert_array_equal(dataset.returns, full["episode_returns"][:10])


def test_high_dimensional_observations_are_flattened():
    data = episodes([6, 6])
    data["obs"] = np.zeros((12, 2, 3, 4), np.float32)
    data["actions"] = np.zeros((12, 2, 2), np.float32)
    dataset = ExpertDataset(traj_data=data, verbose=0, batch_size=4)
    assert dataset.observations.shape == (12, 24) and dataset.actions.shape == (12, 4)


@pytest.mark.parametrize("sequential", [True, False])
def test_loader_epochs_cover_the_split_without_empty_batches(sequential):
    """The split size is a multiple of the batch size: SB2's sequential loader then also yielded an
    empty batch (quirk 17)."""
    data = episodes([40, 40])
    dataset = ExpertDataset(traj_data=data, batch_size=8, train_fraction=0.6, verbose=0,
                            sequential_preprocessing=sequential)
    assert len(dataset.train_loader.original_indices) == 48 and len(dataset.train_loader) == 6
    for _epoch in range(3):
        seen = []
        for _ in range(len(dataset.train_loader)):
            obs, actions = dataset.get_next_batch("train")
            assert len(obs) == len(actions) == 8
            seen.extend(obs[:, 0].astype(int))
        assert sorted(seen) == sorted(dataset.train_loader.original_indices)
    # the validation split (32 = 4 * 8) as well
    sizes = [len(dataset.get_next_batch("val")[0]) for _ in range(8)]
    assert sizes == [8] * 8


def test_sequential_loader_iteration_and_partial_batches():
    obs = np.arange(10, dtype=np.float32).reshape(-1, 1)
    loader = DataLoader(np.arange(10), obs, obs.copy(), batch_size=4, sequential=True, start_process=False)
    assert len(loader) == 3
    assert [len(b[0]) for b in loader] == [4, 4, 2]
    assert [len(b[0]) for b in iter(loader)] == [4, 4, 2]  # iter() starts a new epoch
    exact = DataLoader(np.arange(8), obs, obs.copy(), batch_size=4, sequential=True, start_process=False)
    assert [len(b[0]) for b in exact] == [4, 4]
    dropped = DataLoader(np.arange(10), obs, obs.copy(), batch_size=4, sequential=True,
                         start_process=False, partial_minibatch=False)
    assert len(dropped) == 2 and [len(b[0]) for b in dropped] == [4, 4]
    ordered = DataLoader(np.arange(10), obs, obs.copy(), batch_size=4, sequential=True, start_process=False)
    np.testing.assert_array_equal(np.concatenate([b[0] for b in ordered])[:, 0], np.arange(10))


def test_background_loader_thread():
    obs = np.arange(10, dtype=np.float32).reshape(-1, 1)
    with pytest.raises(ValueError, match="start_process"):
        next(DataLoader(np.arange(10), obs, obs, batch_size=4, start_process=False))
    loader = DataLoader(np.arange(10), obs, obs, batch_size=4, shuffle=True)
    for _epoch in range(2):
        batches = list(iter(loader))
        assert [len(b[0]) for b in batches] == [4, 4, 2]
        assert sorted(np.concatenate([b[0] for b in batches])[:, 0]) == list(range(10))
    thread = loader.process
    loader.close()
    thread.join(timeout=2)
    assert not thread.is_alive()
    once = DataLoader(np.arange(10), obs, obs, batch_size=5, infinite_loop=False)
    assert len(list(once)) == 2
    once.process.join(timeout=2)
    assert not once.process.is_alive()


def test_gail_loader_and_pickling():
    dataset = ExpertDataset(traj_data=episodes([10, 10]), batch_size=4, verbose=0)
    with pytest.raises(ValueError, match="init_dataloader"):
        dataset.get_next_batch()
    dataset.init_dataloader(6)
    assert len(dataset.get_next_batch()[0]) == 6
    restored = pickle.loads(pickle.dumps(dataset))
    assert restored.dataloader is None
    np.testing.assert_array_equal(restored.train_loader.original_indices,
                                  dataset.train_loader.original_indices)
    assert len(restored.get_next_batch("train")[0]) == 4
    np.testing.assert_array_equal(restored.observations, dataset.observations)


def test_plot(monkeypatch):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    shown = []
    monkeypatch.setattr(plt, "show", lambda: shown.append(True))
    ExpertDataset(traj_data=episodes([5, 5]), verbose=0).plot()
    assert shown == [True]
    plt.close("all")


def test_images_need_opencv(monkeypatch, tmp_path):
    real_import = builtins.__import__

    def no_cv2(name, *args, **kwargs):
        if name == "cv2":
            raise ImportError("No module named 'cv2'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_cv2)
    data = episodes([3, 3])
    data["obs"] = np.array([f"recorded_images/{i}.jpg" for i in range(6)])
    with pytest.raises(ImportError, match="pip install opencv-python-headless"):
        ExpertDataset(traj_data=data, verbose=0)
    env = DummyVecEnv([lambda: ImageEnv()])
    with pytest.raises(ImportError, match="pip install opencv-python-headless"):
        generate_expert_traj(lambda obs: [0], save_path=str(tmp_path / "expert"), env=env, n_episodes=1)


# ------------------------------------------------------------------------------------ generate_expert_traj
class ImageEnv(gym.Env):
    """4 steps per episode of 8x8 RGB uint8 images whose pixels hold the step index * 40."""

    def __init__(self, channels=3):
        self.observation_space = spaces.Box(0, 255, (8, 8, channels), np.uint8)
        self.action_space = spaces.Discrete(2)
        self.t = 0

    def _obs(self):
        return np.full(self.observation_space.shape, 40 * self.t, np.uint8)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.t = 0
        return self._obs(), {}

    def step(self, action):
        self.t += 1
        return self._obs(), 1.0, self.t >= 4, False, {}


class LegacyCounterEnv:
    """An old-gym-API env (reset -> obs, step -> 4-tuple) with 3-step episodes."""

    observation_space = spaces.Box(-10, 10, (1,), np.float32)
    action_space = spaces.Discrete(2)

    def reset(self):
        self.t = 0
        return np.zeros(1, np.float32)

    def step(self, action):
        self.t += 1
        return np.full(1, self.t, np.float32), float(action), self.t >= 3, {}

    def close(self):
        self.closed = True


def check_layout(traj, n_episodes):
    starts = traj["episode_starts"]
    assert starts.dtype == bool and starts.ndim == 1 and starts[0]
    assert starts.sum() == n_episodes and len(traj["episode_returns"]) == n_episodes
    for key in ("obs", "actions", "rewards"):
        assert len(traj[key]) == len(starts), key
    assert traj["rewards"].shape == (len(starts),)
    bounds = list(np.flatnonzero(starts)) + [len(starts)]
    sums = [traj["rewards"][a:b].sum() for a, b in zip(bounds[:-1], bounds[1:])]
    np.testing.assert_allclose(traj["episode_returns"], sums)


def test_generate_from_callable_plain_env(tmp_path):
    env = gym.make("CartPole-v1")
    env.reset(seed=0)
    path = str(tmp_path / "expert_cartpole")
    traj = generate_expert_traj(lambda obs: int(obs[2] + obs[3] > 0), save_path=path, env=env,
                                n_episodes=3)
    check_layout(traj, 3)
    assert traj["obs"].shape == (len(traj["obs"]), 4) and traj["obs"].dtype == np.float32
    assert traj["actions"].shape == (len(traj["obs"]), 1)
    assert np.all(traj["episode_returns"] > 100)  # the heuristic balances the pole
    with np.load(path + ".npz") as saved:
        assert sorted(saved.files) == sorted(traj)
        for key in traj:
            np.testing.assert_array_equal(saved[key], traj[key])
    dataset = ExpertDataset(expert_path=path + ".npz", verbose=0)
    assert dataset.num_traj == 3 and dataset.num_transition == len(traj["obs"])


def test_generate_box_and_multidiscrete_spaces():
    traj = generate_expert_traj(lambda obs: obs, env=IdentityEnvBox(ep_length=5), n_episodes=2)
    check_layout(traj, 2)
    assert traj["obs"].shape == (10, 1) and traj["actions"].shape == (10, 1)
    assert traj["actions"].dtype == np.float32 and np.all(traj["episode_returns"] == 5)
    traj = generate_expert_traj(lambda obs: obs, env=IdentityEnvMultiDiscrete(3, ep_length=4), n_episodes=2)
    assert traj["obs"].shape == (8, 2) and traj["actions"].shape == (8, 2)
    traj = generate_expert_traj(lambda obs: obs, env=IdentityEnv(4, ep_length=4), n_episodes=2)
    assert traj["obs"].shape == (8, 1) and traj["actions"].shape == (8, 1)


def test_generate_from_legacy_env():
    env = LegacyCounterEnv()
    traj = generate_expert_traj(lambda obs: 1, env=env, n_episodes=2)
    check_layout(traj, 2)
    np.testing.assert_array_equal(traj["obs"][:, 0], [0, 1, 2, 0, 1, 2])
    np.testing.assert_array_equal(traj["episode_returns"], [3, 3])
    assert env.closed  # SB2 closes the env at the end


def test_generate_from_model_on_vec_env():
    """Two envs: only the first is recorded, and episode_starts is a plain bool vector (quirk 18);
    ``n_timesteps`` trains the model first, on its own env."""
    env = DummyVecEnv([lambda: IdentityEnv(3, ep_length=5) for _ in range(2)])
    model = PPO2("MlpPolicy", env, n_steps=16, seed=0, n_cpu_tf_sess=1)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        traj = generate_expert_traj(model, n_timesteps=64, n_episodes=3)
    assert model.num_timesteps == 64
    assert any("only the data from the first one" in str(w.message) for w in caught)
    check_layout(traj, 3)
    assert len(traj["obs"]) == 15 and traj["obs"].shape == (15, 1) and traj["actions"].shape == (15, 1)
    np.testing.assert_array_equal(np.flatnonzero(traj["episode_starts"]), [0, 5, 10])


def test_generate_errors():
    with pytest.raises(ValueError, match="set the env"):
        generate_expert_traj(lambda obs: 0, env=None)
    with pytest.raises(TypeError, match="callable"):
        generate_expert_traj(42, env=IdentityEnv(2))
    with pytest.raises(ValueError, match="n_episodes"):
        generate_expert_traj(lambda obs: 0, env=IdentityEnv(2), n_episodes=0)

    class DictEnv(IdentityEnv):
        def __init__(self):
            super().__init__(2)
            self.observation_space = spaces.Dict({"a": spaces.Discrete(2)})

    with pytest.raises(ValueError, match="Observation space type not supported"):
        generate_expert_traj(lambda obs: 0, env=DictEnv(), n_episodes=1)


def test_images_without_save_path_stay_in_the_archive():
    with pytest.warns(UserWarning, match="no save path"):
        traj = generate_expert_traj(lambda obs: 0, env=ImageEnv(), n_episodes=2)
    assert traj["obs"].shape == (8, 8, 8, 3) and traj["obs"].dtype == np.uint8


@pytest.mark.parametrize("channels", [1, 3])
def test_images_recorded_as_files(tmp_path, monkeypatch, channels):
    monkeypatch.chdir(tmp_path)
    env = DummyVecEnv([lambda: ImageEnv(channels)])
    traj = generate_expert_traj(lambda obs: [0], save_path="out/expert", env=env, n_episodes=2)
    check_layout(traj, 2)
    assert traj["obs"].dtype.kind == "U" and traj["obs"][0] == os.path.join("out", "recorded_images", "0.jpg")
    assert all(os.path.exists(path) for path in traj["obs"])
    dataset = ExpertDataset(expert_path="out/expert.npz", batch_size=8, verbose=0,
                            sequential_preprocessing=True, randomize=False)
    obs, _ = dataset.get_next_batch("train")
    assert obs.shape == (len(obs), 8, 8, channels) and obs.dtype == np.uint8
    ids = [int(os.path.basename(p).split(".")[0]) for p in dataset.observations[
        dataset.train_loader.original_indices[:len(obs)]]]
    expected = np.array([40 * (i % 4) for i in ids])
    np.testing.assert_allclose(obs.reshape(len(obs), -1).mean(axis=1), expected, atol=3)  # jpeg
