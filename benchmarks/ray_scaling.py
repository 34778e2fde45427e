"""Sampling throughput of RayVecEnv against the number of Ray workers, with SubprocVecEnv and DummyVecEnv
for comparison (issue #10), and the cost of one VecEnv step call with an env that does nothing.

Random actions, no learning: env steps per second over ``--seconds`` of stepping (after a warm-up), for
an env whose step costs ``--step-ms`` milliseconds either busy-waiting (a CPU-bound env: cannot go
faster than the machine's cores allow) or sleeping (an env waiting on something else, e.g. a
simulator or a network: scales past the number of cores). Per worker count ``n``:

- DummyVecEnv: ``n`` envs stepped one after the other in this process;
- SubprocVecEnv: ``n`` envs, one process each;
- RayVecEnv k=1: ``n`` actors with one env each (one Ray call per env per step);
- RayVecEnv k=4: ``n`` actors with 4 envs each (4n envs; one Ray call per 4 envs per step).

Usage (from the repository root)::

    .bench/venv/bin/python benchmarks/ray_scaling.py                  # workers 1 2 4 8, busy and sleep
    .bench/venv/bin/python benchmarks/ray_scaling.py --workers 1 2 --seconds 1 --kinds sleep

Ray is started locally in this process (``ray.init``) with ``--ray-cpus`` logical CPUs, so that 8
actors fit on a 2-core machine; the table says how loaded the machine was.
"""
import argparse
import os
import sys
import time
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import gymnasium as gym
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from stable_ppo2.common.vec_env import DummyVecEnv, RayVecEnv, SubprocVecEnv, VecEnv  # noqa: E402


class CostlyEnv(gym.Env):
    """CartPole-sized spaces; each step costs ``step_ms`` ms, busy-waiting (``"busy"``), sleeping
    (``"sleep"``) or nothing (``"noop"``); episodes are cut after 200 steps."""

    observation_space = gym.spaces.Box(-1.0, 1.0, (4,), np.float32)
    action_space = gym.spaces.Discrete(2)

    def __init__(self, kind: str = "busy", step_ms: float = 1.0) -> None:
        self.kind, self.step_s, self.t = kind, step_ms / 1000.0, 0

    def reset(self, *, seed: Optional[int] = None, options: Optional[dict] = None) -> Tuple[np.ndarray, dict]:
        super().reset(seed=seed)
        self.t = 0
        return np.zeros(4, np.float32), {}

    def step(self, action: int) -> Tuple[np.ndarray, float, bool, bool, dict]:
        if self.kind == "busy":
            deadline = time.perf_counter() + self.step_s
            while time.perf_counter() < deadline:
                pass
        elif self.kind == "sleep":
            time.sleep(self.step_s)
        self.t += 1
        return np.full(4, self.t / 200.0, np.float32), 1.0, False, self.t >= 200, {}


def env_fns(n_envs: int, kind: str, step_ms: float) -> List[Callable[[], gym.Env]]:
    return [lambda: CostlyEnv(kind, step_ms) for _ in range(n_envs)]


def steps_per_second(vec_env: VecEnv, seconds: float, warmup_steps: int = 20) -> float:
    """Env steps per second of ``vec_env.step`` with random actions, over at least ``seconds``."""
    rng = np.random.default_rng(0)
    vec_env.reset()
    for _ in range(warmup_steps):
        vec_env.step(rng.integers(0, 2, vec_env.num_envs))
    calls, started = 0, time.perf_counter()
    while time.perf_counter() - started < seconds:
        vec_env.step(rng.integers(0, 2, vec_env.num_envs))
        calls += 1
    return calls * vec_env.num_envs / (time.perf_counter() - started)


def make(variant: str, workers: int, kind: str, step_ms: float) -> VecEnv:
    if variant == "dummy":
        return DummyVecEnv(env_fns(workers, kind, step_ms))
    if variant == "subproc":
        return SubprocVecEnv(env_fns(workers, kind, step_ms))
    envs_per_actor = int(variant.split("k=")[1])
    return RayVecEnv(env_fns(workers * envs_per_actor, kind, step_ms), envs_per_actor=envs_per_actor)


