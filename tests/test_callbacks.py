"""Callbacks (SB2's ``common.callbacks``): hook order, stopping rules, checkpoints, evaluation, triggers.

The first part drives the callbacks with a fake model and a fake training loop that calls the hooks at PPO2's
points, so it checks the callback logic alone. The second part runs SB2's test_callbacks scenarios on PPO2.
"""
import os
import subprocess
import sys
import warnings
from typing import Any, Dict, List, Optional

import gymnasium as gym
import numpy as np
import pytest

from stable_ppo2 import logger
from stable_ppo2.common.callbacks import (
    BaseCallback,
    CallbackList,
    CheckpointCallback,
    ConvertCallback,
    EvalCallback,
    EventCallback,
    EveryNTimesteps,
    StopTrainingOnRewardThreshold,
)
from stable_ppo2.common.vec_env import DummyVecEnv, VecEnv, VecNormalize

HOOKS = ["training_start", "rollout_start", "step", "rollout_end", "training_end"]


# --------------------------------------------------------------------------------------------------------------
# Fakes
# --------------------------------------------------------------------------------------------------------------

class ConstantRewardEnv(gym.Env):
    """Episodes of ``ep_length`` steps; the reward of a step is the (1-D) action, so a model sets its own score."""

    metadata: Dict[str, Any] = {"render_modes": []}

    def __init__(self, ep_length: int = 3) -> None:
        self.observation_space = gym.spaces.Box(-10.0, 10.0, shape=(2,), dtype=np.float32)
        self.action_space = gym.spaces.Box(-10.0, 10.0, shape=(1,), dtype=np.float32)
        self.ep_length = ep_length
        self.t = 0

    def reset(self, *, seed: Optional[int] = None, options: Optional[Dict[str, Any]] = None):
        super().reset(seed=seed)
        self.t = 0
        return np.full(2, float(self.t), dtype=np.float32), {}

    def step(self, action):
        self.t += 1
        obs = np.full(2, float(self.t), dtype=np.float32)
        return obs, float(np.asarray(action).reshape(-1)[0]), False, self.t >= self.ep_length, {}


class FakeRunner:
    """Stands in for PPO2's Runner, whose locals reach the callbacks on every step."""


class FakeModel:
    """The parts of PPO2 the callbacks use: env access, ``num_timesteps``, ``save``, ``predict``.

    ``quality`` is the action ``predict`` returns, hence the per-step reward in ConstantRewardEnv.
    """

    def __init__(self, env: VecEnv, n_steps: int = 4) -> None:
        self.env = env
        self.n_envs = env.num_envs
        self.n_steps = n_steps
        self.num_timesteps = 0
        self.quality = 0.0
        self.initial_state = None
        self.saved: List[str] = []
        self.trained_updates = 0
        self.runner = FakeRunner()

    def get_env(self) -> VecEnv:
        return self.env

    def get_vec_normalize_env(self) -> Optional[VecNormalize]:
        env = self.env
        while not isinstance(env, VecNormalize):
            if not hasattr(env, "venv"):
                return None
            env = env.venv
        return env

    def save(self, path: str) -> None:
        with open(path + ".zip", "w") as file:
            file.write("model")
        self.saved.append(path)

    def predict(self, obs, state=None, mask=None, deterministic=True):
        return np.full((np.asarray(obs).shape[0], 1), self.quality, dtype=np.float32), None

    def learn(self, total_timesteps: int, callback: Any = None) -> "FakeModel":
        """PPO2's learn() skeleton: the callback hooks in SB2's order, no optimisation."""
        callback = to_callback(callback)
        callback.init_callback(self)
        n_batch = self.n_envs * self.n_steps
        n_updates = total_timesteps // n_batch
        callback.on_training_start(locals(), globals())
        for update in range(1, n_updates + 1):
            callback.on_rollout_start()
            continue_training = True
            for n in range(self.n_steps):
                self.num_timesteps += self.n_envs
                runner_locals = {"self": self.runner, "n": n, "update": update}
                callback.update_locals(runner_locals)
                if callback.on_step() is False:
                    continue_training = False
                    break
            callback.on_rollout_end()
            if not continue_training:
                break
            self.trained_updates += 1
        callback.on_training_end()
        return self


