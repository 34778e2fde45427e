"""SB2's Atari wrappers (``common/atari_wrappers.py``) on gymnasium and ale-py.

The DeepMind preprocessing with SB2's semantics, written for the gymnasium API (``reset`` returns
``(obs, info)``, ``step`` five values): ``make_atari`` (up to 30 no-ops at reset, then the action
repeated 4 times with the last two frames max-pooled) and ``wrap_deepmind`` (end of life = end of
episode, FIRE at reset where the game needs it, 84x84 grey frames, rewards clipped to their sign,
optionally 4 stacked frames). ``make_atari_env`` in :mod:`stable_ppo2.common.cmd_util` puts a
``Monitor`` between the two, as SB2 did, so the Monitor logs unclipped full-game scores.

The ROMs ship inside the ``ale-py`` package; its envs (``PongNoFrameskip-v4``, ``ALE/Pong-v5``, ...)
are registered with gymnasium by :func:`make_atari`. Needs ``pip install "stable_ppo2[atari]"``
(ale-py and opencv-python-headless).

Two changes to SB2, both for cases where SB2 crashed or misbehaved: :class:`EpisodicLifeEnv` resets
the env when the no-op it takes after a lost life ends the game (SB2 stepped a finished env, which
its Monitor refused), and ``ALE/...-v5`` ids are made with ``frameskip=1`` so that
:class:`MaxAndSkipEnv` does the skipping (their sticky actions, ``repeat_action_probability=0.25``,
stay on).
"""
from __future__ import annotations

from collections import deque
from typing import Any, Dict, List, Optional, SupportsFloat, Tuple, cast

import gymnasium
import numpy as np
from gymnasium import spaces

INSTALL_HINT = 'pip install "stable_ppo2[atari]"'

try:
    import cv2
except ImportError as _exc:  # pragma: no cover - depends on the installation
    raise ImportError(f"stable_ppo2's Atari wrappers need OpenCV (cv2) to resize frames: {INSTALL_HINT} "
                      f"(installs ale-py and opencv-python-headless)") from _exc

cv2.ocl.setUseOpenCL(False)

__all__ = ["NoopResetEnv", "FireResetEnv", "EpisodicLifeEnv", "MaxAndSkipEnv", "ClipRewardEnv", "WarpFrame",
           "ScaledFloatFrame", "FrameStack", "LazyFrames", "make_atari", "wrap_deepmind", "register_ale_envs"]

Obs = Any
Info = Dict[str, Any]


def _ale_env(env: gymnasium.Env) -> Any:
    """The ALE env under the wrappers (``Any``: its methods, ``ale`` and ``get_action_meanings``, are ale-py's)."""
    return env.unwrapped


def _image_space(env: gymnasium.Env) -> spaces.Box:
    """The env's image observation space (the wrappers here are for Atari's ``Box`` frames)."""
    return cast(spaces.Box, env.observation_space)


def register_ale_envs() -> None:
    """Register ale-py's Atari envs with gymnasium (ImportError naming the extra if ale-py is missing)."""
    try:
        import ale_py
    except ImportError as exc:
        raise ImportError(f"Atari envs need ale-py (the Arcade Learning Environment, ROMs included): "
                          f"{INSTALL_HINT}") from exc
    gymnasium.register_envs(ale_py)


class NoopResetEnv(gymnasium.Wrapper):
    """Sample initial states by taking a random number (1 to ``noop_max``) of no-ops on reset.

    The no-op is action 0, which must mean ``NOOP``. The number is drawn from the base env's
    ``np_random`` (seeded by ``reset(seed=...)``); ``override_num_noops`` fixes it.

    :param env: the environment to wrap
    :param noop_max: the maximum number of no-ops
    """

    def __init__(self, env: gymnasium.Env, noop_max: int = 30) -> None:
        super().__init__(env)
        self.noop_max = noop_max
        self.override_num_noops: Optional[int] = None
        self.noop_action = 0
        meanings = _ale_env(env).get_action_meanings()
        if meanings[0] != "NOOP":
            raise ValueError(f"NoopResetEnv needs action 0 to be NOOP, the env's actions are {meanings}")

    def reset(self, **kwargs: Any) -> Tuple[Obs, Info]:
        obs, info = self.env.reset(**kwargs)
        if self.override_num_noops is not None:
            noops = self.override_num_noops
        else:
            noops = int(self.unwrapped.np_random.integers(1, self.noop_max + 1))
        assert noops > 0
        for _ in range(noops):
            obs, _, terminated, truncated, info = self.env.step(self.noop_action)
            if terminated or truncated:
                obs, info = self.env.reset(**kwargs)
        return obs, info


