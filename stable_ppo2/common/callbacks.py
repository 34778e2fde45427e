"""Training callbacks with SB2's API (``stable_baselines.common.callbacks``).

A model calls, in this order: ``init_callback(model)``, ``on_training_start(locals_, globals_)``, then per update
``on_rollout_start()``, per env step ``update_locals(locals_)`` and ``on_step()`` (``False`` stops training),
``on_rollout_end()``, and finally ``on_training_end()``. Subclasses override the ``_on_*`` hooks.

Only a return value that *is* ``False`` stops training (as SB2's identity check); ``None`` or anything else
continues, so legacy functions without a return statement keep training. The public hooks return a real ``bool``.
"""
import os
import re
import warnings
from typing import Any, Callable, Dict, List, NamedTuple, Optional, Tuple, Union, cast

import numpy as np

from stable_ppo2 import logger
from stable_ppo2.common.evaluation import evaluate_on_envs, evaluate_policy
from stable_ppo2.common.vec_env import DummyVecEnv, VecEnv, sync_envs_normalization

__all__ = [
    "BaseCallback",
    "CallbackList",
    "Checkpoint",
    "CheckpointCallback",
    "ConvertCallback",
    "EvalCallback",
    "EventCallback",
    "EveryNTimesteps",
    "StopTrainingOnRewardThreshold",
    "latest_checkpoint",
]

LegacyCallback = Callable[[Dict[str, Any], Dict[str, Any]], Any]
#: what ``learn(callback=...)`` takes: nothing, SB2's function, a list of callbacks, or a callback
MaybeCallback = Union[None, LegacyCallback, List[Any], "BaseCallback"]


def _keep_training(result: Any) -> bool:
    """SB2's rule: only the object ``False`` stops training."""
    return result is not False


class BaseCallback:
    """Base class of all callbacks: tracks the model, the call count and the training loop's namespaces.

    :param verbose: 0 silent, 1 info, 2 debug
    """

    def __init__(self, verbose: int = 0) -> None:
        self.model: Any = None
        self.training_env: Any = None
        self.n_calls = 0
        self.num_timesteps = 0
        self.verbose = verbose
        self.locals: Dict[str, Any] = {}
        self.globals: Dict[str, Any] = {}
        self.logger: Optional[logger.Logger] = None
        self.parent: Optional["BaseCallback"] = None

    def init_callback(self, model: Any) -> None:
        """Bind the callback to ``model`` (and its env and the current logger) before training."""
        self.model = model
        self.training_env = model.get_env()
        self.logger = logger.Logger.CURRENT
        self._init_callback()

    def _init_callback(self) -> None:
        pass

    def on_training_start(self, locals_: Dict[str, Any], globals_: Dict[str, Any]) -> None:
        """Keep the training loop's namespaces (by reference, so children and later updates share them)."""
        self.locals = locals_
        self.globals = globals_
        self._on_training_start()

    def _on_training_start(self) -> None:
        pass

    def on_rollout_start(self) -> None:
        self._on_rollout_start()

    def _on_rollout_start(self) -> None:
        pass

    def on_step(self) -> bool:
        """Called after every ``env.step``; returns False to stop training."""
        self.n_calls += 1
        self.num_timesteps = self.model.num_timesteps
        return _keep_training(self._on_step())

    def _on_step(self) -> bool:
        return True

    def on_rollout_end(self) -> None:
        self._on_rollout_end()

    def _on_rollout_end(self) -> None:
        pass

    def on_training_end(self) -> None:
        self._on_training_end()

    def _on_training_end(self) -> None:
        pass

    def update_locals(self, locals_: Dict[str, Any]) -> None:
        """Merge the runner's locals into ``self.locals``.

        ``'self'`` keeps pointing at the model (SB2 let the runner overwrite it, breaking legacy
        ``locals_['self'].save(...)``; spec quirk 9, fixed).
        """
        self.locals.update(locals_)
        if self.model is not None and "self" in self.locals:
            self.locals["self"] = self.model


class EventCallback(BaseCallback):
    """A callback that triggers a child callback (``callback``) on some event, e.g. a new best model.

    :param callback: the child, run by :meth:`_on_event`; its ``parent`` is set to this callback
    """

    def __init__(self, callback: Optional[BaseCallback] = None, verbose: int = 0) -> None:
        super().__init__(verbose=verbose)
        self.callback = callback
        if callback is not None:
            callback.parent = self

    def init_callback(self, model: Any) -> None:
        super().init_callback(model)
        if self.callback is not None:
            self.callback.init_callback(self.model)

    def _on_training_start(self) -> None:
        if self.callback is not None:
            self.callback.on_training_start(self.locals, self.globals)

    def _on_event(self) -> bool:
        """Run the child's ``on_step``; True (continue) when there is no child."""
        if self.callback is not None:
            return self.callback.on_step()
        return True

    def update_locals(self, locals_: Dict[str, Any]) -> None:
        super().update_locals(locals_)
        if self.callback is not None:
            self.callback.update_locals(locals_)


