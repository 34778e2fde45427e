"""Legacy drop-in (issue #7): the ``stable_baselines`` alias, the compatibility ``gym``, the runner, SB2's module
tree, and the SB2-style scripts of ``examples/legacy`` run unchanged through ``python -m stable_ppo2.legacy``."""
import concurrent.futures
import glob
import importlib
import importlib.util
import os
import pickle
import subprocess
import sys
import textwrap
import warnings

import gymnasium
import numpy as np
import pytest
from gymnasium import spaces

import stable_ppo2.legacy as legacy
from stable_ppo2.common import gym_compat
from stable_ppo2.common.vec_env import DummyVecEnv
from stable_ppo2.legacy import gym as compat_gym
from stable_ppo2.legacy.gym.core import OldApiEnv

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LEGACY_EXAMPLES = os.path.join(ROOT, "examples", "legacy")


@pytest.fixture
def legacy_gym():
    """``import gym`` gives the compatibility module and env ids are made with it, for one test only."""
    legacy.install_gym(force=True)
    try:
        yield importlib.import_module("gym")
    finally:
        legacy.uninstall_gym()


class OldCounterEnv(compat_gym.Env):
    """Old gym API: observation = steps taken, episode ends after ``length`` steps; reward 1 for action 1."""

    metadata = {"render.modes": ["human"]}

    def __init__(self, length=5):
        super().__init__()
        self.length = length
        self.observation_space = spaces.Box(low=0, high=100, shape=(1,), dtype=np.float32)
        self.action_space = spaces.Discrete(2)
        self.count = 0

    def reset(self):
        self.count = 0
        return np.array([0.0], dtype=np.float32)

    def step(self, action):
        self.count += 1
        return np.array([self.count], dtype=np.float32), float(np.sum(action)), self.count >= self.length, {}

    def render(self, mode="human"):
        return None


# ------------------------------------------------------------------------------------------------ alias
def test_alias_gives_the_same_module_objects():
    import stable_baselines
    import stable_baselines.common.policies
    import stable_baselines.common.vec_env.vec_normalize

    import stable_ppo2
    import stable_ppo2.common.policies
    import stable_ppo2.common.vec_env.vec_normalize

    assert stable_baselines.common.policies is stable_ppo2.common.policies
    assert sys.modules["stable_baselines.common.vec_env.vec_normalize"] is stable_ppo2.common.vec_env.vec_normalize
    assert stable_baselines.PPO2 is stable_ppo2.PPO2
    # the modules keep their own identity
    assert stable_ppo2.common.policies.__spec__.name == "stable_ppo2.common.policies"
    assert stable_ppo2.common.policies.__name__ == "stable_ppo2.common.policies"
    from stable_baselines.common.policies import MlpPolicy

    assert MlpPolicy is stable_ppo2.common.policies.MlpPolicy
    assert stable_baselines.__version__ == "2.10.2"
    assert legacy.is_installed()
    legacy.install()  # idempotent
    assert sys.meta_path.count(legacy._finder) == 1  # pylint: disable=protected-access


def test_submodules_are_attributes_after_a_plain_import():
    import stable_baselines

    assert stable_baselines.common.vec_env.DummyVecEnv is DummyVecEnv
    assert stable_baselines.logger is importlib.import_module("stable_ppo2.logger")
    assert callable(stable_baselines.results_plotter.plot_results)


def test_pickles_naming_sb2_classes_resolve_to_ours():
    from stable_ppo2.common.policies import MlpPolicy
    from stable_ppo2.common.running_mean_std import RunningMeanStd
    from stable_ppo2.common.vec_env.vec_normalize import VecNormalize

    for module, name, expected in [("stable_baselines.common.policies", "MlpPolicy", MlpPolicy),
                                   ("stable_baselines.common.running_mean_std", "RunningMeanStd", RunningMeanStd),
                                   ("stable_baselines.common.vec_env.vec_normalize", "VecNormalize", VecNormalize)]:
        data = f"c{module}\n{name}\n.".encode()  # protocol-0 GLOBAL opcode: a class by reference
        assert pickle.loads(data) is expected
    rms = RunningMeanStd(shape=(2,))
    rms.update(np.ones((3, 2)))
    dumped = pickle.dumps(rms, protocol=0).replace(b"stable_ppo2.common.running_mean_std",
                                       b"stable_baselines.common.running_mean_std")
    restored = pickle.loads(dumped)
    assert isinstance(restored, RunningMeanStd) and np.allclose(restored.mean, rms.mean)


def test_unknown_submodule_names_what_is_missing():
    with pytest.raises(ModuleNotFoundError, match="stable_ppo2.common.cg"):
        importlib.import_module("stable_baselines.common.cg")