class FireResetEnv(gymnasium.Wrapper):
    """Press FIRE (action 1), then action 2, at reset: for games that stand still until fired.

    :param env: the environment to wrap (action 1 must be ``FIRE``, at least 3 actions)
    """

    def __init__(self, env: gymnasium.Env) -> None:
        super().__init__(env)
        meanings = _ale_env(env).get_action_meanings()
        if len(meanings) < 3 or meanings[1] != "FIRE":
            raise ValueError(f"FireResetEnv needs action 1 to be FIRE and at least 3 actions, the env's "
                             f"actions are {meanings}")

    def reset(self, **kwargs: Any) -> Tuple[Obs, Info]:
        self.env.reset(**kwargs)
        obs, _, terminated, truncated, info = self.env.step(1)
        if terminated or truncated:
            self.env.reset(**kwargs)
        obs, _, terminated, truncated, info = self.env.step(2)
        if terminated or truncated:
            self.env.reset(**kwargs)
        return obs, info


class EpisodicLifeEnv(gymnasium.Wrapper):
    """Make end-of-life end the episode (``terminated``), but reset the game only on a real game over.

    Done by DeepMind for DQN since it helps value estimation. After a lost life, ``reset`` takes one
    no-op step instead of resetting, so every state stays reachable.

    :param env: the environment to wrap (an ALE env: ``env.unwrapped.ale.lives()``)
    """

    def __init__(self, env: gymnasium.Env) -> None:
        super().__init__(env)
        self.lives = 0
        self.was_real_done = True

    def step(self, action: Any) -> Tuple[Obs, SupportsFloat, bool, bool, Info]:
        obs, reward, terminated, truncated, info = self.env.step(action)
        self.was_real_done = terminated or truncated
        # check the current lives, make loss of life terminal, then update lives to handle bonus
        # lives; some games (Qbert) stay at lives == 0 for a few frames: only the env's own
        # game over counts then, so that the game is reset once
        lives = _ale_env(self.env).ale.lives()
        if 0 < lives < self.lives:
            terminated = True
        self.lives = lives
        return obs, reward, terminated, truncated, info

    def reset(self, **kwargs: Any) -> Tuple[Obs, Info]:
        """Reset the game when it is over, else take a no-op step from the lost-life state."""
        if self.was_real_done:
            obs, info = self.env.reset(**kwargs)
        else:
            obs, _, terminated, truncated, info = self.env.step(0)
            if terminated or truncated:  # the no-op ended the game (SB2 went on stepping a finished env)
                obs, info = self.env.reset(**kwargs)
        self.lives = _ale_env(self.env).ale.lives()
        return obs, info


class MaxAndSkipEnv(gymnasium.Wrapper):
    """Repeat each action ``skip`` times, sum the rewards, and return the pixel-wise maximum of the
    last two frames (Atari sprites flicker from frame to frame).

    :param env: the environment to wrap
    :param skip: how many frames each action lasts
    """

    def __init__(self, env: gymnasium.Env, skip: int = 4) -> None:
        super().__init__(env)
        # the two most recent raw frames, for max-pooling over time
        frame_space = _image_space(env)
        self._obs_buffer = np.zeros((2,) + frame_space.shape, dtype=frame_space.dtype)
        self._skip = skip

    def step(self, action: Any) -> Tuple[Obs, SupportsFloat, bool, bool, Info]:
        """Repeat the action, sum the rewards and max-pool the last two frames (on a frame that ends
        the episode early the observation does not matter, as in SB2)."""
        total_reward = 0.0
        terminated = truncated = False
        info: Info = {}
        for i in range(self._skip):
            obs, reward, terminated, truncated, info = self.env.step(action)
            if i == self._skip - 2:
                self._obs_buffer[0] = obs
            if i == self._skip - 1:
                self._obs_buffer[1] = obs
            total_reward += float(reward)
            if terminated or truncated:
                break
        max_frame = self._obs_buffer.max(axis=0)
        return max_frame, total_reward, terminated, truncated, info

    def reset(self, **kwargs: Any) -> Tuple[Obs, Info]:
        return self.env.reset(**kwargs)


class ClipRewardEnv(gymnasium.RewardWrapper):
    """Bin rewards to {+1, 0, -1} by their sign."""

    def __init__(self, env: gymnasium.Env) -> None:
        super().__init__(env)

    def reward(self, reward: SupportsFloat) -> float:
        return float(np.sign(float(reward)))


class WarpFrame(gymnasium.ObservationWrapper):
    """Warp RGB frames to ``height x width`` (84x84) grey frames of shape ``(84, 84, 1)``, as in the
    Nature DQN paper: ``cv2.cvtColor(RGB2GRAY)`` then ``cv2.resize(INTER_AREA)``.

    :param env: the environment to wrap (RGB observations)
    :param width, height: output size (SB2: fixed 84x84)
    """

    def __init__(self, env: gymnasium.Env, width: int = 84, height: int = 84) -> None:
        super().__init__(env)
        self.width = width
        self.height = height
        self.observation_space = spaces.Box(low=0, high=255, shape=(self.height, self.width, 1),
                                            dtype=_image_space(env).dtype)

    def observation(self, frame: np.ndarray) -> np.ndarray:
        frame = cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY)
        frame = cv2.resize(frame, (self.width, self.height), interpolation=cv2.INTER_AREA)
        return frame[:, :, None]


