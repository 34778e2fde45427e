"""SB2's Atari wrappers on ale-py, ``make_atari_env``, ``run_atari`` and Atari ids in ``stable-ppo2 train``.

Each wrapper runs on a real ALE game with a recording wrapper below it that logs what it passes to
the emulator (actions, resets, raw frames), so the tests check SB2's semantics step by step.
"""
import os
import subprocess
import sys

import ale_py  # noqa: E402,F401  (the tests extra installs the Atari dependencies)
import cv2  # noqa: E402
import gymnasium
import numpy as np
import pytest

from stable_ppo2 import logger  # noqa: E402
from stable_ppo2.common.atari_wrappers import (  # noqa: E402
    ClipRewardEnv,
    EpisodicLifeEnv,
    FireResetEnv,
    FrameStack,
    LazyFrames,
    MaxAndSkipEnv,
    NoopResetEnv,
    ScaledFloatFrame,
    WarpFrame,
    make_atari,
    register_ale_envs,
    wrap_deepmind,
)
from stable_ppo2.common.cmd_util import make_atari_env  # noqa: E402
from stable_ppo2.common.vec_env import DummyVecEnv, SubprocVecEnv, VecFrameStack  # noqa: E402
from tests.helpers import run_training_script  # noqa: E402

register_ale_envs()
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class Recorder(gymnasium.Wrapper):
    """Logs the actions, resets and raw frames that reach the env below."""

    def __init__(self, env):
        super().__init__(env)
        self.actions, self.frames, self.rewards, self.resets = [], [], [], 0

    def reset(self, **kwargs):
        self.resets += 1
        obs, info = self.env.reset(**kwargs)
        self.frames.append(obs)
        return obs, info

    def step(self, action):
        obs, reward, terminated, truncated, info = self.env.step(action)
        self.actions.append(int(action))
        self.frames.append(obs)
        self.rewards.append(reward)
        return obs, reward, terminated, truncated, info


def raw(env_id="PongNoFrameskip-v4", **kwargs):
    return Recorder(gymnasium.make(env_id, **kwargs))


# ------------------------------------------------------------------------------------ wrappers
def test_noop_reset_takes_1_to_noop_max_noops():
    recorder = raw()
    env = NoopResetEnv(recorder, noop_max=30)
    counts = []
    for seed in range(6):
        recorder.actions.clear()
        env.reset(seed=seed)
        counts.append(len(recorder.actions))
        assert set(recorder.actions) == {0}  # action 0 is NOOP
    assert all(1 <= count <= 30 for count in counts) and len(set(counts)) > 1
    recorder.actions.clear()
    env.reset(seed=0)
    assert len(recorder.actions) == counts[0]  # drawn from the env's seeded np_random
    env.override_num_noops = 7
    recorder.actions.clear()
    env.reset()
    assert recorder.actions == [0] * 7


def test_max_and_skip_repeats_the_action_and_max_pools_the_last_two_frames():
    recorder = raw()
    env = MaxAndSkipEnv(recorder, skip=4)
    env.reset(seed=0)
    for step in range(40):
        before = len(recorder.actions)
        obs, reward, terminated, truncated, _ = env.step(step % 6)
        assert recorder.actions[before:] == [step % 6] * 4
        assert reward == sum(recorder.rewards[before:])
        np.testing.assert_array_equal(obs, np.maximum(recorder.frames[-2], recorder.frames[-1]))
        assert obs.shape == (210, 160, 3) and obs.dtype == np.uint8
    assert not (terminated or truncated)


def test_max_and_skip_sums_rewards():
    recorder = raw()
    env = MaxAndSkipEnv(recorder, skip=4)
    env.reset(seed=0)
    total_inner = total_outer = 0.0
    for _ in range(300):  # Pong: the opponent scores within a few hundred frames
        _, reward, *_ = env.step(0)
        total_outer += reward
    total_inner = sum(recorder.rewards)
    assert total_outer == total_inner < 0


