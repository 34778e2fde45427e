"""EnvPoolVecEnv (issue #10): envpool's pool behind SB2's VecEnv contract. envpool resets a finished
env on the *next* step; EnvPoolVecEnv must reset it on the same step, with the terminal observation
in the info, and count episodes as Monitor does, so that PPO2's ep_info_buf and the CLI work."""
import json
import sys

import envpool  # noqa: E402  (in the tests extra)
import numpy as np
import pytest

from stable_ppo2 import PPO2
from stable_ppo2.bench import load_results
from stable_ppo2.common import make_vec_env
from stable_ppo2.common.vec_env import EnvPoolVecEnv
from tests.test_cli import assert_one_error_line, run_cli


def _actions(step: int, n_envs: int) -> np.ndarray:
    """Some envs fall fast (all zeros), others balance for a while (alternating)."""
    return np.array([0 if i % 2 == 0 else step % 2 for i in range(n_envs)])


def test_same_step_reset_rebuilt_from_envpools_next_step_reset():
    """Env ``i`` of the pool behaves as a raw one-env pool seeded ``seed + i`` whose reset steps (the step
    after a done, which ignores its action) are folded into the step that ended the episode: that step
    returns the next episode's first observation and puts the last one in the info."""
    n_envs, seed = 3, 5
    vec_env = EnvPoolVecEnv("CartPole-v1", num_envs=n_envs, seed=seed, max_episode_steps=12)
    raws = [envpool.make("CartPole-v1", env_type="gymnasium", num_envs=1, seed=seed + i, max_episode_steps=12)
            for i in range(n_envs)]
    np.testing.assert_array_equal(vec_env.reset(), np.concatenate([raw.reset()[0] for raw in raws]))
    returns = np.zeros(n_envs)
    seen = {"terminated": 0, "truncated": 0}
    for step in range(60):
        actions = _actions(step, n_envs)
        obs, rewards, dones, infos = vec_env.step(actions)
        assert obs.dtype == np.float32 and rewards.dtype == np.float32 and dones.dtype == bool
        for i, raw in enumerate(raws):
            raw_obs, raw_reward, terminated, truncated, _ = raw.step(actions[i:i + 1])
            assert rewards[i] == raw_reward[0] and dones[i] == (terminated[0] or truncated[0])
            returns[i] += rewards[i]
            if not dones[i]:
                np.testing.assert_array_equal(obs[i], raw_obs[0])
                assert "terminal_observation" not in infos[i] and "episode" not in infos[i]
                continue
            np.testing.assert_array_equal(infos[i]["terminal_observation"], raw_obs[0])
            assert infos[i]["TimeLimit.truncated"] is bool(truncated[0] and not terminated[0])
            seen["truncated" if infos[i]["TimeLimit.truncated"] else "terminated"] += 1
            assert infos[i]["episode"]["r"] == returns[i] == infos[i]["episode"]["l"]  # CartPole: 1 per step
            returns[i] = 0
            first_obs, reward, terminated, truncated, _ = raw.step(actions[i:i + 1])  # the raw pool's reset step
            assert reward[0] == 0 and not (terminated[0] or truncated[0])
            np.testing.assert_array_equal(obs[i], first_obs[0])
    assert seen["terminated"] > 0 and seen["truncated"] > 0
    vec_env.close()


def test_make_vec_env_seeds_ranks_and_monitor_files(tmp_path):
    """make_vec_env builds the pool from the id: env of rank r seeded seed + r, Monitor files per rank."""
    vec_env = make_vec_env("CartPole-v1", n_envs=2, seed=3, start_index=4, monitor_dir=str(tmp_path),
                           vec_env_cls=EnvPoolVecEnv)
    assert isinstance(vec_env, EnvPoolVecEnv) and vec_env.current_seed == 7
    single = EnvPoolVecEnv("CartPole-v1", num_envs=1, seed=8)
    np.testing.assert_array_equal(vec_env.reset()[1], single.reset()[0])
    episodes = 0
    for step in range(100):
        episodes += sum("episode" in info for info in vec_env.step(np.zeros(2, np.int64))[3])
    vec_env.close()
    assert sorted(path.name for path in tmp_path.iterdir()) == ["4.monitor.csv", "5.monitor.csv"]
    assert json.loads((tmp_path / "4.monitor.csv").read_text().splitlines()[0][1:])["env_id"] == "CartPole-v1"
    results = load_results(str(tmp_path))
    assert len(results) == episodes > 5 and (results["r"] == results["l"]).all()
    with pytest.raises(ValueError, match="without Python wrappers"):
        make_vec_env("CartPole-v1", vec_env_cls=EnvPoolVecEnv, wrapper_class=lambda env: env)


