"""``stable-ppo2 train`` overrides (``-params``, ``--env-kwargs``), custom envs (``--gym-packages``,
``module:EnvId``), ``stable-ppo2 list`` and ``plot LOG_DIR/ENV_ID``."""
import os

import numpy as np
import pytest
import yaml

from stable_ppo2 import PPO2, cli
from stable_ppo2.zoo.hyperparams import HyperparamsError
from stable_ppo2.zoo.overrides import parse_pairs, parse_value
from tests.test_cli import assert_one_error_line, run_cli

FAST = ["--no-progress-bar"]


def _config(run_dir):
    with open(os.path.join(run_dir, "config.yml"), encoding="utf-8") as file:
        text = file.read()
    return text, yaml.safe_load(text)


def test_values_are_parsed_like_the_zoo_yaml_without_code():
    assert parse_value("256", "n_steps") == 256
    assert parse_value("3e-4", "learning_rate") == 3e-4
    assert parse_value("lin_1e-3", "learning_rate") == "lin_1e-3"
    assert parse_value("true", "normalize") is True
    assert parse_value("MlpPolicy", "policy") == "MlpPolicy"
    assert parse_value("dict(net_arch=[64, 64])", "policy_kwargs") == {"net_arch": [64, 64]}
    assert parse_pairs(["policy_kwargs:dict(net_arch=[8])"], "-params", containers_as_text=True) == {
        "policy_kwargs": "dict(net_arch=[8])"}
    for bad in ("__import__('os').system('true')", "dict(net_arch=[64", "[1, 2] + [3]"):
        with pytest.raises(HyperparamsError):
            parse_value(bad, "policy_kwargs")
    with pytest.raises(HyperparamsError, match="KEY:VALUE"):
        parse_pairs(["n_steps"], "-params")


def test_params_and_env_kwargs_reach_the_model_and_the_env(tmp_path, capsys, monkeypatch):
    made = []
    make_train_env = cli._make_train_env

    def recording(*args, **kwargs):
        env = make_train_env(*args, **kwargs)
        made.append(env)
        return env

    monkeypatch.setattr(cli, "_make_train_env", recording)
    code, out, err = run_cli(["train", "Pendulum-v1", "--n-timesteps", 512, "--log-dir", tmp_path, *FAST,
                              "-params", "n_steps:64", "nminibatches:2", "learning_rate:lin_1e-3",
                              "policy_kwargs:dict(net_arch=[16, 16])", "n_envs:2",
                              "--env-kwargs", "g:5.0"], capsys)
    assert code == 0, err
    run_dir = tmp_path / "Pendulum-v1_1"
    assert made[0].envs[0].unwrapped.g == 5.0
    model = PPO2.load(str(run_dir / "model.zip"))
    assert model.n_steps == 64 and model.nminibatches == 2 and model.n_envs == 2
    assert model.policy_kwargs == {"net_arch": [16, 16]}
    assert [p.shape for p in model.get_parameter_list()][:2] == [(3, 16), (16,)]
    assert np.isclose(model.learning_rate(1.0), 1e-3) and np.isclose(model.learning_rate(0.5), 5e-4)
    text, config = _config(run_dir)
    setting = config["Pendulum-v1"]
    assert setting["n_steps"] == 64 and setting["learning_rate"] == "lin_1e-3"
    assert setting["env_kwargs"] == {"g": 5.0} and setting["policy_kwargs"] == "dict(net_arch=[16, 16])"
    assert "n_steps: 64  # from -params" in text and "env_kwargs: {g: 5.0}  # from --env-kwargs" in text
    assert "gamma: 0.99  # from Pendulum-v0 in the RL zoo's ppo2.yml" in text
    assert "n_timesteps: 512  # from --n-timesteps" in text


@pytest.mark.parametrize("extra, fragment", [
    (["-params", "n_stepz:64"], "unknown hyperparameter(s) n_stepz"),
    (["-params", "n_steps:abc"], "n_steps: expected a number"),
    (["-params", "policy_kwargs:dict(net_arch=[64"], "cannot parse"),
    (["-params", "policy_kwargs:__import__('os')"], "a call other than dict"),
    (["-params", "n_steps"], "expected KEY:VALUE"),
    (["-params", "n_steps:0"], "cannot build PPO2"),
    (["--env-kwargs", "gravity_typo:1.0"], "does not take the env_kwargs"),
])
def test_bad_overrides_are_one_line_exit_2_nothing_trained(tmp_path, capsys, extra, fragment):
    code, _out, err = run_cli(["train", "CartPole-v1", "--n-timesteps", 256, "--log-dir", tmp_path, *FAST, *extra],
                              capsys)
    assert code == 2
    assert_one_error_line(err, fragment)
    assert not [name for name in os.listdir(tmp_path) if name.startswith("CartPole")]


@pytest.mark.parametrize("how", ["gym-packages", "module-prefix"])
def test_custom_env_trains_and_plays(tmp_path, capsys, how):
    env_args = (["StablePpo2Corridor-v0", "--gym-packages", "tests.custom_envs"] if how == "gym-packages"
                else ["tests.custom_envs:StablePpo2Corridor-v0"])
    code, out, err = run_cli(["train", *env_args, "--n-timesteps", 512, "--log-dir", tmp_path, *FAST,
                              "-params", "n_steps:64", "--env-kwargs", "length:3"], capsys)
    assert code == 0, err
    assert "PPO2's defaults" in out
    run_dir = next(p for p in tmp_path.iterdir() if p.name.endswith("_1"))
    code, out, err = run_cli(["enjoy", run_dir, "--episodes", 2], capsys)
    assert code == 0, err
    assert "mean return" in out


def test_unknown_gym_package_is_one_line(tmp_path, capsys):
    code, _out, err = run_cli(["train", "CartPole-v1", "--gym-packages", "no_such_module_xyz", "--log-dir",
                               tmp_path], capsys)
    assert code == 2
    assert_one_error_line(err, "cannot import the gym package 'no_such_module_xyz'")


def test_list_marks_what_cannot_run_here(capsys):
    code, out, _err = run_cli(["list", "--all"], capsys)
    assert code == 0
    lines = {line.split()[0]: line for line in out.splitlines() if line.strip()}
    assert " ok " in lines["CartPole-v1"] and "Pendulum-v1" in lines["Pendulum-v0"]
    assert " n/a " in lines["HalfCheetahBulletEnv-v0"] and "pybullet" in lines["HalfCheetahBulletEnv-v0"]
    code, out, _err = run_cli(["list"], capsys)
    assert "HalfCheetahBulletEnv-v0" not in out and "CartPole-v1" in out and "--all" in out


def test_plot_env_folder_means_its_newest_run(tmp_path, capsys):
    code, _out, err = run_cli(["train", "CartPole-v1", "--n-timesteps", 512, "--log-dir", tmp_path, *FAST], capsys)
    assert code == 0, err
    code, out, err = run_cli(["plot", tmp_path / "CartPole-v1", "--no-html"], capsys)
    assert code == 0, err
    assert os.path.join("CartPole-v1_1", "plots", "returns.png") in out
