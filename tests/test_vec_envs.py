"""DummyVecEnv / SubprocVecEnv and the wrappers: SB2's test_vec_envs intent on gymnasium envs."""
import multiprocessing as mp
from collections import OrderedDict

import gymnasium as gym
import numpy as np
import pytest
from gymnasium import spaces

from stable_ppo2.common.vec_env import (
    AlreadySteppingError,
    DummyVecEnv,
    NotSteppingError,
    SubprocVecEnv,
    VecEnv,
    VecFrameStack,
    VecNormalize,
)
from stable_ppo2.common.vec_env.base_vec_env import tile_images
from stable_ppo2.common.vec_env.subproc_vec_env import RemoteTraceback

N_ENVS = 3
VEC_ENV_CLASSES = [DummyVecEnv, SubprocVecEnv]
VEC_ENV_WRAPPERS = [None, VecNormalize, VecFrameStack]


class CustomGymEnv(gym.Env):
    """Observations sampled from ``space``; episodes of ``ep_length`` steps that terminate."""

    metadata = {"render_modes": ["rgb_array"]}

    def __init__(self, space: spaces.Space, ep_length: int = 4) -> None:
        self.action_space = space
        self.observation_space = space
        self.current_step = 0
        self.ep_length = ep_length
        self.render_mode = "rgb_array"

    def reset(self, *, seed=None, options=None):
        if seed is not None:
            self.observation_space.seed(seed)
        self.current_step = 0
        self.state = self.observation_space.sample()
        return self.state, {}

    def step(self, action):
        self.state = self.observation_space.sample()
        self.current_step += 1
        return self.state, 1, self.current_step >= self.ep_length, False, {}

    def render(self):
        return np.zeros((4, 4, 3), dtype=np.uint8)

    @staticmethod
    def custom_method(dim_0: int = 1, dim_1: int = 1) -> np.ndarray:
        return np.ones((dim_0, dim_1))


class StepCountEnv(gym.Env):
    """Observation = steps taken in the episode; terminates after ``max_steps`` (or is truncated by a TimeLimit)."""

    def __init__(self, max_steps: int = 5, terminates: bool = True) -> None:
        self.observation_space = spaces.Box(low=0, high=100, shape=(1,), dtype=np.float32)
        self.action_space = spaces.Discrete(2)
        self.max_steps = max_steps
        self.terminates = terminates
        self.n_steps = 0

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.n_steps = 0
        return np.array([0.0], dtype=np.float32), {}

    def step(self, action):
        self.n_steps += 1
        terminated = self.terminates and self.n_steps >= self.max_steps
        return np.array([self.n_steps], dtype=np.float32), float(self.n_steps), terminated, False, {}


class FailingEnv(StepCountEnv):
    """Raises from ``step`` when the action is 1."""

    def step(self, action):
        if action == 1:
            raise ValueError("step failed on purpose")
        return super().step(action)


def _failing_factory():
    raise RuntimeError("env construction failed on purpose")


def _make_vec_env(vec_env_class, env_fns, **kwargs):
    if vec_env_class is SubprocVecEnv:
        kwargs.setdefault("start_method", "forkserver" if "forkserver" in mp.get_all_start_methods() else "spawn")
    return vec_env_class(env_fns, **kwargs)


@pytest.mark.parametrize("vec_env_class", VEC_ENV_CLASSES)
@pytest.mark.parametrize("vec_env_wrapper", VEC_ENV_WRAPPERS)
def test_vecenv_custom_calls(vec_env_class, vec_env_wrapper):
    """seed, reset, render, env_method/get_attr/set_attr with indices through the wrappers."""
    def make_env():
        return CustomGymEnv(spaces.Box(low=0.0, high=1.0, shape=(2,), dtype=np.float32))

    vec_env = _make_vec_env(vec_env_class, [make_env for _ in range(N_ENVS)])
    if vec_env_wrapper is VecFrameStack:
        vec_env = VecFrameStack(vec_env, n_stack=2)
    elif vec_env_wrapper is not None:
        vec_env = vec_env_wrapper(vec_env)

    assert vec_env.seed(0) == [0, 1, 2]
    obs = vec_env.reset()
    expected_dim = 4 if vec_env_wrapper is VecFrameStack else 2
    assert obs.shape == (N_ENVS, expected_dim)
    assert vec_env.render(mode="rgb_array").shape == (8, 8, 3)  # 3 images of 4x4 tiled in a 2x2 grid

    env_method_results = vec_env.env_method("custom_method", 1, indices=None, dim_1=2)
    assert all(np.array_equal(res, np.ones((1, 2))) for res in env_method_results)
    env_method_results = vec_env.env_method("custom_method", 2, indices=[0, 2], dim_1=3)
    assert len(env_method_results) == 2
    assert all(np.array_equal(res, np.ones((2, 3))) for res in env_method_results)
    env_method_results = vec_env.env_method("custom_method", 2, indices=-1, dim_1=3)
    assert len(env_method_results) == 1 and np.array_equal(env_method_results[0], np.ones((2, 3)))

    assert vec_env.get_attr("current_step") == [0] * N_ENVS
    vec_env.set_attr("current_step", 12)
    assert vec_env.get_attr("current_step") == [12] * N_ENVS
    vec_env.set_attr("current_step", 42, indices=[0, 1])
    assert vec_env.get_attr("current_step") == [42, 42, 12]
    assert vec_env.get_attr("current_step", indices=[0, 2]) == [42, 12]
    vec_env.set_attr("current_step", 7, indices=-1)
    assert vec_env.get_attr("current_step", indices=-1) == [7]
    assert vec_env.get_attr("current_step", indices=2) == [7]
    vec_env.close()