def test_seed_rebuilds_the_pool_and_repeats_episodes():
    vec_env = EnvPoolVecEnv("CartPole-v1", num_envs=2)
    assert vec_env.seed(11) == [11, 12]
    first = [vec_env.reset()] + [vec_env.step(np.array([step % 2, 0]))[0] for step in range(30)]
    assert vec_env.seed(11) == [11, 12]
    with pytest.raises(RuntimeError, match="call reset"):
        vec_env.step(np.zeros(2, np.int64))
    again = [vec_env.reset()] + [vec_env.step(np.array([step % 2, 0]))[0] for step in range(30)]
    np.testing.assert_array_equal(np.array(first), np.array(again))
    assert vec_env.seed(None) == [None, None]
    assert not np.array_equal(vec_env.reset(), first[0])
    vec_env.close()
    vec_env.close()  # idempotent
    with pytest.raises(RuntimeError, match="closed"):
        vec_env.reset()


def test_attributes_and_methods():
    vec_env = EnvPoolVecEnv("Pendulum-v1", num_envs=3, seed=0, max_episode_steps=50)
    assert vec_env.get_attr("max_episode_steps") == [50, 50, 50]
    assert vec_env.get_attr("max_episode_steps", indices=[0, 2]) == [50, 50]
    with pytest.raises(AttributeError, match="no setting 'gravity'"):
        vec_env.get_attr("gravity")
    with pytest.raises(AttributeError, match="C\\+\\+ objects"):
        vec_env.set_attr("max_episode_steps", 10)
    with pytest.raises(AttributeError, match="C\\+\\+ objects"):
        vec_env.env_method("reset")
    vec_env.reset()
    obs, rewards, dones, infos = vec_env.step(np.zeros((3, 1), np.float32))
    assert obs.shape == (3, 3) and rewards.shape == (3,) and infos[0]["elapsed_step"] == 1
    vec_env.close()


def test_unknown_id_and_missing_envpool(monkeypatch):
    with pytest.raises(ValueError, match="envpool has no env 'NoSuchEnv-v0'"):
        EnvPoolVecEnv("NoSuchEnv-v0")
    monkeypatch.setitem(sys.modules, "envpool", None)
    with pytest.raises(ImportError, match=r"pip install 'stable_ppo2\[envpool\]'"):
        EnvPoolVecEnv("CartPole-v1")


def test_ppo2_collects_episode_infos():
    env = make_vec_env("CartPole-v1", n_envs=4, seed=0, vec_env_cls=EnvPoolVecEnv)
    model = PPO2("MlpPolicy", env, n_steps=64, nminibatches=4, noptepochs=2, seed=0, n_cpu_tf_sess=1)
    model.learn(total_timesteps=1024)
    assert len(model.ep_info_buf) > 10
    assert all(info["r"] == info["l"] for info in model.ep_info_buf)
    env.close()


def test_cli_train_with_envpool(tmp_path, capsys):
    code, out, err = run_cli(["train", "CartPole-v1", "--vec-env", "envpool", "--n-timesteps", 512, "--n-envs", 2,
                              "--log-dir", tmp_path, "--no-progress-bar"], capsys)
    assert code == 0, err
    run_dir = tmp_path / "CartPole-v1_1"
    assert "with 2 env(s) (envpool)" in out
    assert json.loads((run_dir / "run.json").read_text())["vec_env"] == "envpool"
    assert sorted(path.name for path in (run_dir / "monitor").iterdir()) == ["0.monitor.csv", "1.monitor.csv"]
    assert (run_dir / "plots" / "returns.png").is_file()


@pytest.mark.parametrize("args, fragments", [
    (["PongNoFrameskip-v4", "--vec-env", "envpool"], ["envpool's Atari envs do their own preprocessing"]),
    (["Taxi-v4", "--vec-env", "envpool"], ["envpool has no env 'Taxi-v4'", "dummy, subproc or ray"]),
    (["CartPole-v1", "--ray-address", "127.0.0.1:6379"], ["--ray-address needs --vec-env ray"]),
])
def test_cli_vec_env_errors_are_one_line(tmp_path, capsys, args, fragments):
    code, out, err = run_cli(["train"] + args + ["--log-dir", tmp_path], capsys)
    assert code == 2 and out == ""
    assert_one_error_line(err, *fragments)
    assert not list(tmp_path.iterdir())  # refused before a run folder was made


def test_cli_without_ray_is_one_line(tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)
    code, _out, err = run_cli(["train", "CartPole-v1", "--vec-env", "ray", "--log-dir", tmp_path], capsys)
    assert code == 2
    assert_one_error_line(err, "pip install 'stable_ppo2[ray]'")
