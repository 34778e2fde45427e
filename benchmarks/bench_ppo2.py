#!/usr/bin/env python
"""Training speed and returns of stable_ppo2 vs. the original SB2 PPO2 vs. SB3 PPO, in one run.

All three train the rl-baselines-zoo "CartPole-v1" PPO2 configuration (n_envs 8, n_steps 32,
nminibatches 1, lam 0.8, gamma 0.98, noptepochs 20, ent_coef 0.0, learning_rate lin_0.001,
cliprange lin_0.2) on a DummyVecEnv of Monitor-wrapped envs seeded seed+i, with one compute thread:

    ours  stable_ppo2 in this process (PPO2(..., n_cpu_tf_sess=1), TF intra/inter-op threads = 1)
    sb2   ../shared/bench/sb2/ppo2_fps.py --config cartpole_zoo --n-cpu-tf-sess 1  (sb2-venv)
    sb3   ../shared/bench/sb3/ppo_fps.py --config cartpole-zoo --threads 1         (sb3-venv)

Only model.learn() is timed. For each seed the three libraries run back to back (their order rotates
from seed to seed) so that changes in machine load hit them alike. Other configs (--config): the
zoo's Pendulum setting (pendulum_zoo), SB2's default LSTM setting (lstm) and Atari settings (cnn*).
Vector-observation configs first print the env floor: random actions through our make_vec_env.

    .bench/venv/bin/python benchmarks/bench_ppo2.py --seeds 0 1 --json bench.json
    .bench/venv/bin/python benchmarks/bench_ppo2.py --only ours --timesteps 20000
"""
import argparse
import gc
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "benchmarks"))
from call_timer import timed_learn  # noqa: E402
# The environment before TensorFlow 2 is imported: TF 2 sets TF2_BEHAVIOR=1 in os.environ, which would
# switch the SB2 subprocess's TF 1.15 to v2 behaviour and break it.
CLEAN_ENV = dict(os.environ)
LIBS = ("ours", "sb2", "sb3")
ZOO_CARTPOLE = dict(n_steps=32, nminibatches=1, lam=0.8, gamma=0.98, noptepochs=20, ent_coef=0.0)
# pendulum_zoo: the RL zoo's Pendulum PPO2 settings, 200k steps by default (320 gradient steps of 512 per update)
ZOO_PENDULUM = dict(n_steps=2048, nminibatches=32, lam=0.95, gamma=0.99, noptepochs=10, ent_coef=0.0,
                    learning_rate=3e-4, cliprange=0.2)
CONFIGS = ("cartpole_zoo", "pendulum_zoo", "lstm",  # lstm: MlpLstmPolicy, 4 CartPole envs, SB2's defaults
           "cnn_synthetic", "cnnlstm_synthetic", "cnn_pong", "cnnlstm_pong")
# Atari configs: SB2's ppo2/run_atari.py (8 envs, VecFrameStack 4, n_steps 128, nminibatches 4, noptepochs 4,
# lam 0.95, gamma 0.99, ent_coef 0.01, lr f * 2.5e-4, cliprange f * 0.1) with CnnPolicy or CnnLstmPolicy, on
# benchmarks/synthetic_atari.py (uint8 84x84 frames, no emulator) or PongNoFrameskip-v4 (make_atari_env).
# SB2 side: benchmarks/sb2_atari_fps.py, SB3 side: benchmarks/sb3_atari_fps.py.
ATARI_RUN = dict(n_steps=128, nminibatches=4, lam=0.95, gamma=0.99, noptepochs=4, ent_coef=.01)


def atari_config(config):
    """``(env, policy)`` of an Atari config (``("synthetic", "cnn")``, ...), or None."""
    if not config.startswith("cnn"):
        return None
    policy, env = config.split("_")
    return ("synthetic" if env == "synthetic" else "PongNoFrameskip-v4"), ("lstm" if policy == "cnnlstm" else "cnn")