MODULE_TREE = {
    "stable_baselines": ["PPO2", "__version__"],
    "stable_baselines.ppo2": ["PPO2"],
    "stable_baselines.ppo2.ppo2": ["PPO2", "Runner", "swap_and_flatten"],
    "stable_baselines.common": ["make_vec_env", "set_global_seeds", "explained_variance", "BaseRLModel",
                                "ActorCriticRLModel", "SetVerbosity", "TensorboardWriter"],
    "stable_baselines.common.base_class": ["BaseRLModel", "ActorCriticRLModel", "SetVerbosity", "TensorboardWriter",
                                           "_UnvecWrapper"],
    "stable_baselines.common.noise": ["ActionNoise", "NormalActionNoise", "OrnsteinUhlenbeckActionNoise",
                                      "AdaptiveParamNoiseSpec"],
    "stable_baselines.common.policies": [
        "BasePolicy", "ActorCriticPolicy", "RecurrentActorCriticPolicy", "FeedForwardPolicy", "LstmPolicy",
        "MlpPolicy", "CnnPolicy", "MlpLstmPolicy", "CnnLstmPolicy", "MlpLnLstmPolicy", "CnnLnLstmPolicy",
        "nature_cnn", "mlp_extractor", "register_policy", "get_policy_from_name"],
    "stable_baselines.common.distributions": ["make_proba_dist_type", "ProbabilityDistribution",
                                              "ProbabilityDistributionType", "CategoricalProbabilityDistribution",
                                              "DiagGaussianProbabilityDistribution",
                                              "MultiCategoricalProbabilityDistribution",
                                              "BernoulliProbabilityDistribution"],
    "stable_baselines.common.tf_layers": ["ortho_init", "linear", "conv", "conv_to_fc", "lstm", "lnlstm", "mlp"],
    "stable_baselines.common.tf_util": ["batch_to_seq", "seq_to_batch", "is_image", "huber_loss", "mse",
                                        "total_episode_reward_logger"],
    "stable_baselines.common.input": ["observation_input"],
    "stable_baselines.common.callbacks": ["BaseCallback", "EventCallback", "CallbackList", "CheckpointCallback",
                                          "ConvertCallback", "EvalCallback", "StopTrainingOnRewardThreshold",
                                          "EveryNTimesteps"],
    "stable_baselines.common.vec_env": ["VecEnv", "VecEnvWrapper", "DummyVecEnv", "SubprocVecEnv", "VecNormalize",
                                        "VecFrameStack", "VecCheckNan", "VecVideoRecorder", "CloudpickleWrapper",
                                        "AlreadySteppingError", "NotSteppingError", "unwrap_vec_normalize",
                                        "sync_envs_normalization"],
    "stable_baselines.common.vec_env.base_vec_env": ["VecEnv", "VecEnvWrapper"],
    "stable_baselines.common.vec_env.dummy_vec_env": ["DummyVecEnv"],
    "stable_baselines.common.vec_env.subproc_vec_env": ["SubprocVecEnv"],
    "stable_baselines.common.vec_env.vec_normalize": ["VecNormalize"],
    "stable_baselines.common.vec_env.vec_frame_stack": ["VecFrameStack"],
    "stable_baselines.common.vec_env.vec_check_nan": ["VecCheckNan"],
    "stable_baselines.common.vec_env.vec_video_recorder": ["VecVideoRecorder"],
    "stable_baselines.common.running_mean_std": ["RunningMeanStd"],
    "stable_baselines.common.evaluation": ["evaluate_policy"],
    "stable_baselines.common.cmd_util": ["make_vec_env"],
    "stable_baselines.common.schedules": ["constfn", "LinearSchedule", "get_schedule_fn"],
    "stable_baselines.common.math_util": ["explained_variance", "safe_mean"],
    "stable_baselines.common.misc_util": ["set_global_seeds", "zipsame", "boolean_flag"],
    "stable_baselines.common.identity_env": ["IdentityEnv", "IdentityEnvBox", "IdentityEnvMultiDiscrete",
                                             "IdentityEnvMultiBinary"],
    "stable_baselines.common.save_util": [],
    "stable_baselines.common.env_checker": ["check_env"],
    "stable_baselines.common.tile_images": ["tile_images"],
    "stable_baselines.common.runners": ["AbstractEnvRunner"],
    "stable_baselines.bench": ["Monitor", "load_results", "get_monitor_files"],
    "stable_baselines.bench.monitor": ["Monitor", "load_results"],
    "stable_baselines.logger": ["configure", "logkv", "dumpkvs", "record_tabular", "dump_tabular"],
    "stable_baselines.gail": ["ExpertDataset", "DataLoader", "generate_expert_traj"],
    "stable_baselines.results_plotter": ["plot_results", "ts2xy", "window_func", "X_TIMESTEPS", "X_EPISODES",
                                         "X_WALLTIME", "load_results"],
}


if importlib.util.find_spec("cv2") is not None:  # the Atari wrappers need OpenCV
    MODULE_TREE["stable_baselines.common.atari_wrappers"] = [
        "make_atari", "wrap_deepmind", "NoopResetEnv", "FireResetEnv", "EpisodicLifeEnv", "MaxAndSkipEnv",
        "ClipRewardEnv", "WarpFrame", "ScaledFloatFrame", "FrameStack", "LazyFrames"]
    MODULE_TREE["stable_baselines.common.cmd_util"].append("make_atari_env")


