"""``stable-ppo2 tune``: Optuna over the zoo's PPO2 space, pruning, a study continued from its storage, and a
best.yml that ``train --hyperparams`` takes."""
import optuna
import yaml

from stable_ppo2.zoo.tune import nminibatches_for
from tests.test_cli import run_cli


def test_tune_prunes_continues_and_its_yaml_trains(tmp_path, capsys):
    storage = f"sqlite:///{tmp_path / 'study.db'}"
    common = ["tune", "CartPole-v1", "--n-timesteps", 2048, "--n-evaluations", 4, "--eval-episodes", 2,
              "--n-startup-trials", 1, "--storage", storage, "--out", tmp_path / "out", "--seed", 1]
    code, out, err = run_cli([*common, "--n-trials", 5], capsys)
    assert code == 0, err
    study = optuna.load_study(study_name="ppo2-CartPole-v1", storage=storage)
    states = [trial.state for trial in study.trials]
    assert len(states) == 5 and optuna.trial.TrialState.PRUNED in states

    study.ask()  # a trial left running by a process that was stopped
    code, out, err = run_cli([*common, "--n-trials", 7], capsys)
    assert code == 0, err
    assert "5 trial(s) done, 2 to run" in out
    study = optuna.load_study(study_name="ppo2-CartPole-v1", storage=storage)
    done_states = (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED)
    finished = [t for t in study.trials if t.state in done_states]
    assert len(finished) == 7 and study.trials[5].state == optuna.trial.TrialState.FAIL

    best = tmp_path / "out" / "best.yml"
    setting = yaml.safe_load(best.read_text())["CartPole-v1"]
    assert setting["n_steps"] == study.best_trial.params["n_steps"] and "policy_kwargs" in setting
    assert (tmp_path / "out" / "history.png").is_file() and (tmp_path / "out" / "trials.csv").is_file()
    code, out, err = run_cli(["train", "CartPole-v1", "--hyperparams", best, "--n-timesteps", 512, "--log-dir",
                              tmp_path / "runs", "--no-progress-bar"], capsys)
    assert code == 0, err
    used = yaml.safe_load((tmp_path / "runs" / "CartPole-v1_1" / "config.yml").read_text())["CartPole-v1"]
    assert used["n_steps"] == study.best_trial.params["n_steps"] and used["policy_kwargs"] == setting["policy_kwargs"]


def test_minibatches_divide_the_batch():
    assert nminibatches_for(256, 64) == 4
    assert nminibatches_for(16 * 8, 256) == 1
    assert nminibatches_for(96, 32) == 3 and nminibatches_for(100, 32) == 2