class ScaledFloatFrame(gymnasium.ObservationWrapper):
    """Observations as float32 in [0, 1] (4x the memory of uint8; CnnPolicy scales uint8 itself)."""

    def __init__(self, env: gymnasium.Env) -> None:
        super().__init__(env)
        self.observation_space = spaces.Box(low=0, high=1.0, shape=env.observation_space.shape, dtype=np.float32)

    def observation(self, observation: Any) -> np.ndarray:
        return np.array(observation).astype(np.float32) / 255.0


class LazyFrames:
    """The frames of a :class:`FrameStack` observation, concatenated on the last axis only when
    converted to an array (``np.asarray(lazy)``): consecutive observations share their frames.

    Convert it to an array before passing it to a model.

    :param frames: the frames, oldest first
    """

    def __init__(self, frames: List[np.ndarray]) -> None:
        self._frames: Optional[List[np.ndarray]] = frames
        self._out: Optional[np.ndarray] = None

    def _force(self) -> np.ndarray:
        if self._out is None:
            assert self._frames is not None  # the frames are dropped only once ``_out`` holds them
            self._out = np.concatenate(self._frames, axis=2)
            self._frames = None
        return self._out

    def __array__(self, dtype: Any = None, copy: Optional[bool] = None) -> np.ndarray:
        out = self._force()
        if dtype is not None:
            out = out.astype(dtype)
        elif copy:
            out = out.copy()
        return out

    def __len__(self) -> int:
        return len(self._force())

    def __getitem__(self, i: Any) -> Any:
        return self._force()[i]


class FrameStack(gymnasium.Wrapper):
    """Stack the last ``n_frames`` frames on the last axis, as :class:`LazyFrames`.

    At reset the first frame is repeated ``n_frames`` times. (PPO2's scripts stack frames with
    ``VecFrameStack`` instead, which fills with zeros.)

    :param env: the environment to wrap
    :param n_frames: the number of frames to stack
    """

    def __init__(self, env: gymnasium.Env, n_frames: int) -> None:
        super().__init__(env)
        self.n_frames = n_frames
        self.frames: deque = deque([], maxlen=n_frames)
        frame_space = _image_space(env)
        shp = frame_space.shape
        self.observation_space = spaces.Box(low=0, high=255, shape=(shp[0], shp[1], shp[2] * n_frames),
                                            dtype=frame_space.dtype)

    def reset(self, **kwargs: Any) -> Tuple[LazyFrames, Info]:
        obs, info = self.env.reset(**kwargs)
        for _ in range(self.n_frames):
            self.frames.append(obs)
        return self._get_ob(), info

    def step(self, action: Any) -> Tuple[LazyFrames, SupportsFloat, bool, bool, Info]:
        obs, reward, terminated, truncated, info = self.env.step(action)
        self.frames.append(obs)
        return self._get_ob(), reward, terminated, truncated, info

    def _get_ob(self) -> LazyFrames:
        assert len(self.frames) == self.n_frames
        return LazyFrames(list(self.frames))


def make_atari(env_id: str, **kwargs: Any) -> gymnasium.Env:
    """An ALE env without frame skip, with :class:`NoopResetEnv` (30) and :class:`MaxAndSkipEnv` (4).

    :param env_id: a ``...NoFrameskip-v4`` id (SB2's), or an ``ALE/...-v5`` id, made with
        ``frameskip=1`` (sticky actions stay as the id defines them)
    :param kwargs: passed to ``gymnasium.make`` (e.g. ``render_mode``, ``repeat_action_probability``)
    """
    register_ale_envs()
    if env_id.startswith("ALE/"):
        kwargs.setdefault("frameskip", 1)
    env = gymnasium.make(env_id, **kwargs)
    frameskip = getattr(env.unwrapped, "_frameskip", None)
    if "NoFrameskip" not in env_id and frameskip != 1:
        env.close()
        raise ValueError(f"make_atari needs an env without frame skip (a NoFrameskip id, or ALE/... with "
                         f"frameskip=1); {env_id} skips {frameskip} frames")
    env = NoopResetEnv(env, noop_max=30)
    env = MaxAndSkipEnv(env, skip=4)
    return env


def wrap_deepmind(env: gymnasium.Env, episode_life: bool = True, clip_rewards: bool = True,
                  frame_stack: bool = False, scale: bool = False) -> gymnasium.Env:
    """DeepMind-style Atari preprocessing (SB2's order of wrappers).

    :param env: an env from :func:`make_atari` (possibly inside a Monitor)
    :param episode_life: :class:`EpisodicLifeEnv`
    :param clip_rewards: :class:`ClipRewardEnv`
    :param frame_stack: :class:`FrameStack` of 4 frames
    :param scale: :class:`ScaledFloatFrame`
    """
    if episode_life:
        env = EpisodicLifeEnv(env)
    if "FIRE" in _ale_env(env).get_action_meanings():
        env = FireResetEnv(env)
    env = WarpFrame(env)
    if scale:
        env = ScaledFloatFrame(env)
    if clip_rewards:
        env = ClipRewardEnv(env)
    if frame_stack:
        env = FrameStack(env, 4)
    return env