@pytest.mark.parametrize("module_name", sorted(MODULE_TREE))
def test_sb2_module_tree(module_name):
    module = importlib.import_module(module_name)
    missing = [name for name in MODULE_TREE[module_name] if not hasattr(module, name)]
    assert not missing, f"{module_name} lacks {missing}"


# ------------------------------------------------------------------------------------------------ compatibility gym
def test_make_gives_the_old_api_and_maps_retired_ids():
    env = compat_gym.make("Pendulum-v0")
    assert isinstance(env, OldApiEnv) and isinstance(env, compat_gym.Env) and not isinstance(env, gymnasium.Env)
    assert env.spec.id == "Pendulum-v1" and env.spec.max_episode_steps == 200
    assert env.seed(3) == [3]
    obs = env.reset()
    assert isinstance(obs, np.ndarray) and obs.shape == (3,)
    env.seed(3)
    assert np.array_equal(env.reset(), obs)  # seed() seeds the next reset
    for step in range(200):
        result = env.step(env.action_space.sample())
        assert len(result) == 4
        obs, reward, done, info = result
        assert isinstance(done, bool)
        if done:
            break
    assert step == 199 and info["TimeLimit.truncated"] is True
    assert env.metadata["render.modes"] == env.metadata["render_modes"]
    assert env.unwrapped is env.env.unwrapped and env.unwrapped.__class__.__name__ == "PendulumEnv"
    assert isinstance(env.np_random, np.random.Generator)  # forwarded to the gymnasium env
    env.close()


@pytest.mark.parametrize("old_id, new_id", [("Pendulum-v0", "Pendulum-v1"), ("CartPole-v0", "CartPole-v0"),
                                            ("CartPole-v1", "CartPole-v1"), ("Acrobot-v1", "Acrobot-v1"),
                                            ("MountainCarContinuous-v0", "MountainCarContinuous-v0"),
                                            ("LunarLander-v2", "LunarLander-v3"),
                                            ("LunarLanderContinuous-v2", "LunarLanderContinuous-v3"),
                                            ("BipedalWalker-v2", "BipedalWalker-v3"),
                                            ("BipedalWalker-v3", "BipedalWalker-v3")])
def test_retired_ids(old_id, new_id):
    from stable_ppo2.legacy.gym.envs.registration import resolve_id

    assert resolve_id(old_id) == new_id
    assert old_id in gymnasium.registry  # retired ones are registered as aliases by install()
    env = compat_gym.make(old_id)
    assert env.spec.id == new_id
    env.close()


def test_terminated_episodes_are_not_marked_truncated():
    env = compat_gym.make("CartPole-v1")
    env.seed(0)
    env.reset()
    done, info = False, {}
    while not done:
        _, _, done, info = env.step(0)
    assert "TimeLimit.truncated" not in info


def test_render_rgb_array_and_human_without_display(monkeypatch):
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    env = compat_gym.make("CartPole-v1")
    env.reset()
    assert env.render(mode="rgb_array").shape == (400, 600, 3)
    assert env.render() is None  # 'human' without a display: nothing
    with pytest.raises(ValueError, match="cannot render in mode 'ansi'"):
        env.render(mode="ansi")
    env.close()


def test_frame_window_shows_frames(monkeypatch):
    monkeypatch.setenv("SDL_VIDEODRIVER", "dummy")
    from stable_ppo2.legacy.gym.core import FrameWindow

    window = FrameWindow("test")
    window.show(np.zeros((20, 30, 3), dtype=np.uint8))
    assert window.screen.get_size() == (30, 20)
    window.close()


def test_old_style_env_subclass_in_vec_envs_monitor_and_evaluation(tmp_path):
    from stable_ppo2.bench import Monitor, load_results
    from stable_ppo2.common.cmd_util import make_vec_env
    from stable_ppo2.common.evaluation import evaluate_policy

    env = OldCounterEnv()
    assert env.seed(5) == [5] and isinstance(env.np_random, np.random.RandomState)
    assert str(env) == "<OldCounterEnv instance>" and env.unwrapped is env
    vec_env = DummyVecEnv([lambda: Monitor(OldCounterEnv(), str(tmp_path / "0"))])
    vec_env.reset()
    for _ in range(5):
        _, rewards, dones, infos = vec_env.step(np.array([1]))
    assert dones[0] and infos[0]["episode"]["r"] == 5.0 and "terminal_observation" in infos[0]
    assert len(load_results(str(tmp_path))) == 1
    vec_env = make_vec_env(OldCounterEnv, n_envs=2, seed=0)
    assert vec_env.reset().shape == (2, 1)

    class AlwaysOne:
        def predict(self, obs, state=None, mask=None, deterministic=True):
            return 1, None

    assert evaluate_policy(AlwaysOne(), OldCounterEnv(), n_eval_episodes=2) == (5.0, 0.0)


