"""SubprocVecEnv under faults (issue #8): a worker's exception reaches the caller with its
traceback; a killed worker makes the next call raise within seconds (never a hang), whatever the
start method; ``close()`` is idempotent and bounded even with a hung env; no worker outlives its
VecEnv or its parent; an interrupted call (Ctrl-C) leaves the VecEnv usable.
"""
import gc
import multiprocessing as mp
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time

import gymnasium as gym
import numpy as np
import pytest

from stable_ppo2.common.callbacks import BaseCallback
from stable_ppo2.common.vec_env import SubprocVecEnv, subproc_vec_env
from stable_ppo2.common.vec_env.subproc_vec_env import RemoteTraceback, WorkerDiedError
from tests.helpers import process_alive, wait_until

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
START_METHODS = [method for method in ("forkserver", "fork", "spawn") if method in mp.get_all_start_methods()]


class SleepyEnv(gym.Env):
    """Steps take ``delay`` seconds; ``fail_at`` makes that step raise; a ``.boom`` attribute too."""

    observation_space = gym.spaces.Box(-1.0, 1.0, (2,), np.float32)
    action_space = gym.spaces.Discrete(2)

    def __init__(self, delay=0.0, fail_at=None):
        self.delay, self.fail_at, self.steps = delay, fail_at, 0

    def reset(self, *, seed=None, options=None):
        return np.zeros(2, np.float32), {}

    def step(self, action):
        self.steps += 1
        if self.steps == self.fail_at:
            raise ValueError(f"step {self.steps} failed on purpose")
        time.sleep(self.delay)
        return np.full(2, self.steps / 1000, np.float32), 1.0, False, self.steps % 50 == 0, {}

    def unpicklable_error(self):
        raise NeedsTwoArguments("a", "b")

    def big_answer(self):
        return np.zeros(2_000_000, np.float32)  # 8 MB: more than a pipe's buffer


class NeedsTwoArguments(Exception):
    def __init__(self, first, second):
        super().__init__(f"{first} and {second}")


def _make(made, fns, **kwargs):
    env = SubprocVecEnv(fns, **kwargs)
    made.append(env)
    return env


def test_worker_exception_reaches_the_caller_with_its_traceback(envs_to_close):
    env = _make(envs_to_close, [lambda: SleepyEnv(fail_at=2), SleepyEnv])
    env.reset()
    env.step(np.array([0, 0]))
    with pytest.raises(ValueError, match="step 2 failed on purpose") as info:
        env.step(np.array([0, 0]))
    assert isinstance(info.value.__cause__, RemoteTraceback)
    assert "Traceback" in str(info.value.__cause__) and "in step" in str(info.value.__cause__)
    # an exception that cannot be rebuilt in the parent arrives as a RuntimeError with its text
    with pytest.raises(RuntimeError, match="NeedsTwoArguments: a and b") as info:
        env.env_method("unpicklable_error", indices=0)
    assert "unpicklable_error" in str(info.value.__cause__)
    assert env.get_attr("steps") == [2, 2]  # the pipes are still in step
    assert env.env_method("big_answer", indices=[1])[0].shape == (2_000_000,)


@pytest.mark.parametrize("start_method", START_METHODS)
def test_killed_worker_raises_within_seconds_while_waiting(start_method, envs_to_close):
    """The parent is blocked in step_wait when the worker is killed: WorkerDiedError, not a hang
    (with 'fork' an EOF alone never came: other workers held the pipe's worker end)."""
    env = _make(envs_to_close, [lambda: SleepyEnv(delay=2.0) for _ in range(3)], start_method=start_method)
    env.reset()
    victim = env.processes[1].pid
    env.step_async(np.zeros(3, np.int64))
    killer = threading.Timer(0.3, os.kill, (victim, signal.SIGKILL))
    killer.start()
    start = time.monotonic()
    with pytest.raises(WorkerDiedError, match=r"worker 1 \(pid \d+\) died with exit code -9 \(killed by SIGKILL\) "
                                              r"while handling 'step'"):
        env.step_wait()
    assert time.monotonic() - start < 10
    killer.join()
    with pytest.raises(WorkerDiedError, match="worker 1"):  # and every later call
        env.reset()
    start = time.monotonic()
    env.close()
    env.close()
    assert time.monotonic() - start < 10
    assert not any(process.is_alive() for process in env.processes)


