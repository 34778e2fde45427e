"""``stable-ppo2 train ENV --seed 0 1 2`` (or ``--n-seeds 3``): one run per seed, one after another or
``--jobs J`` side by side (each a ``stable-ppo2 train`` process), each in its own run folder."""
from __future__ import annotations

import argparse
import subprocess
import sys
import time
from typing import Callable, List, Optional


def seeds_of(args: argparse.Namespace) -> List[int]:
    """The seeds to train: ``--seed`` as given, or ``--n-seeds N`` seeds counting up from the first ``--seed``
    (default 0)."""
    if args.n_seeds is None:
        return list(args.seed)
    start = args.seed[0] if args.seed else 0
    if args.seed and len(args.seed) > 1:
        from stable_ppo2.cli import CLIError

        raise CLIError("give several --seed values or --n-seeds N, not both")
    return list(range(start, start + args.n_seeds))


def _single_seed_argv(argv: List[str], seed: int) -> List[str]:
    """``argv`` without ``--seed``/``--n-seeds``/``--jobs`` and their values, plus ``--seed SEED``."""
    kept, skipping = [], False
    for item in argv:
        if item in ("--seed", "--n-seeds", "--jobs"):
            skipping = True
            continue
        if skipping and (item.lstrip("-").isdigit() and not item.startswith("--")):
            continue
        skipping = False
        kept.append(item)
    return kept + ["--seed", str(seed)]


def train_seeds(args: argparse.Namespace, train_one: Callable[[argparse.Namespace, Optional[int]], int]) -> int:
    """Train every seed; returns the first non-zero exit status, else 0."""
    from stable_ppo2.cli import _train_config

    seeds = seeds_of(args)
    _train_config(args, seeds[0])  # bad settings fail once, before any run starts
    print(f"training {len(seeds)} runs (seeds {', '.join(map(str, seeds))})"
          + (f", {args.jobs} at a time" if args.jobs > 1 else ""), flush=True)
    if args.jobs <= 1:
        codes = [train_one(args, seed) for seed in seeds]
    else:
        codes = _run_side_by_side([[sys.executable, "-m", "stable_ppo2", "train"]
                                   + _single_seed_argv(list(args.argv)[1:], seed) + ["--no-progress-bar"]
                                   for seed in seeds], args.jobs)
    print(f"compare them with: stable-ppo2 plot {args.log_dir}")
    return next((code for code in codes if code), 0)


def _run_side_by_side(commands: List[List[str]], jobs: int) -> List[int]:
    pending = list(commands)
    running: List[subprocess.Popen] = []
    codes: List[int] = []
    while pending or running:
        while pending and len(running) < jobs:
            running.append(subprocess.Popen(pending.pop(0)))
        time.sleep(0.2)
        for process in [p for p in running if p.poll() is not None]:
            running.remove(process)
            codes.append(process.returncode)
    return codes
