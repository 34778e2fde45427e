#!/usr/bin/env python
"""Where one training update's time goes: env, policy forward, rollout bookkeeping, compiled update,
weight sync, the rest of the update call.

Trains stable_ppo2 on a benchmark config (one TF thread) with timers around the methods the
training loop calls, and prints milliseconds per update (mean over all updates but the first, which
may include compilation). Run it against another checkout to compare versions::

    .venv/bin/python benchmarks/time_breakdown.py --config cartpole_zoo
    PYTHONPATH=/path/to/old/checkout .venv/bin/python benchmarks/time_breakdown.py --config lstm

Parts (per update):
  env          VecEnv.step (the envs, their wrappers and Monitor)
  forward      the policy's step() and the bootstrap value() (network, sampling, log-likelihood)
  bookkeeping  the rest of the rollout (buffers, callbacks, GAE)
  compiled     the compiled update (all epochs and minibatches; argument conversion included)
  sync         copying the new parameters to the numpy forward pass (commit_weights)
  update_rest  the rest of train_on_batch (packing the batch, checks)
  other        the rest of learn() (minibatch plan, logging, schedules)
"""
import argparse
import json
import os
import sys
import time
from collections import defaultdict
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_ppo2 import ZOO_CARTPOLE, ZOO_PENDULUM  # noqa: E402

PARTS = ("env", "forward", "bookkeeping", "compiled", "sync", "update_rest", "other")


def build(config, seed):
    from stable_ppo2 import PPO2
    from stable_ppo2.common.cmd_util import make_vec_env
    from stable_ppo2.common.schedules import linear_schedule

    if config == "lstm":
        env = make_vec_env("CartPole-v1", n_envs=4, seed=seed)
        return PPO2("MlpLstmPolicy", env, seed=seed, n_cpu_tf_sess=1)
    if config == "pendulum_zoo":
        env = make_vec_env("Pendulum-v1", n_envs=8, seed=seed)
        return PPO2("MlpPolicy", env, seed=seed, n_cpu_tf_sess=1, **ZOO_PENDULUM)
    env = make_vec_env("CartPole-v1", n_envs=8, seed=seed)
    return PPO2("MlpPolicy", env, learning_rate=linear_schedule(0.001), cliprange=linear_schedule(0.2),
                seed=seed, n_cpu_tf_sess=1, **ZOO_CARTPOLE)


def timed(seconds, key, function):
    """``function`` with its wall time added to ``seconds[key]`` (one list entry per update)."""
    def wrapper(*args, **kwargs):
        start = time.perf_counter()
        try:
            return function(*args, **kwargs)
        finally:
            seconds[key][-1] += time.perf_counter() - start
    return wrapper


def breakdown(config, timesteps, seed):
    """Milliseconds per update of each part, and the run's steps/s."""
    from stable_ppo2.common.tf_util import set_num_threads

    set_num_threads(1)
    model = build(config, seed)
    seconds = defaultdict(lambda: [0.0])
    runner = model.runner

    def new_update(function):
        def wrapper(*args, **kwargs):
            for key in ("rollout", "env", "forward", "train", "compiled", "sync"):
                seconds[key].append(0.0)
            return function(*args, **kwargs)
        return wrapper

    runner.run = new_update(timed(seconds, "rollout", runner.run))
    model.env.step = timed(seconds, "env", model.env.step)
    model.step = timed(seconds, "forward", model.step)
    model.value = timed(seconds, "forward", model.value)
    model.train_on_batch = timed(seconds, "train", model.train_on_batch)
    model._train_update = timed(seconds, "compiled", model._train_update)
    model.act_model.commit_weights = timed(seconds, "sync", model.act_model.commit_weights)
    start = time.perf_counter()
    model.learn(timesteps)
    learn_s = time.perf_counter() - start
    n_updates = len(seconds["train"]) - 1
    mean = {key: sum(values[2:]) / max(1, n_updates - 1) * 1e3 for key, values in seconds.items()}
    parts = {
        "env": mean["env"], "forward": mean["forward"],
        "bookkeeping": mean["rollout"] - mean["env"] - mean["forward"],
        "compiled": mean["compiled"], "sync": mean["sync"],
        "update_rest": mean["train"] - mean["compiled"] - mean["sync"],
    }
    parts["other"] = (learn_s - sum(seconds["rollout"]) - sum(seconds["train"])) / n_updates * 1e3
    return dict(config=config, seed=seed, updates=n_updates, steps=int(model.num_timesteps), learn_s=learn_s,
                steps_per_s=model.num_timesteps / learn_s, first_update_ms=seconds["train"][1] * 1e3,
                ms_per_update=parts)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--config", choices=("cartpole_zoo", "pendulum_zoo", "lstm"), default="cartpole_zoo")
    p.add_argument("--timesteps", type=int, default=None, help="default: 100k (pendulum_zoo 200k, lstm 20k)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", default=None, help="append the result as one JSON line")
    args = p.parse_args(argv)
    timesteps = args.timesteps or {"pendulum_zoo": 200_000, "lstm": 20_480}.get(args.config, 100_000)
    result = breakdown(args.config, timesteps, args.seed)
    import stable_ppo2
    result["stable_ppo2"] = str(Path(stable_ppo2.__file__).resolve().parents[1])
    parts = result["ms_per_update"]
    total = sum(parts.values())
    print(f"{args.config}: {result['updates']} updates, {result['steps_per_s']:,.0f} steps/s, "
          f"first update {result['first_update_ms']:.0f} ms ({result['stable_ppo2']})")
    print("| part | ms per update | share |\n|---|---|---|")
    for name in PARTS:
        print(f"| {name} | {parts[name]:.2f} | {parts[name] / total:.0%} |")
    print(f"| total | {total:.2f} | |")
    if args.json:
        with open(args.json, "a") as out:
            out.write(json.dumps(result) + "\n")


if __name__ == "__main__":
    main()
