"""Base classes of SB2 models: environment handling, seeding, prediction, parameters, files.

:class:`BaseRLModel` holds what every algorithm shares; :class:`ActorCriticRLModel` adds the
actor-critic ``predict``/``action_probability``. PPO2 (``stable_ppo2.ppo2``) builds on them.
"""
from __future__ import annotations

import os
import warnings
from abc import ABC, abstractmethod
from collections import OrderedDict, deque
from typing import IO, TYPE_CHECKING, Any, Dict, List, Optional, Tuple, Type, TypeVar, Union

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from stable_ppo2 import logger
from stable_ppo2.common.callbacks import BaseCallback, CallbackList, ConvertCallback, MaybeCallback
from stable_ppo2.common.distributions import Proba, make_proba_dist_type
from stable_ppo2.common.gym_compat import make_env_from_id
from stable_ppo2.common.input import (
    check_observation_space,
    check_space_values,
    is_vectorized_observation,
    one_hot_width,
)
from stable_ppo2.common.misc_util import set_global_seeds
from stable_ppo2.common.model_files.errors import ModelDataError, ModelFileError
from stable_ppo2.common.model_files.formats import load_from_file, save_to_pickle, save_to_zip, spaces_match
from stable_ppo2.common.model_files.schema import DataSchema
from stable_ppo2.common.policies import BasePolicy, get_policy_from_name
from stable_ppo2.common.tensorboard import TensorboardWriter  # noqa: F401  (SB2's import path)
from stable_ppo2.common.vec_env import DummyVecEnv, VecEnv, VecNormalize, unwrap_vec_normalize

if TYPE_CHECKING:
    from stable_ppo2.gail.dataset.dataset import ExpertDataset

_Model = TypeVar("_Model", bound="BaseRLModel")


def _make_env_from_id(env_id: str):
    try:
        return make_env_from_id(env_id)
    except gym.error.Error as error:
        raise ValueError(f"Could not create the environment {env_id!r}: {error}") from error


def _check_spaces(observation_space, action_space) -> None:
    check_observation_space(observation_space)
    make_proba_dist_type(action_space)  # raises for the action spaces PPO2 does not support


def _check_space_sizes(observation_space, action_space, params) -> None:
    """Spaces a corrupt file made huge (a flipped byte in ``Discrete.n``) would build a huge
    network before any shape check: the policy's output layer has at least one parameter per
    output of the action head, and Discrete/MultiDiscrete observations become one-hot inputs of
    that width, so neither can exceed the number of parameters the file holds."""
    values = params.values() if isinstance(params, dict) else params
    total = sum(int(np.size(value)) for value in values)
    sizes = {"action": (action_space, make_proba_dist_type(action_space).param_shape()[0]),
             "observation": (observation_space, one_hot_width(observation_space))}
    for role, (space, size) in sizes.items():
        if size is not None and size > total:
            raise ValueError(f"its {role} space {space} needs at least {size} parameters, and the file "
                             f"holds {total}")


def _constructor_defaults(cls) -> Dict[str, Any]:
    """The default values of ``cls.__init__``'s parameters (fallbacks for unreadable schedules)."""
    import inspect  # pylint: disable=import-outside-toplevel

    try:
        parameters = inspect.signature(cls.__init__).parameters
    except (TypeError, ValueError):
        return {}
    return {name: p.default for name, p in parameters.items() if p.default is not inspect.Parameter.empty}


class SetVerbosity:
    """Silence stable_ppo2's logger while ``verbose <= 0`` (restored on exit), as SB2."""

    def __init__(self, verbose: int = 0) -> None:
        self.verbose = verbose

    def __enter__(self):
        self.log_level = logger.get_level()
        if self.verbose <= 0:
            logger.set_level(logger.DISABLED)
        return self

    def __exit__(self, exc_type, exc_val, exc_tb):
        logger.set_level(self.log_level)


