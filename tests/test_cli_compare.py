"""``stable-ppo2 train ENV --seed 0 1 2`` then ``plot LOG_DIR``: mean curves with 95% bootstrap bands and the
final-score table (mean, IQM and its confidence interval)."""
import numpy as np

from stable_ppo2.plotting_compare import bootstrap_ci
from stable_ppo2.zoo.seeds import _single_seed_argv
from tests.test_cli import run_cli


def test_three_seeds_then_the_comparison_plot_and_table(tmp_path, capsys):
    code, out, err = run_cli(["train", "CartPole-v1", "--seed", 0, 1, 2, "--n-timesteps", 2048, "--log-dir", tmp_path,
                              "--no-progress-bar", "-params", "n_steps:32"], capsys)
    assert code == 0, err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["CartPole-v1_1", "CartPole-v1_2", "CartPole-v1_3"]
    seeds = [__import__("json").load(open(tmp_path / f"CartPole-v1_{n}" / "run.json"))["seed"] for n in (1, 2, 3)]
    assert seeds == [0, 1, 2]

    code, out, err = run_cli(["plot", tmp_path], capsys)
    assert code == 0, err
    out_dir = tmp_path / "comparison"
    assert (out_dir / "comparison.png").stat().st_size > 10_000
    table = (out_dir / "scores.md").read_text().splitlines()
    assert table[0] == "| env | configuration | runs | mean | IQM | IQM 95% CI |"
    row = [cell.strip() for cell in table[2].strip("|").split("|")]
    assert row[:3] == ["CartPole-v1", "PPO2", "3"]
    low, high = (float(x) for x in row[5].strip("[]").split(","))
    assert low <= float(row[4]) <= high and float(row[3]) > 0
    assert "| CartPole-v1 | PPO2 | 3 |" in out


def test_bootstrap_interval_covers_the_mean_and_shrinks_with_more_runs():
    rng = np.random.default_rng(0)
    few, many = rng.normal(10, 2, 5), rng.normal(10, 2, 200)
    low_few, high_few = bootstrap_ci(few, np.mean)
    low_many, high_many = bootstrap_ci(many, np.mean)
    assert low_few <= few.mean() <= high_few and low_many <= many.mean() <= high_many
    assert high_many - low_many < high_few - low_few


def test_each_side_by_side_run_gets_one_seed():
    argv = ["CartPole-v1", "--seed", "0", "-1", "2", "--jobs", "2", "--n-timesteps", "100"]
    assert _single_seed_argv(argv, 7) == ["CartPole-v1", "--n-timesteps", "100", "--seed", "7"]