def test_old_style_wrappers():
    class Double(compat_gym.ObservationWrapper):
        def observation(self, observation):
            return observation * 2

    class Flip(compat_gym.ActionWrapper):
        def action(self, action):
            return 1 - action

    class Tenfold(compat_gym.RewardWrapper):
        def reward(self, reward):
            return reward * 10

    env = Tenfold(Flip(Double(OldCounterEnv(length=3))))
    assert env.reset()[0] == 0.0
    obs, reward, done, info = env.step(0)
    assert obs[0] == 2.0 and reward == 10.0 and not done
    assert env.length == 3  # attributes are looked up down the chain
    assert isinstance(env.unwrapped, OldCounterEnv) and str(env).startswith("<Tenfold<Flip<Double")
    env.observation_space = spaces.Box(0, 200, (1,), np.float32)
    assert env.observation_space.high[0] == 200 and env.env.observation_space.high[0] == 100

    limited = compat_gym.wrappers.TimeLimit(OldCounterEnv(length=10), max_episode_steps=2)
    limited.reset()
    limited.step(1)
    _, _, done, info = limited.step(1)
    assert done and info["TimeLimit.truncated"] is True
    flat = compat_gym.wrappers.FlattenObservation(OldCounterEnv())
    assert flat.reset().shape == (1,)


def test_old_style_wrapper_around_a_gymnasium_env_presents_the_old_api():
    from stable_ppo2.bench import Monitor

    env = compat_gym.Wrapper(Monitor(gymnasium.make("CartPole-v1"), None))
    assert isinstance(env.env, OldApiEnv)
    assert env.reset().shape == (4,)
    assert len(env.step(0)) == 4
    assert env.get_total_steps() == 1  # Monitor's methods are reachable


def test_register_old_api_env_for_gym_and_gymnasium():
    compat_gym.register(id="LegacyCounter-v0", entry_point=OldCounterEnv, max_episode_steps=3,
                        kwargs={"length": 10}, tags={"ignored": True})
    env = compat_gym.make("LegacyCounter-v0")
    env.reset()
    done, steps = False, 0
    while not done:
        _, _, done, info = env.step(1)
        steps += 1
    assert steps == 3 and info["TimeLimit.truncated"] is True
    assert "LegacyCounter-v0" in compat_gym.envs.registry and compat_gym.envs.registry.env_specs is gymnasium.registry
    new_api = gymnasium.make("LegacyCounter-v0")  # gymnasium sees it through the adapter
    assert new_api.reset()[0][0] == 0.0


def test_seeding_gives_random_states():
    rng, seed = compat_gym.utils.seeding.np_random(42)
    assert seed == 42 and isinstance(rng, np.random.RandomState)
    assert rng.randint(10) == np.random.RandomState(42).randint(10)
    assert compat_gym.utils.seeding.np_random()[1] >= 0
    with pytest.raises(compat_gym.error.Error):
        compat_gym.utils.seeding.np_random(-1)


def test_import_gym_inside_the_fixture(legacy_gym):
    import gym.spaces.box
    from gym import spaces as gym_spaces

    assert legacy_gym is compat_gym and gym_spaces is gymnasium.spaces
    assert gym.spaces.box is importlib.import_module("gymnasium.spaces.box")
    assert importlib.import_module("gym.wrappers").TimeLimit is compat_gym.wrappers.TimeLimit
    assert importlib.import_module("gym.envs.registration").make is compat_gym.make
    assert gym_compat.make_env_from_id("CartPole-v1").__class__ is OldApiEnv


def test_env_ids_are_made_with_the_compatibility_gym(legacy_gym):
    from stable_ppo2 import PPO2
    from stable_ppo2.common.cmd_util import make_vec_env
    from stable_ppo2.common.gym_compat import LegacyEnvAdapter

    vec_env = make_vec_env("Pendulum-v0", n_envs=2, seed=0)
    assert vec_env.reset().shape == (2, 3)
    assert isinstance(vec_env.envs[0].unwrapped, LegacyEnvAdapter)
    model = PPO2("MlpPolicy", "Pendulum-v0", n_steps=32, nminibatches=1, noptepochs=1)
    model.learn(64)
    assert model.env.render(mode="rgb_array").shape == (500, 500, 3)
    assert model.num_timesteps == 64


def test_env_ids_are_gymnasiums_again_after_uninstall(legacy_gym):
    legacy.uninstall_gym()
    assert isinstance(gym_compat.make_env_from_id("CartPole-v1"), gymnasium.Env)
    assert "gym" not in sys.modules or not legacy._is_ours(sys.modules["gym"])  # pylint: disable=protected-access