class BaseRLModel(ABC):
    """Environment, seeding, callbacks, parameters and files, shared by every model."""

    #: The ``data`` entries a model file of this algorithm may carry (declared by the algorithm).
    _data_schema: DataSchema

    def __init__(self, policy: Union[str, Type[BasePolicy]], env: Any, verbose: int = 0, *, requires_vec_env: bool,
                 policy_base: Optional[Type[BasePolicy]], policy_kwargs: Optional[Dict[str, Any]] = None,
                 seed: Optional[int] = None, n_cpu_tf_sess: Optional[int] = None) -> None:
        self.policy: Any  # a policy class (a name stays a name when no policy_base resolves it)
        if isinstance(policy, str) and policy_base is not None:
            self.policy = get_policy_from_name(policy_base, policy)
        else:
            self.policy = policy
        self.env = env
        self.verbose = verbose
        self._requires_vec_env = requires_vec_env
        self.policy_kwargs = {} if policy_kwargs is None else policy_kwargs
        # SB2's public attributes below are None until an env is set or setup_model runs (hence Any)
        self.observation_space: Any = None
        self.action_space: Any = None
        self.n_envs: Any = None
        self._vectorize_action = False
        self.num_timesteps = 0
        self.graph: Any = None
        self.sess: Any = None
        self.params: Any = None
        self.seed = seed
        self._param_load_ops: Any = None
        self.n_cpu_tf_sess = n_cpu_tf_sess
        self.episode_reward: Any = None
        self.ep_info_buf: Any = None

        if env is not None:
            if isinstance(env, str):
                if self.verbose >= 1:
                    print("Creating environment from the given name, wrapped in a DummyVecEnv.")
                env_id = env
                self.env = env = DummyVecEnv([lambda: _make_env_from_id(env_id)])
            self.observation_space = env.observation_space
            self.action_space = env.action_space
            _check_spaces(self.observation_space, self.action_space)
            if requires_vec_env:
                if isinstance(env, VecEnv):
                    self.n_envs = env.num_envs
                else:
                    if self.verbose >= 1:
                        print("Wrapping the env in a DummyVecEnv.")
                    single_env = env
                    self.env = DummyVecEnv([lambda: single_env])
                    self.n_envs = 1
            else:
                self.n_envs = 1
        self._vec_normalize_env = unwrap_vec_normalize(self.env)

    # ------------------------------------------------------------------------------ environment
    def get_env(self) -> Optional[VecEnv]:
        """The VecEnv the model trains on (None if it has none)."""
        return self.env

    def get_vec_normalize_env(self) -> Optional[VecNormalize]:
        """The ``VecNormalize`` wrapper around the training env, or None."""
        return self._vec_normalize_env

    def set_env(self, env: Any) -> None:
        """Replace the training env; its spaces must equal the model's."""
        if env is None and self.env is None:
            if self.verbose >= 1:
                print("Loading a model without an environment, "
                      "this model cannot be trained until it has a valid environment.")
            return
        if env is None:
            raise ValueError("Error: trying to replace the current environment with None")
        if not spaces_match(env.observation_space, self.observation_space):
            raise ValueError(f"Error: the environment's observation space {env.observation_space} "
                             f"differs from the model's {self.observation_space}")
        if not spaces_match(env.action_space, self.action_space):
            raise ValueError(f"Error: the environment's action space {env.action_space} "
                             f"differs from the model's {self.action_space}")
        if self._requires_vec_env:
            if not isinstance(env, VecEnv):
                raise ValueError("Error: the environment passed is not a vectorized environment, "
                                 f"however {type(self).__name__} requires it (wrap it in a DummyVecEnv)")
            self._check_n_envs(env.num_envs)
            self.n_envs = env.num_envs
        self.env = env
        self._vec_normalize_env = unwrap_vec_normalize(env)
        self.episode_reward = None
        self.ep_info_buf = None
        self._on_env_changed()

    def _check_n_envs(self, n_envs: int) -> None:
        """Hook: raise if the model cannot train with ``n_envs`` environments."""

    def _on_env_changed(self) -> None:
        """Hook: drop state tied to the previous env (runner, batch sizes)."""

    # ------------------------------------------------------------------------------ learning helpers
    def _init_num_timesteps(self, reset_num_timesteps: bool = True) -> bool:
        if reset_num_timesteps:
            self.num_timesteps = 0
        return self.num_timesteps == 0

    def _init_callback(self, callback: MaybeCallback) -> BaseCallback:
        if isinstance(callback, list):
            callback = CallbackList(callback)
        if not isinstance(callback, BaseCallback):
            callback = ConvertCallback(callback)
        callback.init_callback(self)
        return callback

    def _setup_learn(self) -> None:
        if self.env is None:
            raise ValueError("Error: cannot train the model without a valid environment, please set "
                             "an environment with set_env(self, env) method.")
        if self.episode_reward is None:
            self.episode_reward = np.zeros((self.n_envs,))
        if self.ep_info_buf is None:
            self.ep_info_buf = deque(maxlen=100)

    def set_random_seed(self, seed: Optional[int]) -> None:
        """Seed Python, numpy and TF, the env (env i gets ``seed + i``) and the action spaces."""
        if seed is None:
            return
        set_global_seeds(seed)
        if self.env is not None:
            self.env.seed(seed)
            self.env.action_space.seed(seed)
        self.action_space.seed(seed)

    @abstractmethod
    def setup_model(self) -> None:
        ...

    @abstractmethod
    def learn(self, total_timesteps: int, callback: MaybeCallback = None, log_interval: int = 100,
              tb_log_name: str = "run", reset_num_timesteps: bool = True) -> BaseRLModel:
        ...

    def pretrain(self, dataset: ExpertDataset, n_epochs: int = 10, learning_rate: float = 1e-4,
                 adam_epsilon: float = 1e-8, val_interval: Optional[int] = None) -> BaseRLModel:
        """Behaviour cloning on an ``ExpertDataset``, from the current weights; returns self.

        See :func:`stable_ppo2.common.pretrain.pretrain` (losses, logging, recurrent policies).
        """
        from stable_ppo2.common.pretrain import pretrain  # pylint: disable=import-outside-toplevel
        return pretrain(self, dataset, n_epochs=n_epochs, learning_rate=learning_rate,
                        adam_epsilon=adam_epsilon, val_interval=val_interval)

    # ------------------------------------------------------------------------------ parameters
    @abstractmethod
    def get_parameter_list(self) -> List[Any]:
        ...

    def get_parameters(self) -> "OrderedDict[str, np.ndarray]":
        """SB2 name (``model/pi_fc0/w:0``) -> value, in parameter order."""
        return OrderedDict((variable.name, variable.numpy()) for variable in self.get_parameter_list())

    def load_parameters(self, load_path_or_dict: Union[str, IO[bytes], Dict[str, np.ndarray]],
                        exact_match: bool = True) -> None:
        """Set parameters from a dict, a list in parameter order, or a model file (path/file-like).

        Everything is checked (names, shapes) before anything is assigned, so a failed call
        changes nothing. ``exact_match=True`` requires every parameter to be given.
        """
        variables = OrderedDict((v.name, v) for v in self.get_parameter_list())
        from_file = not isinstance(load_path_or_dict, (dict, list))
        if isinstance(load_path_or_dict, dict):
            params = load_path_or_dict
        elif isinstance(load_path_or_dict, list):
            warnings.warn("Loading model parameters from a list. This has been replaced with parameter "
                          "dictionaries with variable names and parameters. If you are loading from a "
                          "file, consider re-saving the file.", DeprecationWarning)
            if len(load_path_or_dict) != len(variables):
                raise ValueError(f"Got a list of {len(load_path_or_dict)} parameters, the model has "
                                 f"{len(variables)}")
            params = dict(zip(variables.keys(), load_path_or_dict))
        else:
            _, params = load_from_file(load_path_or_dict, load_data=False)
            if params is None:
                raise ModelFileError(f"Model file {load_path_or_dict!r} has no 'parameters' entry")
            if isinstance(params, list):
                if len(params) != len(variables):
                    raise ModelDataError(f"Model file {load_path_or_dict!r} holds a list of {len(params)} "
                                         f"parameters, the model has {len(variables)}")
                params = dict(zip(variables.keys(), params))
        try:
            arrays = self._checked_parameters(variables, params, exact_match, from_file)
        except (KeyError, ValueError, RuntimeError) as error:
            if not from_file or isinstance(error, ModelFileError):
                raise
            message = error.args[0] if isinstance(error, KeyError) else str(error)
            raise ModelDataError(f"The parameters of model file {load_path_or_dict!r} do not fit the "
                                 f"model: {message}") from error
        for name, value in arrays.items():
            variables[name].assign(value)
        self._on_parameters_changed()

    @staticmethod
    def _checked_parameters(variables, params, exact_match: bool, finite: bool) -> Dict[str, np.ndarray]:
        """``params`` as arrays of the variables' dtypes, once every name and shape is checked
        (KeyError: unknown names; RuntimeError: missing ones with ``exact_match``; ValueError:
        shapes, values that are not numbers, and NaN/inf when ``finite``)."""
        unknown = [str(name) for name in params if name not in variables]
        if unknown:
            raise KeyError(f"Parameters not in the model: {', '.join(unknown)}. "
                           f"Model parameters: {', '.join(variables)}")
        if exact_match:
            missing = [name for name in variables if name not in params]
            if missing:
                raise RuntimeError("Load dictionary did not contain all variables. "
                                   f"Missing variables: {', '.join(missing)}")
        arrays = {}
        for name, value in params.items():
            dtype = variables[name].dtype.as_numpy_dtype
            raw = np.asarray(value)
            if raw.dtype.kind not in "biuf":
                raise ValueError(f"Parameter {name} holds values of dtype {raw.dtype}, the model "
                                 f"expects numbers ({np.dtype(dtype).name})")
            value = raw.astype(dtype)
            if tuple(value.shape) != tuple(variables[name].shape):
                raise ValueError(f"Parameter {name} has shape {value.shape}, the model expects "
                                 f"{tuple(variables[name].shape)}")
            if finite and not np.all(np.isfinite(value)):
                raise ValueError(f"Parameter {name} holds NaN or inf values")
            arrays[name] = value
        return arrays

    def _on_parameters_changed(self) -> None:
        """Hook: refresh anything derived from the parameters (numpy weight copies)."""

    def _check_hyperparameters(self) -> None:
        """Hook: raise ValueError for hyperparameters out of range (at construction and load)."""

    # ------------------------------------------------------------------------------ files
    @abstractmethod
    def _get_save_data(self) -> Dict[str, Any]:
        ...

    def save(self, save_path: Union[str, os.PathLike, IO[bytes]], cloudpickle: bool = False,
             include_training_state: bool = False) -> None:
        """Save hyperparameters and parameters in SB2's zip format (``cloudpickle=True``: SB2's legacy
        pickle). A path without extension gets ``.zip`` (``.pkl``); writing a path is atomic (a
        failed save leaves the previous file intact); file-like objects are written directly.
        ``include_training_state``: also what an exact resume needs (:mod:`stable_ppo2.common.training_state`)."""
        data, params = self._get_save_data(), self.get_parameters()
        if cloudpickle:
            if include_training_state:
                raise ValueError("include_training_state=True needs the zip format (cloudpickle=False): "
                                 "SB2's legacy pickle has no room for it")
            save_to_pickle(save_path, data, params)
        else:
            extra_entries = None
            if include_training_state:
                from stable_ppo2.common.training_state import training_state_entries
                extra_entries = training_state_entries(self)
            save_to_zip(save_path, data, params, extra_entries)

    @classmethod
    def _load_from_file(cls, load_path: Union[str, IO[bytes]], load_data=True,
                        custom_objects: Optional[Dict[str, Any]] = None, trust_file: bool = False):
        return load_from_file(load_path, load_data=load_data, custom_objects=custom_objects,
                              trust=trust_file, defaults=_constructor_defaults(cls))

    @classmethod
    def load(cls: Type[_Model], load_path: Union[str, IO[bytes]], env: Any = None,
             custom_objects: Optional[Dict[str, Any]] = None, *, trust_file: bool = False, **kwargs: Any) -> _Model:
        """Load a model saved by stable_ppo2 or SB2 (zip), or by SB2 <= 2.7 (legacy cloudpickle ``.pkl``).

        :param load_path: a path (``x`` is tried as ``x``, ``x.zip``, ``x.pkl``) or a binary file object
        :param env: the env to run on (its spaces must match the model's); None: set it later
        :param custom_objects: ``{entry: object}`` used instead of the file's entries, which are then
            never deserialised (e.g. ``{"policy": MyPolicy}`` for a policy class pickled by value)
        :param trust_file: False (default): safe loading. The file's pickles may only name
            stable_ppo2's (and SB2's) policies, schedules and statistics, gym/gymnasium spaces,
            numpy's array helpers and TF activations; anything else, and any code pickled by
            value, is refused (:class:`~stable_ppo2.common.model_files.UnsafeFileError`) and never
            runs. Exception: ``learning_rate``/``cliprange``/``cliprange_vf`` functions pickled by
            value (SB2 saves them after ``learn()``) become the constant of SB2's ``constfn``, or
            the constructor's default, with a ``FallbackWarning``. True: the file is trusted and
            may run code while it is read (pickle's usual behaviour); only pass it for files you
            trust. It is never taken as an attribute override.
        :param kwargs: attributes that override the stored ones (``policy=MyPolicy``,
            ``verbose=1``...); like ``custom_objects``, entries given this way are never
            deserialised from the file. ``policy_kwargs`` must equal the stored ones (ValueError).
            A keyword naming a method is refused (ValueError).
        :raises RuntimeError: (``ModelFileError``) the file or one entry cannot be read; the
            message names both. ``ModelDataError`` (also a ValueError): the file's ``data`` names a
            method or another attribute that is not data, or holds values the constructor refuses or
            sizes that could not be allocated (see the algorithm's ``_data_schema``). Unknown
            ``data`` entries are ignored with one ``IgnoredEntryWarning``.
        """
        if custom_objects is not None and not isinstance(custom_objects, dict):
            raise ValueError("custom_objects argument must be a dict or None")
        replaced = dict(custom_objects or {})
        replaced.update({key: value for key, value in kwargs.items() if key != "policy_kwargs"})
        data, params = cls._load_from_file(load_path, custom_objects=replaced, trust_file=trust_file)
        if data is None or "policy" not in data:
            raise ModelFileError(f"Model file {load_path!r} has no 'data' entry with a 'policy': it "
                                 "holds parameters only (use load_parameters)")
        if params is None:
            raise ModelFileError(f"Model file {load_path!r} has no 'parameters' entry")
        stored_kwargs = data.get("policy_kwargs", {})
        if "policy_kwargs" in kwargs and kwargs["policy_kwargs"] != stored_kwargs:
            raise ValueError(f"The specified policy kwargs do not equal the stored policy kwargs. "
                             f"Stored kwargs: {stored_kwargs}, specified kwargs: "
                             f"{kwargs['policy_kwargs']}")
        # What the file holds is checked before the caller's env is looked at; any failure to make
        # a model of it is one ModelDataError (a ModelFileError and a ValueError). Only entries of
        # the algorithm's schema are set, and only once all of them are checked.
        schema = cls._data_schema
        try:
            # the algorithm classes (PPO2), unlike BaseRLModel itself, take _init_setup_model
            model = cls(policy=data["policy"], env=None, _init_setup_model=False)  # type: ignore[call-arg]
        except Exception as error:  # pylint: disable=broad-except
            raise ModelDataError(f"Model file {load_path!r} does not describe a valid "
                                 f"{cls.__name__} model: {error}") from error
        overrides = schema.select(kwargs, model, "load()", origin="load() keyword", supplied=kwargs)
        try:
            entries = schema.select(data, model, f"Model file {load_path!r}", supplied=replaced)
            model.__dict__.update(entries)
            model.__dict__.update(overrides)
            for role in ("observation", "action"):
                space = getattr(model, f"{role}_space", None)
                if not isinstance(space, spaces.Space):
                    raise ValueError(f"its {role}_space is a {type(space).__name__}, not a space")
            _check_spaces(model.observation_space, model.action_space)
            _check_space_sizes(model.observation_space, model.action_space, params)
            model._check_hyperparameters()
            schema.check(vars(model))
        except Exception as error:  # pylint: disable=broad-except
            raise ModelDataError(f"Model file {load_path!r} does not describe a valid "
                                 f"{cls.__name__} model: {error}") from error
        model.set_env(env)  # ValueError: the env's spaces differ from the file's
        try:
            model.setup_model()
            model.load_parameters(params)
            broken = [v.name for v in model.get_parameter_list() if not np.all(np.isfinite(v.numpy()))]
            if broken:
                raise ValueError(f"parameters {', '.join(broken)} hold NaN or inf values")
        except ModelFileError:
            raise
        except Exception as error:  # pylint: disable=broad-except
            raise ModelDataError(f"Could not build a {cls.__name__} model from model file "
                                 f"{load_path!r}: {type(error).__name__}: {error}") from error
        from stable_ppo2.common.training_state import load_training_state_into
        load_training_state_into(model, load_path, trust=trust_file)  # a saved training state, if any
        return model

    # ------------------------------------------------------------------------------ prediction
    @staticmethod
    def _is_vectorized_observation(observation: np.ndarray, observation_space) -> bool:
        """Whether ``observation`` is a batch (SB2's rules), with a clear error for wrong shapes."""
        return is_vectorized_observation(observation, observation_space)