class CallbackList(BaseCallback):
    """Run several callbacks as one; training stops if any of them returns False (all are still called).

    :param callbacks: a list of BaseCallback
    """

    def __init__(self, callbacks: List[BaseCallback]) -> None:
        super().__init__()
        if not isinstance(callbacks, list):
            raise TypeError(f"CallbackList expects a list of callbacks, got {type(callbacks).__name__}")
        self.callbacks = callbacks

    def _init_callback(self) -> None:
        for callback in self.callbacks:
            callback.init_callback(self.model)

    def _on_training_start(self) -> None:
        for callback in self.callbacks:
            callback.on_training_start(self.locals, self.globals)

    def _on_rollout_start(self) -> None:
        for callback in self.callbacks:
            callback.on_rollout_start()

    def _on_step(self) -> bool:
        results = [callback.on_step() for callback in self.callbacks]  # every child runs, even after a stop
        return all(_keep_training(result) for result in results)

    def _on_rollout_end(self) -> None:
        for callback in self.callbacks:
            callback.on_rollout_end()

    def _on_training_end(self) -> None:
        for callback in self.callbacks:
            callback.on_training_end()

    def update_locals(self, locals_: Dict[str, Any]) -> None:
        super().update_locals(locals_)
        for callback in self.callbacks:
            callback.update_locals(locals_)


class ConvertCallback(BaseCallback):
    """Wrap a legacy function ``f(locals_, globals_)`` called on every step; returning ``False`` stops training.

    :param callback: the function, or None for a callback that does nothing
    """

    def __init__(self, callback: Optional[LegacyCallback], verbose: int = 0) -> None:
        super().__init__(verbose)
        self.callback = callback

    def _on_training_start(self) -> None:
        # SB2 before 2.10 kept the episode statistics in a local of learn(); functions of that time read
        # locals_['ep_info_buf'] (SB2's own test_lstm_train does)
        episodes = getattr(self.model, "ep_info_buf", None)
        if episodes is not None:
            self.locals.setdefault("ep_info_buf", episodes)

    def _on_step(self) -> bool:
        if self.callback is not None:
            return _keep_training(self.callback(self.locals, self.globals))
        return True


class CheckpointCallback(BaseCallback):
    """Save the model every ``save_freq`` calls as ``{save_path}/{name_prefix}_{num_timesteps}_steps.zip``.

    When the model trains on a VecNormalize env its statistics are saved beside the checkpoint as
    ``..._steps_vecnormalize.pkl``, since the model file does not contain them.

    :param save_freq: save every this many ``on_step`` calls (one call per ``n_envs`` timesteps)
    :param save_path: folder for the checkpoints, created at init
    :param name_prefix: file name prefix
    :param verbose: > 1 prints each save
    """

    def __init__(self, save_freq: int, save_path: str, name_prefix: str = "rl_model", verbose: int = 0) -> None:
        super().__init__(verbose)
        self.save_freq = save_freq
        self.save_path = save_path
        self.name_prefix = name_prefix

    def _init_callback(self) -> None:
        if self.save_path is not None:
            os.makedirs(self.save_path, exist_ok=True)

    def _on_step(self) -> bool:
        if self.n_calls % self.save_freq == 0:
            path = os.path.join(self.save_path, f"{self.name_prefix}_{self.num_timesteps}_steps")
            self.model.save(path)
            if self.verbose > 1:
                print(f"Saving model checkpoint to {path}")
            get_vec_normalize_env = getattr(self.model, "get_vec_normalize_env", None)
            vec_normalize = get_vec_normalize_env() if get_vec_normalize_env is not None else None
            if vec_normalize is not None:
                vec_normalize.save(path + "_vecnormalize.pkl")
                if self.verbose > 1:
                    print(f"Saving VecNormalize statistics to {path}_vecnormalize.pkl")
        return True


class Checkpoint(NamedTuple):
    """A checkpoint written by :class:`CheckpointCallback`."""

    path: str  #: the model file, ``{save_path}/{name_prefix}_{num_timesteps}_steps.zip``
    num_timesteps: int  #: the model's ``num_timesteps`` when it was saved
    vec_normalize_path: Optional[str]  #: the VecNormalize statistics saved with it, or None


