"""SB2's other algorithms under the legacy alias: importable and subclassable placeholders that fail on use,
and the real shared pieces legacy programs reach (action noises, ``_UnvecWrapper``)."""
import importlib
import os
import subprocess
import sys
import textwrap

import gymnasium
import numpy as np
import pytest

import stable_ppo2.legacy as legacy
from stable_ppo2.common.vec_env import DummyVecEnv
from stable_ppo2.legacy.unported import UNPORTED_MODULES, UnportedAlgorithmError


@pytest.mark.parametrize("module", sorted(UNPORTED_MODULES))
def test_every_module_of_the_table_imports_with_its_names(module):
    imported = importlib.import_module(f"stable_baselines.{module}")
    for item in UNPORTED_MODULES[module].split():
        name = item.split("=", 1)[0].split("(", 1)[0].rsplit(".", 1)[-1]
        assert hasattr(imported, name), f"stable_baselines.{module} lacks {name}"


@pytest.mark.parametrize("name", sorted(legacy.RETIRED_ALGORITHMS))
def test_algorithms_import_and_fail_with_their_name_on_use(name):
    namespace = {}
    exec(f"from stable_baselines import {name}", namespace)  # pylint: disable=exec-used
    algorithm = namespace[name]
    assert isinstance(algorithm, type) and algorithm.__name__ == name
    with pytest.raises(UnportedAlgorithmError, match=f"SB2's {name}.*PPO2 only|PPO2 only.*SB2's {name}"):
        algorithm("MlpPolicy", "CartPole-v1")
    with pytest.raises(UnportedAlgorithmError, match=f"{name}.load"):
        algorithm.load("model.zip")
    assert issubclass(UnportedAlgorithmError, NotImplementedError)


def test_policy_classes_subclass_register_and_fail_on_construction():
    from stable_baselines.common.policies import BasePolicy, get_policy_from_name, register_policy
    from stable_baselines.deepq.policies import FeedForwardPolicy as DQNFeedForward
    from stable_baselines.sac.policies import FeedForwardPolicy as SACFeedForward

    class LegacyDQNPolicy(DQNFeedForward):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, layers=[64], layer_norm=True, feature_extraction="mlp", **kwargs)

    class LegacySACPolicy(SACFeedForward):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, layers=[256, 256], feature_extraction="mlp", **kwargs)

    register_policy("LegacyDQNPolicy", LegacyDQNPolicy)
    register_policy("LegacySACPolicy", LegacySACPolicy)
    import stable_baselines.deepq.policies as deepq_policies

    assert get_policy_from_name(deepq_policies.DQNPolicy, "LegacyDQNPolicy") is LegacyDQNPolicy
    assert issubclass(LegacySACPolicy, BasePolicy)
    with pytest.raises(UnportedAlgorithmError, match=r"LegacyDQNPolicy \(a subclass of stable_baselines.deepq.policies"
                                                     r".FeedForwardPolicy\) \(SB2's DQN\)"):
        LegacyDQNPolicy(None, None, None, 1, 1, 1)
    with pytest.raises(UnportedAlgorithmError, match="SAC"):
        LegacySACPolicy()


def test_functions_fail_when_called_and_reexports_are_one_object():
    import stable_baselines.deepq as deepq
    import stable_baselines.td3 as td3
    from stable_baselines.common.noise import NormalActionNoise
    from stable_baselines.sac.policies import LOG_STD_MIN

    assert deepq.MlpPolicy is importlib.import_module("stable_baselines.deepq.policies").MlpPolicy
    assert deepq.ReplayBuffer is importlib.import_module("stable_baselines.common.buffers").ReplayBuffer
    assert td3.NormalActionNoise is NormalActionNoise and LOG_STD_MIN == -20
    with pytest.raises(UnportedAlgorithmError, match="stable_baselines.deepq.build_graph.build_act .*DQN"):
        deepq.build_act()
    with pytest.raises(UnportedAlgorithmError, match="DQN"):
        deepq.wrap_atari_dqn(None)


def test_gail_gets_the_algorithm_beside_the_dataset_and_scripts_stay_missing():
    from stable_baselines.gail import GAIL, ExpertDataset  # noqa: F401

    with pytest.raises(UnportedAlgorithmError, match="GAIL"):
        GAIL("MlpPolicy", "Pendulum-v0", None)
    with pytest.raises(ImportError, match="PPO2 only.*SB2's A2C"):
        importlib.import_module("stable_baselines.a2c.run_atari")
    with pytest.raises(ModuleNotFoundError, match="stable_ppo2.common.mpi_adam"):
        importlib.import_module("stable_baselines.common.mpi_adam")


# ------------------------------------------------------------------------------------------- real shared pieces
def test_normal_action_noise():
    from stable_baselines.common.noise import NormalActionNoise

    np.random.seed(0)
    noise = NormalActionNoise(mean=np.array([1.0, -1.0]), sigma=np.array([0.1, 2.0]))
    samples = np.array([noise() for _ in range(4000)])
    np.testing.assert_allclose(samples.mean(axis=0), [1.0, -1.0], atol=0.1)
    np.testing.assert_allclose(samples.std(axis=0), [0.1, 2.0], rtol=0.05)
    noise.reset()
    assert "NormalActionNoise" in repr(noise)


