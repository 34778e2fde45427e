"""``check_env`` (SB2's ``common.env_checker``): does an environment follow the gym API, and will PPO2 cope with it?

gymnasium envs go through gymnasium's own checker (``gymnasium.utils.env_checker.check_env``). Envs written to
the old gym API (``reset() -> obs``, ``step() -> (obs, reward, done, info)``) are checked against that API here,
and the values they return are checked by gymnasium's passive checker through
:func:`~stable_ppo2.common.gym_compat.to_gymnasium`. Then come SB2's warnings about what may run but not
learn well: observation spaces PPO2 cannot read, images that are not ``uint8`` in [0, 255], continuous actions
that are not a symmetric, normalised range.
"""
import warnings
from typing import Any

import gymnasium
import numpy as np
from gymnasium import spaces
from gymnasium.utils.env_checker import check_env as gymnasium_check_env
from gymnasium.utils.passive_env_checker import (
    check_action_space,
    check_observation_space,
    env_reset_passive_checker,
    env_step_passive_checker,
)

from stable_ppo2.common.gym_compat import convert_space, to_gymnasium
from stable_ppo2.common.input import SUPPORTED_SPACE_NAMES, SUPPORTED_SPACES, is_image_space

__all__ = ["check_env"]


def _check_image_input(observation_space: spaces.Box) -> None:
    if observation_space.dtype != np.uint8:
        warnings.warn("It seems that your observation is an image but its dtype is not np.uint8 "
                      f"({observation_space.dtype}). If your observation is not an image, we recommend you to "
                      "flatten the observation to have only a 1D vector")
    if np.any(observation_space.low != 0) or np.any(observation_space.high != 255):
        warnings.warn("It seems that your observation space is an image but its values are not in [0, 255]. "
                      "CnnPolicy scales Box observations to [0, 1] with the space's bounds; if your observation "
                      "is not an image, we recommend you to flatten it to a 1D vector")
    if observation_space.shape[0] < 36 or observation_space.shape[1] < 36:
        warnings.warn("The minimal resolution for an image is 36x36 for the default CnnPolicy "
                      "(Nature CNN). You might need to use a custom cnn_extractor.")


def _check_unsupported_spaces(observation_space: spaces.Space, action_space: spaces.Space) -> None:
    if isinstance(observation_space, (spaces.Dict, spaces.Tuple)):
        warnings.warn(f"The observation space is a {type(observation_space).__name__}: PPO2 policies do not read "
                      "it; flatten the observations (gymnasium.wrappers.FlattenObservation)")
    elif not isinstance(observation_space, SUPPORTED_SPACES):
        warnings.warn(f"The observation space {observation_space} is not supported by PPO2 "
                      f"({SUPPORTED_SPACE_NAMES})")
    if not isinstance(action_space, SUPPORTED_SPACES):
        warnings.warn(f"The action space {action_space} is not supported by PPO2 ({SUPPORTED_SPACE_NAMES})")


def _check_observation(obs: Any, observation_space: spaces.Space, method_name: str) -> None:
    if not isinstance(observation_space, spaces.Tuple):
        assert not isinstance(obs, tuple), (
            f"The observation returned by `{method_name}()` is a tuple: for the old gym API `reset()` returns only "
            "the observation (the new API returns (obs, info))")
    if isinstance(observation_space, spaces.Discrete):
        assert np.issubdtype(type(obs), np.integer), f"The observation returned by `{method_name}()` must be an int"
    elif isinstance(observation_space, (spaces.Box, spaces.MultiDiscrete, spaces.MultiBinary)):
        assert isinstance(obs, np.ndarray), f"The observation returned by `{method_name}()` must be a numpy array"
    assert observation_space.contains(obs), (
        f"The observation returned by the `{method_name}()` method does not match the given observation space")


def _check_old_api_env(env: Any, observation_space: spaces.Space, action_space: spaces.Space) -> None:
    """The old API contract, then gymnasium's checks of the returned values (through the adapter)."""
    for method in ("reset", "step"):
        assert callable(getattr(env, method, None)), f"The environment has no `{method}()` method"
    obs = env.reset()
    _check_observation(obs, observation_space, "reset")
    data = env.step(action_space.sample())
    assert len(data) == 4, ("The `step()` method must return four values: obs, reward, done, info "
                            f"(old gym API), got {len(data)}")
    obs, reward, done, info = data
    _check_observation(obs, observation_space, "step")
    assert isinstance(reward, (float, int, np.floating, np.integer)), "The reward returned by `step()` must be a float"
    assert isinstance(done, (bool, np.bool_)), "The `done` signal must be a boolean"
    assert isinstance(info, dict), "The `info` returned by `step()` must be a python dictionary"
    adapted = to_gymnasium(env)
    env_reset_passive_checker(adapted)
    env_step_passive_checker(adapted, action_space.sample())


def _check_render(env: Any, old_api: bool) -> None:
    metadata = getattr(env, "metadata", {}) or {}
    render_modes = metadata.get("render.modes" if old_api else "render_modes", metadata.get("render_modes", []))
    if not render_modes:
        warnings.warn("No render modes was declared in the environment (metadata['render.modes'] is None or not "
                      "defined), you may have trouble when calling `.render()`")
    elif old_api:
        for mode in render_modes:
            env.render(mode=mode)


def check_env(env: Any, warn: bool = True, skip_render_check: bool = True) -> None:
    """Check that ``env`` follows the gym API (gymnasium's, or the old one) and warn about what PPO2 handles badly.

    :param env: a gymnasium env, or an env written to the old gym API (a ``gym.Env`` subclass of legacy code)
    :param warn: also emit the warnings about spaces that may run but not work well with PPO2
    :param skip_render_check: do not call ``render()`` (renders may need a display)
    :raises AssertionError or gymnasium.error.Error: the env breaks the API
    """
    old_api = not isinstance(env, gymnasium.Env)
    assert hasattr(env, "observation_space"), "You must specify an observation space (cf gym.spaces)"
    assert hasattr(env, "action_space"), "You must specify an action space (cf gym.spaces)"
    try:
        observation_space = convert_space(env.observation_space)
        action_space = convert_space(env.action_space)
    except TypeError as exc:
        raise AssertionError(f"The spaces must be gym/gymnasium spaces: {exc}") from exc
    check_observation_space(observation_space)
    check_action_space(action_space)

    if warn:
        _check_unsupported_spaces(observation_space, action_space)
        if isinstance(observation_space, spaces.Box) and is_image_space(observation_space):
            _check_image_input(observation_space)
        elif isinstance(observation_space, spaces.Box) and len(observation_space.shape) not in (1, 3):
            warnings.warn("Your observation has an unconventional shape (neither an image, nor a 1D vector). "
                          "We recommend you to flatten the observation to have only a 1D vector")
        if isinstance(action_space, spaces.Box) and (
                np.any(np.abs(action_space.low) != np.abs(action_space.high))
                or np.any(np.abs(action_space.low) > 1) or np.any(np.abs(action_space.high) > 1)):
            warnings.warn("We recommend you to use a symmetric and normalized Box action space (range=[-1, 1]) "
                          "cf https://stable-baselines.readthedocs.io/en/master/guide/rl_tips.html")

    if old_api:
        _check_old_api_env(env, observation_space, action_space)
        if not skip_render_check:
            _check_render(env, old_api=True)
    else:
        gymnasium_check_env(env, skip_render_check=skip_render_check)