def latest_checkpoint(save_path: str, name_prefix: str = "rl_model") -> Optional[Checkpoint]:
    """The checkpoint with the most timesteps that :class:`CheckpointCallback` left in ``save_path``
    (None if there is none), to resume a run that was killed.

    Saves are atomic, so every checkpoint file is complete (temporary files of an interrupted save
    are ignored). When the run trained on VecNormalize (some checkpoint has statistics beside it),
    only checkpoints with their statistics count: a run killed between the two saves falls back to
    the checkpoint before. ``num_timesteps`` comes from the file name (model files do not store it):

    >>> checkpoint = latest_checkpoint("checkpoints")
    >>> env = VecNormalize.load(checkpoint.vec_normalize_path, make_env())
    >>> model = PPO2.load(checkpoint.path, env=env)
    >>> model.num_timesteps = checkpoint.num_timesteps
    >>> model.learn(total_timesteps - checkpoint.num_timesteps, reset_num_timesteps=False,
    ...             callback=CheckpointCallback(save_freq, "checkpoints"))
    """
    pattern = re.compile(rf"^{re.escape(name_prefix)}_(\d+)_steps\.zip$")
    found = []
    for name in sorted(os.listdir(save_path)) if os.path.isdir(save_path) else []:
        match = pattern.match(name)
        if match is None:
            continue
        path = os.path.join(save_path, name)
        stats_path = path[:-len(".zip")] + "_vecnormalize.pkl"
        found.append(Checkpoint(path, int(match.group(1)), stats_path if os.path.isfile(stats_path) else None))
    if any(checkpoint.vec_normalize_path for checkpoint in found):
        found = [checkpoint for checkpoint in found if checkpoint.vec_normalize_path]
    return max(found, key=lambda checkpoint: checkpoint.num_timesteps, default=None)


class EvalCallback(EventCallback):
    """Evaluate the model every ``eval_freq`` calls on ``eval_env``; keep the best model; log the results.

    :param eval_env: a gym env (wrapped in a DummyVecEnv) or a VecEnv (with several envs the episodes are
        spread over them, see :func:`~stable_ppo2.common.evaluation.evaluate_on_envs`)
    :param callback_on_new_best: run when the mean reward improves; it may stop training
    :param n_eval_episodes: episodes per evaluation
    :param eval_freq: evaluate every this many ``on_step`` calls (<= 0: never)
    :param log_path: folder for ``evaluations.npz`` (timesteps, results, ep_lengths), or None
    :param best_model_save_path: folder for ``best_model.zip``, or None
    :param deterministic: evaluate with deterministic actions
    :param render: render the eval env
    :param verbose: > 0 prints each evaluation
    """

    def __init__(
        self,
        eval_env: Any,
        callback_on_new_best: Optional[BaseCallback] = None,
        n_eval_episodes: int = 5,
        eval_freq: int = 10000,
        log_path: Optional[str] = None,
        best_model_save_path: Optional[str] = None,
        deterministic: bool = True,
        render: bool = False,
        verbose: int = 1,
    ) -> None:
        super().__init__(callback_on_new_best, verbose=verbose)
        self.n_eval_episodes = n_eval_episodes
        self.eval_freq = eval_freq
        self.best_mean_reward = -np.inf
        self.last_mean_reward = -np.inf
        self.deterministic = deterministic
        self.render = render

        if not isinstance(eval_env, VecEnv):
            single_env = eval_env
            eval_env = DummyVecEnv([lambda: single_env])
        self.eval_env = eval_env
        self.best_model_save_path = best_model_save_path
        self.log_path = os.path.join(log_path, "evaluations") if log_path is not None else None
        self.evaluations_results: List[Any] = []
        self.evaluations_timesteps: List[int] = []
        self.evaluations_length: List[List[int]] = []

    def _init_callback(self) -> None:
        if type(self.training_env) is not type(self.eval_env):
            warnings.warn(
                "Training and eval env are not of the same type: "
                f"{type(self.training_env).__name__} != {type(self.eval_env).__name__}"
            )
        if self.best_model_save_path is not None:
            os.makedirs(self.best_model_save_path, exist_ok=True)
        if self.log_path is not None:
            os.makedirs(os.path.dirname(self.log_path), exist_ok=True)

    def _on_step(self) -> bool:
        if self.eval_freq <= 0 or self.n_calls % self.eval_freq != 0:
            return True
        # Evaluate with the training env's current normalisation statistics.
        sync_envs_normalization(self.training_env, self.eval_env)
        if self.eval_env.num_envs > 1:
            episode_rewards, episode_lengths = evaluate_on_envs(self.model, self.eval_env, self.n_eval_episodes,
                                                                self.deterministic)
        else:
            episode_rewards, episode_lengths = cast(Tuple[List[float], List[int]], evaluate_policy(
                self.model,
                self.eval_env,
                n_eval_episodes=self.n_eval_episodes,
                render=self.render,
                deterministic=self.deterministic,
                return_episode_rewards=True,
            ))
        if self.log_path is not None:
            self.evaluations_timesteps.append(self.num_timesteps)
            self.evaluations_results.append(episode_rewards)
            self.evaluations_length.append(episode_lengths)
            np.savez(
                self.log_path,
                timesteps=self.evaluations_timesteps,
                results=self.evaluations_results,
                ep_lengths=self.evaluations_length,
            )

        mean_reward, std_reward = float(np.mean(episode_rewards)), float(np.std(episode_rewards))
        mean_ep_length, std_ep_length = np.mean(episode_lengths), np.std(episode_lengths)
        self.last_mean_reward = mean_reward
        if self.verbose > 0:
            print(f"Eval num_timesteps={self.num_timesteps}, episode_reward={mean_reward:.2f} +/- {std_reward:.2f}")
            print(f"Episode length: {mean_ep_length:.2f} +/- {std_ep_length:.2f}")

        if mean_reward > self.best_mean_reward:
            if self.verbose > 0:
                print("New best mean reward!")
            if self.best_model_save_path is not None:
                self.model.save(os.path.join(self.best_model_save_path, "best_model"))
                vec_normalize = self.model.get_vec_normalize_env()
                if vec_normalize is not None:  # the statistics the best model was evaluated with
                    vec_normalize.save(os.path.join(self.best_model_save_path, "best_model_vecnormalize.pkl"))
            self.best_mean_reward = mean_reward
            if self.callback is not None:
                return self._on_event()
        return True