def _breakout_life_lost(env, max_steps=2000):
    for _ in range(max_steps):
        obs, reward, terminated, truncated, info = env.step(0)  # the paddle stays: the ball is lost
        if terminated or truncated:
            return obs, terminated, truncated
    raise AssertionError("no life lost")


def test_episodic_life_ends_the_episode_at_a_lost_life_and_resets_only_at_game_over():
    recorder = Recorder(make_atari("BreakoutNoFrameskip-v4"))
    env = EpisodicLifeEnv(recorder)
    env.reset(seed=0)
    assert env.lives == 5 and recorder.resets == 1
    env.step(1)  # FIRE launches the ball
    _, terminated, truncated = _breakout_life_lost(env)
    assert terminated and not truncated and not env.was_real_done
    assert env.unwrapped.ale.lives() == 4
    n_actions = len(recorder.actions)
    env.reset()
    assert recorder.resets == 1 and recorder.actions[n_actions:] == [0]  # one no-op, no game reset
    assert env.lives == 4
    for lives_left in (3, 2, 1, 0):
        env.step(1)
        _, terminated, _ = _breakout_life_lost(env)
        assert terminated
        if lives_left:
            assert not env.was_real_done
            env.reset()
            assert recorder.resets == 1
    assert env.was_real_done and env.unwrapped.ale.lives() == 0
    env.reset()
    assert recorder.resets == 2 and env.lives == 5


def test_fire_reset_presses_fire_then_action_2():
    recorder = raw("BreakoutNoFrameskip-v4")
    assert recorder.unwrapped.get_action_meanings()[:2] == ["NOOP", "FIRE"]
    env = FireResetEnv(recorder)
    obs, _ = env.reset(seed=0)
    assert recorder.resets == 1 and recorder.actions == [1, 2]
    np.testing.assert_array_equal(obs, recorder.frames[-1])


def test_wrap_deepmind_adds_fire_reset_only_for_games_with_fire():
    def chain(env):
        names = []
        while isinstance(env, gymnasium.Wrapper):
            names.append(type(env).__name__)
            env = env.env
        return names

    breakout = wrap_deepmind(make_atari("BreakoutNoFrameskip-v4"))
    assert chain(breakout)[:5] == ["ClipRewardEnv", "WarpFrame", "FireResetEnv", "EpisodicLifeEnv", "MaxAndSkipEnv"]
    freeway = wrap_deepmind(make_atari("FreewayNoFrameskip-v4"))
    assert "FIRE" not in freeway.unwrapped.get_action_meanings()
    assert "FireResetEnv" not in chain(freeway)
    full = wrap_deepmind(make_atari("PongNoFrameskip-v4"), episode_life=False, clip_rewards=False,
                         frame_stack=True, scale=True)
    assert chain(full)[:3] == ["FrameStack", "ScaledFloatFrame", "WarpFrame"]
    assert "EpisodicLifeEnv" not in chain(full) and "ClipRewardEnv" not in chain(full)
    assert full.observation_space.shape == (84, 84, 4)


def test_warp_frame_is_84x84_grey_with_inter_area():
    recorder = raw()
    env = WarpFrame(recorder)
    assert env.observation_space == gymnasium.spaces.Box(0, 255, (84, 84, 1), np.uint8)
    obs, _ = env.reset(seed=0)
    for _ in range(5):
        obs, *_ = env.step(3)
    assert obs.shape == (84, 84, 1) and obs.dtype == np.uint8
    grey = cv2.cvtColor(recorder.frames[-1], cv2.COLOR_RGB2GRAY)
    expected = cv2.resize(grey, (84, 84), interpolation=cv2.INTER_AREA)
    np.testing.assert_array_equal(obs[:, :, 0], expected)
    assert len(np.unique(obs)) > 2  # a real picture, not a blank frame


class FixedRewards(gymnasium.Env):
    observation_space = gymnasium.spaces.Box(0, 255, (4, 4, 1), np.uint8)
    action_space = gymnasium.spaces.Discrete(2)

    def __init__(self, rewards):
        self.rewards = list(rewards)

    def reset(self, *, seed=None, options=None):
        return np.zeros((4, 4, 1), np.uint8), {}

    def step(self, action):
        return np.zeros((4, 4, 1), np.uint8), self.rewards.pop(0), False, False, {}