def env_id(config):
    """The gymnasium id of a vector-observation config."""
    return "Pendulum-v1" if config == "pendulum_zoo" else "CartPole-v1"


def sb_config(config, lib):
    """The config's name in the shared SB2 (``ppo2_fps.py``) or SB3 (``ppo_fps.py``) script."""
    name = config if config in ("lstm", "pendulum_zoo") else "cartpole_zoo"
    return name.replace("_", "-") if lib == "sb3" and name != "lstm" else name


def parse_args(argv=None):
    """Command line options (relative paths are taken from the repository root)."""
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    p.add_argument("--timesteps", type=int, default=None, help="default 200,000 for pendulum_zoo, else 100,000")
    p.add_argument("--config", choices=CONFIGS, default="cartpole_zoo")
    p.add_argument("--only", action="append", choices=LIBS, help="run only this library (repeatable)")
    p.add_argument("--sb2-python", default=".bench/sb2-venv/bin/python")
    p.add_argument("--sb3-python", default=".bench/sb3-venv/bin/python")
    p.add_argument("--shared", default="../shared", help="the shared/ folder with bench/sb2 and bench/sb3")
    p.add_argument("--setup", action="store_true", help="build missing venvs with the shared setup.sh scripts")
    p.add_argument("--eval-episodes", type=int, default=20, help="deterministic evaluation episodes (ours, sb3)")
    p.add_argument("--json", default=None, help="write all results to this JSON file")
    args = p.parse_args(argv)
    for name in ("sb2_python", "sb3_python", "shared"):
        path = Path(getattr(args, name))
        # no resolve(): a venv's bin/python is a symlink to the base interpreter and must stay as given
        setattr(args, name, path if path.is_absolute() else REPO / path)
    args.libs = [lib for lib in LIBS if lib in (args.only or LIBS)]
    if args.timesteps is None:
        args.timesteps = 200_000 if args.config == "pendulum_zoo" else 100_000
    return args


def check_venvs(args):
    """Drop sb2/sb3 from ``args.libs`` when their venv or script is missing (or build it with --setup)."""
    for lib in ("sb2", "sb3"):
        if lib not in args.libs:
            continue
        python = getattr(args, lib + "_python")
        setup = args.shared / "bench" / lib / "setup.sh"
        if not python.exists() and args.setup and setup.exists():
            print(f"[bench] building the {lib} venv with {setup} (several minutes)", flush=True)
            subprocess.run(["bash", str(setup), str(python.parent.parent)], check=True, cwd=REPO)
        script = args.shared / "bench" / lib / ("ppo2_fps.py" if lib == "sb2" else "ppo_fps.py")
        if not python.exists() or not script.exists():
            missing = python if not python.exists() else script
            print(f"[bench] skipping {lib}: {missing} not found (--setup builds the venv)", flush=True)
            args.libs.remove(lib)