def to_callback(callback: Any) -> BaseCallback:
    """What the model's ``_init_callback`` does before ``init_callback``."""
    if isinstance(callback, list):
        callback = CallbackList(callback)
    if not isinstance(callback, BaseCallback):
        callback = ConvertCallback(callback)
    return callback


def make_vec_env(n_envs: int = 1, ep_length: int = 3) -> DummyVecEnv:
    return DummyVecEnv([lambda: ConstantRewardEnv(ep_length)] * n_envs)


class RecordingCallback(BaseCallback):
    """Records every hook, in order, with the step count and timesteps seen at each ``on_step``."""

    def __init__(self, stop_at_call: Optional[int] = None) -> None:
        super().__init__()
        self.events: List[str] = []
        self.timesteps: List[int] = []
        self.stop_at_call = stop_at_call
        self.init_calls = 0

    def _init_callback(self) -> None:
        self.init_calls += 1

    def _on_training_start(self) -> None:
        self.events.append("training_start")

    def _on_rollout_start(self) -> None:
        self.events.append("rollout_start")

    def _on_step(self) -> bool:
        self.events.append("step")
        self.timesteps.append(self.num_timesteps)
        return self.stop_at_call is None or self.n_calls < self.stop_at_call

    def _on_rollout_end(self) -> None:
        self.events.append("rollout_end")

    def _on_training_end(self) -> None:
        self.events.append("training_end")


def expected_events(n_updates: int, n_steps: int) -> List[str]:
    return ["training_start"] + (["rollout_start"] + ["step"] * n_steps + ["rollout_end"]) * n_updates + [
        "training_end"]


# --------------------------------------------------------------------------------------------------------------
# BaseCallback
# --------------------------------------------------------------------------------------------------------------

def test_base_callback_defaults():
    callback = BaseCallback(verbose=2)
    assert callback.model is None and callback.training_env is None and callback.parent is None
    assert callback.n_calls == 0 and callback.num_timesteps == 0 and callback.verbose == 2
    assert callback.locals == {} and callback.globals == {} and callback.logger is None


def test_init_callback_binds_model_env_and_logger():
    model = FakeModel(make_vec_env())
    callback = RecordingCallback()
    callback.init_callback(model)
    assert callback.model is model and callback.training_env is model.env
    assert callback.logger is logger.Logger.CURRENT
    assert callback.init_calls == 1


def test_hooks_order_counts_and_timesteps():
    model = FakeModel(make_vec_env(n_envs=2), n_steps=4)
    callback = RecordingCallback()
    model.learn(3 * 8 + 5, callback=callback)  # floor: 3 updates of 4 steps x 2 envs
    assert callback.events == expected_events(3, 4)
    assert callback.n_calls == 12
    assert callback.timesteps == list(range(2, 25, 2))
    assert callback.num_timesteps == model.num_timesteps == 24


def test_default_on_step_continues_and_returns_bool():
    model = FakeModel(make_vec_env())
    callback = BaseCallback()
    callback.init_callback(model)
    assert callback.on_step() is True

    class ReturnsNone(BaseCallback):
        def _on_step(self):
            return None

    none_callback = ReturnsNone()
    none_callback.init_callback(model)
    assert none_callback.on_step() is True


def test_locals_are_shared_and_self_stays_the_model():
    model = FakeModel(make_vec_env(), n_steps=2)
    seen: List[Dict[str, Any]] = []

    class Peek(BaseCallback):
        def _on_training_start(self):
            seen.append(dict(self.locals))

        def _on_step(self):
            seen.append(dict(self.locals))
            return True

    child = Peek()
    model.learn(4, callback=CallbackList([EveryNTimesteps(1, child)]))
    assert seen[0]["self"] is model and seen[0]["total_timesteps"] == 4  # learn()'s locals
    for step_locals in seen[1:]:
        assert step_locals["self"] is model  # not the runner (SB2 quirk 9, fixed)
        assert "n" in step_locals and step_locals["total_timesteps"] == 4  # runner locals merged into learn's
    assert [step_locals["n"] for step_locals in seen[1:]] == [0, 1, 0, 1]


def test_update_locals_merges_into_the_training_start_dict():
    model = FakeModel(make_vec_env())
    callback = BaseCallback()
    callback.init_callback(model)
    training_locals = {"a": 1}
    callback.on_training_start(training_locals, {"g": 2})
    callback.update_locals({"b": 3})
    assert callback.locals is training_locals and training_locals == {"a": 1, "b": 3}
    assert callback.globals == {"g": 2}


