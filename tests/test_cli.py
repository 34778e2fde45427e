"""The ``stable-ppo2`` command: train / enjoy / plot, the zoo's hyperparameters, clear errors.

Fast tests call :func:`stable_ppo2.cli.main` in this process; the end-to-end ones run the installed
console script (or ``python -m stable_ppo2``) in a subprocess, as a person would.
"""
import json
import os
import re
import shutil
import subprocess
import sys

import gymnasium
import numpy as np
import pytest

from stable_ppo2 import PPO2, cli
from stable_ppo2.common.schedules import LinearFn
from stable_ppo2.zoo import envs as zoo_envs
from stable_ppo2.zoo.envs import EnvError, check_env_id, gymnasium_id
from stable_ppo2.zoo.hyperparams import (
    ZOO_FILE,
    HyperparamsError,
    load_setting,
    make_train_config,
    parse_normalize,
    parse_policy_kwargs,
    parse_schedule,
    resolve_policy_kwargs,
)
from stable_ppo2.zoo.normalization import find_statistics, load_running_mean_std
from tests.helpers import SB2_ZOO

ZOO = os.path.abspath(SB2_ZOO)
ZOO_AGENTS = ["Acrobot-v1", "CartPole-v1", "MountainCar-v0", "MountainCarContinuous-v0", "Pendulum-v0"]
RETURN_LINE = re.compile(r"mean return (-?[0-9.]+) \+/- ([0-9.]+) over (\d+) episodes")


def command():
    """The installed console script next to this Python, else ``python -m stable_ppo2``."""
    script = os.path.join(os.path.dirname(sys.executable), "stable-ppo2")
    return [script] if os.path.isfile(script) else [sys.executable, "-m", "stable_ppo2"]


def run_cli(args, capsys):
    code = cli.main([str(arg) for arg in args])
    out, err = capsys.readouterr()
    return code, out, err


def parse_return(out):
    match = RETURN_LINE.search(out)
    assert match, out
    return float(match.group(1)), float(match.group(2)), int(match.group(3))


def assert_one_error_line(err, *fragments):
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert lines[0].startswith("stable-ppo2: error: ") and "Traceback" not in err
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


# ------------------------------------------------------------------------------------ env ids
@pytest.mark.parametrize("old, new", [("Pendulum-v0", "Pendulum-v1"), ("LunarLander-v2", "LunarLander-v3"),
                                      ("LunarLanderContinuous-v2", "LunarLanderContinuous-v3"),
                                      ("BipedalWalker-v2", "BipedalWalker-v3"),
                                      ("BipedalWalker-v3", "BipedalWalker-v3"),
                                      ("BipedalWalkerHardcore-v3", "BipedalWalkerHardcore-v3"),
                                      ("HalfCheetah-v2", "HalfCheetah-v5"), ("MountainCar-v0", "MountainCar-v0"),
                                      ("CartPole-v1", "CartPole-v1"), ("NoSuchEnv-v0", "NoSuchEnv-v0")])
def test_sb2_era_env_ids_map_to_gymnasium(old, new):
    assert gymnasium_id(old) == new