def run_ours(seed, timesteps, eval_episodes, config="cartpole_zoo"):
    """Train stable_ppo2 in-process; time learn() only, then evaluate deterministically."""
    from stable_ppo2 import PPO2
    from stable_ppo2.common.cmd_util import make_vec_env
    from stable_ppo2.common.evaluation import evaluate_policy
    from stable_ppo2.common.schedules import linear_schedule
    from stable_ppo2.common.tf_util import tf

    t0 = time.perf_counter()
    atari = atari_config(config)
    if atari is not None:
        from stable_ppo2.common.vec_env import DummyVecEnv, VecFrameStack

        env_name, policy = atari
        if env_name == "synthetic":
            from stable_ppo2.bench import Monitor
            from synthetic_atari import make_synthetic_env

            env = DummyVecEnv([lambda: Monitor(make_synthetic_env(), None) for _ in range(8)])
            env.seed(seed)
        else:
            from stable_ppo2.common.cmd_util import make_atari_env

            env = make_atari_env(env_name, 8, seed)
        env = VecFrameStack(env, 4)
        model = PPO2({"cnn": "CnnPolicy", "lstm": "CnnLstmPolicy"}[policy], env, learning_rate=linear_schedule(2.5e-4),
                     cliprange=linear_schedule(0.1), seed=seed, n_cpu_tf_sess=1, verbose=0, **ATARI_RUN)
        eval_episodes = 0
    elif config == "lstm":
        env = make_vec_env("CartPole-v1", n_envs=4, seed=seed)
        model = PPO2("MlpLstmPolicy", env, seed=seed, n_cpu_tf_sess=1, verbose=0)
    elif config == "pendulum_zoo":
        env = make_vec_env("Pendulum-v1", n_envs=8, seed=seed)
        model = PPO2("MlpPolicy", env, seed=seed, n_cpu_tf_sess=1, verbose=0, **ZOO_PENDULUM)
    else:
        env = make_vec_env("CartPole-v1", n_envs=8, seed=seed)
        model = PPO2("MlpPolicy", env, learning_rate=linear_schedule(0.001), cliprange=linear_schedule(0.2),
                     seed=seed, n_cpu_tf_sess=1, verbose=0, **ZOO_CARTPOLE)
    build_s = time.perf_counter() - t0

    # update_s: seconds per train_on_batch call; the first one includes tracing/compiling the update
    wall_s, cpu_s, update_s = timed_learn(model, timesteps, "train_on_batch")

    returns = [info["r"] for info in model.ep_info_buf]
    eval_mean = None
    if eval_episodes > 0:
        eval_env = make_vec_env(env_id(config), n_envs=1, seed=seed + 10_000)  # as SB3's ppo_fps.py
        eval_mean, _ = evaluate_policy(model, eval_env, n_eval_episodes=eval_episodes, deterministic=True)
        eval_env.close()
    env.close()
    result = dict(steps=int(model.num_timesteps), build_s=build_s, wall_s=wall_s, cpu_s=cpu_s,
                  first_update_s=update_s[0] if update_s else None, train_s=sum(update_s),
                  last100_return=sum(returns) / len(returns) if returns else None, episodes=len(returns),
                  eval_return=None if eval_mean is None else float(eval_mean),
                  tf=tf.__version__, tf_threads=[tf.config.threading.get_intra_op_parallelism_threads(),
                                                 tf.config.threading.get_inter_op_parallelism_threads()])
    del model, env
    gc.collect()
    return result


def env_floor(config, vec_steps=20_000):
    """Steps/s of the config's envs under random actions (drawn up front): the rate no trainer can beat.

    ``dummy_vec_env``: our ``make_vec_env`` (DummyVecEnv of Monitor-wrapped envs), what training steps;
    ``bare_envs``: the same ``gymnasium.make`` envs stepped in a plain loop; ``gymnasium_vector``:
    gymnasium's own numpy-vectorised CartPole (CartPole configs only).
    """
    import gymnasium
    import numpy as np

    from stable_ppo2.common.cmd_util import make_vec_env

    n_envs = 4 if config == "lstm" else 8
    env = make_vec_env(env_id(config), n_envs=n_envs, seed=0)
    actions = np.stack([env.action_space.sample() for _ in range(vec_steps * n_envs)]).reshape(
        (vec_steps, n_envs) + env.action_space.shape)

    def rate(step):
        start = time.perf_counter()
        for k in range(vec_steps):
            step(actions[k])
        return vec_steps * n_envs / (time.perf_counter() - start)

    env.reset()
    floor = {"dummy_vec_env": rate(env.step)}
    env.close()
    bare = [gymnasium.make(env_id(config)) for _ in range(n_envs)]
    for i, e in enumerate(bare):
        e.reset(seed=i)

    def bare_step(batch):
        for e, action in zip(bare, batch):
            _, _, terminated, truncated, _ = e.step(action)
            if terminated or truncated:
                e.reset()

    floor["bare_envs"] = rate(bare_step)
    if env_id(config) == "CartPole-v1":
        vector = gymnasium.make_vec("CartPole-v1", num_envs=n_envs, vectorization_mode="vector_entry_point")
        vector.reset(seed=0)
        floor["gymnasium_vector"] = rate(vector.step)
        vector.close()
    return floor