@pytest.mark.parametrize("vec_env_class", VEC_ENV_CLASSES)
def test_terminal_observation_and_auto_reset(vec_env_class):
    max_steps = 3
    vec_env = _make_vec_env(vec_env_class, [lambda: StepCountEnv(max_steps) for _ in range(2)])
    obs = vec_env.reset()
    assert np.array_equal(obs, np.zeros((2, 1)))
    for step in range(1, 2 * max_steps + 1):
        obs, rews, dones, infos = vec_env.step(np.zeros(2, dtype=np.int64))
        episode_step = (step - 1) % max_steps + 1
        np.testing.assert_array_equal(rews, [episode_step] * 2)
        if episode_step == max_steps:
            assert dones.all()
            for info in infos:
                np.testing.assert_array_equal(info["terminal_observation"], [max_steps])
                assert info["TimeLimit.truncated"] is False
            np.testing.assert_array_equal(obs, np.zeros((2, 1)))  # first observation of the next episode
        else:
            assert not dones.any()
            assert all("terminal_observation" not in info for info in infos)
            np.testing.assert_array_equal(obs, [[episode_step]] * 2)
    vec_env.close()


@pytest.mark.parametrize(
    "terminates, expected_truncated",
    [(False, True), (True, False)],
    ids=["time_limit_only", "terminated_at_time_limit"],
)
def test_time_limit_truncated(terminates, expected_truncated):
    """Only a time-limit cut sets TimeLimit.truncated; a termination on the same step does not."""
    vec_env = DummyVecEnv([lambda: gym.wrappers.TimeLimit(StepCountEnv(4, terminates=terminates), max_episode_steps=4)])
    vec_env.reset()
    for _ in range(3):
        _, _, dones, _ = vec_env.step([0])
        assert not dones[0]
    _, _, dones, infos = vec_env.step([0])
    assert dones[0]
    assert infos[0]["TimeLimit.truncated"] is expected_truncated
    np.testing.assert_array_equal(infos[0]["terminal_observation"], [4])


@pytest.mark.parametrize("vec_env_class", VEC_ENV_CLASSES)
def test_rewards_dones_infos_types(vec_env_class):
    """SB2 quirk 13: DummyVecEnv float32 rewards and a list of infos; SubprocVecEnv keeps float64 and a tuple."""
    vec_env = _make_vec_env(vec_env_class, [lambda: StepCountEnv(2) for _ in range(2)])
    vec_env.reset()
    _, rews, dones, infos = vec_env.step([0, 0])
    assert dones.dtype == bool
    if vec_env_class is DummyVecEnv:
        assert rews.dtype == np.float32 and isinstance(infos, list)
    else:
        assert rews.dtype == np.float64 and isinstance(infos, tuple)
    vec_env.close()


SPACES = {
    "discrete": spaces.Discrete(2),
    "multidiscrete": spaces.MultiDiscrete([2, 3]),
    "multibinary": spaces.MultiBinary(3),
    "continuous": spaces.Box(low=0.0, high=1.0, shape=(2,), dtype=np.float32),
    "image": spaces.Box(low=0, high=255, shape=(4, 5, 3), dtype=np.uint8),
}


def _check_obs(obs, space, n_envs):
    assert isinstance(obs, np.ndarray)
    assert obs.shape == (n_envs,) + space.shape
    assert obs.dtype == space.dtype
    assert all(space.contains(item) for item in obs)