def test_tf1_style_policy_subclasses_and_model_attributes():
    import tensorflow as tf
    from stable_baselines import PPO2
    from stable_baselines.common.policies import FeedForwardPolicy, LstmPolicy

    class ReluPolicy(FeedForwardPolicy):
        def __init__(self, sess, ob_space, ac_space, n_env, n_steps, n_batch, reuse=False, **kwargs):
            super(ReluPolicy, self).__init__(sess, ob_space, ac_space, n_env, n_steps, n_batch, reuse=reuse,
                                             net_arch=[16, dict(pi=[8], vf=[8])], act_fun=tf.nn.relu,
                                             feature_extraction="mlp", **kwargs)

    class SmallLstm(LstmPolicy):
        def __init__(self, sess, ob_space, ac_space, n_env, n_steps, n_batch, n_lstm=8, reuse=False, **kwargs):
            super(SmallLstm, self).__init__(sess, ob_space, ac_space, n_env, n_steps, n_batch, n_lstm, reuse,
                                            net_arch=[8, "lstm", dict(pi=[4], vf=[4])], feature_extraction="mlp",
                                            **kwargs)

    env = DummyVecEnv([lambda: OldCounterEnv()] * 2)
    model = PPO2(ReluPolicy, env, n_steps=16, nminibatches=2)
    model.learn(64)
    assert model.env is env and model.n_envs == 2 and model.policy is ReluPolicy and model.num_timesteps == 64
    assert isinstance(model.act_model, ReluPolicy) and model.act_model.act_fun is tf.nn.relu
    assert model.initial_state is None and model.sess is None and model.graph is None
    assert sorted(name for name in model.get_parameters() if name.endswith("w:0")) == [
        "model/pi/w:0", "model/pi_fc0/w:0", "model/q/w:0", "model/shared_fc0/w:0", "model/vf/w:0", "model/vf_fc0/w:0"]
    model = PPO2(SmallLstm, env, n_steps=8, nminibatches=2)
    model.learn(32)
    assert model.initial_state.shape == (2, 16) and isinstance(model.act_model, SmallLstm)


def test_docs_replacement_of_the_tf1_actor_critic_policy():
    """docs/legacy.md: SB2's raw-TF1 ActorCriticPolicy example rewritten with extract_features."""
    import tensorflow as tf
    from stable_baselines import PPO2
    from stable_baselines.common.policies import ActorCriticPolicy, nature_cnn
    from stable_baselines.common.tf_layers import linear

    class CustomPolicy(ActorCriticPolicy):
        def __init__(self, sess, ob_space, ac_space, n_env, n_steps, n_batch, reuse=False, **kwargs):
            super(CustomPolicy, self).__init__(sess, ob_space, ac_space, n_env, n_steps, n_batch, reuse=reuse,
                                               scale=True)
            self.cnn_kwargs = kwargs

        def extract_features(self, processed_obs):
            activ = tf.nn.relu
            extracted_features = nature_cnn(processed_obs, **self.cnn_kwargs)
            pi_h = extracted_features
            for i, layer_size in enumerate([128, 128, 128]):
                pi_h = activ(linear(pi_h, 'pi_fc' + str(i), layer_size))
            vf_h = extracted_features
            for i, layer_size in enumerate([32, 32]):
                vf_h = activ(linear(vf_h, 'vf_fc' + str(i), layer_size))
            return pi_h, vf_h

    class ImageEnv(OldCounterEnv):
        def __init__(self):
            super().__init__(length=4)
            self.observation_space = spaces.Box(low=0, high=255, shape=(36, 36, 1), dtype=np.uint8)

        def reset(self):
            super().reset()
            return np.zeros((36, 36, 1), np.uint8)

        def step(self, action):
            _, reward, done, info = super().step(action)
            return np.full((36, 36, 1), 10 * self.count, np.uint8), reward, done, info

    model = PPO2(CustomPolicy, DummyVecEnv([ImageEnv]), n_steps=16, nminibatches=1, noptepochs=1)
    model.learn(32)
    names = [name for name in model.get_parameters() if name.endswith("w:0")]
    assert names[:4] == ["model/c1/w:0", "model/c2/w:0", "model/c3/w:0", "model/fc1/w:0"]
    assert {"model/pi_fc2/w:0", "model/vf_fc1/w:0"} <= set(names)


# ------------------------------------------------------------------------------------------------ env checker
def test_check_env_old_and_new_api():
    from stable_ppo2.common.env_checker import check_env

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a well-made env gives no warning
        check_env(OldCounterEnv())
    check_env(gymnasium.make("CartPole-v1").unwrapped)

    class FiveValues(OldCounterEnv):
        def step(self, action):
            return np.array([1.0], np.float32), 0.0, False, False, {}

    with pytest.raises(AssertionError, match="four values"):
        check_env(FiveValues())

    class NewStyleReset(OldCounterEnv):
        def reset(self):
            return np.array([0.0], np.float32), {}

    with pytest.raises(AssertionError, match="tuple"):
        check_env(NewStyleReset())


def test_check_env_warnings():
    from stable_ppo2.common.env_checker import check_env

    class WideActions(OldCounterEnv):
        def __init__(self):
            super().__init__()
            self.action_space = spaces.Box(low=0.0, high=5.0, shape=(2,), dtype=np.float32)

    with pytest.warns(UserWarning, match="symmetric and normalized"):
        check_env(WideActions())

    class FloatImage(OldCounterEnv):
        def __init__(self):
            super().__init__()
            self.observation_space = spaces.Box(low=0.0, high=1.0, shape=(40, 40, 3), dtype=np.float32)

        def reset(self):
            return np.zeros((40, 40, 3), np.float32)

        def step(self, action):
            return np.zeros((40, 40, 3), np.float32), 0.0, False, {}

    with pytest.warns(UserWarning, match="dtype is not np.uint8"):
        check_env(FloatImage())