def test_clip_reward_is_the_sign():
    env = ClipRewardEnv(FixedRewards([5.0, -3.0, 0.0, 0.25, -0.5]))
    env.reset()
    assert [env.step(0)[1] for _ in range(5)] == [1.0, -1.0, 0.0, 1.0, -1.0]


def test_clip_reward_on_pong():
    env = ClipRewardEnv(make_atari("PongNoFrameskip-v4"))
    env.reset(seed=0)
    rewards = {env.step(0)[1] for _ in range(300)}
    assert rewards <= {-1.0, 0.0, 1.0} and -1.0 in rewards


def test_frame_stack_and_lazy_frames():
    warped = WarpFrame(make_atari("PongNoFrameskip-v4"))
    env = FrameStack(warped, 4)
    assert env.observation_space.shape == (84, 84, 4) and env.observation_space.dtype == np.uint8
    first, _ = env.reset(seed=0)
    assert isinstance(first, LazyFrames)
    array = np.asarray(first)
    assert array.shape == (84, 84, 4) and array.dtype == np.uint8
    for k in range(1, 4):  # at reset the first frame is repeated
        np.testing.assert_array_equal(array[..., k], array[..., 0])
    observations = [env.step(2)[0] for _ in range(5)]
    frames = [np.asarray(obs) for obs in observations]
    for older, newer in zip(frames, frames[1:]):  # oldest first: each step shifts the stack by one frame
        np.testing.assert_array_equal(newer[..., :3], older[..., 1:])
    lazy = observations[-1]
    assert len(lazy) == 84 and lazy[0].shape == (84, 4)
    assert np.asarray(lazy, dtype=np.float32).dtype == np.float32
    # consecutive observations share their frames until converted (memory saving of LazyFrames)
    env.reset(seed=0)
    ob_a, ob_b = env.step(0)[0], env.step(0)[0]
    assert ob_a._frames[1] is ob_b._frames[0]
    # a VecEnv buffer takes LazyFrames like arrays
    buffer = np.zeros((1, 84, 84, 4), np.uint8)
    buffer[0] = ob_b
    np.testing.assert_array_equal(buffer[0], np.asarray(ob_b))


def test_scaled_float_frame():
    env = ScaledFloatFrame(WarpFrame(make_atari("PongNoFrameskip-v4")))
    obs, _ = env.reset(seed=0)
    assert obs.dtype == np.float32 and 0.0 <= obs.min() and obs.max() <= 1.0 and obs.max() > 0.2
    assert env.observation_space.dtype == np.float32


def test_make_atari_ids():
    env = make_atari("PongNoFrameskip-v4")
    assert isinstance(env, MaxAndSkipEnv) and isinstance(env.env, NoopResetEnv)
    assert env.unwrapped._frameskip == 1
    v5 = make_atari("ALE/Pong-v5")  # made without frame skip: MaxAndSkipEnv skips
    assert v5.unwrapped._frameskip == 1
    with pytest.raises(ValueError, match="frame skip"):
        make_atari("Pong-v4")  # skips 2-4 frames itself


def test_missing_extras_name_the_install_command():
    code = ("import sys; sys.modules['{}'] = None\n"
            "try:\n    {}\nexcept ImportError as exc:\n    print(exc)\n")
    for module, statement in (("cv2", "import stable_ppo2.common.atari_wrappers"),
                              ("ale_py", "from stable_ppo2.common.atari_wrappers import make_atari; "
                                         "make_atari('PongNoFrameskip-v4')")):
        out = subprocess.run([sys.executable, "-c", code.format(module, statement)], capture_output=True,
                             text=True, cwd=REPO, timeout=120).stdout
        assert 'pip install "stable_ppo2[atari]"' in out, out


