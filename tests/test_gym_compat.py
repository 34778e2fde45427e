"""to_gymnasium / LegacyEnvAdapter / convert_space: old-gym-API envs seen through the gymnasium API."""
import pickle
from collections import OrderedDict

import gymnasium as gym
import numpy as np
import pytest
from gymnasium import spaces

from stable_ppo2.common.gym_compat import LegacyEnvAdapter, convert_space, render_env, to_gymnasium


class OldEnv:
    """Old API: reset() -> obs, step() -> (obs, reward, done, info), seed(), render(mode)."""

    metadata = {"render.modes": ["human", "rgb_array"]}

    def __init__(self):
        self.observation_space = spaces.Discrete(5)
        self.action_space = spaces.Discrete(2)
        self.seeded_with = None
        self.closed = False
        self.counter = 0
        self.next_done = False
        self.next_info = {}

    def seed(self, seed=None):
        self.seeded_with = seed
        return [seed]

    def reset(self):
        self.counter = 0
        return 0

    def step(self, action):
        self.counter += 1
        return self.counter, 0.5, self.next_done, dict(self.next_info)

    def render(self, mode="human"):
        return f"rendered {mode}"

    def close(self):
        self.closed = True

    def extra(self, value):
        return value * 2


class DuckNewApiEnv:
    """New API without the gymnasium base class: reset(seed=...) -> (obs, info), step() -> 5-tuple."""

    def __init__(self):
        self.observation_space = spaces.Box(low=-1.0, high=1.0, shape=(2,), dtype=np.float32)
        self.action_space = spaces.Discrete(2)
        self.render_mode = "rgb_array"
        self.reset_seeds = []

    def reset(self, seed=None, options=None):
        self.reset_seeds.append(seed)
        return np.zeros(2, dtype=np.float32), {"reset_info": True}

    def step(self, action):
        return np.ones(2, dtype=np.float32), 1.0, False, True, {"step_info": 1}

    def render(self):
        return np.zeros((2, 2, 3), dtype=np.uint8)


def test_gymnasium_env_is_returned_unchanged():
    env = gym.make("CartPole-v1")
    assert to_gymnasium(env) is env


def test_old_api_reset_step_and_seed():
    old_env = OldEnv()
    env = to_gymnasium(old_env)
    assert isinstance(env, gym.Env) and isinstance(env, LegacyEnvAdapter)
    assert env.reset() == (0, {})
    assert old_env.seeded_with is None
    assert env.reset(seed=3) == (0, {})
    assert old_env.seeded_with == 3

    assert env.step(1) == (1, 0.5, False, False, {})
    old_env.next_done = True
    assert env.step(1) == (2, 0.5, True, False, {})
    old_env.next_info = {"TimeLimit.truncated": True}
    obs, reward, terminated, truncated, info = env.step(1)
    assert (terminated, truncated) == (False, True)
    assert info == {"TimeLimit.truncated": True}
    # A truncation flag without done does not end the episode.
    old_env.next_done = False
    assert env.step(1)[2:4] == (False, False)


def test_old_api_forwarding():
    old_env = OldEnv()
    env = to_gymnasium(old_env)
    assert env.counter == 0 and env.extra(4) == 8
    assert env.metadata is old_env.metadata
    assert env.get_wrapper_attr("extra")(1) == 2
    env.set_wrapper_attr("counter", 7)
    assert old_env.counter == 7
    env.set_wrapper_attr("new_attribute", "x")
    assert old_env.new_attribute == "x"
    assert env.render(mode="rgb_array") == "rendered rgb_array"
    assert render_env(env, "human") == "rendered human"
    assert render_env(gym.wrappers.TimeLimit(env, 10), "rgb_array") == "rendered rgb_array"
    env.close()
    assert old_env.closed
    with pytest.raises(AttributeError):
        _ = env.no_such_attribute


