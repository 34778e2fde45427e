"""The opt-in startup hook (``stable-ppo2 legacy enable``): SB2 programs run with plain ``python`` and in
Jupyter kernels of the environment it is enabled in. Each test makes a fresh venv (no pip, so it takes a
second) that sees this interpreter's packages; the hook goes into that venv's site-packages only."""
import json
import os
import site
import subprocess
import textwrap
import venv

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

SB2_SCRIPT = """
import gym
from stable_baselines import PPO2
from stable_baselines.common.policies import MlpPolicy

env = gym.make("CartPole-v1")
model = PPO2(MlpPolicy, env, n_steps=32, nminibatches=1, noptepochs=1)
model.learn(total_timesteps=64)
obs = env.reset()
action, _ = model.predict(obs)
obs, reward, done, info = env.step(action)
print("trained", model.num_timesteps, "gym", gym.__version__, "step", type(done).__name__)
"""


class FreshVenv:
    """A venv under ``folder`` whose interpreter also sees this interpreter's site-packages and the project."""

    def __init__(self, folder):
        venv.create(str(folder), with_pip=False, symlinks=os.name != "nt")
        self.python = str(folder / ("Scripts/python.exe" if os.name == "nt" else "bin/python"))
        self.site_packages = self.run(["-c", "import sysconfig; print(sysconfig.get_path('purelib'))"]).stdout.strip()
        parents = [path for path in site.getsitepackages() + [site.getusersitepackages()] if os.path.isdir(path)]
        with open(os.path.join(self.site_packages, "_test_parent_env.pth"), "w") as pth:
            pth.write("import site; " + "; ".join(f"site.addsitedir({path!r})" for path in parents) + "\n")
        self.env = dict(os.environ, STABLE_PPO2_XLA="0",
                        PYTHONPATH=os.pathsep.join([ROOT] + [p for p in [os.environ.get("PYTHONPATH")] if p]))
        for name in ("STABLE_PPO2_LEGACY", "STABLE_PPO2_LEGACY_GYM", "DISPLAY", "WAYLAND_DISPLAY"):
            self.env.pop(name, None)

    def run(self, args, cwd=None, timeout=300):
        return subprocess.run([self.python] + list(args), capture_output=True, text=True, timeout=timeout, cwd=cwd,
                              env=getattr(self, "env", None))

    def cli(self, *args):
        return self.run(["-m", "stable_ppo2", "legacy"] + list(args))


@pytest.fixture
def fresh_venv(tmp_path):
    return FreshVenv(tmp_path / "venv")


def _run_notebook(fresh_venv, tmp_path, source):
    """Execute a one-cell notebook in a kernel started from the fresh venv; returns the cell's stdout."""
    import nbclient
    import nbformat

    kernels = tmp_path / "jupyter" / "kernels" / "legacy-venv"
    kernels.mkdir(parents=True)
    (kernels / "kernel.json").write_text(json.dumps({
        "argv": [fresh_venv.python, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "legacy venv", "language": "python", "env": {"PYTHONPATH": fresh_venv.env["PYTHONPATH"]}}))
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source)])
    old_path = os.environ.get("JUPYTER_PATH")
    os.environ["JUPYTER_PATH"] = str(tmp_path / "jupyter")
    try:
        nbclient.NotebookClient(notebook, kernel_name="legacy-venv", timeout=300).execute()
    finally:
        if old_path is None:
            os.environ.pop("JUPYTER_PATH")
        else:
            os.environ["JUPYTER_PATH"] = old_path
    return "".join(output.get("text", "") for output in notebook.cells[0].outputs)


def test_enable_makes_plain_python_and_notebooks_run_sb2_code_and_disable_undoes_it(fresh_venv, tmp_path):
    hook_path = os.path.join(fresh_venv.site_packages, "stable_ppo2_legacy.pth")
    (tmp_path / "script.py").write_text(textwrap.dedent(SB2_SCRIPT))
    plain_import = ["-c", "import stable_baselines, gym; print(stable_baselines.PPO2.__module__, gym.__version__)"]
    assert "No module named 'stable_baselines'" in fresh_venv.run(plain_import).stderr

    status = fresh_venv.cli("status")
    assert status.returncode == 0 and f"startup hook: disabled ({hook_path})" in status.stdout
    enabled = fresh_venv.cli("enable")
    assert enabled.returncode == 0, enabled.stderr
    assert os.path.isfile(hook_path) and hook_path in enabled.stdout
    assert os.path.commonpath([hook_path, str(tmp_path)]) == str(tmp_path)  # the new venv's, not this one's
    assert "stable_baselines: stable_ppo2's SB2 alias" in fresh_venv.cli("status").stdout

    result = fresh_venv.run(["script.py"], cwd=str(tmp_path), timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "trained 64 gym 0.21.0 step bool" in result.stdout
    result = fresh_venv.run(plain_import)
    assert result.stdout.split() == ["stable_ppo2.ppo2.ppo2", "0.21.0"], result.stderr[-3000:]
    # nothing is imported at start-up: the stand-ins act on the first import only
    untouched = fresh_venv.run(["-c", "import sys; print(sorted(m for m in sys.modules if m.split('.')[0] in "
                                      "('stable_baselines', 'stable_ppo2', 'gym', 'gymnasium')))"])
    assert untouched.stdout.strip() == "[]"
    output = _run_notebook(fresh_venv, tmp_path, textwrap.dedent("""
        from stable_baselines import PPO2
        import gym
        env = gym.make("CartPole-v1")
        env.reset()
        print("notebook", PPO2.__module__, len(env.step(0)))
    """))
    assert "notebook stable_ppo2.ppo2.ppo2 4" in output

    disabled = fresh_venv.cli("disable")
    assert disabled.returncode == 0 and not os.path.exists(hook_path)
    assert "No module named 'stable_baselines'" in fresh_venv.run(plain_import).stderr
    assert "no legacy hook to remove" in fresh_venv.cli("disable").stdout


@pytest.mark.parametrize("package", ["gym", "stable_baselines"])
def test_enable_refuses_where_the_real_package_is_installed(fresh_venv, package):
    os.makedirs(os.path.join(fresh_venv.site_packages, package))
    with open(os.path.join(fresh_venv.site_packages, package, "__init__.py"), "w"):
        pass
    result = fresh_venv.cli("enable")
    assert result.returncode == 1
    assert f"the real {package} package is installed" in result.stderr
    assert not os.path.exists(os.path.join(fresh_venv.site_packages, "stable_ppo2_legacy.pth"))
    assert f"{package}: the real package is installed" in fresh_venv.cli("status").stdout
