"""The ``stable-ppo2`` command: train with the RL zoo's hyperparameters, evaluate, plot.

``stable-ppo2 train ENV_ID``
    trains PPO2 with the zoo's tuned hyperparameters for the env (``stable_ppo2/zoo/ppo2.yml``) or a
    file given with ``--hyperparams`` (``-params``/``--env-kwargs`` override it), with a progress bar;
    writes the model, the VecNormalize statistics, the Monitor files, the training log and the plots into
    one run folder; ``--eval-freq`` keeps the best model, ``--save-freq`` checkpoints that
    ``train --resume RUN`` continues exactly; several ``--seed`` values train one run each.
``stable-ppo2 enjoy RUN_OR_MODEL``
    evaluates a run folder or a model file (``.zip``, or an SB2 ``.pkl`` from the zoo) and prints the
    mean and standard deviation of the return.
``stable-ppo2 plot RUN_DIR``
    draws a run's returns and per-update diagnostics as PNG files and one interactive HTML page; with
    several runs, their comparison (mean curves with bootstrap bands, a table of final scores).
``stable-ppo2 export RUN_OR_MODEL OUT``
    writes the policy as a TF SavedModel folder or a ``.tflite`` file (``docs/export.md``).
``stable-ppo2 list``
    the env ids with tuned settings, and which of them can be trained here.
``stable-ppo2 tune ENV_ID``
    searches hyperparameters with Optuna and writes the best as a zoo-format file.

Errors the user can fix (unknown env id, missing optional dependency, bad hyperparameters) are
printed as one line and exit with status 2; TensorFlow is only imported once they are ruled out.
"""
from __future__ import annotations

import argparse
import glob
import json
import os
import re
import shutil
import sys
import tempfile
import time
import warnings
from typing import Any, Dict, List, Optional, Sequence

PROG = "stable-ppo2"
USAGE_ERROR = 2
RUNTIME_ERROR = 1


class CLIError(Exception):
    """A problem reported as one line (``stable-ppo2: error: ...``) with exit status ``code``."""

    def __init__(self, message: str, code: int = USAGE_ERROR) -> None:
        super().__init__(message)
        self.code = code


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


# ------------------------------------------------------------------------------------------ train
def new_run_dir(log_dir: str, env_id: str) -> str:
    """``log_dir/ENV_N`` with N one more than the largest existing run of that env."""
    name = re.sub(r"[^A-Za-z0-9_.-]+", "-", env_id)
    os.makedirs(log_dir, exist_ok=True)
    numbers = [0]
    for path in glob.glob(os.path.join(glob.escape(log_dir), glob.escape(name) + "_*")):
        suffix = os.path.basename(path)[len(name) + 1:]
        if suffix.isdigit():
            numbers.append(int(suffix))
    number = max(numbers) + 1
    while True:  # runs started side by side (--jobs) may pick the same number: the first to create it has it
        run_dir = os.path.join(log_dir, f"{name}_{number}")
        try:
            os.makedirs(run_dir)
            return run_dir
        except FileExistsError:
            number += 1


def _summary(config: Any) -> str:
    shown = {key: value for key, value in config.raw.items() if key not in ("n_timesteps",)}
    return ", ".join(f"{key}={value}" for key, value in shown.items())


VEC_ENVS = ("dummy", "subproc", "ray", "envpool")


def _vec_env_class(args: argparse.Namespace, config: Any) -> Any:
    """The VecEnv class ``--vec-env`` names (None: DummyVecEnv), after checking it can be used here."""
    from stable_ppo2.zoo.envs import is_atari

    kind = args.vec_env
    if args.ray_address is not None and kind != "ray":
        raise CLIError("--ray-address needs --vec-env ray")
    if kind == "dummy":
        return None
    if kind == "subproc":
        from stable_ppo2.common.vec_env import SubprocVecEnv

        return SubprocVecEnv
    if kind == "ray":
        from stable_ppo2.common.vec_env import RayVecEnv
        from stable_ppo2.common.vec_env.ray_vec_env import import_ray

        try:
            import_ray()
        except ImportError as exc:
            raise CLIError(str(exc)) from exc
        return RayVecEnv
    from stable_ppo2.common.vec_env import EnvPoolVecEnv
    from stable_ppo2.common.vec_env.envpool_vec_env import import_envpool

    try:
        envpool = import_envpool()
    except ImportError as exc:
        raise CLIError(_one_line(exc)) from exc
    if is_atari(config.env_id):
        raise CLIError(f"--vec-env envpool does not run {config.env_id}: envpool's Atari envs do their own "
                       "preprocessing (channels first), not SB2's; use --vec-env dummy or subproc")
    if config.env_id not in envpool.list_all_envs():
        raise CLIError(f"envpool has no env {config.env_id!r}; use --vec-env dummy, subproc or ray")
    if config.env_wrapper:
        raise CLIError(f"--vec-env envpool cannot apply the env_wrapper {config.env_wrapper} (envpool's envs are "
                       "C++); use --vec-env dummy, subproc or ray")
    return EnvPoolVecEnv