# --------------------------------------------------------------------------------------------------------------
# CallbackList and ConvertCallback
# --------------------------------------------------------------------------------------------------------------

def test_callback_list_forwards_every_hook():
    model = FakeModel(make_vec_env(), n_steps=3)
    first, second = RecordingCallback(), RecordingCallback()
    model.learn(6, callback=[first, second])  # a list is converted by the model
    for callback in (first, second):
        assert callback.events == expected_events(2, 3)
        assert callback.model is model and callback.init_calls == 1 and callback.n_calls == 6


def test_callback_list_calls_all_children_and_stops_if_any_stops():
    model = FakeModel(make_vec_env(), n_steps=10)
    stopper, other = RecordingCallback(stop_at_call=3), RecordingCallback()
    model.learn(100, callback=CallbackList([stopper, other]))
    assert stopper.n_calls == other.n_calls == 3  # the child after the stopper still ran on the last step
    assert model.num_timesteps == 3 and model.trained_updates == 0
    assert other.events == ["training_start", "rollout_start"] + ["step"] * 3 + ["rollout_end", "training_end"]


def test_callback_list_needs_a_list():
    with pytest.raises(TypeError, match="list"):
        CallbackList((BaseCallback(),))


@pytest.mark.parametrize("returned, keeps_training", [(None, True), (True, True), (0, True), ([], True),
                                                      (np.False_, True), (False, False)])
def test_convert_callback_only_false_stops(returned, keeps_training):
    model = FakeModel(make_vec_env())
    callback = ConvertCallback(lambda _locals, _globals: returned)
    callback.init_callback(model)
    callback.on_training_start({}, {})
    assert callback.on_step() is keeps_training


def test_convert_callback_none_is_a_no_op():
    model = FakeModel(make_vec_env(), n_steps=2)
    model.learn(8, callback=None)
    assert model.num_timesteps == 8 and model.trained_updates == 4


def test_legacy_function_gets_locals_and_globals_and_can_stop():
    model = FakeModel(make_vec_env(n_envs=2), n_steps=5)
    calls: List[int] = []

    def legacy(locals_, globals_):
        assert locals_["self"] is model and globals_ is globals()
        calls.append(locals_["n"])
        if len(calls) == 7:
            return False
        return None  # None continues, as in SB2

    model.learn(100, callback=legacy)
    assert len(calls) == 7 and model.num_timesteps == 14
    assert model.trained_updates == 1  # the second rollout was cut short and not trained on


# --------------------------------------------------------------------------------------------------------------
# EventCallback, EveryNTimesteps, StopTrainingOnRewardThreshold
# --------------------------------------------------------------------------------------------------------------

def test_event_callback_binds_its_child():
    child = RecordingCallback()
    event = EventCallback(child)
    assert child.parent is event
    model = FakeModel(make_vec_env(), n_steps=2)
    model.learn(4, callback=event)
    assert child.model is model and child.init_calls == 1
    assert child.events == ["training_start"]  # only on_training_start is forwarded; steps come from events
    assert event._on_event() is True and child.n_calls == 1
    assert EventCallback()._on_event() is True


@pytest.mark.parametrize("n_envs, every, expected", [(1, 3, [3, 6, 9, 12, 15, 18, 21, 24]),
                                                     (2, 3, [4, 8, 12, 16, 20, 24]), (4, 5, [8, 16, 24])])