@pytest.mark.parametrize("vec_env_class", VEC_ENV_CLASSES)
@pytest.mark.parametrize("space", SPACES.values(), ids=SPACES.keys())
def test_vecenv_single_space(vec_env_class, space):
    vec_env = _make_vec_env(vec_env_class, [lambda: CustomGymEnv(space) for _ in range(2)])
    vec_env.seed(3)
    _check_obs(vec_env.reset(), space, 2)
    for _ in range(5):
        obs = vec_env.step([space.sample() for _ in range(2)])[0]
        _check_obs(obs, space, 2)
    vec_env.close()


@pytest.mark.parametrize("vec_env_class", VEC_ENV_CLASSES)
def test_vecenv_dict_and_tuple_spaces(vec_env_class):
    dict_space = spaces.Dict(
        OrderedDict([("img", SPACES["image"]), ("vec", SPACES["continuous"]), ("d", spaces.Discrete(3))])
    )
    tuple_space = spaces.Tuple((SPACES["continuous"], spaces.Discrete(3)))
    for space in (dict_space, tuple_space):
        vec_env = _make_vec_env(vec_env_class, [lambda: CustomGymEnv(space) for _ in range(2)])
        for obs in (vec_env.reset(), vec_env.step([space.sample() for _ in range(2)])[0]):
            if space is dict_space:
                assert isinstance(obs, OrderedDict) and list(obs) == list(space.spaces)
                for key, subspace in space.spaces.items():
                    _check_obs(obs[key], subspace, 2)
            else:
                assert isinstance(obs, tuple) and len(obs) == 2
                for sub_obs, subspace in zip(obs, space.spaces):
                    _check_obs(sub_obs, subspace, 2)
        vec_env.close()


def _rollout(vec_env, seed, n_steps=60):
    vec_env.seed(seed)
    observations = [vec_env.reset()]
    for step in range(n_steps):
        observations.append(vec_env.step(np.full(vec_env.num_envs, step % 2))[0])
    return np.array(observations)


def test_seeding_determinism():
    def make_vec_env():
        return DummyVecEnv([lambda: gym.make("CartPole-v1") for _ in range(2)])

    vec_env = make_vec_env()
    first = _rollout(vec_env, seed=0)
    np.testing.assert_array_equal(first, _rollout(make_vec_env(), seed=0))
    np.testing.assert_array_equal(first, _rollout(vec_env, seed=0))  # reseeding the same VecEnv repeats it
    assert not np.array_equal(first, _rollout(vec_env, seed=1))
    assert not np.array_equal(first[:, 0], first[:, 1])  # env i gets seed + i
    # Quirk 14 fixed: no seed is passed through instead of raising TypeError.
    assert vec_env.seed(None) == [None, None]
    vec_env.reset()


def test_seed_applies_to_next_auto_reset():
    """A seed given mid-episode is used by the env's next reset, even an automatic one (like SB2's env.seed)."""
    vec_env = DummyVecEnv([lambda: gym.make("CartPole-v1")])
    vec_env.reset()
    vec_env.seed(5)
    done = False
    while not done:
        _, _, dones, _ = vec_env.step([0])
        done = dones[0]
    first_obs_after_done = vec_env.buf_obs[None].copy()
    reference, _ = gym.make("CartPole-v1").reset(seed=5)
    np.testing.assert_array_equal(first_obs_after_done[0], reference)


def test_seed_seeds_action_spaces():
    vec_env = DummyVecEnv([lambda: gym.make("CartPole-v1") for _ in range(2)])
    vec_env.seed(10)
    samples = [env.action_space.sample() for env in vec_env.envs for _ in range(20)]
    vec_env.seed(10)
    assert samples == [env.action_space.sample() for env in vec_env.envs for _ in range(20)]


def test_subproc_matches_dummy():
    env_fns = [lambda: gym.make("CartPole-v1") for _ in range(2)]
    subproc_env = _make_vec_env(SubprocVecEnv, env_fns)
    np.testing.assert_allclose(_rollout(subproc_env, seed=7), _rollout(DummyVecEnv(env_fns), seed=7))
    assert subproc_env.seed(None) == [None, None]
    subproc_env.close()


@pytest.mark.parametrize("start_method", mp.get_all_start_methods())
def test_subproc_start_methods(start_method):
    vec_env = SubprocVecEnv([lambda: StepCountEnv(2) for _ in range(2)], start_method=start_method)
    obs = vec_env.reset()
    assert obs.shape == (2, 1)
    vec_env.close()
    vec_env.close()  # idempotent


def test_subproc_illegal_start_method():
    with pytest.raises(ValueError, match="cannot find context for 'illegal_method'"):
        SubprocVecEnv([lambda: StepCountEnv(2)], start_method="illegal_method")


