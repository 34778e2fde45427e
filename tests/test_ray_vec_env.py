"""RayVecEnv against a real Ray cluster on loopback: a head and a worker node, each started with
``ray start`` (issue #10). The VecEnv contract (auto-reset, terminal observation, TimeLimit.truncated,
seeds, env_method/get_attr/set_attr, close) matches DummyVecEnv; PPO2 trained through it learns
exactly what it learns through DummyVecEnv; a killed actor is an error naming its envs within
seconds, or with ``restart_failed=True`` is replaced and training goes on.
"""
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections import OrderedDict

import gymnasium as gym
import numpy as np
import pytest
import ray  # noqa: E402  (in the tests extra)
from gymnasium import spaces

from stable_ppo2 import PPO2
from stable_ppo2.common import make_vec_env
from stable_ppo2.common.callbacks import BaseCallback
from stable_ppo2.common.vec_env import DummyVecEnv, RayVecEnv
from stable_ppo2.common.vec_env.subproc_vec_env import WorkerDiedError
from tests.helpers import parent_pid, process_alive, wait_until
from tests.test_vec_envs import CustomGymEnv, FailingEnv, StepCountEnv

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RAY_CLI = [sys.executable, "-m", "ray.scripts.scripts"]
NODE_OPTIONS = ["--node-ip-address=127.0.0.1", "--num-cpus=2", "--object-store-memory=100000000",
                "--disable-usage-stats"]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _ray_cli(args, env, timeout=120):
    done = subprocess.run(RAY_CLI + args, env=env, capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, f"ray {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}"


@pytest.fixture(scope="module")
def cluster():
    """``host:port`` of a two-node Ray cluster (head + worker) on 127.0.0.1; the nodes can import the tests.

    Without token authentication (``RAY_AUTH_MODE=disabled``: a throwaway cluster on this machine),
    so that neither the nodes nor this process depend on a token in ``~/.ray``."""
    port = _free_port()
    temp_dir = f"/tmp/ray10_{os.getpid()}"  # short: Ray's socket paths must stay under 107 characters
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [REPO, os.environ.get("PYTHONPATH")])),
               RAY_USAGE_STATS_ENABLED="0", RAY_AUTH_MODE="disabled")
    try:
        _ray_cli(["start", "--head", f"--port={port}", f"--temp-dir={temp_dir}", "--include-dashboard=false"]
                 + NODE_OPTIONS, env)
        _ray_cli(["start", f"--address=127.0.0.1:{port}"] + NODE_OPTIONS, env)
        yield f"127.0.0.1:{port}"
    finally:
        if ray.is_initialized():
            ray.shutdown()
        subprocess.run(RAY_CLI + ["stop", "--force"], env=env, capture_output=True, timeout=120)
        shutil.rmtree(temp_dir, ignore_errors=True)


def test_two_nodes_and_actors_on_both(cluster, envs_to_close):
    """The cluster has two live nodes, and the actors (spread by default) run under both nodes' raylets."""
    vec_env = RayVecEnv([lambda: gym.make("CartPole-v1") for _ in range(4)], address=cluster)
    envs_to_close.append(vec_env)
    assert sum(node["Alive"] for node in ray.nodes()) == 2
    pids = vec_env.actor_pids()
    assert len(set(pids)) == 4 and os.getpid() not in pids
    assert len({parent_pid(pid) for pid in pids}) == 2  # two raylets, one per node