def test_every_n_timesteps(n_envs, every, expected):
    model = FakeModel(make_vec_env(n_envs=n_envs), n_steps=24 // (2 * n_envs))  # 2 updates
    child = RecordingCallback()
    model.learn(24, callback=EveryNTimesteps(every, child))
    assert child.timesteps == expected and child.n_calls == len(expected)


def test_every_n_timesteps_child_can_stop_training():
    model = FakeModel(make_vec_env(), n_steps=10)
    model.learn(100, callback=EveryNTimesteps(4, RecordingCallback(stop_at_call=2)))
    assert model.num_timesteps == 8


def test_stop_on_reward_threshold_needs_a_parent():
    callback = StopTrainingOnRewardThreshold(0.0)
    callback.init_callback(FakeModel(make_vec_env()))
    with pytest.raises(ValueError, match="EvalCallback"):
        callback.on_step()


def test_stop_on_reward_threshold_compares_the_parents_best(capsys):
    stop = StopTrainingOnRewardThreshold(reward_threshold=-5.0, verbose=1)
    parent = EventCallback(stop)
    parent.init_callback(FakeModel(make_vec_env()))
    parent.best_mean_reward = -5.1
    assert stop.on_step() is True
    parent.best_mean_reward = -5.0
    assert stop.on_step() is False
    assert "Stopping training" in capsys.readouterr().out


# --------------------------------------------------------------------------------------------------------------
# CheckpointCallback
# --------------------------------------------------------------------------------------------------------------

def test_checkpoint_callback_saves_every_save_freq_calls(tmp_path):
    save_path = str(tmp_path / "deep" / "checkpoints")
    model = FakeModel(make_vec_env(n_envs=2), n_steps=5)
    model.learn(20, callback=CheckpointCallback(save_freq=3, save_path=save_path, name_prefix="ckpt"))
    assert sorted(os.listdir(save_path)) == sorted(f"ckpt_{t}_steps.zip" for t in (6, 12, 18))
    assert model.saved == [os.path.join(save_path, f"ckpt_{t}_steps") for t in (6, 12, 18)]


def test_checkpoint_callback_creates_the_folder_at_init(tmp_path):
    save_path = tmp_path / "made_at_init"
    CheckpointCallback(10, str(save_path)).init_callback(FakeModel(make_vec_env()))
    assert save_path.is_dir()


def test_checkpoint_callback_saves_vec_normalize_statistics(tmp_path):
    venv = VecNormalize(make_vec_env())
    model = FakeModel(venv, n_steps=2)
    venv.reset()
    venv.step(np.zeros((1, 1)))
    model.learn(4, callback=CheckpointCallback(save_freq=2, save_path=str(tmp_path), verbose=2))
    assert sorted(os.listdir(tmp_path)) == ["rl_model_2_steps.zip", "rl_model_2_steps_vecnormalize.pkl",
                                            "rl_model_4_steps.zip", "rl_model_4_steps_vecnormalize.pkl"]
    loaded = VecNormalize.load(str(tmp_path / "rl_model_4_steps_vecnormalize.pkl"), make_vec_env())
    np.testing.assert_allclose(loaded.obs_rms.mean, venv.obs_rms.mean)
    np.testing.assert_allclose(loaded.obs_rms.var, venv.obs_rms.var)


# --------------------------------------------------------------------------------------------------------------
# EvalCallback
# --------------------------------------------------------------------------------------------------------------

def test_eval_callback_wraps_a_gym_env_and_takes_several_envs():
    callback = EvalCallback(ConstantRewardEnv())
    assert isinstance(callback.eval_env, DummyVecEnv) and callback.eval_env.num_envs == 1
    assert callback.best_mean_reward == callback.last_mean_reward == -np.inf
    assert callback.verbose == 1 and callback.n_eval_episodes == 5 and callback.eval_freq == 10000
    assert EvalCallback(make_vec_env(n_envs=2)).eval_env.num_envs == 2  # episodes spread over both


def test_eval_callback_warns_when_env_types_differ():
    model = FakeModel(VecNormalize(make_vec_env()))
    with pytest.warns(UserWarning, match="not of the same type"):
        EvalCallback(ConstantRewardEnv()).init_callback(model)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        EvalCallback(make_vec_env()).init_callback(FakeModel(make_vec_env()))


def test_eval_callback_logs_saves_best_and_triggers_child(tmp_path, capsys):
    model = FakeModel(make_vec_env(), n_steps=4)
    child = RecordingCallback()
    callback = EvalCallback(ConstantRewardEnv(ep_length=3), callback_on_new_best=child, n_eval_episodes=2,
                            eval_freq=2, log_path=str(tmp_path / "logs"), best_model_save_path=str(tmp_path / "best"))

    qualities = iter([1.0, 2.0, 0.5, 3.0])

    class SetQuality(BaseCallback):
        """Changes the model's score just before each evaluation."""

        def _on_step(self):
            if self.n_calls % 2 == 0:
                model.quality = next(qualities)
            return True

    model.learn(8, callback=[SetQuality(), callback])
    assert callback.evaluations_timesteps == [2, 4, 6, 8]
    results = np.asarray(callback.evaluations_results)
    assert results.shape == (4, 2, 1)  # VecEnv episode rewards are 1-element arrays (quirk 26)
    np.testing.assert_allclose(results[:, :, 0], [[3, 3], [6, 6], [1.5, 1.5], [9, 9]])
    assert callback.evaluations_length == [[3, 3]] * 4
    assert callback.last_mean_reward == pytest.approx(9.0) and callback.best_mean_reward == pytest.approx(9.0)
    assert child.timesteps == [2, 4, 8]  # only on a new best
    assert model.saved == [str(tmp_path / "best" / "best_model")] * 3

    data = np.load(tmp_path / "logs" / "evaluations.npz")
    np.testing.assert_array_equal(data["timesteps"], [2, 4, 6, 8])
    np.testing.assert_allclose(data["results"], results)
    np.testing.assert_array_equal(data["ep_lengths"], [[3, 3]] * 4)
    out = capsys.readouterr().out
    assert "Eval num_timesteps=6, episode_reward=1.50 +/- 0.00" in out and "Episode length: 3.00 +/- 0.00" in out
    assert out.count("New best mean reward!") == 3


def test_eval_callback_without_log_path_keeps_no_history(capsys):
    model = FakeModel(make_vec_env(), n_steps=4)
    model.quality = -1.0
    callback = EvalCallback(ConstantRewardEnv(), n_eval_episodes=1, eval_freq=4, verbose=0)
    model.learn(8, callback=callback)
    assert callback.evaluations_timesteps == [] and callback.evaluations_results == []
    assert callback.last_mean_reward == pytest.approx(-3.0) and callback.best_mean_reward == pytest.approx(-3.0)
    assert capsys.readouterr().out == ""


def test_eval_callback_never_evaluates_with_non_positive_freq():
    model = FakeModel(make_vec_env(), n_steps=4)
    callback = EvalCallback(ConstantRewardEnv(), eval_freq=0, log_path=None)
    model.learn(8, callback=callback)
    assert callback.last_mean_reward == -np.inf


def test_eval_callback_with_stop_on_reward_threshold_stops_training():
    model = FakeModel(make_vec_env(), n_steps=10)
    model.quality = 2.0  # 6 per episode
    stop = StopTrainingOnRewardThreshold(reward_threshold=5.0)
    callback = EvalCallback(ConstantRewardEnv(), callback_on_new_best=stop, n_eval_episodes=1, eval_freq=3,
                            verbose=0)
    model.learn(100, callback=callback)
    assert model.num_timesteps == 3 and model.trained_updates == 0


def test_eval_callback_syncs_vec_normalize_statistics():
    train_env = VecNormalize(make_vec_env())
    eval_env = VecNormalize(make_vec_env(), training=False)
    model = FakeModel(train_env, n_steps=2)
    train_env.reset()
    for _ in range(5):
        train_env.step(np.ones((1, 1)))
    callback = EvalCallback(eval_env, n_eval_episodes=1, eval_freq=2, verbose=0)
    model.learn(2, callback=callback)
    np.testing.assert_allclose(eval_env.obs_rms.mean, train_env.obs_rms.mean)
    np.testing.assert_allclose(eval_env.ret_rms.var, train_env.ret_rms.var)
    assert eval_env.obs_rms is not train_env.obs_rms


def test_ppo2_recurrent_eval_callback(tmp_path):
    """SB2's test_recurrent_eval_callback: an LSTM model trained on 4 envs, evaluated on one env."""
    from stable_ppo2 import PPO2

    env = DummyVecEnv([lambda: gym.make("CartPole-v1")] * 4)
    model = PPO2("MlpLstmPolicy", env, n_steps=16, nminibatches=4, seed=0, n_cpu_tf_sess=1,
                 policy_kwargs=dict(n_lstm=16))
    callback = EvalCallback(seeded_env("CartPole-v1"), n_eval_episodes=2, eval_freq=16, log_path=str(tmp_path),
                            verbose=0)
    model.learn(128, callback=callback)
    assert callback.evaluations_timesteps == [64, 128]
    assert np.asarray(callback.evaluations_results).shape == (2, 2, 1)


def test_module_does_not_import_tensorflow():
    code = "import sys, stable_ppo2.common.callbacks; sys.exit('tensorflow' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], cwd=os.path.dirname(os.path.dirname(__file__))).returncode == 0


# --------------------------------------------------------------------------------------------------------------
# PPO2 (SB2's test_callbacks scenarios, with n_steps=100 so that learn(500) takes 500 steps)
# --------------------------------------------------------------------------------------------------------------

def make_ppo2(env: Any, **kwargs: Any):
    from stable_ppo2 import PPO2

    kwargs.setdefault("n_steps", 100)
    kwargs.setdefault("seed", 0)
    kwargs.setdefault("n_cpu_tf_sess", 1)
    return PPO2("MlpPolicy", env, **kwargs)


def seeded_env(env_id: str) -> gym.Env:
    env = gym.make(env_id)
    env.reset(seed=0)  # later resets without a seed continue this RNG
    return env


@pytest.mark.parametrize("env_id, threshold", [("Pendulum-v1", -1200), ("CartPole-v1", -1200),
                                               ("Pendulum-v1", 0)])  # the last one never stops
def test_ppo2_callbacks(tmp_path, env_id, threshold):
    log_folder = str(tmp_path / "logs" / "callbacks")
    checkpoint_callback = CheckpointCallback(save_freq=500, save_path=log_folder)
    stop_callback = StopTrainingOnRewardThreshold(reward_threshold=threshold, verbose=1)
    eval_callback = EvalCallback(seeded_env(env_id), callback_on_new_best=stop_callback,
                                 best_model_save_path=log_folder, log_path=log_folder, eval_freq=100)
    event_checkpoint = CheckpointCallback(save_freq=1, save_path=log_folder, name_prefix="event")
    event_callback = EveryNTimesteps(n_steps=500, callback=event_checkpoint)
    callback = CallbackList([checkpoint_callback, eval_callback, event_callback])

    model = make_ppo2(env_id)
    model.learn(500, callback=callback)

    assert stop_callback.parent is eval_callback and eval_callback.model is model
    n_evals = len(eval_callback.evaluations_timesteps)
    assert eval_callback.evaluations_timesteps == [100 * (i + 1) for i in range(n_evals)]
    assert np.asarray(eval_callback.evaluations_results).shape == (n_evals, 5, 1)
    assert os.path.exists(os.path.join(log_folder, "evaluations.npz"))
    assert os.path.exists(os.path.join(log_folder, "best_model.zip"))
    if eval_callback.best_mean_reward >= threshold:  # stopped by the threshold at that evaluation
        assert model.num_timesteps == eval_callback.evaluations_timesteps[-1]
        assert eval_callback.last_mean_reward == eval_callback.best_mean_reward
    else:
        assert model.num_timesteps == 500 and n_evals == 5
        assert checkpoint_callback.n_calls == 500 and event_checkpoint.n_calls == 1
    if env_id == "CartPole-v1":  # episode returns are positive: the first evaluation stops training
        assert model.num_timesteps == 100 and n_evals == 1
    if threshold == 0:
        assert model.num_timesteps == 500
    files = set(os.listdir(log_folder))
    if model.num_timesteps == 500:
        assert {"rl_model_500_steps.zip", "event_500_steps.zip"} <= files
    else:
        assert not any(name.startswith(("rl_model_", "event_")) for name in files)
    from stable_ppo2 import PPO2
    PPO2.load(os.path.join(log_folder, "best_model"))

    model.learn(200, callback=None)
    assert model.num_timesteps == 200

    hooks = RecordingCallback()
    model.learn(200, callback=hooks)
    assert hooks.events == expected_events(2, 100)
    assert hooks.n_calls == 200 and hooks.num_timesteps == 200 and hooks.model is model

    # A list is turned into a CallbackList; reused callbacks keep counting their calls.
    listed = RecordingCallback()
    model.learn(200, callback=[checkpoint_callback, eval_callback, listed])
    assert listed.model is model and listed.events[0] == "training_start" and listed.events[-1] == "training_end"
    assert checkpoint_callback.n_calls > 200

    seen = []
    model.learn(200, callback=lambda _locals, _globals: seen.append(1))
    assert len(seen) == 200 and model.num_timesteps == 200


def test_ppo2_legacy_function_stops_early_without_training_on_the_partial_rollout():
    model = make_ppo2(DummyVecEnv([lambda: gym.make("CartPole-v1")] * 2), n_steps=50)
    snapshots: Dict[str, Any] = {}

    class Snapshots(BaseCallback):
        def _on_rollout_start(self):
            snapshots.setdefault("rollout_starts", []).append(self.model.get_parameters())

        def _on_training_end(self):
            snapshots["end"] = self.model.get_parameters()

    calls: List[int] = []

    def stop_at_70th(locals_, globals_):
        calls.append(locals_["self"].num_timesteps)
        return len(calls) < 70  # False (the object) on the 70th call

    hooks = RecordingCallback()
    model.learn(1000, callback=[hooks, Snapshots(), ConvertCallback(stop_at_70th)])
    assert len(calls) == 70 and calls == list(range(2, 141, 2))
    assert model.num_timesteps == 140
    assert hooks.events == (["training_start"] + ["rollout_start"] + ["step"] * 50 + ["rollout_end"]
                            + ["rollout_start"] + ["step"] * 20 + ["rollout_end", "training_end"])
    first, second = snapshots["rollout_starts"]
    assert any(not np.array_equal(first[k], second[k]) for k in first)  # the first rollout was trained on
    for key, value in second.items():  # the cut rollout was not
        np.testing.assert_array_equal(snapshots["end"][key], value)

    # The next learn() trains normally again.
    model.learn(200, callback=lambda _l, _g: None)
    assert model.num_timesteps == 200


def test_ppo2_legacy_callback_sees_the_model_as_self(tmp_path):
    model = make_ppo2("CartPole-v1", n_steps=20, nminibatches=1)
    seen: List[Dict[str, Any]] = []

    def legacy(locals_, globals_):
        assert locals_["self"] is model  # SB2 quirk 9 fixed: not the Runner
        assert locals_["ep_info_buf"] is model.ep_info_buf  # a local of learn() before SB2 2.10
        seen.append({key: locals_.get(key) for key in ("total_timesteps", "n_updates", "rewards", "infos")})
        if len(seen) == 5:
            locals_["self"].save(str(tmp_path / "from_callback"))  # the use case works again
        return True

    model.learn(40, callback=legacy)
    assert len(seen) == 40 and (tmp_path / "from_callback.zip").exists()
    assert all(item["total_timesteps"] == 40 and item["n_updates"] == 2 for item in seen)  # learn()'s locals
    assert all(item["rewards"] is not None and item["infos"] is not None for item in seen)  # the runner's locals


def test_ppo2_checkpoint_and_eval_with_vec_normalize(tmp_path):
    env = VecNormalize(DummyVecEnv([lambda: gym.make("Pendulum-v1")]))
    eval_env = VecNormalize(DummyVecEnv([lambda: seeded_env("Pendulum-v1")]), training=False, norm_reward=False)
    model = make_ppo2(env)
    checkpoint = CheckpointCallback(save_freq=100, save_path=str(tmp_path))
    evaluation = EvalCallback(eval_env, n_eval_episodes=1, eval_freq=100, verbose=0)
    model.learn(200, callback=[checkpoint, evaluation])
    assert sorted(os.listdir(tmp_path)) == ["rl_model_100_steps.zip", "rl_model_100_steps_vecnormalize.pkl",
                                            "rl_model_200_steps.zip", "rl_model_200_steps_vecnormalize.pkl"]
    np.testing.assert_allclose(eval_env.obs_rms.mean, env.obs_rms.mean)
    loaded = VecNormalize.load(str(tmp_path / "rl_model_200_steps_vecnormalize.pkl"),
                               DummyVecEnv([lambda: gym.make("Pendulum-v1")]))
    np.testing.assert_allclose(loaded.obs_rms.mean, env.obs_rms.mean)
    assert evaluation.last_mean_reward > -np.inf


def test_ppo2_short_learn_still_starts_and_ends_training():
    model = make_ppo2("CartPole-v1")
    hooks = RecordingCallback()
    model.learn(99, callback=hooks)  # fewer timesteps than one batch: no update, no env step (SB2 quirk 4)
    assert hooks.events == ["training_start", "training_end"] and model.num_timesteps == 0