def test_subproc_worker_exception_is_reraised():
    vec_env = _make_vec_env(SubprocVecEnv, [FailingEnv for _ in range(2)])
    vec_env.reset()
    with pytest.raises(ValueError, match="step failed on purpose") as exc_info:
        vec_env.step(np.array([0, 1]))
    cause = exc_info.value.__cause__
    assert isinstance(cause, RemoteTraceback)
    assert "Traceback" in str(cause) and "in step" in str(cause) and "step failed on purpose" in str(cause)
    # Every answer was collected before raising: the pipes are still in step.
    assert vec_env.get_attr("n_steps") == [1, 0]
    with pytest.raises(AttributeError):
        vec_env.get_attr("no_such_attribute")
    assert vec_env.step(np.array([0, 0]))[0].shape == (2, 1)
    vec_env.close()


def test_subproc_env_construction_failure_is_reraised():
    with pytest.raises(RuntimeError, match="env construction failed on purpose"):
        _make_vec_env(SubprocVecEnv, [lambda: StepCountEnv(2), _failing_factory])


@pytest.mark.parametrize("vec_env_class", VEC_ENV_CLASSES)
def test_vec_frame_stack_terminal_obs(vec_env_class):
    n_stack, max_steps = 3, 4
    vec_env = VecFrameStack(_make_vec_env(vec_env_class, [lambda: StepCountEnv(max_steps)]), n_stack=n_stack)
    assert vec_env.observation_space.shape == (n_stack,)
    np.testing.assert_array_equal(vec_env.reset(), [[0, 0, 0]])
    np.testing.assert_array_equal(vec_env.step([0])[0], [[0, 0, 1]])
    np.testing.assert_array_equal(vec_env.step([0])[0], [[0, 1, 2]])
    np.testing.assert_array_equal(vec_env.step([0])[0], [[1, 2, 3]])
    obs, _, dones, infos = vec_env.step([0])
    assert dones[0]
    np.testing.assert_array_equal(infos[0]["terminal_observation"], [2, 3, 4])
    np.testing.assert_array_equal(obs, [[0, 0, 0]])  # the stack restarts from zeros with the reset observation
    np.testing.assert_array_equal(vec_env.step([0])[0], [[0, 0, 1]])
    vec_env.close()


def test_vec_frame_stack_image_space():
    space = spaces.Box(low=0, high=255, shape=(4, 5, 3), dtype=np.uint8)
    vec_env = VecFrameStack(DummyVecEnv([lambda: CustomGymEnv(space) for _ in range(2)]), n_stack=4)
    assert vec_env.observation_space.shape == (4, 5, 12)
    assert vec_env.observation_space.dtype == np.uint8
    obs = vec_env.reset()
    assert obs.shape == (2, 4, 5, 12) and obs.dtype == np.uint8
    assert not obs[..., :9].any()
    with pytest.raises(TypeError, match="Box"):
        VecFrameStack(DummyVecEnv([lambda: CustomGymEnv(spaces.Discrete(2))]), n_stack=2)


class WrapperA(VecNormalize):
    def __init__(self, venv):
        VecNormalize.__init__(self, venv)
        self.var_a = "a"


class WrapperB(VecNormalize):
    def __init__(self, venv):
        VecNormalize.__init__(self, venv)
        self.var_b = "b"

    def func_b(self):
        return self.var_b

    def name_test(self):
        return self.__class__


class WrapperBB(WrapperB):
    def __init__(self, venv):
        WrapperB.__init__(self, venv)
        self.var_bb = "bb"


def test_vecenv_wrapper_getattr():
    vec_env = DummyVecEnv([lambda: CustomGymEnv(SPACES["continuous"]) for _ in range(N_ENVS)])
    wrapped = WrapperA(WrapperBB(vec_env))
    assert wrapped.var_a == "a"
    assert wrapped.var_b == "b"
    assert wrapped.var_bb == "bb"
    assert wrapped.func_b() == "b"
    assert wrapped.name_test() == WrapperBB
    assert wrapped.envs is vec_env.envs  # found at the bottom of the chain

    double_wrapped = WrapperA(WrapperB(wrapped))
    assert double_wrapped.var_a == "a"  # defined directly on the outer wrapper
    with pytest.raises(AttributeError, match="Recursive attribute lookup for var_b .* is ambiguous"):
        _ = double_wrapped.var_b
    with pytest.raises(AttributeError):
        _ = double_wrapped.nonexistent_attribute
    assert double_wrapped.unwrapped is vec_env