def test_unknown_env_id_is_one_line_with_exit_code_2():
    result = subprocess.run(command() + ["train", "CartPol-v1"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert_one_error_line(result.stderr, "unknown env id 'CartPol-v1'", "did you mean CartPole-v1")
    assert result.stdout == ""


def test_python_dash_m_runs_the_command():
    result = subprocess.run([sys.executable, "-m", "stable_ppo2", "enjoy", "x", "--env", "Nope-v9"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and "no run folder or model file at x" in result.stderr
    help_text = subprocess.run([sys.executable, "-m", "stable_ppo2", "--help"], capture_output=True, text=True,
                               timeout=60).stdout
    assert all(name in help_text for name in ("train", "enjoy", "plot"))


def test_unknown_env_for_enjoy(tmp_path, capsys):
    (tmp_path / "model.zip").write_bytes(b"")
    code, _out, err = run_cli(["enjoy", tmp_path, "--env", "Foo-v0"], capsys)
    assert code == 2
    assert_one_error_line(err, "unknown env id 'Foo-v0'")


def test_missing_box2d_is_one_line(monkeypatch, capsys):
    real_make = gymnasium.make

    def make(env_id, *args, **kwargs):
        if str(env_id).startswith("LunarLander"):
            raise gymnasium.error.DependencyNotInstalled(
                'Box2D is not installed, you can install it by run `pip install swig` followed by\n'
                '`pip install "gymnasium[box2d]"`')
        return real_make(env_id, *args, **kwargs)

    monkeypatch.setattr(gymnasium, "make", make)
    code, out, err = run_cli(["train", "LunarLander-v2"], capsys)
    assert code == 2 and out == ""
    assert_one_error_line(err, "LunarLander-v3 needs an optional dependency", "stable_ppo2[box2d]")


def test_missing_atari_is_one_line(monkeypatch, capsys):
    monkeypatch.setattr(zoo_envs, "_register_atari", lambda: False)
    code, _out, err = run_cli(["train", "PongNoFrameskip-v4"], capsys)
    assert code == 2
    assert_one_error_line(err, "needs ale-py", "stable_ppo2[atari]")


def test_check_env_id_passes_known_envs():
    assert check_env_id("Pendulum-v0") == "Pendulum-v1"
    with pytest.raises(EnvError, match="unknown env id"):
        check_env_id("Pendulum-v9000")


def test_progress_bar_counts_this_learn_call_and_ends_at_100_percent(capsys):
    from stable_ppo2 import PPO2

    model = PPO2("MlpPolicy", "CartPole-v1", n_steps=64, nminibatches=1, noptepochs=1)
    model.learn(300, progress_bar=True)  # 4 updates of 64 steps
    err = capsys.readouterr().err
    assert "100%" in err and "256/256" in err and "step/s" in err
    model.learn(200, progress_bar=True, reset_num_timesteps=False)
    err = capsys.readouterr().err
    assert "192/192" in err and model.num_timesteps == 448


# ------------------------------------------------------------------------------ hyperparameters
def test_zoo_file_is_package_data_and_parsed():
    assert os.path.isfile(ZOO_FILE) and ZOO_FILE.endswith(os.path.join("stable_ppo2", "zoo", "ppo2.yml"))
    setting, source = load_setting("CartPole-v1")
    assert "CartPole-v1" in source
    config = make_train_config("CartPole-v1", setting, source)
    assert (config.policy, config.n_envs, config.n_timesteps, config.normalize) == ("MlpPolicy", 8, 100_000, None)
    kwargs = config.model_kwargs
    assert (kwargs["n_steps"], kwargs["nminibatches"], kwargs["noptepochs"]) == (32, 1, 20)
    assert kwargs["lam"] == 0.8 and kwargs["gamma"] == 0.98 and kwargs["ent_coef"] == 0.0
    assert isinstance(kwargs["learning_rate"], LinearFn) and kwargs["learning_rate"](0.5) == pytest.approx(0.0005)
    assert kwargs["cliprange"](1.0) == pytest.approx(0.2)


@pytest.mark.parametrize("env_id, key", [("Pendulum-v1", "Pendulum-v0"), ("Pendulum-v0", "Pendulum-v0"),
                                         ("LunarLander-v3", "LunarLander-v2"), ("BipedalWalker-v2", "BipedalWalker-v3"),
                                         ("PongNoFrameskip-v4", "atari")])
def test_renamed_envs_find_their_zoo_entry(env_id, key):
    _setting, source = load_setting(env_id)
    assert source.startswith(key + " in")


def test_normalize_and_overrides():
    setting, source = load_setting("MountainCarContinuous-v0")
    config = make_train_config("MountainCarContinuous-v0", setting, source, n_timesteps=5000, n_envs=2, seed=3)
    assert config.normalize == {} and config.n_timesteps == 5000 and config.n_envs == 2
    assert config.model_kwargs["seed"] == 3 and config.raw["n_envs"] == 2
    assert parse_normalize("{'norm_obs': True, 'norm_reward': False}") == {"norm_obs": True, "norm_reward": False}
    assert parse_normalize(False) is None
    with pytest.raises(HyperparamsError, match="unknown VecNormalize"):
        parse_normalize("dict(norm_everything=True)")


def test_no_zoo_entry_means_ppo2_defaults():
    setting, source = load_setting("FrozenLake-v1")
    assert setting is None and "defaults" in source
    config = make_train_config("FrozenLake-v1", None, source)
    assert config.policy == "MlpPolicy" and config.n_envs == 1 and config.model_kwargs == {}


def test_schedules_and_numbers():
    assert parse_schedule("lin_2.5e-4")(0.5) == pytest.approx(1.25e-4)
    assert parse_schedule("3e-4") == pytest.approx(3e-4)  # YAML 1.1 reads 3e-4 as a string
    assert parse_schedule(-1) == -1.0
    with pytest.raises(HyperparamsError, match="expected a number"):
        parse_schedule("lin_fast", "learning_rate")


def test_policy_kwargs_strings_as_the_zoo_writes_them():
    parsed = parse_policy_kwargs("dict(net_arch=[dict(pi=[64, 64], vf=[64, 64])], act_fun=tf.nn.relu)")
    assert parsed["net_arch"] == [{"pi": [64, 64], "vf": [64, 64]}]
    resolved = resolve_policy_kwargs(parsed)
    from stable_ppo2.common.tf_util import tf
    assert resolved["act_fun"] is tf.nn.relu
    assert parse_policy_kwargs({"net_arch": [8, "lstm"], "act_fun": "tf.tanh"})["act_fun"] == "tf.tanh"
    assert parse_policy_kwargs("{'net_arch': [16, 16], 'layer_norm': True}") == {"net_arch": [16, 16],
                                                                                "layer_norm": True}


@pytest.mark.parametrize("text", ["__import__('os').system('echo hacked')", "dict(net_arch=open('x').read())",
                                  "dict(**{'a': 1})", "dict(act_fun=tf.nn.relu())", "dict(act_fun=os.system)",
                                  "[x for x in range(3)]", "lambda: 1", "dict(a=1 + 2)"])
def test_policy_kwargs_run_no_code(text):
    with pytest.raises(HyperparamsError, match="policy_kwargs"):
        parse_policy_kwargs(text)


def test_unknown_hyperparameter_is_one_line(tmp_path, capsys):
    path = tmp_path / "bad.yml"
    path.write_text("CartPole-v1:\n  n_steps: 32\n  batch_size: 64\n")
    code, _out, err = run_cli(["train", "CartPole-v1", "--hyperparams", path, "--log-dir", tmp_path], capsys)
    assert code == 2
    assert_one_error_line(err, "unknown hyperparameter(s) batch_size")
    assert not (tmp_path / "CartPole-v1_1").exists()


def test_hyperparams_file_without_the_env_is_one_line(tmp_path, capsys):
    path = tmp_path / "other.yml"
    path.write_text("Acrobot-v1:\n  n_steps: 32\n")
    code, _out, err = run_cli(["train", "CartPole-v1", "--hyperparams", path], capsys)
    assert code == 2
    assert_one_error_line(err, "has no hyperparameters for CartPole-v1")


# ------------------------------------------------------------------------ train / enjoy / plot
def test_train_enjoy_plot_with_normalize_and_a_hyperparams_file(tmp_path, capsys):
    hyperparams = tmp_path / "mine.yml"
    hyperparams.write_text(
        "Acrobot-v1:\n  normalize: \"{'norm_obs': True, 'norm_reward': True}\"\n  n_envs: 2\n"
        "  n_timesteps: !!float 256\n  policy: 'MlpPolicy'\n  n_steps: 64\n  nminibatches: 2\n"
        "  noptepochs: 2\n  learning_rate: lin_3e-4\n"
        "  policy_kwargs: \"dict(net_arch=[dict(pi=[16], vf=[16])], act_fun=tf.nn.relu)\"\n")
    log_dir = tmp_path / "runs"
    code, out, err = run_cli(["train", "Acrobot-v1", "--hyperparams", hyperparams, "--log-dir", log_dir,
                              "--seed", 1, "--no-progress-bar", "--tensorboard"], capsys)
    assert code == 0, err
    run_dir = log_dir / "Acrobot-v1_1"
    assert f"run folder: {run_dir}" in out and f"plot: {run_dir / 'plots' / 'training.png'}" in out
    assert "Acrobot-v1 in " + str(hyperparams) in out
    for name in ("model.zip", "vecnormalize.pkl", "progress.csv", "log.txt", "config.yml", "run.json"):
        assert (run_dir / name).is_file(), name
    assert sorted(os.listdir(run_dir / "monitor")) == ["0.monitor.csv", "1.monitor.csv"]
    assert os.listdir(run_dir / "tensorboard") == ["PPO2_1"]
    progress = (run_dir / "progress.csv").read_text().splitlines()
    assert len(progress) == 1 + 2  # header + one row per update
    for key in ("policy_loss", "value_loss", "policy_entropy", "approxkl", "clipfrac", "explained_variance",
                "total_timesteps"):
        assert key in progress[0].split(",")
    assert "| policy_loss" in (run_dir / "log.txt").read_text()
    assert "| policy_loss" not in out  # the table goes to the log, not to the terminal
    info = json.loads((run_dir / "run.json").read_text())
    assert info["env_id"] == "Acrobot-v1" and info["seed"] == 1 and info["normalize"] == {
        "norm_obs": True, "norm_reward": True}

    from stable_ppo2 import PPO2
    model = PPO2.load(str(run_dir / "model.zip"))
    assert model.policy_kwargs["net_arch"] == [{"pi": [16], "vf": [16]}] and model.n_steps == 64

    code, out, err = run_cli(["enjoy", run_dir, "--episodes", 2, "--deterministic"], capsys)
    assert code == 0, err
    assert f"VecNormalize statistics: {run_dir / 'vecnormalize.pkl'}" in out
    mean, _std, episodes = parse_return(out)
    assert episodes == 2 and -500 <= mean <= 0

    out_dir = tmp_path / "replot"
    code, out, err = run_cli(["plot", run_dir, "--out", out_dir], capsys)
    assert code == 0, err
    assert {"training.png", "training.html"} <= set(os.listdir(out_dir))

    # The run's config.yml trains the same setting again, into the next run folder.
    code, out, err = run_cli(["train", "Acrobot-v1", "--hyperparams", run_dir / "config.yml", "--log-dir", log_dir,
                              "--n-timesteps", 128, "--no-progress-bar"], capsys)
    assert code == 0, err
    assert (log_dir / "Acrobot-v1_2" / "vecnormalize.pkl").is_file()


def test_plot_draws_returns_and_updates(tmp_path, capsys):
    run_dir = tmp_path / "run"
    (run_dir / "monitor").mkdir(parents=True)
    (run_dir / "run.json").write_text(json.dumps({"env_id": "CartPole-v1"}))
    rng = np.random.default_rng(0)
    with open(run_dir / "monitor" / "0.monitor.csv", "w") as file:
        file.write('#{"t_start": 0.0, "env_id": "CartPole-v1"}\nr,l,t\n')
        for index in range(150):
            length = int(min(500, 10 + 3 * index + rng.integers(0, 20)))
            file.write(f"{float(length)},{length},{index + 1.0}\n")
    with open(run_dir / "progress.csv", "w") as file:
        file.write("total_timesteps,policy_loss,value_loss,policy_entropy,approxkl,clipfrac,explained_variance\n")
        for update in range(1, 61):
            file.write(f"{update * 256},{-0.01 / update},{10 / update},{0.69 - update / 200},{0.01 / update},"
                       f"{0.1},{'' if update == 1 else 1 - 1 / update}\n")
    code, out, err = run_cli(["plot", run_dir], capsys)
    assert code == 0, err
    plots = run_dir / "plots"
    assert sorted(os.listdir(plots)) == ["returns.png", "training.html", "training.png"]
    assert (plots / "returns.png").stat().st_size > 20_000 and (plots / "training.png").stat().st_size > 50_000
    html = (plots / "training.html").read_text()
    assert "Episodic return" in html and "Explained variance" in html and "PPO2 on CartPole-v1" in html


def test_enjoy_env_folder_means_its_newest_run(tmp_path):
    for number in (1, 2, 10):
        (tmp_path / f"CartPole-v1_{number}").mkdir()
        (tmp_path / f"CartPole-v1_{number}" / "model.zip").write_bytes(b"")
    (tmp_path / "CartPole-v1_x").mkdir()
    assert cli.resolve_model(str(tmp_path / "CartPole-v1")) == str(tmp_path / "CartPole-v1_10" / "model.zip")
    assert cli.resolve_model(str(tmp_path / "CartPole-v1_2") + "/") == str(tmp_path / "CartPole-v1_2" / "model.zip")
    with pytest.raises(cli.CLIError, match="no run folder or model file"):
        cli.resolve_model(str(tmp_path / "Acrobot-v1"))


def test_plot_errors(tmp_path, capsys):
    code, _out, err = run_cli(["plot", tmp_path / "missing"], capsys)
    assert code == 2 and "no run folder" in err
    code, _out, err = run_cli(["plot", tmp_path], capsys)
    assert code == 2
    assert_one_error_line(err, "no Monitor files")


# ------------------------------------------------------------------- the zoo's agents and stats
def test_zoo_statistics_load_without_stable_baselines():
    found = find_statistics(os.path.join(ZOO, "Acrobot-v1.pkl"))
    assert found == ("rms", os.path.join(ZOO, "Acrobot-v1"))
    reference = np.load(os.path.join(ZOO, "Acrobot-v1.reference.npz"))
    stats = load_running_mean_std(os.path.join(ZOO, "Acrobot-v1", "obs_rms.pkl"))
    np.testing.assert_array_equal(stats.mean, reference["obs_rms_mean"])
    np.testing.assert_array_equal(stats.var, reference["obs_rms_var"])
    assert stats.count == reference["obs_rms_count"]
    assert find_statistics(os.path.join(ZOO, "CartPole-v1.pkl")) is None


def test_statistics_pickles_cannot_run_code(tmp_path):
    import pickle

    from stable_ppo2.common.safe_pickle import UnsafeFileError

    path = tmp_path / "obs_rms.pkl"
    path.write_bytes(pickle.dumps(os.system))
    with pytest.raises(UnsafeFileError, match="Refusing"):
        load_running_mean_std(str(path))


def _reference(agent):
    with open(os.path.join(ZOO, f"{agent}.reference.json")) as file:
        return json.load(file)["eval"]["deterministic"]


@pytest.mark.parametrize("agent", ZOO_AGENTS)
def test_enjoy_zoo_pkl_files(agent, capsys):
    """``stable-ppo2 enjoy sb2-zoo/AGENT.pkl`` (the RL zoo's agent) scores within one std of SB2's reference."""
    code, out, err = run_cli(["enjoy", os.path.join(ZOO, f"{agent}.pkl"), "--deterministic", "--episodes", 20],
                             capsys)
    assert code == 0, err
    mean, _std, _episodes = parse_return(out)
    reference = _reference(agent)
    assert abs(mean - reference["mean"]) <= reference["std"] + 1e-6, (mean, reference)


def test_enjoy_seed_repeats_stochastic_episodes(tmp_path, capsys):
    """``enjoy --seed`` seeds the stochastic actions too, even for a file saved without a seed."""
    model_path = tmp_path / "unseeded.zip"
    PPO2("MlpPolicy", "CartPole-v1", n_steps=16).save(str(model_path))
    outputs = []
    for global_seed in (1, 2):
        np.random.seed(global_seed)
        code, out, err = run_cli(["enjoy", model_path, "--env", "CartPole-v1", "--episodes", 5, "--seed", 3], capsys)
        assert code == 0, err
        outputs.append(RETURN_LINE.search(out).group(0))
    assert outputs[0] == outputs[1]


def test_enjoy_video(tmp_path, capsys):
    video = tmp_path / "videos" / "cartpole.mp4"
    code, out, err = run_cli(["enjoy", os.path.join(ZOO, "CartPole-v1.pkl"), "--episodes", 1, "--video", video],
                             capsys)
    try:
        import moviepy  # noqa: F401
    except ImportError:
        assert code == 2
        assert_one_error_line(err, "--video needs moviepy")
        return
    assert code == 0, err
    assert f"video of the first episode: {video}" in out and video.stat().st_size > 5_000


def test_enjoy_video_without_moviepy(tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "moviepy", None)  # import moviepy -> ImportError
    try:
        import imageio  # noqa: F401
        import imageio_ffmpeg  # noqa: F401
    except ImportError:
        pass
    else:  # the imageio fallback writes the frames itself
        video = tmp_path / "acrobot.mp4"
        code, out, err = run_cli(["enjoy", os.path.join(ZOO, "Acrobot-v1.pkl"), "--episodes", 1, "--video", video],
                                 capsys)
        assert code == 0, err
        assert video.stat().st_size > 5_000
    monkeypatch.setitem(sys.modules, "imageio_ffmpeg", None)
    code, out, err = run_cli(["enjoy", os.path.join(ZOO, "Acrobot-v1.pkl"), "--video", tmp_path / "x.mp4"], capsys)
    assert code == 2 and out == ""
    assert_one_error_line(err, "--video needs moviepy", "stable_ppo2[video]")


def test_enjoy_finds_the_env_from_the_model_name_or_asks(tmp_path, capsys):
    code, out, err = run_cli(["enjoy", os.path.join(ZOO, "CartPole-v1"), "--episodes", 1], capsys)  # .pkl added
    assert code == 0 and "CartPole-v1: mean return" in out and err == ""  # load warnings are not shown
    shutil.copy(os.path.join(ZOO, "CartPole-v1.pkl"), tmp_path / "agent.pkl")
    code, _out, err = run_cli(["enjoy", tmp_path], capsys)  # a folder with one model
    assert code == 2
    assert_one_error_line(err, "give it with --env ENV_ID")
    code, _out, err = run_cli(["enjoy", tmp_path / "agent.pkl", "--env", "Acrobot-v1"], capsys)
    assert code == 2
    assert_one_error_line(err, "expects observations of shape (4,)")


# --------------------------------------------------------------------------------- end to end
@pytest.mark.slow
def test_train_cartpole_with_the_zoo_budget_then_enjoy(tmp_path):
    """The README's main job: the zoo's CartPole-v1 settings (1e5 steps), progress bar, plots, score >= 475."""
    train = subprocess.run(command() + ["train", "CartPole-v1", "--log-dir", str(tmp_path)],
                           capture_output=True, text=True, timeout=600)
    assert train.returncode == 0, train.stderr[-3000:]
    run_dir = tmp_path / "CartPole-v1_1"
    assert f"run folder: {run_dir}" in train.stdout
    assert "100%|" in train.stderr and "step/s" in train.stderr and "mean_return=" in train.stderr  # tqdm bar
    for name in ("returns.png", "training.png"):
        assert (run_dir / "plots" / name).stat().st_size > 20_000
    assert (run_dir / "plots" / "training.html").is_file()
    rows = (run_dir / "progress.csv").read_text().splitlines()
    assert len(rows) == 1 + 100_000 // (8 * 32)

    # As in the README: LOG_DIR/ENV_ID stands for the env's newest run folder.
    enjoy = subprocess.run(command() + ["enjoy", str(tmp_path / "CartPole-v1"), "--episodes", "20"],
                           capture_output=True, text=True, timeout=300)
    assert enjoy.returncode == 0, enjoy.stderr[-3000:]
    mean, _std, episodes = parse_return(enjoy.stdout)
    assert episodes == 20 and mean >= 475, enjoy.stdout