def warm_up_tf():
    """Start TF's runtime once, untimed: one tiny training update in a throwaway model.

    SB2 and SB3 pay their framework start-up in a fresh subprocess before learn() starts; without this the
    first stable_ppo2 run of the process would carry TF's one-off start-up (about 1 s) inside learn().
    Each model's own tf.function tracing (and XLA compilation) still happens in its learn(), as it does for
    users; it is reported as first_update_s.
    """
    from stable_ppo2 import PPO2
    from stable_ppo2.common.cmd_util import make_vec_env

    env = make_vec_env("CartPole-v1", n_envs=8, seed=12345)
    PPO2("MlpPolicy", env, seed=12345, n_cpu_tf_sess=1, **ZOO_CARTPOLE).learn(total_timesteps=8 * 32)
    env.close()
    gc.collect()


def code_version():
    """The repository commit, '+dirty' if stable_ppo2/ has uncommitted changes, and the XLA switch."""
    def git(*a):
        return subprocess.run(["git", *a], cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                              universal_newlines=True).stdout.strip()

    from stable_ppo2.ppo2 import ppo2 as ppo2_module
    dirty = "+dirty" if git("status", "--porcelain", "--", "stable_ppo2") else ""
    return f"{git('rev-parse', '--short', 'HEAD') or '?'}{dirty} (XLA update: {getattr(ppo2_module, 'USE_XLA', None)})"


def run_subprocess(cmd):
    """Run a benchmark script; return its last stdout line, or raise with the tail of its output."""
    proc = subprocess.run(cmd, cwd=REPO, env=CLEAN_ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          universal_newlines=True)
    if proc.returncode != 0:
        tail = (proc.stdout + proc.stderr).strip().splitlines()[-15:]
        raise RuntimeError(f"{cmd[1]} exited with {proc.returncode}:\n" + "\n".join(tail))
    return proc.stdout.strip().splitlines()[-1]


def run_sb2(seed, timesteps, args):
    """Run the original SB2 PPO2 via ppo2_fps.py (TF 1.15 session with one thread)."""
    atari = atari_config(args.config)
    if atari is not None:
        import ale_py  # its ROMs (same md5 as atari-py's) are lent to atari-py, which ships none

        r = json.loads(run_subprocess([str(args.sb2_python), str(REPO / "benchmarks/sb2_atari_fps.py"),
                                       "--env", atari[0], "--policy", atari[1], "--seed", str(seed),
                                       "--timesteps", str(timesteps), "--n-cpu-tf-sess", "1",
                                       "--rom-dir", os.path.join(os.path.dirname(ale_py.__file__), "roms")]))
    elif args.config == "lstm":
        r = json.loads(run_subprocess([str(args.sb2_python), str(REPO / "benchmarks/sb2_lstm_fps.py"),
                                       "--seed", str(seed), "--timesteps", str(timesteps)]))
    else:
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / "sb2.jsonl"
            run_subprocess([str(args.sb2_python), str(args.shared / "bench/sb2/ppo2_fps.py"),
                            "--config", sb_config(args.config, "sb2"), "--seed", str(seed),
                            "--timesteps", str(timesteps), "--n-cpu-tf-sess", "1", "--json", str(out)])
            r = json.loads(out.read_text().strip().splitlines()[-1])
    return dict(steps=r["collected_timesteps"], build_s=r["build_s"], wall_s=r["learn_wall_s"],
                cpu_s=r["learn_cpu_s"], train_s=r.get("train_s"), last100_return=r["last100_mean_return"],
                episodes=r["n_episodes_in_buf"], eval_return=None, tf=r["tf"])