class StopTrainingOnRewardThreshold(BaseCallback):
    """Stop training once the parent EvalCallback's best mean reward reaches ``reward_threshold``.

    Use it as ``EvalCallback(..., callback_on_new_best=StopTrainingOnRewardThreshold(threshold))``.
    """

    def __init__(self, reward_threshold: float, verbose: int = 0) -> None:
        super().__init__(verbose=verbose)
        self.reward_threshold = reward_threshold

    def _on_step(self) -> bool:
        if self.parent is None:
            raise ValueError("StopTrainingOnRewardThreshold must be the callback_on_new_best of an EvalCallback "
                             "(it has no parent)")
        best_mean_reward = cast(Any, self.parent).best_mean_reward  # an EvalCallback's
        continue_training = bool(best_mean_reward < self.reward_threshold)
        if self.verbose > 0 and not continue_training:
            print(
                f"Stopping training because the mean reward {best_mean_reward:.2f} "
                f"is above the threshold {self.reward_threshold}"
            )
        return continue_training


class EveryNTimesteps(EventCallback):
    """Run ``callback`` whenever at least ``n_steps`` timesteps have passed since it last ran.

    :param n_steps: timesteps between two triggers
    :param callback: the callback to run
    """

    def __init__(self, n_steps: int, callback: BaseCallback) -> None:
        super().__init__(callback)
        self.n_steps = n_steps
        self.last_time_trigger = 0

    def _on_step(self) -> bool:
        if (self.num_timesteps - self.last_time_trigger) >= self.n_steps:
            self.last_time_trigger = self.num_timesteps
            return self._on_event()
        return True


class ProgressBarCallback(BaseCallback):
    """A tqdm progress bar over timesteps, showing fps and the mean return of the last 100 episodes.

    ``learn(..., progress_bar=True)`` adds it.
    """

    def __init__(self, total_timesteps: int) -> None:
        super().__init__()
        self.total_timesteps = total_timesteps
        self.bar: Any = None  # tqdm's bar while training

    def _on_training_start(self) -> None:
        from tqdm import tqdm

        total = self.total_timesteps
        n_batch = getattr(self.model, "n_batch", None)
        if n_batch:  # learn() runs total_timesteps // n_batch whole updates: the bar ends at 100%
            total = (total // n_batch) * n_batch
        self.start = self.model.num_timesteps  # learn(reset_num_timesteps=False) continues the count
        self.bar = tqdm(total=total, unit="step", smoothing=0.1, mininterval=0.5, dynamic_ncols=True)

    def _on_step(self) -> bool:
        self.bar.update(self.model.num_timesteps - self.start - self.bar.n)
        return True

    def _on_rollout_end(self) -> None:
        episodes = self.model.ep_info_buf
        if episodes:
            mean_return = sum(info["r"] for info in episodes) / len(episodes)
            self.bar.set_postfix(mean_return=f"{mean_return:.1f}", refresh=False)

    def _on_training_end(self) -> None:
        self.bar.close()