def test_duck_typed_new_api_env():
    duck = DuckNewApiEnv()
    env = to_gymnasium(duck)
    assert isinstance(env, LegacyEnvAdapter)
    obs, info = env.reset(seed=5)
    np.testing.assert_array_equal(obs, [0, 0])
    assert info == {"reset_info": True}
    assert duck.reset_seeds == [5]  # no seed() method: the seed goes to reset
    assert env.step(0)[2:] == (False, True, {"step_info": 1})
    assert env.render_mode == "rgb_array"
    assert render_env(env, "rgb_array").shape == (2, 2, 3)
    with pytest.raises(ValueError, match="render_mode='rgb_array'"):
        render_env(env, "human")


def test_pair_observation_is_not_taken_for_reset_info():
    """An old-API env whose observation is a (x, dict) pair keeps it whole."""
    old_env = OldEnv()
    old_env.observation_space = spaces.Tuple((spaces.Discrete(2), spaces.Dict({"a": spaces.Discrete(2)})))
    old_env.reset = lambda: (1, {"a": 0})
    env = to_gymnasium(old_env)
    assert env.reset() == ((1, {"a": 0}), {})


def test_adapter_pickles():
    env = pickle.loads(pickle.dumps(to_gymnasium(OldEnv())))
    assert isinstance(env, LegacyEnvAdapter) and env.extra(2) == 4


# Stand-ins for legacy `gym.spaces` classes: not gymnasium spaces, recognised by class name.
def _legacy_space_class(name, **attrs):
    return type(name, (), {"__module__": "gym.spaces", **attrs})


def test_convert_space():
    box = _legacy_space_class("Box")()
    box.low, box.high, box.dtype = np.array([-1.0, 0.0], np.float32), np.array([1.0, 2.0], np.float32), np.float32
    converted = convert_space(box)
    assert converted == spaces.Box(low=np.array([-1.0, 0.0], np.float32), high=np.array([1.0, 2.0], np.float32))

    discrete = _legacy_space_class("Discrete")()
    discrete.n = 4
    assert convert_space(discrete) == spaces.Discrete(4)

    multi_discrete = _legacy_space_class("MultiDiscrete")()
    multi_discrete.nvec, multi_discrete.dtype = np.array([2, 3]), np.int64
    assert convert_space(multi_discrete) == spaces.MultiDiscrete([2, 3])

    multi_binary = _legacy_space_class("MultiBinary")()
    multi_binary.n = 3
    assert convert_space(multi_binary) == spaces.MultiBinary(3)

    tuple_space = _legacy_space_class("Tuple")()
    tuple_space.spaces = (discrete, multi_binary)
    assert convert_space(tuple_space) == spaces.Tuple((spaces.Discrete(4), spaces.MultiBinary(3)))

    dict_space = _legacy_space_class("Dict")()
    dict_space.spaces = OrderedDict([("b", discrete), ("a", box)])
    converted = convert_space(dict_space)
    assert isinstance(converted, spaces.Dict) and list(converted.spaces) == ["b", "a"]

    gymnasium_space = spaces.Discrete(2)
    assert convert_space(gymnasium_space) is gymnasium_space
    with pytest.raises(TypeError, match="Cannot convert space"):
        convert_space(_legacy_space_class("Graph")())


def test_legacy_spaces_of_an_old_env_are_converted():
    old_env = OldEnv()
    discrete = _legacy_space_class("Discrete")()
    discrete.n = 3
    old_env.observation_space = old_env.action_space = discrete
    env = to_gymnasium(old_env)
    assert env.observation_space == spaces.Discrete(3) and env.action_space == spaces.Discrete(3)


def test_legacy_spec_is_converted():
    old_env = OldEnv()
    old_env.spec = type("EnvSpec", (), {"id": "Old-v3", "max_episode_steps": 50, "reward_threshold": None})()
    env = to_gymnasium(old_env)
    assert env.spec.id == "Old-v3" and env.spec.max_episode_steps == 50
    assert gym.wrappers.TimeLimit(env, 10).spec.id == "Old-v3"  # gymnasium wrappers can use it