def test_ornstein_uhlenbeck_noise_returns_to_its_mean():
    from stable_baselines.common.noise import ActionNoise, OrnsteinUhlenbeckActionNoise

    noise = OrnsteinUhlenbeckActionNoise(mean=np.zeros(2), sigma=np.zeros(2), theta=0.5, dt=0.1,
                                         initial_noise=np.array([1.0, -2.0]))
    assert isinstance(noise, ActionNoise)
    first = noise()
    np.testing.assert_allclose(first, [0.95, -1.9])  # x + theta * (0 - x) * dt, no random part
    for _ in range(200):
        last = noise()
    assert np.all(np.abs(last) < 1e-3)
    noise.reset()
    np.testing.assert_allclose(noise(), first)
    np.random.seed(1)
    noisy = OrnsteinUhlenbeckActionNoise(mean=np.ones(3), sigma=np.full(3, 0.2))
    assert noisy().shape == (3,)


def test_adaptive_param_noise_spec():
    from stable_baselines.common.noise import AdaptiveParamNoiseSpec

    spec = AdaptiveParamNoiseSpec(initial_stddev=0.2, desired_action_stddev=0.1, adoption_coefficient=2.0)
    spec.adapt(0.5)
    assert spec.get_stats() == {"param_noise_stddev": 0.1}
    spec.adapt(0.01)
    assert spec.current_stddev == 0.2


def test_unvec_wrapper_presents_one_env():
    from stable_baselines.common.base_class import _UnvecWrapper

    env = _UnvecWrapper(DummyVecEnv([lambda: gymnasium.make("CartPole-v1")]))
    env.seed(3)
    obs = env.reset()
    assert obs.shape == (4,)
    obs, reward, done, info = env.step(0)
    assert obs.shape == (4,) and isinstance(reward, float) and isinstance(done, bool) and isinstance(info, dict)
    assert env.num_envs == 1 and env.envs[0].spec.id == "CartPole-v1"  # other attributes are the VecEnv's
    assert _UnvecWrapper.unvec_obs({"a": np.zeros((1, 2))})["a"].shape == (2,)
    env.close()
    with pytest.raises(ValueError, match="one env"):
        _UnvecWrapper(DummyVecEnv([lambda: gymnasium.make("CartPole-v1")] * 2))


# ------------------------------------------------------------------------------------------- a legacy program
ZOO_STYLE_PROGRAM = """
import gym
import numpy as np
from stable_baselines.deepq.policies import FeedForwardPolicy
from stable_baselines.common.policies import FeedForwardPolicy as BasePolicy
from stable_baselines.common.policies import register_policy
from stable_baselines.sac.policies import FeedForwardPolicy as SACPolicy
from stable_baselines import PPO2, A2C, ACER, ACKTR, DQN, HER, SAC, TD3
from stable_baselines.common.base_class import _UnvecWrapper
from stable_baselines.common.noise import NormalActionNoise, OrnsteinUhlenbeckActionNoise
from stable_baselines.common.evaluation import evaluate_policy
from stable_baselines.common.vec_env import DummyVecEnv
from stable_baselines.bench import Monitor
from stable_baselines.her import HERGoalEnvWrapper

ALGOS = {"a2c": A2C, "acer": ACER, "acktr": ACKTR, "dqn": DQN, "her": HER, "sac": SAC, "ppo2": PPO2, "td3": TD3}


class CustomDQNPolicy(FeedForwardPolicy):
    def __init__(self, *args, **kwargs):
        super(CustomDQNPolicy, self).__init__(*args, **kwargs, layers=[64], layer_norm=True, feature_extraction="mlp")


class CustomMlpPolicy(BasePolicy):
    def __init__(self, *args, **kwargs):
        super(CustomMlpPolicy, self).__init__(*args, **kwargs, layers=[16], feature_extraction="mlp")


class CustomSACPolicy(SACPolicy):
    def __init__(self, *args, **kwargs):
        super(CustomSACPolicy, self).__init__(*args, **kwargs, layers=[256, 256], feature_extraction="mlp")


register_policy("CustomSACPolicy", CustomSACPolicy)
register_policy("CustomDQNPolicy", CustomDQNPolicy)
register_policy("CustomMlpPolicy", CustomMlpPolicy)

if __name__ == "__main__":
    env = DummyVecEnv([lambda: Monitor(gym.make("CartPole-v1"), None)])
    model = ALGOS["ppo2"]("CustomMlpPolicy", env, n_steps=64, nminibatches=2, noptepochs=2, seed=0)
    model.learn(total_timesteps=512)
    mean_reward, std_reward = evaluate_policy(model, env, n_eval_episodes=3)
    print("ppo2 trained", model.num_timesteps, "evaluated", np.isfinite(mean_reward) and mean_reward >= 8)
    try:
        ALGOS["a2c"]("MlpPolicy", env)
    except NotImplementedError as error:
        print("a2c:", error)
"""


def test_a_zoo_style_program_trains_ppo2_and_a2c_fails_clearly(tmp_path):
    (tmp_path / "train.py").write_text(textwrap.dedent(ZOO_STYLE_PROGRAM))
    env = dict(os.environ, STABLE_PPO2_XLA="0")
    result = subprocess.run([sys.executable, "-m", "stable_ppo2.legacy", "train.py"], cwd=str(tmp_path),
                            capture_output=True, text=True, timeout=600, env=env)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "ppo2 trained 512 evaluated True" in result.stdout
    assert "a2c: stable_ppo2 ports PPO2 only: stable_baselines.a2c.a2c.A2C (SB2's A2C)" in result.stdout