# ------------------------------------------------------------------------------ make_atari_env
def test_make_atari_env_shapes_monitor_and_seeding(tmp_path):
    with logger.ScopedConfigure(str(tmp_path), []):
        env = make_atari_env("BreakoutNoFrameskip-v4", 3, seed=5)
    assert isinstance(env, DummyVecEnv) and env.num_envs == 3
    assert env.observation_space.shape == (84, 84, 1) and env.observation_space.dtype == np.uint8
    stacked = VecFrameStack(env, 4)
    obs = stacked.reset()
    assert obs.shape == (3, 84, 84, 4) and obs.dtype == np.uint8
    assert sorted(os.listdir(tmp_path)) == ["0.monitor.csv", "1.monitor.csv", "2.monitor.csv"]
    names = []
    inner = env.envs[0]
    while isinstance(inner, gymnasium.Wrapper):
        names.append(type(inner).__name__)
        inner = inner.env
    assert names[:6] == ["ClipRewardEnv", "WarpFrame", "FireResetEnv", "EpisodicLifeEnv", "Monitor", "MaxAndSkipEnv"]

    # env of rank r is seeded with seed + r: rank 2 of this VecEnv == rank 0 of one started at index 2
    other = VecFrameStack(make_atari_env("BreakoutNoFrameskip-v4", 1, seed=5, start_index=2), 4)
    np.testing.assert_array_equal(other.reset()[0], obs[2])
    actions = np.random.default_rng(0).integers(4, size=(60, 3))
    for action in actions:
        obs, rewards, dones, _ = stacked.step(action)
        other_obs, other_rewards, other_dones, _ = other.step(action[2:])
        np.testing.assert_array_equal(other_obs[0], obs[2])
        assert other_rewards[0] == rewards[2] and other_dones[0] == dones[2]
    stacked.close()
    other.close()


def test_make_atari_env_subprocess_and_wrapper_kwargs():
    env = make_atari_env("PongNoFrameskip-v4", 2, seed=0, use_subprocess=True,
                         wrapper_kwargs=dict(frame_stack=True, clip_rewards=False))
    try:
        assert isinstance(env, SubprocVecEnv)
        assert env.observation_space.shape == (84, 84, 4)
        obs = env.reset()
        assert obs.shape == (2, 84, 84, 4) and obs.dtype == np.uint8
        obs, *_ = env.step(np.array([0, 1]))
        assert obs.shape == (2, 84, 84, 4)
    finally:
        env.close()


def test_image_observations_stay_uint8_until_the_compiled_code():
    """Frames reach the rollout step's and the update's TF functions as uint8 (the float cast and the
    scaling to [0, 1] happen inside them): no float copies of frame stacks in numpy."""
    from stable_ppo2 import PPO2
    from stable_ppo2.common.vec_env import VecFrameStack

    env = VecFrameStack(make_atari_env("PongNoFrameskip-v4", 2, 0), 4)
    model = PPO2("CnnPolicy", env, n_steps=16, nminibatches=2, noptepochs=1, seed=0)
    policy = model.act_model
    assert not policy.uses_numpy_forward
    step_dtypes, update_dtypes = [], []
    tf_forward, train_on_batch = policy._tf_forward, model.train_on_batch

    def spy_forward(obs, *args):
        step_dtypes.append(obs.dtype)
        return tf_forward(obs, *args)

    def spy_update(obs, *args, **kwargs):
        update_dtypes.append(obs.dtype)
        return train_on_batch(obs, *args, **kwargs)

    policy._tf_forward, model.train_on_batch = spy_forward, spy_update
    model.learn(64)
    env.close()
    assert len(step_dtypes) == 64 // 2 + 2  # + each rollout's bootstrap value
    assert set(step_dtypes) == {np.dtype(np.uint8)}
    assert len(update_dtypes) == 2 and set(update_dtypes) == {np.dtype(np.uint8)}
    assert tf_forward.structured_input_signature[0][0].dtype.name == "uint8"
    assert model._train_update.structured_input_signature[0][0]["obs"].dtype.name == "uint8"