def test_render_and_images():
    single = DummyVecEnv([lambda: gym.make("CartPole-v1", render_mode="rgb_array")])
    single.reset()
    image = single.render(mode="rgb_array")
    assert image.ndim == 3 and image.shape[-1] == 3
    with pytest.raises(ValueError, match="render_mode='human'"):
        single.render(mode="human")
    several = DummyVecEnv([lambda: CustomGymEnv(SPACES["discrete"]) for _ in range(5)])
    assert len(several.get_images()) == 5
    assert several.render(mode="rgb_array").shape == (12, 8, 3)
    no_mode = DummyVecEnv([lambda: gym.make("CartPole-v1")])
    no_mode.reset()
    with pytest.raises(ValueError, match="render_mode=None"):
        no_mode.render(mode="rgb_array")


def test_tile_images():
    imgs = np.arange(5 * 2 * 3).reshape(5, 2, 3, 1)
    big = tile_images(imgs)
    assert big.shape == (3 * 2, 2 * 3, 1)  # 3 rows x 2 columns, the last cell blank
    np.testing.assert_array_equal(big[:2, :3], imgs[0])
    np.testing.assert_array_equal(big[:2, 3:], imgs[1])
    np.testing.assert_array_equal(big[2:4, :3], imgs[2])
    np.testing.assert_array_equal(big[4:, 3:], 0)


def test_dummy_vec_env_metadata_close_and_errors():
    vec_env = DummyVecEnv([lambda: gym.make("CartPole-v1") for _ in range(2)])
    assert isinstance(vec_env, VecEnv)
    assert vec_env.metadata is vec_env.envs[0].metadata
    assert vec_env.unwrapped is vec_env
    vec_env.close()
    assert str(AlreadySteppingError()) == "already running an async step"
    assert str(NotSteppingError()) == "not running an async step"


class OldApiEnv:
    """An old-gym-API env (no gymnasium base): reset() -> obs, step() -> 4-tuple, seed(), render(mode)."""

    def __init__(self, time_limit: int = 3) -> None:
        self.observation_space = spaces.Box(low=-10, high=10, shape=(2,), dtype=np.float32)
        self.action_space = spaces.Discrete(2)
        self.time_limit = time_limit
        self.seeds = []
        self.n_steps = 0
        self.rng = np.random.default_rng()

    def seed(self, seed=None):
        self.seeds.append(seed)
        self.rng = np.random.default_rng(seed)
        return [seed]

    def reset(self):
        self.n_steps = 0
        return self.rng.uniform(-1, 1, size=2).astype(np.float32)

    def step(self, action):
        self.n_steps += 1
        obs = np.full(2, self.n_steps, dtype=np.float32)
        done = self.n_steps >= self.time_limit
        info = {"TimeLimit.truncated": True} if done and action == 0 else {}
        return obs, 1.0, done, info

    def render(self, mode="human"):
        return np.full((2, 2, 3), 255 if mode == "rgb_array" else 0, dtype=np.uint8)

    def close(self):
        pass


def test_old_api_env_through_dummy_vec_env():
    vec_env = DummyVecEnv([OldApiEnv, OldApiEnv])
    assert vec_env.seed(4) == [4, 5]
    obs = vec_env.reset()
    assert vec_env.get_attr("seeds") == [[4], [5]]
    np.testing.assert_allclose(obs[0], np.random.default_rng(4).uniform(-1, 1, size=2).astype(np.float32))
    vec_env.reset()
    assert vec_env.get_attr("seeds") == [[4], [5]]  # a seed is used once
    for _ in range(2):
        _, rews, dones, _ = vec_env.step([0, 1])
        assert not dones.any() and rews.dtype == np.float32
    _, _, dones, infos = vec_env.step([0, 1])
    assert dones.all()
    assert [info["TimeLimit.truncated"] for info in infos] == [True, False]
    np.testing.assert_array_equal(infos[0]["terminal_observation"], [3, 3])
    vec_env.set_attr("time_limit", 10, indices=-1)
    assert vec_env.get_attr("time_limit") == [3, 10]
    assert vec_env.envs[1].time_limit == 10  # envs are the user's envs (as SB2's); the adapter forwards
    assert vec_env.env_method("render", "rgb_array", indices=0)[0].max() == 255
    assert vec_env.get_images()[0].max() == 255


def test_old_api_env_through_subproc_vec_env():
    vec_env = _make_vec_env(SubprocVecEnv, [OldApiEnv, OldApiEnv])
    vec_env.seed(4)
    vec_env.reset()
    assert vec_env.get_attr("seeds") == [[4], [5]]
    for _ in range(3):
        _, _, dones, infos = vec_env.step([1, 0])
    assert dones.all() and [info["TimeLimit.truncated"] for info in infos] == [False, True]
    vec_env.close()
