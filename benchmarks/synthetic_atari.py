"""A synthetic Atari-like env for CNN benchmarks: uint8 84x84x1 frames, 6 actions, no emulator.

Frames are drawn once from a fixed pool (so the env costs almost nothing per step and the benchmark
measures the learner); the reward is 1 when the action equals the frame's index mod 6 (learnable from
the pixels, so gradients are not degenerate); episodes last 250 steps. Stacked 4 times by
``VecFrameStack`` the policy sees uint8 84x84x4, as on Atari.

Runs with gymnasium (stable_ppo2, SB3) or with the old gym 0.17 API (SB2's venv):
``make_synthetic_env(api="gymnasium"|"gym")``.
"""
import numpy as np

N_FRAMES = 64
EPISODE_LENGTH = 250
N_ACTIONS = 6


def _frame_pool(seed=1234):
    rng = np.random.RandomState(seed)
    frames = rng.randint(0, 256, size=(N_FRAMES, 84, 84, 1)).astype(np.uint8)
    # a bright square whose row encodes the rewarded action
    for i in range(N_FRAMES):
        row = 10 * (i % N_ACTIONS)
        frames[i, row:row + 10, :10, 0] = 255
    return frames


def make_synthetic_env(api="gymnasium"):
    """A new env instance for the given API (a class is built per API so that gym need not be installed)."""
    if api == "gymnasium":
        import gymnasium as gym
    else:
        import gym
    spaces = gym.spaces
    frames = _frame_pool()

    class SyntheticAtariEnv(gym.Env):
        metadata = {"render_modes": [], "render.modes": []}

        def __init__(self):
            self.observation_space = spaces.Box(low=0, high=255, shape=(84, 84, 1), dtype=np.uint8)
            self.action_space = spaces.Discrete(N_ACTIONS)
            self._rng = np.random.RandomState(0)
            self._t = 0
            self._index = 0

        def _obs(self):
            self._index = self._rng.randint(N_FRAMES)
            return frames[self._index]

        def _reset(self, seed=None):
            if seed is not None:
                self._rng = np.random.RandomState(seed)
            self._t = 0
            return self._obs()

        def _step(self, action):
            reward = float(int(action) == self._index % N_ACTIONS)
            self._t += 1
            return self._obs(), reward, self._t >= EPISODE_LENGTH

        if api == "gymnasium":
            def reset(self, *, seed=None, options=None):
                super().reset(seed=seed)
                return self._reset(seed), {}

            def step(self, action):
                obs, reward, done = self._step(action)
                return obs, reward, done, False, {}
        else:
            def seed(self, seed=None):
                self._rng = np.random.RandomState(seed)
                return [seed]

            def reset(self):
                return self._reset()

            def step(self, action):
                obs, reward, done = self._step(action)
                return obs, reward, done, {}

    return SyntheticAtariEnv()
