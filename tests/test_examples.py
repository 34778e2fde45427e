"""The examples run end to end (short budgets): SB2's quick start and the main training job."""
import os
import runpy
import subprocess
import sys

EXAMPLES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "examples")


def test_sb2_quickstart_example_runs(capsys):
    namespace = runpy.run_path(os.path.join(EXAMPLES, "cartpole.py"))
    namespace["main"](total_timesteps=1024)
    out = capsys.readouterr().out
    assert "reward collected by 4 envs" in out and "evaluation:" in out


def test_main_job_writes_model_and_plot(tmp_path):
    result = subprocess.run(
        [sys.executable, os.path.join(EXAMPLES, "train_cartpole.py"), "--timesteps", "2048",
         "--out", str(tmp_path)], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "evaluation over 20 episodes" in result.stdout
    assert (tmp_path / "ppo2_cartpole.zip").is_file()
    assert (tmp_path / "learning_curve.png").stat().st_size > 10_000