def _rollout(vec_env, seed, n_steps=120):
    assert vec_env.seed(seed) == [seed + i for i in range(vec_env.num_envs)]
    outputs = [vec_env.reset()]
    for step in range(n_steps):
        obs, rewards, dones, infos = vec_env.step(np.array([(step + i // 2) % 2 for i in range(vec_env.num_envs)]))
        terminal = [info.get("terminal_observation", np.full(4, np.nan)) for info in infos]
        outputs.append(np.concatenate([obs, rewards[:, None], dones[:, None], np.array(terminal)], axis=1))
    return np.concatenate(outputs[1:]), outputs[0]


@pytest.mark.parametrize("envs_per_actor", [1, 2, 5])
def test_rollouts_equal_dummy_vec_env(cluster, envs_to_close, envs_per_actor):
    """Same seeds, same actions: the same observations, rewards, dones and terminal observations in env
    order as DummyVecEnv, whatever the batching (5 envs: 2 per actor leaves a remainder of 1)."""
    env_fns = [lambda: gym.make("CartPole-v1") for _ in range(5)]
    vec_env = RayVecEnv(env_fns, envs_per_actor=envs_per_actor, address=cluster)
    envs_to_close.append(vec_env)
    assert [len(envs) for envs in vec_env.slices] == {1: [1] * 5, 2: [2, 2, 1], 5: [5]}[envs_per_actor]
    steps, first = _rollout(vec_env, seed=3)
    expected_steps, expected_first = _rollout(DummyVecEnv(env_fns), seed=3)
    np.testing.assert_array_equal(first, expected_first)
    np.testing.assert_array_equal(steps, expected_steps)
    assert np.isfinite(steps[:, -4:]).any()  # episodes ended, so terminal observations were compared
    again, _ = _rollout(vec_env, seed=3)
    np.testing.assert_array_equal(again, steps)  # reseeding the same VecEnv repeats it
    assert vec_env.seed(None) == [None] * 5


def test_terminal_observation_and_time_limit(cluster, envs_to_close):
    """Auto-reset on the step that ends an episode; TimeLimit.truncated only for a time-limit cut."""
    vec_env = RayVecEnv([lambda: gym.wrappers.TimeLimit(StepCountEnv(3, terminates=False), max_episode_steps=3),
                         lambda: StepCountEnv(3)], envs_per_actor=2, address=cluster)
    envs_to_close.append(vec_env)
    np.testing.assert_array_equal(vec_env.reset(), np.zeros((2, 1)))
    for step in range(1, 7):
        obs, rewards, dones, infos = vec_env.step(np.zeros(2, np.int64))
        assert rewards.dtype == np.float32 and dones.dtype == bool and isinstance(infos, list)
        episode_step = (step - 1) % 3 + 1
        np.testing.assert_array_equal(rewards, [episode_step] * 2)
        if episode_step == 3:
            assert dones.all()
            np.testing.assert_array_equal(obs, np.zeros((2, 1)))  # the next episode's first observation
            assert [info["TimeLimit.truncated"] for info in infos] == [True, False]
            for info in infos:
                np.testing.assert_array_equal(info["terminal_observation"], [3])
        else:
            assert not dones.any() and all("terminal_observation" not in info for info in infos)
            np.testing.assert_array_equal(obs, [[episode_step]] * 2)


def test_env_method_get_attr_set_attr_with_indices(cluster, envs_to_close):
    """Calls reach the selected envs across actors, results in the order of ``indices``."""
    def make_env():
        return CustomGymEnv(spaces.Box(low=0.0, high=1.0, shape=(2,), dtype=np.float32))

    vec_env = RayVecEnv([make_env for _ in range(5)], envs_per_actor=2, address=cluster)
    envs_to_close.append(vec_env)
    vec_env.reset()
    results = vec_env.env_method("custom_method", 2, indices=[4, 0, 2], dim_1=3)
    assert len(results) == 3 and all(np.array_equal(result, np.ones((2, 3))) for result in results)
    assert vec_env.get_attr("current_step") == [0] * 5
    vec_env.set_attr("current_step", 42, indices=[1, 2])
    vec_env.set_attr("current_step", 7, indices=-1)
    assert vec_env.get_attr("current_step") == [0, 42, 42, 0, 7]
    assert vec_env.get_attr("current_step", indices=[4, 1]) == [7, 42]
    assert vec_env.get_attr("current_step", indices=3) == [0]
    assert vec_env.render(mode="rgb_array").shape == (12, 8, 3)  # 5 images of 4x4: 3 rows of 2
    with pytest.raises(IndexError):
        vec_env.get_attr("current_step", indices=[5])


def test_dict_and_tuple_observations(cluster, envs_to_close):
    dict_space = spaces.Dict(OrderedDict([("vec", spaces.Box(0.0, 1.0, (2,), np.float32)), ("d", spaces.Discrete(3))]))
    tuple_space = spaces.Tuple((spaces.Box(0.0, 1.0, (2,), np.float32), spaces.Discrete(3)))
    for space in (dict_space, tuple_space):
        vec_env = RayVecEnv([lambda: CustomGymEnv(space) for _ in range(3)], envs_per_actor=2, address=cluster)
        envs_to_close.append(vec_env)
        for obs in (vec_env.reset(), vec_env.step([space.sample() for _ in range(3)])[0]):
            parts = list(obs.values()) if space is dict_space else list(obs)
            assert isinstance(obs, OrderedDict if space is dict_space else tuple)
            assert [part.shape[0] for part in parts] == [3, 3]


class EchoEnv(gym.Env):
    """Observes the action it was given (float32 Box of ``shape``); checks it gets a float32 array."""

    def __init__(self, shape):
        self.observation_space = self.action_space = spaces.Box(-1e6, 1e6, shape, np.float32)

    def reset(self, *, seed=None, options=None):
        return np.zeros(self.observation_space.shape, np.float32), {}

    def step(self, action):
        assert isinstance(action, np.ndarray) and action.dtype == np.float32, (type(action), action.dtype)
        return action.copy(), 0.0, False, False, {}


@pytest.mark.parametrize("shape", [(3,), (70, 70)], ids=["small: sent as lists", "large: sent as arrays"])
def test_arrays_cross_exactly(cluster, envs_to_close, shape):
    """Actions and observations keep their dtype and exact values, small (packed as lists) or large."""
    vec_env = RayVecEnv([lambda: EchoEnv(shape) for _ in range(3)], envs_per_actor=2, address=cluster)
    envs_to_close.append(vec_env)
    vec_env.reset()
    actions = np.random.default_rng(0).normal(size=(3,) + shape).astype(np.float32) * 1e3
    obs = vec_env.step(actions)[0]
    assert obs.dtype == np.float32 and obs.flags.writeable
    np.testing.assert_array_equal(obs, actions)


def test_env_exception_is_reraised_with_its_class(cluster, envs_to_close):
    vec_env = RayVecEnv([lambda: FailingEnv(5) for _ in range(2)], address=cluster)
    envs_to_close.append(vec_env)
    vec_env.reset()
    with pytest.raises(ValueError, match="step failed on purpose"):
        vec_env.step(np.array([0, 1]))
    assert vec_env.step(np.array([0, 0]))[0].shape == (2, 1)  # the envs are still there


def test_close_releases_the_actors(cluster):
    vec_env = RayVecEnv([lambda: StepCountEnv(3) for _ in range(3)], address=cluster)
    pids = vec_env.actor_pids()
    vec_env.close()
    vec_env.close()  # idempotent
    assert wait_until(lambda: not any(process_alive(pid) for pid in pids), timeout=15)
    with pytest.raises(EOFError, match="closed"):
        vec_env.reset()


def test_timeout_names_the_slow_envs(cluster, envs_to_close):
    class SlowEnv(StepCountEnv):
        def step(self, action):
            time.sleep(3 if action == 1 else 0)
            return super().step(action)

    vec_env = RayVecEnv([lambda: SlowEnv(50) for _ in range(3)], address=cluster, timeout=0.5)
    envs_to_close.append(vec_env)
    vec_env.reset()
    with pytest.raises(TimeoutError, match=r"actors \[1\] \(envs 1\) did not answer 'step' within 0.5 s"):
        vec_env.step(np.array([0, 1, 0]))


def test_other_cluster_address_is_refused(cluster, envs_to_close):
    envs_to_close.append(RayVecEnv([lambda: StepCountEnv(3)], address=cluster))
    with pytest.raises(ValueError, match="already connected"):
        RayVecEnv([lambda: StepCountEnv(3)], address="127.0.0.1:1")


def test_missing_ray_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)
    with pytest.raises(ImportError, match=r"pip install 'stable_ppo2\[ray\]'"):
        RayVecEnv([lambda: StepCountEnv(3)])


# ------------------------------------------------------------------------------------------ PPO2
PPO2_KWARGS = dict(n_steps=32, nminibatches=4, noptepochs=4, learning_rate=1e-3, seed=0, n_cpu_tf_sess=1)


def _ppo2_cartpole(vec_env_cls=None, vec_env_kwargs=None, total_timesteps=2048, callback=None):
    env = make_vec_env("CartPole-v1", n_envs=4, seed=0, vec_env_cls=vec_env_cls, vec_env_kwargs=vec_env_kwargs)
    try:
        model = PPO2("MlpPolicy", env, **PPO2_KWARGS)
        model.learn(total_timesteps=total_timesteps, callback=callback)
    finally:
        env.close()
    return model


@pytest.mark.slow
def test_ppo2_learns_the_same_as_with_dummy_vec_env(cluster):
    """Same seeds: the same episodes (returns and lengths in ep_info_buf) and the same parameters."""
    through_ray = _ppo2_cartpole(RayVecEnv, {"address": cluster, "envs_per_actor": 2}, total_timesteps=8192)
    through_dummy = _ppo2_cartpole(total_timesteps=8192)
    episodes = [(info["r"], info["l"]) for info in through_ray.ep_info_buf]
    assert len(episodes) > 50
    assert episodes == [(info["r"], info["l"]) for info in through_dummy.ep_info_buf]
    print(f"{len(episodes)} episodes in ep_info_buf, mean return {np.mean([r for r, _ in episodes]):.2f}, equal")
    expected = through_dummy.get_parameters()
    for name, value in through_ray.get_parameters().items():
        np.testing.assert_array_equal(value, expected[name], err_msg=name)


class KillActorAt(BaseCallback):
    """Kills the process of the actor holding env 2 at the ``at``-th step of the rollouts."""

    def __init__(self, at: int) -> None:
        super().__init__()
        self.at, self.killed_at, self.killed_pid = at, None, None

    def _on_step(self) -> bool:
        if self.n_calls == self.at:
            self.killed_pid = self.training_env.actor_pids()[1]
            os.kill(self.killed_pid, signal.SIGKILL)
            self.killed_at = time.monotonic()
        return True


def test_killed_actor_mid_rollout_is_a_clear_error_within_10_s(cluster):
    callback = KillActorAt(at=40)  # step 8 of the second rollout (n_steps=32)
    with pytest.raises(WorkerDiedError) as caught:
        _ppo2_cartpole(RayVecEnv, {"address": cluster, "envs_per_actor": 2}, callback=callback)
    delay = time.monotonic() - callback.killed_at
    assert delay < 10, f"the dead actor was reported after {delay:.1f} s"
    message = str(caught.value)
    assert f"actor 1 (pid {callback.killed_pid}" in message and "holding envs 2, 3" in message
    assert "restart_failed=True" in message
    print(f"killed actor reported after {delay:.2f} s")


def test_killed_actor_is_replaced_with_restart_failed(cluster):
    callback = KillActorAt(at=40)
    with pytest.warns(RuntimeWarning, match=r"actor 1 .*envs 2, 3.* replaced by pid"):
        model = _ppo2_cartpole(RayVecEnv, {"address": cluster, "envs_per_actor": 2, "restart_failed": True},
                               callback=callback)
    assert callback.killed_pid is not None and not process_alive(callback.killed_pid)
    assert model.num_timesteps == 2048
    assert len(model.ep_info_buf) > 0


def test_replaced_envs_report_a_cut_episode(cluster, envs_to_close):
    vec_env = RayVecEnv([lambda: StepCountEnv(50) for _ in range(3)], address=cluster, restart_failed=True)
    envs_to_close.append(vec_env)
    vec_env.reset()
    vec_env.step(np.zeros(3, np.int64))
    old_pid = vec_env.actor_pids()[2]
    os.kill(old_pid, signal.SIGKILL)
    with pytest.warns(RuntimeWarning, match="actor 2"):
        obs, rewards, dones, infos = vec_env.step(np.zeros(3, np.int64))
    np.testing.assert_array_equal(obs, [[2], [2], [0]])
    np.testing.assert_array_equal(rewards, [2, 2, 0])
    np.testing.assert_array_equal(dones, [False, False, True])
    assert infos[2] == {"actor_restarted": True, "TimeLimit.truncated": True}
    assert vec_env.actor_pids()[2] != old_pid
    np.testing.assert_array_equal(vec_env.step(np.zeros(3, np.int64))[0], [[3], [3], [1]])


def test_actors_that_cannot_start_time_out_with_a_hint(cluster):
    with pytest.raises(TimeoutError, match="did not answer 'where' within 2.0 s .*lack the resources"):
        RayVecEnv([lambda: StepCountEnv(3)], address=cluster, actor_options={"num_cpus": 64}, start_timeout=2.0)


def test_cli_trains_through_the_cluster(cluster, tmp_path, capsys):
    from tests.test_cli import run_cli

    code, out, err = run_cli(["train", "CartPole-v1", "--vec-env", "ray", "--ray-address", cluster,
                              "--n-timesteps", 512, "--n-envs", 2, "--log-dir", tmp_path, "--no-progress-bar"], capsys)
    assert code == 0, err
    assert "with 2 env(s) (ray)" in out and "trained 512 timesteps" in out
    assert sorted(path.name for path in (tmp_path / "CartPole-v1_1" / "monitor").iterdir()) == [
        "0.monitor.csv", "1.monitor.csv"]  # written by the Monitors inside the actors (same machine here)