def run_sb3(seed, timesteps, args):
    """Run Stable-Baselines3 PPO via ppo_fps.py (torch with one thread)."""
    atari = atari_config(args.config)
    if atari is not None:
        r = json.loads(run_subprocess([str(args.sb3_python), str(REPO / "benchmarks/sb3_atari_fps.py"),
                                       "--env", atari[0], "--policy", atari[1], "--seed", str(seed),
                                       "--timesteps", str(timesteps), "--threads", "1"]))
        return dict(steps=r["timesteps_done"], build_s=r["setup_s"], wall_s=r["wall_s"], cpu_s=r["cpu_s"],
                    train_s=r["train_s"], last100_return=r["final_mean_return_100"],
                    episodes=r["episodes_in_window"], eval_return=None, torch=r["versions"]["torch"])
    r = json.loads(run_subprocess([str(args.sb3_python), str(args.shared / "bench/sb3/ppo_fps.py"),
                                   "--config", sb_config(args.config, "sb3"),
                                   "--seed", str(seed), "--threads", "1",
                                   "--timesteps", str(timesteps),
                                   "--eval-episodes", str(args.eval_episodes)]))
    return dict(steps=r["timesteps_done"], build_s=r["setup_s"], wall_s=r["wall_s"], cpu_s=r["cpu_s"],
                last100_return=r["final_mean_return_100"], episodes=r["episodes_in_window"],
                eval_return=r["eval_mean_return"], torch=r["versions"]["torch"])


def busy_cpu_s():
    """(CPU seconds used by the whole machine, by this process and its finished children) so far."""
    with open("/proc/stat") as f:
        jiffies = [int(x) for x in f.readline().split()[1:]]
    machine = sum(jiffies[:8]) - jiffies[3] - jiffies[4]  # all but idle and iowait
    return machine / os.sysconf("SC_CLK_TCK"), sum(os.times()[:4])


def run_one(lib, seed, args):
    """Run one library for one seed and print a one-line summary.

    other_cores: CPU cores kept busy by other processes during the whole run (training, start-up and eval)
    """
    load = os.getloadavg()[0]
    (machine0, own0), t0 = busy_cpu_s(), time.perf_counter()
    if lib == "ours":
        r = run_ours(seed, args.timesteps, args.eval_episodes, args.config)
    else:
        r = (run_sb2 if lib == "sb2" else run_sb3)(seed, args.timesteps, args)
    (machine1, own1), wall = busy_cpu_s(), time.perf_counter() - t0
    other = max(0.0, (machine1 - machine0) - (own1 - own0)) / wall
    r.update(lib=lib, seed=seed, load1m_before=load, other_cores=other, steps_per_s=r["steps"] / r["wall_s"])
    ev = "" if r["eval_return"] is None else f", eval {r['eval_return']:.1f}"
    if r.get("first_update_s") is not None:
        ev += f" [first update incl. trace/compile {r['first_update_s']:.2f}s, all updates {r['train_s']:.2f}s]"
    elif r.get("train_s") is not None:
        ev += f" [all updates {r['train_s']:.2f}s]"
    print(f"[bench] {lib:4s} seed={seed} steps={r['steps']} learn={r['wall_s']:.2f}s "
          f"-> {r['steps_per_s']:.0f} steps/s (cpu {r['cpu_s']:.2f}s, load1m {load:.2f}, other cores {other:.2f}) "
          f"| last-100 return {fmt(r['last100_return'])} ({r['episodes']} eps){ev}", flush=True)
    return r


def fmt(x, spec=".1f"):
    """Format a number, or '-' for None."""
    return "-" if x is None else format(x, spec)