VARIANTS = ("dummy", "subproc", "ray k=1", "ray k=4")


def scaling_table(kinds: Sequence[str], workers: Sequence[int], step_ms: float, seconds: float) -> str:
    rows = []
    for kind in kinds:
        for variant in VARIANTS:
            cells = []
            for n in workers:
                vec_env = make(variant, n, kind, step_ms)
                try:
                    cells.append(steps_per_second(vec_env, seconds))
                finally:
                    vec_env.close()
                print(f"  {kind:5s} {variant:8s} workers={n}: {cells[-1]:8.0f} steps/s", file=sys.stderr, flush=True)
            envs = "4n" if variant == "ray k=4" else "n"
            rows.append(f"| {kind} {step_ms:g} ms | {variant} ({envs} envs) | "
                        + " | ".join(f"{cell:,.0f}" for cell in cells) + " |")
    header = ("| env step | VecEnv | " + " | ".join(f"n={n}" for n in workers) + " |\n"
              "|---|---|" + "---|" * len(workers))
    return header + "\n" + "\n".join(rows)


def overhead_table(seconds: float) -> str:
    """Microseconds per ``step`` call with one no-op env, and for Ray the bare round trip of an actor call."""
    import ray

    results: Dict[str, float] = {}
    for variant in ("dummy", "subproc", "ray k=1"):
        vec_env = make(variant, 1, "noop", 0.0)
        try:
            results[f"{variant}: VecEnv.step, 1 no-op env"] = 1e6 / steps_per_second(vec_env, seconds)
        finally:
            vec_env.close()
    vec_env = RayVecEnv(env_fns(8, "noop", 0.0), envs_per_actor=8)
    try:
        results["ray k=8: VecEnv.step, 8 no-op envs in 1 actor (per call)"] = 8e6 / steps_per_second(vec_env, seconds)
        actor = vec_env._actors[0]  # pylint: disable=protected-access  (the bare Ray round trip, no env work)
        calls, started = 0, time.perf_counter()
        while time.perf_counter() - started < seconds:
            ray.get(actor.where.remote())
            calls += 1
        elapsed = time.perf_counter() - started
        results["ray: bare actor method call (ray.get(actor.f.remote()))"] = elapsed / calls * 1e6
    finally:
        vec_env.close()
    rows = "\n".join(f"| {name} | {value:,.0f} |" for name, value in results.items())
    return "| what | µs per call |\n|---|---|\n" + rows


def main(argv: Optional[Sequence[str]] = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4, 8])
    parser.add_argument("--kinds", nargs="+", choices=["busy", "sleep"], default=["busy", "sleep"])
    parser.add_argument("--step-ms", type=float, default=1.0, help="cost of one env step (default 1 ms)")
    parser.add_argument("--seconds", type=float, default=2.0, help="stepping time per measurement (default 2)")
    parser.add_argument("--ray-cpus", type=int, default=8, help="logical CPUs of the local Ray (default 8)")
    args = parser.parse_args(argv)

    import ray

    ray.init(num_cpus=args.ray_cpus, include_dashboard=False, logging_level="warning",
             _temp_dir=f"/tmp/ray_scaling_{os.getpid()}")
    load_before = os.getloadavg()
    started = time.time()
    try:
        overhead = overhead_table(args.seconds)
        scaling = scaling_table(args.kinds, args.workers, args.step_ms, args.seconds)
    finally:
        ray.shutdown()
    load_after = os.getloadavg()
    print(f"\n{os.cpu_count()} CPU cores; 1-minute load average {load_before[0]:.2f} before, {load_after[0]:.2f} "
          f"after; {time.time() - started:.0f} s; Ray {ray.__version__}, Python {sys.version.split()[0]}\n")
    print("Env steps per second (random actions, no learning):\n")
    print(scaling)
    print("\nPer-call overhead (no-op env):\n")
    print(overhead)


if __name__ == "__main__":
    main()
