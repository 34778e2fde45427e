"""``stable-ppo2 tune ENV``: hyperparameter search with Optuna over the RL zoo's PPO2 search space.

Each trial trains PPO2 for ``--n-timesteps`` with the env's setting (the zoo's, or ``--hyperparams``)
and sampled values of :func:`sample_ppo2_params`, evaluates it ``--n-evaluations`` times on separate
envs (``--eval-episodes`` episodes, deterministic actions) and reports each mean return to Optuna, whose
pruner (median by default) may stop it early. A trial's value is its last evaluation. With
``--storage sqlite:///study.db`` the study survives the process: the same command continues it until
``--n-trials`` trials are finished. The output folder holds ``best.yml`` (a zoo-format file for
``train --hyperparams``), ``trials.csv``, and Optuna's optimisation history and importance plots.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
from typing import Any, Dict, Optional, cast

#: The zoo's PPO2 search space (rl-baselines-zoo ``utils/hyperparams_opt.py``): categorical choices.
BATCH_SIZES = [32, 64, 128, 256]
N_STEPS = [16, 32, 64, 128, 256, 512, 1024, 2048]
GAMMAS = [0.9, 0.95, 0.98, 0.99, 0.995, 0.999, 0.9999]
LAMBDAS = [0.8, 0.9, 0.92, 0.95, 0.98, 0.99, 1.0]
CLIPRANGES = [0.1, 0.2, 0.3, 0.4]
N_EPOCHS = [1, 5, 10, 20, 30, 50]
NET_ARCHS = {"small": "[dict(pi=[64, 64], vf=[64, 64])]", "medium": "[dict(pi=[256, 256], vf=[256, 256])]"}
ACTIVATIONS = {"tanh": "tf.nn.tanh", "relu": "tf.nn.relu"}


def import_optuna() -> Any:
    try:
        import optuna
    except ImportError:
        from stable_ppo2.cli import CLIError

        raise CLIError("tune needs optuna: pip install 'stable_ppo2[tune]'") from None
    return optuna


def sample_ppo2_params(trial: Any, n_envs: int) -> Dict[str, Any]:
    """One point of the search space, as a zoo setting's values (schedules and policy_kwargs as strings)."""
    batch_size = trial.suggest_categorical("batch_size", BATCH_SIZES)
    n_steps = trial.suggest_categorical("n_steps", N_STEPS)
    params = {
        "n_steps": n_steps,
        "gamma": trial.suggest_categorical("gamma", GAMMAS),
        "learning_rate": trial.suggest_float("learning_rate", 1e-5, 1.0, log=True),
        "ent_coef": trial.suggest_float("ent_coef", 1e-8, 0.1, log=True),
        "cliprange": trial.suggest_categorical("cliprange", CLIPRANGES),
        "noptepochs": trial.suggest_categorical("noptepochs", N_EPOCHS),
        "lam": trial.suggest_categorical("lam", LAMBDAS),
    }
    net_arch = trial.suggest_categorical("net_arch", list(NET_ARCHS))
    activation = trial.suggest_categorical("activation", list(ACTIVATIONS))
    params["policy_kwargs"] = f"dict(net_arch={NET_ARCHS[net_arch]}, act_fun={ACTIVATIONS[activation]})"
    params["nminibatches"] = nminibatches_for(n_steps * n_envs, batch_size)
    return params