def _make_train_env(config: Any, monitor_dir: Optional[str], seed: Optional[int], vec_env_cls: Any = None,
                    vec_env_kwargs: Optional[Dict[str, Any]] = None) -> Any:
    from stable_ppo2.common.cmd_util import make_vec_env
    from stable_ppo2.common.vec_env import VecFrameStack, VecNormalize
    from stable_ppo2.zoo.envs import env_maker, env_wrapper_for

    if getattr(vec_env_cls, "builds_from_env_id", False):  # envpool: from the id itself, no Python wrappers
        env = make_vec_env(config.env_id, n_envs=config.n_envs, seed=seed, monitor_dir=monitor_dir,
                           env_kwargs=config.env_kwargs or None, vec_env_cls=vec_env_cls)
    else:
        env = make_vec_env(env_maker(config.env_id), n_envs=config.n_envs, seed=seed, monitor_dir=monitor_dir,
                           wrapper_class=env_wrapper_for(config.env_id, config.env_wrapper),
                           env_kwargs=config.env_kwargs or None, vec_env_cls=vec_env_cls,
                           vec_env_kwargs=vec_env_kwargs)
    if config.frame_stack:
        env = VecFrameStack(env, config.frame_stack)
    if config.normalize is not None:
        env = VecNormalize(env, **config.normalize)
    return env


def _train_config(args: argparse.Namespace, seed: Optional[int]) -> Any:
    """The run's :class:`TrainConfig` (zoo setting or ``--hyperparams``, then ``-params``, ``--env-kwargs`` and the
    other flags), checked before anything is written; ``config.sources`` says where each value came from."""
    from stable_ppo2.zoo.envs import check_env_id, import_gym_packages, is_atari, split_module
    from stable_ppo2.zoo.hyperparams import load_setting, make_train_config
    from stable_ppo2.zoo.overrides import apply_overrides, parse_pairs

    import_gym_packages(args.gym_packages)
    params = parse_pairs(args.params, "-params", containers_as_text=True)
    env_kwargs = parse_pairs(args.env_kwargs, "--env-kwargs")
    if args.hyperparams is not None and not os.path.isfile(args.hyperparams):
        raise CLIError(f"no hyperparameter file {args.hyperparams}")
    setting, source = load_setting(split_module(args.env_id)[1], args.hyperparams)
    no_zoo_entry = setting is None
    setting, sources = apply_overrides(setting, source, params, env_kwargs, {
        "--n-timesteps": ("n_timesteps", args.n_timesteps), "--n-envs": ("n_envs", args.n_envs),
        "--seed": ("seed", seed)})
    if "seed" not in setting:
        setting["seed"], sources["seed"] = 0, "default"
    config = make_train_config(split_module(args.env_id)[1], setting, source)
    config.env_id = check_env_id(args.env_id, config.env_kwargs)
    if config.frame_stack is None and is_atari(config.env_id) and "frame_stack" not in config.raw:
        config.frame_stack = 4  # the zoo stacks 4 frames for Atari unless told otherwise
    config.sources, config.no_zoo_entry = sources, no_zoo_entry
    return config


def train(args: argparse.Namespace) -> int:
    """``stable-ppo2 train``: one run, several seeds, or ``--resume``."""
    if args.resume is not None:
        from stable_ppo2.zoo.resume import resume_run

        if args.env_id is not None:
            raise CLIError("--resume continues a run with its own settings: give the run folder only, no ENV_ID")
        return resume_run(args, resolve_run_dir(args.resume))
    if args.env_id is None:
        raise CLIError("train needs ENV_ID (or --resume RUN_FOLDER)")
    if (args.seed is not None and len(args.seed) > 1) or args.n_seeds is not None:
        from stable_ppo2.zoo.seeds import train_seeds

        return train_seeds(args, train_one)
    return train_one(args, args.seed[0] if args.seed else None)


def train_one(args: argparse.Namespace, seed: Optional[int]) -> int:
    """Train one run of ``args.env_id`` with ``seed`` (None: the setting's seed, else 0)."""
    config = _train_config(args, seed)
    env_id, seed = config.env_id, int(config.raw["seed"])
    vec_env_cls = _vec_env_class(args, config)
    vec_env_kwargs = {"address": args.ray_address} if args.vec_env == "ray" else None
    if config.no_zoo_entry:
        print(f"note: the RL zoo has no PPO2 hyperparameters for {env_id}: using PPO2's defaults "
              f"(give --hyperparams FILE.yml to tune them)")

    run_dir = new_run_dir(args.log_dir, env_id)
    monitor_dir = os.path.join(run_dir, "monitor")
    _write_run_files(run_dir, args, config, seed)
    print(f"Training PPO2 on {env_id} for {config.n_timesteps:,} timesteps with {config.n_envs} env(s) "
          f"({args.vec_env}), seed {seed}; hyperparameters: {config.source}")
    print(f"  {_summary(config)}")
    print(f"run folder: {run_dir}", flush=True)

    env = _make_train_env(config, monitor_dir, seed, vec_env_cls, vec_env_kwargs)
    try:
        model = _build_model(config, env, run_dir, args.tensorboard)
    except CLIError:
        shutil.rmtree(run_dir, ignore_errors=True)
        raise
    return _learn_and_save(args, config, model, env, run_dir)


def _build_model(config: Any, env: Any, run_dir: str, tensorboard: bool) -> Any:
    from stable_ppo2.zoo.hyperparams import resolve_policy_kwargs

    model_kwargs = dict(config.model_kwargs)
    model_kwargs.pop("verbose", None)
    if "policy_kwargs" in model_kwargs:
        model_kwargs["policy_kwargs"] = resolve_policy_kwargs(model_kwargs["policy_kwargs"])
    if tensorboard:
        model_kwargs["tensorboard_log"] = os.path.join(run_dir, "tensorboard")
    if "n_cpu_tf_sess" not in model_kwargs and not config.policy.startswith("Cnn"):
        model_kwargs["n_cpu_tf_sess"] = 1  # small MLPs train faster on one thread

    from stable_ppo2 import PPO2

    try:
        return PPO2(config.policy, env, verbose=1, **model_kwargs)
    except (ValueError, TypeError, AssertionError) as exc:
        env.close()
        raise CLIError(f"cannot build PPO2 for {config.env_id} with these hyperparameters: {_one_line(exc)}") from exc