def summarize(results, libs, seeds):
    """Print per-seed steps/s, the median per library, the ratios and the mean returns."""
    by = {(r["lib"], r["seed"]): r for r in results}
    print("\n| library | " + " | ".join(f"steps/s seed {s}" for s in seeds)
          + " | median steps/s | median steps/CPU-s | mean last-100 return | mean eval return |")
    print("|---" * (len(seeds) + 5) + "|")
    med, med_cpu = {}, {}
    for lib in libs:
        runs = [by[(lib, s)] for s in seeds if (lib, s) in by]
        if not runs:
            continue
        med[lib] = statistics.median(r["steps_per_s"] for r in runs)
        med_cpu[lib] = statistics.median(r["steps"] / r["cpu_s"] for r in runs)
        evals = [r["eval_return"] for r in runs if r["eval_return"] is not None]
        cells = [fmt(by[(lib, s)]["steps_per_s"], ".0f") if (lib, s) in by else "-" for s in seeds]
        returns = [r["last100_return"] for r in runs if r["last100_return"] is not None]
        print(f"| {lib} | " + " | ".join(cells) + f" | {med[lib]:.0f} | {med_cpu[lib]:.0f} | "
              f"{fmt(statistics.mean(returns) if returns else None)} | "
              f"{fmt(statistics.mean(evals) if evals else None)} |")
    for other in ("sb2", "sb3"):
        if "ours" in med and other in med:
            print(f"ours/{other}: {med['ours'] / med[other]:.2f} (median steps/s), "
                  f"{med_cpu['ours'] / med_cpu[other]:.2f} (median steps/CPU-s)")


def main(argv=None):
    """Run every selected library for every seed, print the table, optionally write JSON."""
    args = parse_args(argv)
    check_venvs(args)
    if not args.libs:
        print("[bench] nothing to run")
        return 1
    if "ours" in args.libs:
        # one TF thread, set before TF's runtime starts (PPO2's n_cpu_tf_sess is only best effort later)
        from stable_ppo2.common.tf_util import set_num_threads
        assert set_num_threads(1), "TF runtime already started: cannot set one thread"
        warm_up_tf()
    version = code_version() if "ours" in args.libs else None  # the code imported now, not at the end
    if version:
        print(f"[bench] stable_ppo2 at {version}", flush=True)
    print(f"[bench] {args.config}: {args.libs} seeds={args.seeds} timesteps={args.timesteps} | python "
          f"{platform.python_version()}, {platform.platform()}, cpus={os.cpu_count()}", flush=True)
    floor = None
    if "ours" in args.libs and atari_config(args.config) is None:
        floor = env_floor(args.config)
        print("[bench] env floor (random actions), steps/s: "
              + ", ".join(f"{name} {value:,.0f}" for name, value in floor.items()), flush=True)
    results = []
    for i, seed in enumerate(args.seeds):
        k = i % len(args.libs)
        for lib in args.libs[k:] + args.libs[:k]:  # rotate the order from seed to seed
            try:
                results.append(run_one(lib, seed, args))
            except Exception as exc:  # keep going: one failing library should not lose the others
                print(f"[bench] {lib} seed={seed} FAILED: {exc}", flush=True)
    summarize(results, args.libs, args.seeds)
    if floor is not None and "ours" in args.libs:
        ours = [r["steps_per_s"] for r in results if r["lib"] == "ours"]
        if ours:
            print(f"ours median / env floor (dummy_vec_env): {statistics.median(ours) / floor['dummy_vec_env']:.2f}")
    if args.json:
        meta = dict(date=time.strftime("%Y-%m-%d %H:%M:%S %Z"), machine=platform.platform(), config=args.config,
                    cpus=os.cpu_count(), timesteps=args.timesteps, seeds=args.seeds,
                    stable_ppo2=version, env_floor_steps_per_s=floor)
        Path(args.json).write_text(json.dumps(dict(meta=meta, results=results), indent=1))
    return 0 if results else 1


if __name__ == "__main__":
    sys.exit(main())