class ActorCriticRLModel(BaseRLModel):
    """A model with an actor-critic policy: ``predict`` and ``action_probability``."""

    def __init__(self, policy: Union[str, Type[BasePolicy]], env: Any, _init_setup_model: bool, verbose: int = 0,
                 policy_base: Optional[Type[BasePolicy]] = None, requires_vec_env: bool = False,
                 policy_kwargs: Optional[Dict[str, Any]] = None, seed: Optional[int] = None,
                 n_cpu_tf_sess: Optional[int] = None) -> None:
        super().__init__(policy, env, verbose=verbose, requires_vec_env=requires_vec_env,
                         policy_base=policy_base, policy_kwargs=policy_kwargs, seed=seed,
                         n_cpu_tf_sess=n_cpu_tf_sess)
        # set by setup_model (None before, as in SB2)
        self.act_model: Any = None
        self.train_model: Any = None
        self.step: Any = None
        self.proba_step: Any = None
        self.initial_state: Any = None

    def get_parameter_list(self) -> List[Any]:
        return list(self.params)

    def set_random_seed(self, seed: Optional[int]) -> None:
        """As :meth:`BaseRLModel.set_random_seed`, and the policy's action sampling (``predict``
        and rollouts with stochastic actions) restarts from ``seed``, as a model built with it.
        Without this a loaded model whose file holds no seed would sample from a seed drawn at
        load time."""
        super().set_random_seed(seed)
        if seed is not None and self.act_model is not None:
            self._seed_action_sampling(seed)

    def _seed_action_sampling(self, seed: int) -> None:
        """Restart the generator the policy samples stochastic actions from."""
        self.act_model.np_random = np.random.default_rng(seed)

    def _prepare_observation(self, observation: np.ndarray):
        space = self.observation_space
        given = type(observation).__name__
        try:
            observation = np.array(observation)
        except (ValueError, TypeError) as error:  # ragged nested lists
            raise ValueError(f"Error: the observation ({given}) is not an array of numbers, as the "
                             f"observation space {space} needs: {error}") from error
        if observation.dtype.kind not in "biuf":
            raise ValueError(f"Error: the observation space {space} needs numbers (dtype {space.dtype}); "
                             f"got a {given} that makes an array of dtype {observation.dtype}")
        vectorized = self._is_vectorized_observation(observation, space)
        check_space_values(observation, space, "observations")
        observation = observation.reshape((-1,) + tuple(space.shape))
        return observation, vectorized

    def _prepare_inputs(self, observation: np.ndarray, state: Optional[np.ndarray], mask: Optional[np.ndarray]):
        """Batch the observation; for recurrent models also one state row and one episode-start
        flag per observation (zeros when not given), whatever the training ``n_envs``."""
        observation, vectorized = self._prepare_observation(observation)
        if self.initial_state is None:
            return observation, None, None, vectorized
        n_rows = observation.shape[0]
        state_shape = tuple(np.shape(self.initial_state)[1:])
        if state is None:
            state = np.zeros((n_rows,) + state_shape, np.float32)
        else:
            state = np.asarray(state, np.float32)
            if state.size != n_rows * int(np.prod(state_shape)):
                raise ValueError(f"Error: state of shape {state.shape} for {n_rows} observation(s); "
                                 f"expected ({n_rows}, {', '.join(map(str, state_shape))})")
            state = state.reshape((n_rows,) + state_shape)
        mask = np.zeros(n_rows, bool) if mask is None else np.asarray(mask, bool).reshape(n_rows)
        return observation, state, mask, vectorized

    def predict(self, observation: np.ndarray, state: Optional[np.ndarray] = None, mask: Optional[np.ndarray] = None,
                deterministic: bool = False) -> Tuple[np.ndarray, Optional[np.ndarray]]:
        """Actions for one observation or a batch; Box actions are clipped to the bounds.

        Recurrent models take any number of observations (SB2: exactly ``n_envs``), with ``state``
        from the previous call (None: zeros) and ``mask``, the done flags of the previous step.
        """
        observation, state, mask, vectorized = self._prepare_inputs(observation, state, mask)
        actions, _, states, _ = self.step(observation, state, mask, deterministic=deterministic)
        actions = self.act_model.pdtype.np_clip_actions(actions)
        if not vectorized:
            actions = actions[0]
        return actions, states

    def action_probability(self, observation: np.ndarray, state: Optional[np.ndarray] = None,
                           mask: Optional[np.ndarray] = None, actions: Optional[np.ndarray] = None,
                           logp: bool = False) -> Optional[Proba]:
        """The policy's action distribution, or the (log-)probability of ``actions`` (SB2 shapes)."""
        observation, state, mask, vectorized = self._prepare_inputs(observation, state, mask)
        actions_proba = self.proba_step(observation, state, mask)
        if len(actions_proba) == 0:
            warnings.warn(f"Warning: action probability is not implemented for {type(self.action_space).__name__} "
                          "action space. Returning None.")
            return None
        if actions is None:
            ret = actions_proba
        else:
            pdtype = self.act_model.pdtype
            actions = pdtype.check_actions(actions, observation.shape[0])
            ret = pdtype.np_likelihood(actions_proba, actions, logp).reshape((-1, 1))
        if not vectorized:
            ret = ret[0]
        return ret

    def export_policy(self, path: str, format: str = "saved_model", vec_normalize: Optional[VecNormalize] = None,
                      stochastic: bool = False, seed: Optional[int] = None) -> str:
        """Write the policy as a TF SavedModel folder or a ``.tflite`` file (raw observations to
        actions and values; ``vec_normalize``'s statistics folded in); returns ``path``.
        See :func:`stable_ppo2.common.export.export_policy` and ``docs/export.md``."""
        from stable_ppo2.common.export import export_policy  # pylint: disable=import-outside-toplevel
        return export_policy(self, path, format=format, vec_normalize=vec_normalize, stochastic=stochastic,
                             seed=seed)