def make_eval_env(config: Any, n_envs: int, seed: int) -> Any:
    """Envs to evaluate on, built as the training envs are (Atari: whole games, raw scores) but without
    Monitor files; with ``normalize`` a VecNormalize that is never updated (the training statistics are
    copied in before each evaluation) and returns raw rewards."""
    from stable_ppo2.common.cmd_util import make_vec_env
    from stable_ppo2.common.vec_env import VecFrameStack, VecNormalize
    from stable_ppo2.zoo.envs import env_maker, env_wrapper_for

    eval_env = make_vec_env(env_maker(config.env_id), n_envs=n_envs, seed=seed,
                            wrapper_class=env_wrapper_for(config.env_id, config.env_wrapper, evaluation=True),
                            env_kwargs=config.env_kwargs or None)
    if config.frame_stack:
        eval_env = VecFrameStack(eval_env, config.frame_stack)
    if config.normalize is not None:
        eval_env = VecNormalize(eval_env, training=False, norm_reward=False,
                                **{k: v for k, v in config.normalize.items() if k != "norm_reward"})
    return eval_env


def _eval_callback(args: argparse.Namespace, config: Any, run_dir: str, seed: int) -> Any:
    """``EvalCallback`` on its own envs writing ``evaluations.npz`` and ``best_model.zip`` into the run."""
    from stable_ppo2.common.callbacks import EvalCallback

    return EvalCallback(make_eval_env(config, args.n_eval_envs, seed + 10_000), n_eval_episodes=args.eval_episodes,
                        eval_freq=max(args.eval_freq // config.n_envs, 1), log_path=run_dir,
                        best_model_save_path=run_dir, deterministic=True, verbose=1)


def _callbacks(args: argparse.Namespace, config: Any, run_dir: str, seed: int) -> List[Any]:
    callbacks: List[Any] = []
    if args.save_freq:
        from stable_ppo2.common.training_state import TrainingCheckpointCallback

        callbacks.append(TrainingCheckpointCallback(args.save_freq, run_dir))
    if args.eval_freq:
        callbacks.append(_eval_callback(args, config, run_dir, seed))
    return callbacks


def _learn_and_save(args: argparse.Namespace, config: Any, model: Any, env: Any, run_dir: str,
                    resumed_from: Optional[int] = None) -> int:
    from stable_ppo2 import logger

    monitor_dir = os.path.join(run_dir, "monitor")
    callbacks = _callbacks(args, config, run_dir, int(config.raw["seed"]))
    if resumed_from is not None:
        from stable_ppo2.zoo.resume import continue_callbacks

        continue_callbacks(callbacks, run_dir, model)
    formats = ["csv", "log"] + (["stdout"] if args.verbose else [])
    started = time.time()
    interrupted = False
    with logger.ScopedConfigure(run_dir, formats):
        if resumed_from is not None:
            from stable_ppo2.zoo.resume import continue_progress_csv

            continue_progress_csv(run_dir, resumed_from)
        try:
            model.learn(total_timesteps=config.n_timesteps, callback=callbacks or None,
                        progress_bar=not args.no_progress_bar, reset_num_timesteps=resumed_from is None)
        except KeyboardInterrupt:
            interrupted = True
            print("\ninterrupted: saving the model trained so far"
                  + (f" (resume from the last checkpoint with: {PROG} train --resume {run_dir})"
                     if args.save_freq else ""), file=sys.stderr)
    elapsed = time.time() - started
    for callback in callbacks:
        if hasattr(callback, "eval_env"):
            callback.eval_env.close()

    model_path = os.path.join(run_dir, "model.zip")
    model.save(model_path)
    print(f"model: {model_path}")
    vec_normalize = model.get_vec_normalize_env()
    if vec_normalize is not None:
        stats_path = os.path.join(run_dir, "vecnormalize.pkl")
        vec_normalize.save(stats_path)
        print(f"VecNormalize statistics: {stats_path}")
    env.close()
    if not interrupted:
        _update_run_info(run_dir, finished=True)
    print(f"training log: {os.path.join(run_dir, 'progress.csv')}; Monitor files: {monitor_dir}")
    if args.eval_freq:
        print(f"evaluations: {os.path.join(run_dir, 'evaluations.npz')}; best model: "
              f"{os.path.join(run_dir, 'best_model.zip')}")
    print(f"trained {model.num_timesteps:,} timesteps in {elapsed:.1f} s"
          + (f"; mean return of the last 100 episodes: {_last_mean_return(model):.2f}"
             if model.ep_info_buf else ""))

    from stable_ppo2.plotting import NothingToPlot, plot_run

    try:
        for path in plot_run(run_dir):
            print(f"plot: {path}")
    except NothingToPlot as exc:
        print(f"no plots: {exc}")
    print(f"evaluate it with: {PROG} enjoy {run_dir}")
    return 130 if interrupted else 0


def _update_run_info(run_dir: str, **changes: Any) -> None:
    path = os.path.join(run_dir, "run.json")
    with open(path, encoding="utf-8") as file:
        info = json.load(file)
    info.update(changes)
    with open(path, "w", encoding="utf-8") as file:
        json.dump(info, file, indent=1, default=str)


def _last_mean_return(model: Any) -> float:
    returns = [info["r"] for info in model.ep_info_buf]
    return float(sum(returns) / len(returns))


def _write_run_files(run_dir: str, args: argparse.Namespace, config: Any, seed: int) -> None:
    import stable_ppo2
    from stable_ppo2.zoo.envs import split_module
    from stable_ppo2.zoo.overrides import config_yaml

    with open(os.path.join(run_dir, "config.yml"), "w", encoding="utf-8") as file:
        file.write(f"# PPO2 hyperparameters of this run (final values; each line says where it came from); "
                   f"reuse with: {PROG} train {config.env_id} --hyperparams {os.path.join(run_dir, 'config.yml')}\n")
        file.write(config_yaml(split_module(config.env_id)[1], config.raw, config.sources))
    info = {
        "env_id": config.env_id, "requested_env_id": args.env_id, "hyperparams": config.source,
        "seed": seed, "n_timesteps": config.n_timesteps, "n_envs": config.n_envs, "policy": config.policy,
        "normalize": config.normalize, "frame_stack": config.frame_stack, "env_wrapper": config.env_wrapper,
        "env_kwargs": config.env_kwargs, "gym_packages": list(args.gym_packages or []), "vec_env": args.vec_env,
        "sources": config.sources, "stable_ppo2": stable_ppo2.__version__,
        "command": [PROG] + list(args.argv), "started": time.strftime("%Y-%m-%d %H:%M:%S"),
    }
    with open(os.path.join(run_dir, "run.json"), "w", encoding="utf-8") as file:
        json.dump(info, file, indent=1, default=str)


# ------------------------------------------------------------------------------------------ enjoy
def latest_run(path: str) -> Optional[str]:
    """``path_N`` with the largest N (``runs/CartPole-v1`` -> ``runs/CartPole-v1_3``), or None."""
    runs = [(int(candidate[len(path) + 1:]), candidate)
            for candidate in glob.glob(glob.escape(path) + "_*")
            if candidate[len(path) + 1:].isdigit() and os.path.isdir(candidate)]
    return max(runs)[1] if runs else None


def resolve_model(path: str) -> str:
    """The model file for a run folder, ``LOG_DIR/ENV_ID`` (its newest run), or a model path (with or
    without its extension)."""
    path = path.rstrip("/\\") or path
    if not os.path.exists(path) and not os.path.exists(path + ".zip") and not os.path.exists(path + ".pkl"):
        path = latest_run(path) or path
    if os.path.isdir(path):
        for name in ("model.zip", "best_model.zip"):
            if os.path.isfile(os.path.join(path, name)):
                return os.path.join(path, name)
        for pattern in ("*.zip", "*.pkl"):
            candidates = sorted(p for p in glob.glob(os.path.join(glob.escape(path), pattern))
                                if not p.endswith("vecnormalize.pkl") and not os.path.basename(p).endswith("rms.pkl"))
            if len(candidates) == 1:
                return candidates[0]
            if candidates:
                raise CLIError(f"{path} holds several models ({', '.join(map(os.path.basename, candidates))}): "
                               f"name one")
        raise CLIError(f"no model in {path} (looked for model.zip, *.zip and *.pkl)")
    for candidate in (path, path + ".zip", path + ".pkl"):
        if os.path.isfile(candidate):
            return candidate
    raise CLIError(f"no run folder or model file at {path}")


def _run_info(model_path: str) -> Dict[str, Any]:
    info_path = os.path.join(os.path.dirname(os.path.abspath(model_path)), "run.json")
    if os.path.isfile(info_path):
        with open(info_path, encoding="utf-8") as file:
            return json.load(file)
    return {}


def _env_for_model(model_path: str, env_arg: Optional[str], info: Dict[str, Any]) -> str:
    if env_arg:
        return env_arg
    if info.get("env_id"):
        return info["env_id"]
    stem = os.path.splitext(os.path.basename(model_path))[0]
    try:
        from stable_ppo2.zoo.envs import check_env_id

        check_env_id(stem)
        return stem
    except ValueError:
        raise CLIError(f"which env is {model_path} for? give it with --env ENV_ID") from None


def _video_backend() -> str:
    try:
        import moviepy  # noqa: F401

        return "moviepy"
    except ImportError:
        pass
    try:
        import imageio  # noqa: F401
        import imageio_ffmpeg  # noqa: F401

        return "imageio"
    except ImportError:
        raise CLIError("--video needs moviepy (or imageio with imageio-ffmpeg): "
                       "pip install 'stable_ppo2[video]'") from None


class _FirstEpisodeFrames:
    """Collects the rendered frames of the first episode (imageio fallback for --video)."""

    def __init__(self) -> None:
        self.frames: List[Any] = []
        self.done = False

    def wrapper(self, env: Any) -> Any:
        import gymnasium

        recorder = self

        class Record(gymnasium.Wrapper):
            def reset(self, **kwargs: Any) -> Any:
                result = self.env.reset(**kwargs)
                if not recorder.done:
                    recorder.frames.append(self.env.render())
                return result

            def step(self, action: Any) -> Any:
                result = self.env.step(action)
                if not recorder.done:
                    recorder.frames.append(self.env.render())
                    if result[2] or result[3]:
                        recorder.done = True
                return result

        return Record(env)


def _chosen_model(args: argparse.Namespace) -> str:
    """The model ``enjoy`` plays: the run's model, or with ``--load-best`` / ``--load-checkpoint STEPS`` /
    ``--load-last-checkpoint`` its best model or a checkpoint."""
    chosen = [flag for flag, on in (("--load-best", args.load_best), ("--load-checkpoint", args.load_checkpoint
                                    is not None), ("--load-last-checkpoint", args.load_last_checkpoint)) if on]
    if not chosen:
        return resolve_model(args.run_or_model)
    if len(chosen) > 1:
        raise CLIError(f"choose one of {', '.join(chosen)}")
    run_dir = resolve_run_dir(args.run_or_model)
    if args.load_best:
        path = os.path.join(run_dir, "best_model.zip")
        if not os.path.isfile(path):
            raise CLIError(f"no best_model.zip in {run_dir} (train with --eval-freq N to keep one)")
        return path
    from stable_ppo2.common.callbacks import latest_checkpoint

    if args.load_last_checkpoint:
        found = latest_checkpoint(run_dir)
        if found is None:
            raise CLIError(f"no checkpoint in {run_dir} (train with --save-freq N to keep them)")
        return found.path
    path = os.path.join(run_dir, f"rl_model_{args.load_checkpoint}_steps.zip")
    if not os.path.isfile(path):
        steps = sorted(int(m.group(1)) for m in (re.match(r"rl_model_(\d+)_steps\.zip$", name)
                                                  for name in os.listdir(run_dir)) if m)
        raise CLIError(f"no checkpoint at {args.load_checkpoint} steps in {run_dir} "
                       f"(it has: {', '.join(map(str, steps)) or 'none'})")
    return path


def enjoy(args: argparse.Namespace) -> int:
    from stable_ppo2.zoo.envs import check_env_id, env_maker, env_wrapper_for, import_gym_packages
    from stable_ppo2.zoo.normalization import find_statistics, wrap_with_statistics

    model_path = _chosen_model(args)
    info = _run_info(model_path)
    import_gym_packages(info.get("gym_packages"))
    requested = _env_for_model(model_path, args.env, info)
    env_id = check_env_id(requested)
    if args.episodes < 1:
        raise CLIError("--episodes must be at least 1")
    backend = _video_backend() if args.video else None
    stats = find_statistics(model_path, requested) if not args.no_normalize else None

    from stable_ppo2 import PPO2
    from stable_ppo2.common.cmd_util import make_vec_env
    from stable_ppo2.common.evaluation import evaluate_policy
    from stable_ppo2.common.vec_env import VecFrameStack

    try:
        with warnings.catch_warnings():  # old-format and fallback notes on SB2 files: not the user's concern here
            warnings.simplefilter("ignore")
            model = PPO2.load(model_path, verbose=0)
    except Exception as exc:  # any load failure is one line, not a traceback
        raise CLIError(f"cannot load the model {model_path}: {_one_line(exc)}", code=RUNTIME_ERROR) from exc
    model.set_random_seed(args.seed)  # stochastic actions repeat with the env's seed

    wrappers = []
    base_wrapper = env_wrapper_for(env_id, info.get("env_wrapper"), evaluation=True)
    if base_wrapper is not None:
        wrappers.append(base_wrapper)
    video_dir, frames = None, None
    if backend == "moviepy":
        from gymnasium.wrappers import RecordVideo

        video_dir = os.path.join(tempfile.mkdtemp(prefix="stable-ppo2-video-"), "frames")  # RecordVideo makes it
        wrappers.append(lambda env: RecordVideo(env, video_dir, episode_trigger=lambda episode: episode == 0,
                                                name_prefix="enjoy"))
    elif backend == "imageio":
        frames = _FirstEpisodeFrames()
        wrappers.append(frames.wrapper)

    def wrap(env: Any) -> Any:
        for wrapper in wrappers:
            env = wrapper(env)
        return env

    env_kwargs = dict(info.get("env_kwargs") or {})
    if backend is not None:
        env_kwargs["render_mode"] = "rgb_array"
    env = make_vec_env(env_maker(env_id), n_envs=1, seed=args.seed, wrapper_class=wrap if wrappers else None,
                       env_kwargs=env_kwargs or None)
    if info.get("frame_stack"):
        env = VecFrameStack(env, int(info["frame_stack"]))
    if stats is not None:
        env = wrap_with_statistics(env, stats)
    if tuple(env.observation_space.shape or ()) != tuple(model.observation_space.shape or ()):
        env.close()
        raise CLIError(f"the model expects observations of shape {model.observation_space.shape}, "
                       f"{env_id} gives {env.observation_space.shape}: is it the right env?")

    print(f"model: {model_path}")
    if stats is not None:
        print(f"VecNormalize statistics: {stats[1]}")
    mode = "deterministic" if args.deterministic else "stochastic"
    rewards, lengths = evaluate_policy(model, env, n_eval_episodes=args.episodes, deterministic=args.deterministic,
                                       return_episode_rewards=True)
    env.close()
    import numpy as np

    returns = np.asarray(rewards, dtype=float).reshape(-1)
    print(f"{env_id}: mean return {returns.mean():.2f} +/- {returns.std():.2f} over {len(returns)} episodes "
          f"({mode} actions, seed {args.seed}; mean episode length {np.mean(lengths):.1f})")
    if args.video and backend is not None:  # backend: chosen whenever a video is asked for
        _write_video(args.video, backend, video_dir, frames, env_id)
    return 0


def _write_video(path: str, backend: str, video_dir: Optional[str], frames: Optional[_FirstEpisodeFrames],
                 env_id: str) -> None:
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    if backend == "moviepy":
        assert video_dir is not None  # the moviepy backend records into video_dir
        recorded = sorted(glob.glob(os.path.join(video_dir, "*.mp4")))
        if not recorded:
            raise CLIError(f"no video was recorded (does {env_id} render rgb_array frames?)", code=RUNTIME_ERROR)
        shutil.move(recorded[0], path)
        shutil.rmtree(os.path.dirname(video_dir), ignore_errors=True)
    else:
        import imageio

        assert frames is not None  # the imageio backend collects the frames itself
        imageio.mimsave(path, [frame for frame in frames.frames if frame is not None], fps=30)
    print(f"video of the first episode: {path}")


# ----------------------------------------------------------------------------------------- export
def export(args: argparse.Namespace) -> int:
    """Write a model's policy as a TF SavedModel or TFLite file (see ``docs/export.md``)."""
    from stable_ppo2.zoo.normalization import find_statistics

    model_path = resolve_model(args.run_or_model)
    info = _run_info(model_path)
    fmt = args.format or ("tflite" if args.out.endswith(".tflite") else "saved_model")
    if fmt == "saved_model" and os.path.isfile(args.out):
        raise CLIError(f"{args.out} is a file; a SavedModel is written into a folder")
    if fmt == "tflite" and os.path.isdir(args.out):
        raise CLIError(f"{args.out} is a folder; give a file name for the TFLite model (e.g. policy.tflite)")
    found = None if args.no_normalize else find_statistics(model_path, args.env or info.get("env_id"))

    from stable_ppo2 import PPO2
    from stable_ppo2.common.export import export_policy, load_statistics

    try:
        with warnings.catch_warnings():  # old-format and fallback notes on SB2 files: not the user's concern here
            warnings.simplefilter("ignore")
            model = PPO2.load(model_path, verbose=0)
    except Exception as exc:  # any load failure is one line, not a traceback
        raise CLIError(f"cannot load the model {model_path}: {_one_line(exc)}", code=RUNTIME_ERROR) from exc
    stats = None
    if found is not None:
        try:
            stats = load_statistics(found)
        except Exception as exc:  # pylint: disable=broad-except
            raise CLIError(f"cannot read the VecNormalize statistics {found[1]}: {_one_line(exc)}",
                           code=RUNTIME_ERROR) from exc
    try:
        export_policy(model, args.out, format=fmt, vec_normalize=stats, stochastic=args.stochastic)
    except ValueError as exc:
        raise CLIError(str(exc)) from exc
    print(f"model: {model_path}")
    if found is not None:
        print(f"VecNormalize statistics folded in: {found[1]}")
    inputs = "obs, state, mask" if model.act_model.recurrent else "obs"
    print(f"exported ({fmt}, {'stochastic' if args.stochastic else 'deterministic'} actions): {args.out}")
    print(f"signature 'serving_default': {inputs} -> action, value"
          + (", state" if model.act_model.recurrent else ""))
    return 0


# ------------------------------------------------------------------------------------------- plot
def resolve_run_dir(path: str) -> str:
    """A run folder, or for ``LOG_DIR/ENV_ID`` its newest run (as ``enjoy`` and ``export`` read it)."""
    path = path.rstrip("/\\") or path
    if os.path.isdir(path):
        return path
    newest = latest_run(path)
    if newest is None:
        raise CLIError(f"no run folder {path} (and no runs {path}_N)")
    return newest


def plot(args: argparse.Namespace) -> int:
    """``stable-ppo2 plot``: one run's plots, or the comparison of several runs."""
    from stable_ppo2.plotting import NothingToPlot, find_runs, plot_run

    run_dirs = [resolve_run_dir(path) for path in args.run_dirs]
    runs = find_runs(run_dirs)
    if len(runs) > 1:
        from stable_ppo2.plotting_compare import plot_comparison

        try:
            written = plot_comparison(runs, out_dir=args.out or os.path.join(run_dirs[0], "comparison"))
        except NothingToPlot as exc:
            raise CLIError(str(exc)) from exc
        for path in written:
            print(f"{'table' if path.endswith(('.md', '.csv')) else 'plot'}: {path}")
            if path.endswith(".md"):
                with open(path, encoding="utf-8") as file:
                    print(file.read(), end="")
        return 0
    try:
        written = plot_run(runs[0] if runs else run_dirs[0], out_dir=args.out, html=not args.no_html)
    except NothingToPlot as exc:
        raise CLIError(str(exc)) from exc
    for path in written:
        print(f"plot: {path}")
    if not args.no_html and not any(path.endswith(".html") for path in written):
        print("note: install plotly for the interactive page (pip install plotly)")
    return 0


# ------------------------------------------------------------------------------------------- list
def list_envs(args: argparse.Namespace) -> int:
    """``stable-ppo2 list``: the env ids with tuned settings, and whether each can be trained here."""
    from stable_ppo2.zoo.envs import env_status
    from stable_ppo2.zoo.hyperparams import ZOO_FILE, read_hyperparams_file

    table = read_hyperparams_file(args.hyperparams or ZOO_FILE)
    rows = [(str(env_id), *env_status(str(env_id))) for env_id in table]
    width = max(len(env_id) for env_id, _, _ in rows)
    for env_id, ok, detail in rows:
        if ok or args.all:
            print(f"{env_id:<{width}}  {'ok ' if ok else 'n/a'}  {detail}")
    hidden = sum(not ok for _, ok, _ in rows)
    if hidden and not args.all:
        print(f"({hidden} more cannot run here; --all lists them with the reason)")
    return 0


def _add_list_parser(commands: Any) -> None:
    list_parser = commands.add_parser("list", help="env ids with tuned hyperparameters, and which run here",
                                      description="List the env ids of the RL zoo's PPO2 file (or --hyperparams) "
                                                  "that can be trained here; --all also lists the others with why.")
    list_parser.add_argument("--all", action="store_true", help="also list the entries that cannot run here")
    list_parser.add_argument("--hyperparams", metavar="FILE.yml", help="list this file's env ids instead")
    list_parser.set_defaults(func=list_envs)


# ------------------------------------------------------------------------------------------- tune
def tune(args: argparse.Namespace) -> int:
    """``stable-ppo2 tune``: see :mod:`stable_ppo2.zoo.tune`."""
    from stable_ppo2.zoo.tune import tune as run_study

    return run_study(args)


def _add_tune_parser(commands: Any) -> None:
    tune_parser = commands.add_parser("tune", help="search PPO2 hyperparameters with Optuna",
                                      description="Search PPO2 hyperparameters for ENV_ID with Optuna over the RL "
                                                  "zoo's search space; writes best.yml for train --hyperparams.")
    tune_parser.add_argument("env_id", metavar="ENV_ID", help="gymnasium env id (or module.path:EnvId)")
    tune_parser.add_argument("--n-trials", type=_positive_int, default=10, metavar="N",
                             help="trials the study should have finished (default 10); a continued study runs "
                                  "the missing ones")
    tune_parser.add_argument("--n-jobs", type=_positive_int, default=1, metavar="J",
                             help="trials side by side, in J processes sharing --storage")
    tune_parser.add_argument("--worker", type=int, default=0, help=argparse.SUPPRESS)
    tune_parser.add_argument("--sampler", choices=["tpe", "random"], default="tpe", help="default tpe")
    tune_parser.add_argument("--pruner", choices=["median", "none"], default="median", help="default median")
    tune_parser.add_argument("--storage", metavar="URL",
                             help="Optuna storage (e.g. sqlite:///study.db) to stop and continue the study")
    tune_parser.add_argument("--study-name", metavar="NAME", help="default ppo2-ENV_ID")
    tune_parser.add_argument("--n-timesteps", type=_positive_int, default=100_000, metavar="T",
                             help="timesteps per trial (default 100000)")
    tune_parser.add_argument("--n-evaluations", type=_positive_int, default=10, metavar="N",
                             help="evaluations per trial, reported for pruning (default 10)")
    tune_parser.add_argument("--n-startup-trials", type=int, default=5, metavar="N",
                             help="trials sampled at random and never pruned before TPE and pruning start (default 5)")
    tune_parser.add_argument("--eval-episodes", type=_positive_int, default=5, metavar="K",
                             help="episodes per evaluation (default 5)")
    tune_parser.add_argument("--hyperparams", metavar="FILE.yml",
                             help="base setting (default: the zoo's for the env; sampled values replace its own)")
    tune_parser.add_argument("--gym-packages", nargs="+", metavar="MODULE", default=[],
                             help="modules to import first (they register custom envs)")
    tune_parser.add_argument("--seed", type=int, default=0, help="sampler seed; trial i trains with seed + i")
    tune_parser.add_argument("--log-dir", default="runs", metavar="DIR",
                             help="results go to LOG_DIR/tune_ENV_ID (default runs)")
    tune_parser.add_argument("--out", metavar="DIR", help="results folder (default LOG_DIR/tune_ENV_ID)")
    tune_parser.set_defaults(func=tune)


# ------------------------------------------------------------------------------------------ main
def _add_legacy_parser(commands: Any) -> None:
    legacy_parser = commands.add_parser("legacy", help="run SB2 programs with plain python: an opt-in startup hook",
                                        description="enable: install a startup hook in this environment so that "
                                                    "`import stable_baselines` and the old `import gym` work in "
                                                    "plain python; disable: remove it; status: what is active.")
    legacy_parser.add_argument("action", choices=["enable", "disable", "status"])

    def legacy_hook(args: argparse.Namespace) -> int:
        from stable_ppo2.legacy.hook import main as hook_main  # imported on use: it installs the alias

        return hook_main(args.action)

    legacy_parser.set_defaults(func=legacy_hook)


def build_parser() -> argparse.ArgumentParser:
    from stable_ppo2 import __version__

    parser = argparse.ArgumentParser(prog=PROG, description="Train, evaluate and plot PPO2 agents (Stable-Baselines 2 "
                                                            "PPO2 on TensorFlow 2) with the RL zoo's hyperparameters.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.required = True

    train_parser = commands.add_parser("train", help="train PPO2 on a gymnasium env with the zoo's hyperparameters",
                                       description="Train PPO2 on ENV_ID with the RL zoo's tuned hyperparameters "
                                                   "(or --hyperparams) and write everything into one run folder.")
    train_parser.add_argument("env_id", metavar="ENV_ID", nargs="?",
                              help="gymnasium env id (SB2-era ids such as Pendulum-v0 are mapped to their gymnasium "
                                   "version; module.path:EnvId imports the module that registers it)")
    train_parser.add_argument("--hyperparams", metavar="FILE.yml",
                              help="hyperparameter file in the zoo's format (env ids -> settings), or one setting")
    train_parser.add_argument("--n-timesteps", type=_positive_int, metavar="N",
                              help="timesteps to train (default: the zoo's n_timesteps)")
    train_parser.add_argument("-params", "--params", nargs="+", metavar="KEY:VALUE",
                              help="override hyperparameters, e.g. n_steps:256 learning_rate:lin_1e-3 "
                                   "policy_kwargs:\"dict(net_arch=[64, 64])\"")
    train_parser.add_argument("--env-kwargs", nargs="+", metavar="KEY:VALUE",
                              help="keyword arguments for the env, e.g. g:9.81")
    train_parser.add_argument("--gym-packages", nargs="+", metavar="MODULE", default=[],
                              help="modules to import first (they register custom envs)")
    train_parser.add_argument("--seed", type=int, nargs="+", default=None, metavar="SEED",
                              help="random seed (default 0); several seeds train one run each")
    train_parser.add_argument("--n-seeds", type=_positive_int, metavar="N",
                              help="train N runs with seeds 0..N-1 (or from the first --seed on)")
    train_parser.add_argument("--jobs", type=_positive_int, default=1, metavar="J",
                              help="with several seeds: runs side by side (default 1: one after another)")
    train_parser.add_argument("--eval-freq", type=_positive_int, metavar="N",
                              help="evaluate every N timesteps on separate envs; keeps best_model.zip and "
                                   "evaluations.npz")
    train_parser.add_argument("--eval-episodes", type=_positive_int, default=5, metavar="K",
                              help="episodes per evaluation (default 5)")
    train_parser.add_argument("--n-eval-envs", type=_positive_int, default=1, metavar="E",
                              help="envs the evaluation runs on (default 1)")
    train_parser.add_argument("--save-freq", type=_positive_int, metavar="N",
                              help="keep a checkpoint (with its training state) every N timesteps")
    train_parser.add_argument("--resume", metavar="RUN_FOLDER",
                              help="continue an interrupted run from its last checkpoint to its total timesteps")
    train_parser.add_argument("--n-envs", type=_positive_int, metavar="N", help="parallel envs (default: the zoo's)")
    train_parser.add_argument("--vec-env", choices=VEC_ENVS, default="dummy",
                              help="where the envs run: in this process (dummy, default), one process each "
                                   "(subproc), in Ray actors (ray; docs/scaling.md), or envpool's C++ pool "
                                   "(envpool; ids envpool has)")
    train_parser.add_argument("--ray-address", metavar="HOST:PORT",
                              help="with --vec-env ray: the Ray cluster to use (default: a local one)")
    train_parser.add_argument("--log-dir", default="runs", metavar="DIR",
                              help="where run folders ENV_ID_N are made (default: runs)")
    train_parser.add_argument("--tensorboard", action="store_true", help="also write TensorBoard logs in the run")
    train_parser.add_argument("--no-progress-bar", action="store_true", help="hide the progress bar")
    train_parser.add_argument("-v", "--verbose", action="store_true", help="also print the logger table per update")
    train_parser.set_defaults(func=train)

    enjoy_parser = commands.add_parser("enjoy", help="evaluate a trained agent (run folder, .zip or SB2 .pkl)",
                                       description="Evaluate a run folder or a model file and print the mean and "
                                                   "standard deviation of the episode return.")
    enjoy_parser.add_argument("run_or_model", metavar="RUN_OR_MODEL",
                              help="run folder (LOG_DIR/ENV_ID: its newest run), or model file (.zip/.pkl)")
    enjoy_parser.add_argument("--env", metavar="ENV_ID",
                              help="env id (default: the run's env, or the model file's name)")
    enjoy_parser.add_argument("--episodes", type=int, default=10, metavar="N", help="episodes (default 10)")
    enjoy_parser.add_argument("--deterministic", action="store_true", help="take the most likely actions")
    enjoy_parser.add_argument("--seed", type=int, default=0,
                              help="seed of the env and of the stochastic actions (default 0)")
    enjoy_parser.add_argument("--video", metavar="FILE.mp4", help="record the first episode as an mp4")
    enjoy_parser.add_argument("--no-normalize", action="store_true",
                              help="ignore VecNormalize statistics found beside the model")
    enjoy_parser.add_argument("--load-best", action="store_true", help="play the run's best_model.zip")
    enjoy_parser.add_argument("--load-checkpoint", type=int, metavar="STEPS",
                              help="play the run's checkpoint saved at STEPS timesteps")
    enjoy_parser.add_argument("--load-last-checkpoint", action="store_true", help="play the run's newest checkpoint")
    enjoy_parser.set_defaults(func=enjoy)

    plot_parser = commands.add_parser("plot", help="plot a run, or compare several runs",
                                      description="Draw a run's episodic return and per-update losses as PNG files "
                                                  "and one interactive HTML page; with several runs (or a log folder "
                                                  "holding several), compare them: mean curves with 95% bootstrap "
                                                  "bands and a table of final scores.")
    plot_parser.add_argument("run_dirs", metavar="DIR_OR_RUNS", nargs="+",
                             help="run folder, LOG_DIR/ENV_ID (its newest run), or log folders / several runs")
    plot_parser.add_argument("--out", metavar="DIR", help="output folder (default RUN_DIR/plots)")
    plot_parser.add_argument("--no-html", action="store_true", help="PNG files only")
    plot_parser.set_defaults(func=plot)

    export_parser = commands.add_parser("export", help="export a policy as a TF SavedModel or TFLite file",
                                        description="Export a run's or model file's policy (raw observations -> "
                                                    "actions and values, VecNormalize statistics found beside "
                                                    "the model folded in) as a TF SavedModel folder or a TFLite "
                                                    "file.")
    export_parser.add_argument("run_or_model", metavar="RUN_OR_MODEL",
                               help="run folder (LOG_DIR/ENV_ID: its newest run), or model file (.zip/.pkl)")
    export_parser.add_argument("out", metavar="OUT", help="SavedModel folder, or .tflite file")
    export_parser.add_argument("--format", choices=["saved_model", "tflite"],
                               help="default: tflite if OUT ends with .tflite, else saved_model")
    export_parser.add_argument("--env", metavar="ENV_ID", help="env id, to find the zoo's statistics folder "
                                                              "(default: the run's env)")
    export_parser.add_argument("--stochastic", action="store_true", help="sample actions (default: the mode)")
    export_parser.add_argument("--no-normalize", action="store_true",
                               help="ignore VecNormalize statistics found beside the model")
    export_parser.set_defaults(func=export)
    _add_list_parser(commands)
    _add_tune_parser(commands)
    _add_legacy_parser(commands)
    return parser


def _positive_int(text: str) -> int:
    try:
        value = int(float(text))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1 or value != float(text):
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def main(argv: Optional[Sequence[str]] = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = build_parser().parse_args(argv)
    args.argv = argv
    from stable_ppo2.zoo.envs import EnvError
    from stable_ppo2.zoo.hyperparams import HyperparamsError

    try:
        return args.func(args)
    except CLIError as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return exc.code
    except (EnvError, HyperparamsError) as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return USAGE_ERROR


if __name__ == "__main__":
    sys.exit(main())