def test_worker_killed_mid_rollout_stops_learn_within_10_seconds(tmp_path, envs_to_close):
    from stable_ppo2 import PPO2
    from tests.helpers import model_for_spaces

    env = _make(envs_to_close, [lambda: gym.make("CartPole-v1") for _ in range(2)])
    model = model_for_spaces("MlpPolicy", env.observation_space, env.action_space, n_envs=2, n_steps=256,
                             nminibatches=1, policy_kwargs=dict(net_arch=[8]), seed=0)
    model.set_env(env)
    before = model.get_parameters()

    class KillWorker(BaseCallback):
        killed_at = None

        def _on_step(self):
            if self.n_calls == 100:  # step 100 of the first 256-step rollout
                os.kill(env.processes[1].pid, signal.SIGKILL)
                KillWorker.killed_at = time.monotonic()
            return True

    with pytest.raises(WorkerDiedError, match=r"worker 1 .*exit code -9 \(killed by SIGKILL\)"):
        model.learn(2 * 256 * 4, callback=KillWorker())
    elapsed = time.monotonic() - KillWorker.killed_at
    print(f"\nworker killed mid-rollout: WorkerDiedError after {elapsed:.3f} s")
    assert elapsed < 10
    assert model.num_timesteps == 200
    env.close()
    # the model is intact: it saves, loads, and trains on a new env
    for name, value in model.get_parameters().items():
        np.testing.assert_array_equal(value, before[name])
    model.save(str(tmp_path / "after_crash.zip"))
    loaded = PPO2.load(str(tmp_path / "after_crash.zip"))
    obs = np.zeros((1, 4), np.float32)
    np.testing.assert_array_equal(loaded.action_probability(obs), model.action_probability(obs))


def test_close_is_idempotent_and_bounded_with_a_hung_env(monkeypatch, envs_to_close):
    monkeypatch.setattr(subproc_vec_env, "CLOSE_TIMEOUT", 1.0)
    env = _make(envs_to_close, [lambda: SleepyEnv(delay=120.0), SleepyEnv])
    env.reset()
    env.step_async(np.zeros(2, np.int64))  # worker 0 is now stuck for two minutes
    start = time.monotonic()
    env.close()
    assert time.monotonic() - start < 6
    assert not any(process.is_alive() for process in env.processes)
    env.close()
    with pytest.raises(EOFError, match="closed"):
        env.reset()


def test_an_interrupted_wait_leaves_the_vecenv_usable(envs_to_close):
    """Ctrl-C while the parent waits: KeyboardInterrupt, the workers (which ignore SIGINT) live
    on, and the answer the interrupted call left behind is dropped before the next command."""
    # Python's own Ctrl-C handler, as in a terminal: a background job of a non-interactive shell
    # (``cmd &``, which is how CI may run) inherits SIGINT ignored, and Python then leaves it ignored
    previous_handler = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        env = _make(envs_to_close, [lambda: SleepyEnv(delay=1.0) for _ in range(2)])
        env.reset()
        threading.Timer(0.2, os.kill, (os.getpid(), signal.SIGINT)).start()
        with pytest.raises(KeyboardInterrupt):
            env.step(np.zeros(2, np.int64))
    finally:
        signal.signal(signal.SIGINT, previous_handler)
    assert env.get_attr("steps") == [1, 1]
    for process in env.processes:  # Ctrl-C in a terminal reaches the workers too: ignored
        os.kill(process.pid, signal.SIGINT)
    obs, rewards, _, _ = env.step(np.zeros(2, np.int64))
    np.testing.assert_allclose(obs, np.full((2, 2), 0.002))
    assert env.get_attr("steps") == [2, 2]
    env.step_async(np.zeros(2, np.int64))  # a step never waited for
    assert env.get_attr("steps") == [3, 3]


def test_dropped_vecenv_stops_its_workers():
    env = SubprocVecEnv([SleepyEnv, SleepyEnv])
    processes = list(env.processes)
    del env
    gc.collect()
    assert wait_until(lambda: not any(process.is_alive() for process in processes), 10)


PARENT_SCRIPT = textwrap.dedent("""
    import sys, time
    import numpy as np
    from tests.test_subproc_faults import SleepyEnv
    from stable_ppo2.common.vec_env import SubprocVecEnv

    if __name__ == "__main__":
        env = SubprocVecEnv([lambda: SleepyEnv(delay=float(sys.argv[2])) for _ in range(2)],
                            start_method=sys.argv[1])
        env.reset()
        if float(sys.argv[2]) > 0:
            env.step_async(np.zeros(2, np.int64))  # the workers are busy when the parent dies
        print(" ".join(str(process.pid) for process in env.processes), flush=True)
        time.sleep(120)
""")


@pytest.mark.parametrize("start_method", START_METHODS)
@pytest.mark.parametrize("busy", [False, True], ids=["idle", "busy"])
def test_workers_exit_when_the_parent_is_killed(tmp_path, start_method, busy):
    """The parent dies by SIGKILL (no cleanup runs): its workers see EOF on their pipes (or a
    broken pipe when they answer) and exit."""
    script = tmp_path / "parent.py"
    script.write_text(PARENT_SCRIPT)
    parent = subprocess.Popen([sys.executable, str(script), start_method, "1.0" if busy else "0"],
                              stdout=subprocess.PIPE, text=True, cwd=REPO,
                              env=dict(os.environ, PYTHONPATH=REPO))
    try:
        line = parent.stdout.readline()
        workers = [int(pid) for pid in line.split()]
        assert len(workers) == 2, line
        assert all(process_alive(pid) for pid in workers)
        parent.kill()
        parent.wait(timeout=10)
        assert wait_until(lambda: not any(process_alive(pid) for pid in workers), 10), \
            f"workers still running 10 s after their parent died ({start_method})"
    finally:
        if parent.poll() is None:
            parent.kill()
            parent.wait()
        for pid in workers if "workers" in locals() else []:
            if process_alive(pid):
                os.kill(pid, signal.SIGKILL)