# ----------------------------------------------------------------------------------- scripts
def test_run_atari_trains_logs_and_saves(tmp_path):
    """``python -m stable_ppo2.ppo2.run_atari`` on Pong: 2 updates of 8 x 128 steps."""
    proc, log_dir = run_training_script("stable_ppo2.ppo2.run_atari", ["--env", "PongNoFrameskip-v4",
                                        "--num-timesteps", "2048", "--seed", "1"], tmp_path)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "total_timesteps" in proc.stdout and f"Saved the model to {log_dir / 'model.zip'}" in proc.stdout
    files = set(os.listdir(log_dir))
    assert {f"{rank}.monitor.csv" for rank in range(8)} <= files and {"progress.csv", "model.zip"} <= files
    import pandas

    progress = pandas.read_csv(log_dir / "progress.csv")
    assert list(progress["total_timesteps"]) == [1024, 2048]
    from stable_ppo2 import PPO2

    model = PPO2.load(str(log_dir / "model.zip"))
    assert type(model.act_model).__name__ == "CnnPolicy" and model.n_envs == 8
    assert (model.n_steps, model.nminibatches, model.noptepochs, model.lam, model.gamma, model.ent_coef) == (
        128, 4, 4, 0.95, 0.99, 0.01)
    assert model.learning_rate(0.5) == pytest.approx(1.25e-4) and model.cliprange(0.5) == pytest.approx(0.05)
    action, _ = model.predict(np.zeros((84, 84, 4), np.uint8))
    assert 0 <= int(action) < 6


@pytest.mark.parametrize("policy", ["lstm", "mlp"])
def test_run_atari_train_other_policies(policy, tmp_path):
    """SB2's test_atari: ``run_atari.train`` with other policies, 2 envs, nminibatches 2, n_steps 16
    (``lnlstm`` differs from ``lstm`` by its cell only, covered in test_recurrent.py)."""
    from stable_ppo2.ppo2 import run_atari

    model = run_atari.train("PongNoFrameskip-v4", num_timesteps=64, seed=0, policy=policy, n_envs=2,
                            nminibatches=2, n_steps=16, save_path=str(tmp_path / "model.zip"))
    assert model.num_timesteps == 64
    assert type(model.act_model).__name__ == run_atari.POLICIES[policy]
    assert os.path.isfile(tmp_path / "model.zip")


def test_cli_builds_sb2_atari_envs(tmp_path):
    """``stable-ppo2 train`` on an Atari id: the zoo's ``atari`` entry and SB2's wrappers, 4 frames stacked."""
    from stable_ppo2.cli import _make_train_env
    from stable_ppo2.zoo.envs import env_maker, env_wrapper_for
    from stable_ppo2.zoo.hyperparams import load_setting, make_train_config

    setting, source = load_setting("BreakoutNoFrameskip-v4")
    config = make_train_config("BreakoutNoFrameskip-v4", setting, source, n_envs=2)
    config.frame_stack = 4  # what train() sets for Atari ids
    assert source.startswith("atari in") and config.policy == "CnnPolicy"
    env = _make_train_env(config, str(tmp_path), seed=0)
    try:
        assert env.observation_space.shape == (84, 84, 4) and env.reset().dtype == np.uint8
        inner, names = env.venv.envs[0], []
        while isinstance(inner, gymnasium.Wrapper):
            names.append(type(inner).__name__)
            inner = inner.env
        assert names[:6] == ["ClipRewardEnv", "WarpFrame", "FireResetEnv", "EpisodicLifeEnv", "Monitor",
                             "MaxAndSkipEnv"]
        assert sorted(os.listdir(tmp_path)) == ["0.monitor.csv", "1.monitor.csv"]
    finally:
        env.close()
    evaluation = env_wrapper_for("BreakoutNoFrameskip-v4", evaluation=True)(env_maker("BreakoutNoFrameskip-v4")())
    assert not isinstance(evaluation, ClipRewardEnv) and "EpisodicLifeEnv" not in repr(evaluation)
