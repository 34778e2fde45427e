"""A tiny env registered with gymnasium on import, for the command line's custom-env tests
(``--gym-packages tests.custom_envs`` and ``tests.custom_envs:StablePpo2Corridor-v0``)."""
import gymnasium
import numpy as np
from gymnasium import spaces


class Corridor(gymnasium.Env):
    """Walk right (action 1) to the end of a corridor of ``length`` cells; reward 1 at the end."""

    def __init__(self, length: int = 5) -> None:
        self.length = length
        self.observation_space = spaces.Box(0.0, 1.0, (1,), np.float32)
        self.action_space = spaces.Discrete(2)
        self.position = 0

    def _obs(self) -> np.ndarray:
        return np.array([self.position / self.length], np.float32)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.position = 0
        return self._obs(), {}

    def step(self, action):
        self.position = max(0, self.position + (1 if action == 1 else -1))
        done = self.position >= self.length
        return self._obs(), float(done), done, False, {}


if "StablePpo2Corridor-v0" not in gymnasium.registry:
    gymnasium.register("StablePpo2Corridor-v0", entry_point=Corridor, max_episode_steps=50)