def nminibatches_for(n_batch: int, batch_size: int) -> int:
    """Minibatches of about ``batch_size`` samples.

    The largest divisor of ``n_batch`` up to ``n_batch // batch_size``.
    """
    wanted = max(n_batch // batch_size, 1)
    return max(d for d in range(1, wanted + 1) if n_batch % d == 0)


def _trial_eval_callback(trial: Any, eval_env: Any, **kwargs: Any) -> Any:
    """An EvalCallback that reports each evaluation to ``trial`` and stops training once it is pruned."""
    from stable_ppo2.common.callbacks import EvalCallback

    class TrialEvalCallback(EvalCallback):
        def __init__(self) -> None:
            super().__init__(eval_env, **kwargs)
            self.pruned, self.evaluations = False, 0

        def _on_step(self) -> bool:
            if self.eval_freq <= 0 or self.n_calls % self.eval_freq != 0:
                return True
            super()._on_step()
            self.evaluations += 1
            trial.report(float(self.last_mean_reward), self.evaluations)
            if trial.should_prune():
                self.pruned = True
                return False
            return True

    return TrialEvalCallback()


def _objective(args: argparse.Namespace, setting: Optional[Dict[str, Any]], source: str, optuna: Any) -> Any:
    from stable_ppo2.cli import _build_model, _make_train_env, make_eval_env
    from stable_ppo2.zoo.hyperparams import make_train_config

    base = dict(setting or {})
    n_envs = int(base.get("n_envs", 1))

    def objective(trial: Any) -> float:
        values = {**base, **sample_ppo2_params(trial, n_envs), "n_timesteps": args.n_timesteps,
                  "seed": args.seed + trial.number}
        config = make_train_config(args.env_id, values, source)
        config.env_id = args.env_id
        env = _make_train_env(config, None, config.raw["seed"])
        eval_env = make_eval_env(config, 1, config.raw["seed"] + 10_000)
        try:
            model = _build_model(config, env, "", False)
            model.verbose = 0
            eval_freq = max(args.n_timesteps // args.n_evaluations // config.n_envs, 1)
            callback = _trial_eval_callback(trial, eval_env, n_eval_episodes=args.eval_episodes, eval_freq=eval_freq,
                                        deterministic=True, verbose=0)
            try:
                model.learn(args.n_timesteps, callback=callback)
            except (FloatingPointError, ValueError) as exc:  # a diverging point of the space: a bad score
                raise optuna.TrialPruned(f"training failed: {exc}") from exc
        finally:
            env.close()
            eval_env.close()
        if callback.pruned:
            raise optuna.TrialPruned()
        if callback.evaluations == 0:
            raise optuna.TrialPruned(f"{args.n_timesteps} timesteps are fewer than one evaluation or update "
                                     f"(n_steps * n_envs = {model.n_batch})")
        return float(callback.last_mean_reward)

    return objective


def tune(args: argparse.Namespace) -> int:
    """Run (or continue) the study and write its results."""
    from stable_ppo2.zoo.envs import check_env_id, import_gym_packages, split_module
    from stable_ppo2.zoo.hyperparams import load_setting

    optuna = import_optuna()
    import_gym_packages(args.gym_packages)
    args.env_id = check_env_id(args.env_id)
    setting, source = load_setting(split_module(args.env_id)[1], args.hyperparams)
    if args.n_jobs > 1 and not args.storage:
        from stable_ppo2.cli import CLIError

        raise CLIError("--n-jobs J runs J processes that share the study through --storage (e.g. "
                       "--storage sqlite:///study.db)")
    sampler_seed = args.seed + 1000 * args.worker  # each process samples its own points
    sampler = (optuna.samplers.TPESampler(n_startup_trials=args.n_startup_trials, seed=sampler_seed)
               if args.sampler == "tpe" else optuna.samplers.RandomSampler(seed=sampler_seed))
    pruner = (optuna.pruners.MedianPruner(n_startup_trials=args.n_startup_trials,
                                          n_warmup_steps=args.n_evaluations // 3)
              if args.pruner == "median" else optuna.pruners.NopPruner())
    study_name = args.study_name or f"ppo2-{split_module(args.env_id)[1]}"
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    from stable_ppo2.common.tf_util import tf

    tf.get_logger().setLevel("ERROR")  # each trial builds a new model: TF's retracing notes are expected
    study = optuna.create_study(study_name=study_name, storage=args.storage, load_if_exists=True,
                                direction="maximize", sampler=sampler, pruner=pruner)
    states = optuna.trial.TrialState
    if not args.worker:
        for trial in study.trials:  # trials of a stopped process never finish: count them as failed
            if trial.state == states.RUNNING:
                study.tell(trial.number, state=states.FAIL)
    done = sum(trial.state in (states.COMPLETE, states.PRUNED) for trial in study.trials)
    remaining = max(args.n_trials - done, 0)
    if not args.worker:
        print(f"study {study_name!r} ({args.storage or 'in memory'}): {done} trial(s) done, {remaining} to run "
              f"({args.n_timesteps:,} timesteps each, {args.n_jobs} at a time)", flush=True)
    workers = [_start_worker(args, index) for index in range(1, args.n_jobs)] if remaining else []

    def report(study: Any, trial: Any) -> None:
        value = f" (last evaluation {trial.value:.2f})" if trial.value is not None else ""
        state = "finished" if trial.state == states.COMPLETE else trial.state.name.lower()
        print(f"trial {trial.number}: {state}{value}", flush=True)

    interrupted = False
    try:
        if remaining:
            stop = optuna.study.MaxTrialsCallback(args.n_trials, states=(states.COMPLETE, states.PRUNED))
            study.optimize(_objective(args, setting, source, optuna), n_trials=remaining,
                           callbacks=[report, stop], catch=())
    except KeyboardInterrupt:
        interrupted = True
        print("\ninterrupted: continue with the same command (and --storage)")
    for worker in workers:
        worker.wait()
    if args.worker:
        return 130 if interrupted else 0
    return _write_results(args, study, setting, optuna) or (130 if interrupted else 0)


def _start_worker(args: argparse.Namespace, index: int) -> subprocess.Popen:
    """Another ``stable-ppo2 tune`` process on the same storage (``--n-jobs``)."""
    argv, skip = [], False
    for item in list(args.argv)[1:]:
        if skip:
            skip = False
            continue
        if item == "--n-jobs":
            skip = True
            continue
        argv.append(item)
    return subprocess.Popen([sys.executable, "-m", "stable_ppo2", "tune", *argv, "--worker", str(index)])


def _write_results(args: argparse.Namespace, study: Any, setting: Optional[Dict[str, Any]], optuna: Any) -> int:
    from stable_ppo2.zoo.envs import split_module
    from stable_ppo2.zoo.overrides import config_yaml

    states = optuna.trial.TrialState
    finished = [trial for trial in study.trials if trial.state == states.COMPLETE]
    pruned = [trial for trial in study.trials if trial.state == states.PRUNED]
    print(f"{len(finished)} trial(s) finished, {len(pruned)} pruned")
    if not finished:
        print("no finished trial yet: no best settings to write")
        return 0
    out_dir = args.out or os.path.join(args.log_dir, f"tune_{split_module(args.env_id)[1]}")
    os.makedirs(out_dir, exist_ok=True)
    best = study.best_trial
    n_envs = int((setting or {}).get("n_envs", 1))
    best_values = {**(setting or {}), **_params_of(best.params, n_envs)}
    best_values.pop("seed", None)
    sources = {key: f"trial {best.number}" if key in _params_of(best.params, n_envs) else "base setting"
               for key in best_values}
    best_path = os.path.join(out_dir, "best.yml")
    with open(best_path, "w", encoding="utf-8") as file:
        file.write(f"# best of {len(finished)} finished trials (trial {best.number}: {best.value:.2f}); "
                   f"train with: stable-ppo2 train {args.env_id} --hyperparams {best_path}\n")
        file.write(config_yaml(split_module(args.env_id)[1], best_values, sources))
    study.trials_dataframe().to_csv(os.path.join(out_dir, "trials.csv"), index=False)
    print(f"best trial {best.number}: {best.value:.2f}; settings: {best_path}")
    print(f"trials: {os.path.join(out_dir, 'trials.csv')}")
    for path in _plots(study, out_dir, optuna):
        print(f"plot: {path}")
    return 0


def _params_of(params: Dict[str, Any], n_envs: int) -> Dict[str, Any]:
    """A trial's sampled values as a zoo setting (as :func:`sample_ppo2_params` builds them)."""
    return sample_ppo2_params(_FixedTrial(params), n_envs)


class _FixedTrial:
    """Answers ``suggest_*`` with a finished trial's values."""

    def __init__(self, params: Dict[str, Any]) -> None:
        self.params = params

    def suggest_categorical(self, name: str, choices: Any) -> Any:
        return self.params[name]

    def suggest_float(self, name: str, low: float, high: float, log: bool = False) -> float:
        return self.params[name]


def _plots(study: Any, out_dir: str, optuna: Any) -> list:
    import warnings

    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure
    from optuna.visualization import matplotlib as optuna_plots

    written = []
    for name, draw in (("history", optuna_plots.plot_optimization_history),
                       ("importance", optuna_plots.plot_param_importances)):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # optuna marks its matplotlib plots experimental
                axes = draw(study)
            path = os.path.join(out_dir, f"{name}.png")
            figure = cast(Figure, axes.figure)  # optuna draws on a whole figure
            figure.tight_layout()
            figure.savefig(path, dpi=110)
            written.append(path)
        except Exception as exc:  # e.g. importance needs two finished trials with different values
            print(f"no {name} plot: {type(exc).__name__}: {' '.join(str(exc).split())}")
    return written