# ------------------------------------------------------------------------------------------------ other modules
def test_results_plotter(tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    from stable_ppo2 import results_plotter
    from stable_ppo2.bench import Monitor

    env = DummyVecEnv([lambda: Monitor(OldCounterEnv(length=3), str(tmp_path / "run"))])
    env.reset()
    for _ in range(3 * 120):
        env.step(np.array([1]))
    env.close()
    frame = results_plotter.load_results(str(tmp_path))
    x, y = results_plotter.ts2xy(frame, results_plotter.X_TIMESTEPS)
    assert x[:3].tolist() == [3, 6, 9] and y[0] == 3.0
    assert results_plotter.ts2xy(frame, results_plotter.X_EPISODES)[0][:3].tolist() == [0, 1, 2]
    assert results_plotter.ts2xy(frame, results_plotter.X_WALLTIME)[0][0] < 1.0
    x_mean, y_mean = results_plotter.window_func(np.arange(5), np.arange(5.0), 2, np.mean)
    assert x_mean.tolist() == [1, 2, 3, 4] and y_mean.tolist() == [0.5, 1.5, 2.5, 3.5]
    results_plotter.plot_results([str(tmp_path)], 300, results_plotter.X_TIMESTEPS, "counter")
    import matplotlib.pyplot as plt

    axes = plt.gcf().axes[0]
    assert axes.get_title() == "counter" and len(axes.lines) == 1  # the rolling mean, 100 episodes
    plt.close("all")


def test_tf_util_and_observation_input():
    from stable_ppo2.common import tf_util
    from stable_ppo2.common.input import observation_input

    batch = np.arange(12, dtype=np.float32).reshape(6, 2)  # 2 envs x 3 steps, env-major
    seq = tf_util.batch_to_seq(batch, 2, 3)
    assert np.asarray(seq).shape == (3, 2, 2) and np.array_equal(np.asarray(seq[0]), batch[[0, 3]])
    assert np.array_equal(np.asarray(tf_util.seq_to_batch(seq)), batch)
    assert np.array_equal(np.asarray(tf_util.seq_to_batch([np.asarray(s) for s in seq])), batch)
    assert np.allclose(tf_util.huber_loss(tf_util.tf.constant([0.5, 3.0])).numpy(), [0.125, 2.5])
    assert tf_util.intprod([2, 3, 4]) == 24 and tf_util.is_image(spaces.Box(0, 255, (8, 8, 3)))
    spec, processed = observation_input(spaces.Discrete(3), 5, name="Ob")
    assert spec.shape.as_list() == [5] and spec.dtype.name == "int32" and processed is None
    spec, processed = observation_input(spaces.Discrete(3), observations=[0, 2])
    assert np.array_equal(processed.numpy(), [[1, 0, 0], [0, 0, 1]])
    box = spaces.Box(0, 255, (2, 2, 1), np.uint8)
    _, processed = observation_input(box, scale=True, observations=np.full((1, 2, 2, 1), 255, np.uint8))
    assert np.allclose(processed.numpy(), 1.0)


def test_vec_video_recorder(tmp_path):
    from stable_ppo2.common.vec_env import VecVideoRecorder

    env = VecVideoRecorder(DummyVecEnv([lambda: compat_gym.make("CartPole-v1")]), str(tmp_path),
                           record_video_trigger=lambda step: step == 0, video_length=10, name_prefix="test")
    env.reset()
    for _ in range(15):
        env.step(np.array([0]))
    env.close()
    video = tmp_path / "test-step-0-to-step-10.mp4"
    assert video.stat().st_size > 1000 and (tmp_path / "test-step-0-to-step-10.meta.json").is_file()


def test_vec_env_human_render_without_display_does_nothing(monkeypatch):
    from stable_ppo2.common.vec_env.base_vec_env import VecEnv

    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    monkeypatch.setattr(VecEnv, "_warned_no_display", False)
    env = DummyVecEnv([lambda: compat_gym.make("CartPole-v1")] * 2)
    env.reset()
    with pytest.warns(UserWarning, match="no display"):
        assert env.render() is None
    assert env.render(mode="rgb_array").shape[-1] == 3


def test_env_classes_by_gyms_module_paths(legacy_gym):
    """``gym.envs.classic_control.CartPoleEnv`` & co: old-API classes that legacy code builds and subclasses."""
    from gym.envs.classic_control import CartPoleEnv, PendulumEnv
    from gym.wrappers.time_limit import TimeLimit

    class CartPolePositionsOnly(CartPoleEnv):  # as SB2's own tests subclass it
        def __init__(self):
            super().__init__()
            high = np.array([self.x_threshold * 2, self.theta_threshold_radians * 2])
            self.observation_space = spaces.Box(-high, high, dtype=np.float32)

        def reset(self):
            return super().reset()[[0, 2]]

        def step(self, action):
            obs, reward, done, info = super().step(action)
            return obs[[0, 2]], reward, done, info

    env = CartPolePositionsOnly()
    env.seed(0)
    first = env.reset()
    env.seed(0)
    np.testing.assert_array_equal(env.reset(), first)
    assert first.shape == (2,) and env.observation_space.shape == (2,)
    assert isinstance(env.unwrapped, gymnasium.envs.classic_control.CartPoleEnv)
    assert env.render(mode="rgb_array").shape == (400, 600, 3)
    steps = 0
    done = False
    while not done:
        steps += 1
        _, _, done, _ = env.step(0)
    assert steps < 100  # no time limit of its own; pushing left ends the episode
    limited = TimeLimit(CartPoleEnv(), max_episode_steps=3)
    limited.reset()
    assert [limited.step(i % 2)[2] for i in range(3)] == [False, False, True]
    pendulum = PendulumEnv(g=3.0)
    assert pendulum.reset().shape == (3,) and len(pendulum.step(np.zeros(1))) == 4 and pendulum.g == 3.0
    assert pickle.loads(pickle.dumps(CartPoleEnv)) is CartPoleEnv  # made once: pickles name it
    assert "CartPoleEnv" in dir(importlib.import_module("gym.envs.classic_control"))
    with pytest.raises(AttributeError, match="no env class"):
        importlib.import_module("gym.envs.classic_control").NoSuchEnv
    # old-API env subclasses train through the vec envs, Monitor and TimeLimit (as in SB2's test_lstm_train)
    from stable_ppo2.bench import Monitor

    vec_env = DummyVecEnv([lambda: Monitor(TimeLimit(CartPolePositionsOnly(), max_episode_steps=20), None)])
    assert vec_env.reset().shape == (1, 2)
    vec_env.close()


# ------------------------------------------------------------------------------------------------ runner
def _run_legacy(args, cwd, timeout=300, env=None):
    full_env = dict(os.environ, STABLE_PPO2_XLA="0", **(env or {}))
    full_env.pop("DISPLAY", None)
    full_env.pop("WAYLAND_DISPLAY", None)
    return subprocess.run([sys.executable, "-m", "stable_ppo2.legacy"] + list(args), cwd=str(cwd),
                          capture_output=True, text=True, timeout=timeout, env=full_env)


def test_runner_runs_a_script_as_main(tmp_path):
    folder = tmp_path / "scripts"
    folder.mkdir()
    (folder / "helper_module.py").write_text("VALUE = 7\n")
    (folder / "script.py").write_text(textwrap.dedent("""
        import sys
        import gym
        import helper_module
        import stable_baselines
        print("name", __name__, "argv", sys.argv[1:], "path0", sys.path[0] == __file__.rsplit("/", 1)[0])
        print("gym", gym.__name__, gym.__version__, "helper", helper_module.VALUE)
        env = gym.make("Pendulum-v0")
        print("reset", env.reset().shape, "step", len(env.step(env.action_space.sample())))
        sys.exit(3)
    """))
    result = _run_legacy([str(folder / "script.py"), "a", "--b"], tmp_path)
    assert result.returncode == 3, result.stderr[-3000:]
    assert "name __main__ argv ['a', '--b'] path0 True" in result.stdout
    assert "gym stable_ppo2.legacy.gym 0.21.0 helper 7" in result.stdout
    assert "reset (3,) step 4" in result.stdout


def test_runner_usage_errors(tmp_path):
    assert _run_legacy([], tmp_path).returncode == 2
    result = _run_legacy([str(tmp_path / "missing.py")], tmp_path)
    assert result.returncode == 2 and "no such script" in result.stderr
    (tmp_path / "uses_gym.py").write_text("import gym\n")
    result = _run_legacy(["--gym", "real", str(tmp_path / "uses_gym.py")], tmp_path)
    if importlib.util.find_spec("gym") is None:
        assert result.returncode == 1 and "No module named 'gym'" in result.stderr


CHILD_SCRIPT = """
import multiprocessing as mp
import gym
from stable_baselines.common.policies import MlpPolicy


def child(queue):
    import gym
    import stable_baselines.common.policies
    queue.put((gym.__name__, stable_baselines.common.policies.__name__))


if __name__ == "__main__":
    for method in ("forkserver", "spawn"):
        ctx = mp.get_context(method)
        queue = ctx.Queue()
        process = ctx.Process(target=child, args=(queue,))
        process.start()
        print(method, "parent", gym.__name__, "child", *queue.get(timeout=120))
        process.join()
"""


@pytest.mark.parametrize("real_gym", [False, True])
def test_child_processes_get_the_same_set_up(tmp_path, real_gym):
    """spawn/forkserver children import the script again: they get the alias, and the same gym as the parent."""
    (tmp_path / "children.py").write_text(CHILD_SCRIPT)
    env = {}
    if real_gym:  # a stand-in for an installed gym package: the runner must leave it alone, in children too
        (tmp_path / "site" / "gym").mkdir(parents=True)
        (tmp_path / "site" / "gym" / "__init__.py").write_text("")
        env["PYTHONPATH"] = os.pathsep.join([str(tmp_path / "site")] + [p for p in [os.environ.get("PYTHONPATH")] if p])
    result = _run_legacy([str(tmp_path / "children.py")], tmp_path, env=env)
    assert result.returncode == 0, result.stderr[-3000:]
    gym_name = "gym" if real_gym else "stable_ppo2.legacy.gym"
    for method in ("forkserver", "spawn"):
        assert f"{method} parent {gym_name} child {gym_name} stable_ppo2.common.policies" in result.stdout


def test_import_stable_baselines_without_the_runner(tmp_path):
    (tmp_path / "plain.py").write_text(textwrap.dedent("""
        import stable_ppo2.legacy
        import stable_baselines
        from stable_baselines.common.policies import MlpPolicy
        from stable_ppo2.common.policies import MlpPolicy as Ours
        assert MlpPolicy is Ours
        print("ok", stable_baselines.__version__)
    """))
    result = subprocess.run([sys.executable, str(tmp_path / "plain.py")], capture_output=True, text=True,
                            timeout=300, cwd=str(tmp_path))
    assert result.returncode == 0, result.stderr[-3000:]
    assert "ok 2.10.2" in result.stdout


# ------------------------------------------------------------------------------------------------ the legacy scripts
# What each script must print (or write) when it runs through; the scripts assert their own details too.
SCRIPTS = {
    "quickstart.py": ["one-liner trained for 1024 steps"],
    "save_load_evaluate.py": ["mean reward"],
    "multiprocessing_envs.py": ["obs batch (2, 4) after"],
    "monitor_training.py": ["model saved: True"],
    "vec_normalize.py": ["one episode reward"],
    "custom_policy.py": ["LSTM state shape: (1, 128)", "CNN layers: ['model/c1/b:0'"],
    "parameters.py": ["Iteration 1"],
    "recurrent_policy.py": ["initial_state (1, 512)"],
    "make_gif.py": ["frames 40 (400, 600, 3)"],
    "record_video.py": ["random-agent-CartPole-v1-step-0-to-step-100.mp4"],
    "callbacks.py": ["saved by the functional callback: True", "stopped early after"],
    "pretrain.py": [],
    "tensorboard_logging.py": ["runs: ['PPO2_1', 'PPO2_2', 'first_run_1', 'second_run_1', 'third_run_1']",
                               "logger files: ['log.txt', 'progress.csv', 'tb']"],
    "vec_envs.py": ["SubprocVecEnv episodes finished: 4", "stacked observation shape: (2, 16)"],
    "save_format.py": ["ppo2_cartpole_legacy.pkl loads with the same parameters: True"],
    "checking_nan.py": ["VecCheckNan: found"],
    "custom_env.py": ["after 1.00"],
    "atari.py": ["Pong observations: (4, 84, 84, 4)", "continual learning done after 256 steps"],
}
FILES = {
    "make_gif.py": ["lander_ppo2.gif"],
    "record_video.py": ["logs/videos/random-agent-CartPole-v1-step-0-to-step-100.mp4"],
    "pretrain.py": ["expert_cartpole.npz", "dummy_expert_cartpole.npz"],
    "monitor_training.py": ["tmp/learning_curve.png", "tmp/best_model.zip"],
    "vec_normalize.py": ["tmp/vec_normalize.pkl"],
    "callbacks.py": ["logs/best_model.zip", "logs/evaluations.npz"],
}
NEEDS = {
    "save_load_evaluate.py": ["Box2D"], "monitor_training.py": ["Box2D", "matplotlib"],
    "custom_policy.py": ["Box2D"], "make_gif.py": ["Box2D", "imageio"], "record_video.py": ["imageio_ffmpeg"],
    "atari.py": ["ale_py", "cv2"],
}


def test_every_legacy_script_is_tested():
    assert sorted(os.path.basename(path) for path in glob.glob(os.path.join(LEGACY_EXAMPLES, "*.py"))) == \
        sorted(SCRIPTS)


@pytest.fixture(scope="module")
def script_runs(request, tmp_path_factory):
    """Start the selected scripts at once (a few at a time; most of their time is TensorFlow's start-up)."""
    selected = [item.callspec.params["script"] for item in request.session.items
                if getattr(item, "originalname", None) == "test_legacy_script" and hasattr(item, "callspec")]
    runnable = [script for script in selected
                if all(importlib.util.find_spec(module) is not None for module in NEEDS.get(script, []))]
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=max(2, min(4, os.cpu_count() or 2)))
    futures = {}
    for script in runnable:
        cwd = tmp_path_factory.mktemp(script[:-3])
        futures[script] = (cwd, pool.submit(_run_legacy, [os.path.join(LEGACY_EXAMPLES, script)], cwd, 600))
    yield futures
    pool.shutdown(wait=True)


@pytest.mark.parametrize("script", sorted(SCRIPTS))
def test_legacy_script(script, script_runs):
    missing = [module for module in NEEDS.get(script, []) if importlib.util.find_spec(module) is None]
    assert not missing, f"{script} needs {', '.join(missing)}: pip install -e '.[tests]'"
    cwd, future = script_runs[script]
    result = future.result()
    assert result.returncode == 0, f"{script} failed:\n{result.stdout[-2000:]}\n{result.stderr[-5000:]}"
    for expected in SCRIPTS[script]:
        assert expected in result.stdout, f"{script}: {expected!r} not in\n{result.stdout[-3000:]}"
    for path in FILES.get(script, []):
        assert (cwd / path).is_file(), f"{script} did not write {path}"
