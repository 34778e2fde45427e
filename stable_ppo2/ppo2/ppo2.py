"""Proximal Policy Optimization (PPO2) with SB2's API, loss and defaults.

One training iteration (an "update"):

1. :class:`Runner` steps ``n_envs`` environments ``n_steps`` times with the current policy (numpy
   forward pass, no TF call per step), then computes GAE(lambda) advantages and returns into a
   :class:`~stable_ppo2.ppo2.rollout.RolloutBuffer`.
2. :meth:`PPO2._train_update`, one compiled ``tf.function`` traced once per model, takes the
   buffer's arrays by name and the minibatch plan, and runs all ``noptepochs`` x ``nminibatches``
   minibatch steps: per-minibatch advantage normalisation, the
   clipped surrogate loss, SB2's value clipping, an entropy bonus, global-norm gradient clipping
   and TF1's Adam update (epsilon 1e-5).

Details kept from SB2 on purpose (spec section 9): value clipping on by default
(``cliprange_vf=None`` uses ``cliprange``), no bootstrapping on time-limit truncation, schedules
evaluated at ``frac = 1 - (update - 1) / n_updates``, ``total_timesteps // n_batch`` updates.
"""
from __future__ import annotations

import numbers
import time
from typing import Any, Callable, Dict, List, Optional, Tuple, Type, Union, cast

import numpy as np

from stable_ppo2 import logger
from stable_ppo2.common.base_class import ActorCriticRLModel, SetVerbosity
from stable_ppo2.common.callbacks import MaybeCallback, ProgressBarCallback
from stable_ppo2.common.input import input_dtype, input_shape
from stable_ppo2.common.math_util import explained_variance, safe_mean
from stable_ppo2.common.model_files.schema import DataSchema
from stable_ppo2.common.optimizers import Tf1Adam
from stable_ppo2.common.policies import ActorCriticPolicy
from stable_ppo2.common.runners import AbstractEnvRunner
from stable_ppo2.common.schedules import ScheduleLike, get_schedule_fn
from stable_ppo2.common.tensorboard import TensorboardWriter, total_episode_reward_logger
from stable_ppo2.common.tf_util import USE_XLA, is_image, set_num_threads, tf
from stable_ppo2.common.training_state import first_update
from stable_ppo2.common.vec_env import VecEnv
from stable_ppo2.ppo2.rollout import MinibatchPlan, RolloutBuffer, compute_gae, minibatch_plan, swap_and_flatten

LOSS_NAMES = ["policy_loss", "value_loss", "policy_entropy", "approxkl", "clipfrac"]
#: the per-sample float vectors of the compiled update's batch, packed as rows of one array
BATCH_VECTORS = ("returns", "values", "neglogpacs", "episode_starts")
#: this update's schedule values, packed as one array
SCHEDULE_VALUES = ("learning_rate", "cliprange", "cliprange_vf")


def _check_int(name: str, value: Any, minimum: int = 1) -> None:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{name} must be an int >= {minimum}, got {value!r}")


def _check_number(name: str, value: Any, expected: str, valid: Callable[[Any], bool]) -> None:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real) or not valid(value):
        raise ValueError(f"{name} must be {expected}, got {value!r}")


def _finite_non_negative(value: float) -> bool:
    return bool(np.isfinite(value)) and value >= 0


def _check_schedule_values(update: int, frac: float, learning_rate, cliprange, cliprange_vf) -> None:
    """The values the schedules gave for this update: finite, and >= 0 but for ``cliprange_vf``."""
    for name, value, negative_ok in (("learning_rate", learning_rate, False), ("cliprange", cliprange, False),
                                     ("cliprange_vf", cliprange_vf, True)):
        if value is None and negative_ok:
            continue
        try:  # numbers, numpy scalars and 0-d arrays (what np.float32() takes), not strings or bools
            number = None if isinstance(value, (str, bytes, bool, np.bool_)) else float(value)
        except (TypeError, ValueError):
            number = None
        if number is None or not np.isfinite(number) or (number < 0 and not negative_ok):
            expected = "None or a finite number" if negative_ok else "a finite number >= 0"
            raise ValueError(f"The {name} schedule returned {value!r} at update {update} (progress "
                             f"remaining {frac:.4g}); expected {expected}.")


class Runner(AbstractEnvRunner):
    """Collects ``n_steps`` transitions from every env and computes GAE(lambda) returns."""

    def __init__(self, *, env: VecEnv, model: PPO2, n_steps: int, gamma: float, lam: float) -> None:
        super().__init__(env=env, model=model, n_steps=n_steps)
        self.gamma = gamma
        self.lam = lam

    def _run(self) -> Optional[RolloutBuffer]:
        """The rollout (iterating it gives SB2's 9-tuple), or None if a callback stopped training."""
        n_steps, n_envs = self.n_steps, self.n_envs
        model, env, callback = self.model, self.env, self.callback
        # env-major from the start: swapping the axes of a large (image) batch afterwards is a slow copy
        mb_obs = np.empty((n_envs, n_steps) + self.obs.shape[1:], dtype=self.obs.dtype)
        mb_rewards = np.empty((n_steps, n_envs), dtype=np.float32)
        mb_values = np.empty((n_steps, n_envs), dtype=np.float32)
        mb_neglogpacs = np.empty((n_steps, n_envs), dtype=np.float32)
        mb_dones = np.empty((n_steps, n_envs), dtype=bool)
        mb_actions = None
        mb_states = self.states
        ep_infos = []
        clip_actions = model.act_model.pdtype.np_clip_actions  # Box: to the bounds (SB2); others as sampled
        for step in range(n_steps):
            actions, values, self.states, neglogpacs = model.step(self.obs, self.states, self.dones)
            if mb_actions is None:
                mb_actions = np.empty((n_steps,) + actions.shape, dtype=actions.dtype)
            mb_obs[:, step] = self.obs
            mb_actions[step] = actions
            mb_values[step] = values
            mb_neglogpacs[step] = neglogpacs
            mb_dones[step] = self.dones
            self.obs[:], rewards, self.dones, infos = env.step(clip_actions(actions))
            model.num_timesteps += n_envs
            if callback is not None:
                callback.update_locals(locals())  # keeps locals['self'] the model (quirk 9 fixed)
                if callback.on_step() is False:
                    self.continue_training = False
                    return None
            for info in infos:
                episode_info = info.get("episode")
                if episode_info is not None:
                    ep_infos.append(episode_info)
            mb_rewards[step] = rewards
        last_values = model.value(self.obs, self.states, self.dones)
        mb_advs = compute_gae(mb_rewards, mb_values, mb_dones, last_values, self.dones, self.gamma, self.lam)
        return RolloutBuffer(
            obs=mb_obs.reshape((n_envs * n_steps,) + mb_obs.shape[2:]), returns=swap_and_flatten(mb_advs + mb_values),
            episode_starts=swap_and_flatten(mb_dones), actions=swap_and_flatten(cast(np.ndarray, mb_actions)),
            values=swap_and_flatten(mb_values), neglogpacs=swap_and_flatten(mb_neglogpacs),
            initial_states=mb_states, true_rewards=swap_and_flatten(mb_rewards), episode_infos=ep_infos)


class PPO2(ActorCriticRLModel):
    """Proximal Policy Optimization, SB2's PPO2 (same arguments, order and defaults).

    :param policy: policy class or registered name (``"MlpPolicy"``, ``"CnnPolicy"``, ...)
    :param env: gymnasium env, VecEnv, or registered env id
    :param learning_rate, cliprange, cliprange_vf: float or ``f(frac)`` of the remaining progress
        (1 at the first update of each ``learn`` call); ``cliprange_vf=None`` clips the value with
        ``cliprange`` (SB2's default), a negative value disables value clipping
    :param nminibatches: minibatches per epoch (``n_envs * n_steps`` must be divisible by it)
    :param n_cpu_tf_sess: TF threads (process-wide and only before TF starts: best effort)
    """

    def __init__(self, policy: Union[str, Type[ActorCriticPolicy]], env: Any, gamma: float = 0.99, n_steps: int = 128,
                 ent_coef: float = 0.01, learning_rate: ScheduleLike = 2.5e-4,
                 vf_coef: float = 0.5, max_grad_norm: float = 0.5, lam: float = 0.95, nminibatches: int = 4,
                 noptepochs: int = 4, cliprange: ScheduleLike = 0.2,
                 cliprange_vf: Optional[ScheduleLike] = None, verbose: int = 0,
                 tensorboard_log: Optional[str] = None, _init_setup_model: bool = True,
                 policy_kwargs: Optional[Dict[str, Any]] = None, full_tensorboard_log: bool = False,
                 seed: Optional[int] = None, n_cpu_tf_sess: Optional[int] = None) -> None:
        self.learning_rate = learning_rate
        self.cliprange = cliprange
        self.cliprange_vf = cliprange_vf
        self.n_steps = n_steps
        self.ent_coef = ent_coef
        self.vf_coef = vf_coef
        self.max_grad_norm = max_grad_norm
        self.gamma = gamma
        self.lam = lam
        self.nminibatches = nminibatches
        self.noptepochs = noptepochs
        self.tensorboard_log = tensorboard_log
        self.full_tensorboard_log = full_tensorboard_log
        # set by setup_model (None before, as in SB2)
        self.n_batch: Any = None
        self.value: Any = None
        self.loss_names = list(LOSS_NAMES)
        self._runner: Optional[Runner] = None
        self._optimizer: Any = None
        self._train_update: Any = None
        self._train_trace_count = 0
        super().__init__(policy=policy, env=env, verbose=verbose, requires_vec_env=True,
                         _init_setup_model=_init_setup_model, policy_base=ActorCriticPolicy,
                         policy_kwargs=policy_kwargs, seed=seed, n_cpu_tf_sess=n_cpu_tf_sess)
        if _init_setup_model:
            self.setup_model()

    # ------------------------------------------------------------------------------ setup
    def _check_hyperparameters(self) -> None:
        """ValueError naming the hyperparameter, what it must be and what it is. Schedules
        (callables) are checked on the values they return, at each update of ``learn``."""
        for name in ("n_steps", "nminibatches", "noptepochs"):
            _check_int(name, getattr(self, name))
        for name in ("n_envs", "n_cpu_tf_sess"):
            if getattr(self, name) is not None:
                _check_int(name, getattr(self, name))
        if self.seed is not None:
            _check_int("seed", self.seed, minimum=0)
        if not isinstance(self.verbose, (int, np.integer)):  # bools too (verbose=True)
            raise ValueError(f"verbose must be an int, got {self.verbose!r}")
        for name in ("gamma", "lam"):
            _check_number(name, getattr(self, name), "in [0, 1]", lambda value: 0.0 <= value <= 1.0)
        for name in ("ent_coef", "vf_coef"):
            _check_number(name, getattr(self, name), "a finite number >= 0", _finite_non_negative)
        for name in ("learning_rate", "cliprange"):
            if not callable(getattr(self, name)):
                _check_number(name, getattr(self, name), "a finite number >= 0 or a schedule",
                              _finite_non_negative)
        if self.cliprange_vf is not None and not callable(self.cliprange_vf):
            _check_number("cliprange_vf", self.cliprange_vf, "None, a finite number (negative: no "
                          "value clipping) or a schedule", np.isfinite)
        if self.max_grad_norm is not None:
            _check_number("max_grad_norm", self.max_grad_norm, "None (no clipping) or a number > 0",
                          lambda value: value > 0)
        if not isinstance(self.policy_kwargs, dict):
            raise ValueError(f"policy_kwargs must be a dict, got {self.policy_kwargs!r}")

    def _check_n_envs(self, n_envs: int) -> None:
        if self.nminibatches > n_envs * self.n_steps:
            raise ValueError(f"nminibatches={self.nminibatches} is larger than the batch n_envs * n_steps "
                             f"= {n_envs} * {self.n_steps} = {n_envs * self.n_steps}: every minibatch "
                             "needs at least one sample.")
        if getattr(self.policy, "recurrent", False) and n_envs % self.nminibatches != 0:
            raise ValueError(f"Recurrent policies train on whole sequences, one per env: the number of "
                             f"envs ({n_envs}) must be a multiple of nminibatches ({self.nminibatches}).")
        if (n_envs * self.n_steps) % self.nminibatches != 0:
            raise ValueError(f"The batch n_envs * n_steps = {n_envs} * {self.n_steps} = "
                             f"{n_envs * self.n_steps} is not divisible by nminibatches="
                             f"{self.nminibatches}: choose nminibatches among its factors.")

    def _on_env_changed(self) -> None:
        self._runner = None
        if self.n_envs is not None:
            self.n_batch = self.n_envs * self.n_steps  # SB2 quirk 8 fixed

    def _on_parameters_changed(self) -> None:
        self.act_model.sync_weights()

    def setup_model(self) -> None:
        """Build the policy, the optimizer and the compiled update (SB2's ``setup_model``)."""
        if not (isinstance(self.policy, type) and issubclass(self.policy, ActorCriticPolicy)):
            raise ValueError("Error: the input policy for the PPO2 model must be an instance of "
                             f"common.policies.ActorCriticPolicy, got {self.policy!r}.")
        self._check_hyperparameters()
        set_num_threads(self.n_cpu_tf_sess)
        self.n_batch = self.n_envs * self.n_steps
        self._check_n_envs(self.n_envs)
        self.set_random_seed(self.seed)
        if self.cliprange_vf is None:
            self.cliprange_vf = self.cliprange  # SB2 quirk 6: saved this way
        self.act_model = self.policy(None, self.observation_space, self.action_space, self.n_envs, 1,
                                     None, reuse=False, **self.policy_kwargs)
        self.act_model.build()
        self._seed_action_sampling(self.seed if self.seed is not None else np.random.randint(2 ** 31 - 1))
        self.train_model = self.act_model
        self.step = self.act_model.step
        self.proba_step = self.act_model.proba_step
        self.value = self.act_model.value
        self.initial_state = self.act_model.initial_state
        self.params = self.act_model.get_parameter_list()
        self._trainable = self._variables_with_gradients()
        self._optimizer = Tf1Adam(self._trainable, epsilon=1e-5)
        self._train_update = self._make_train_update()
        self._runner = None
        if self.env is not None:
            self._compile_train_update()

    def _variables_with_gradients(self) -> List[tf.Variable]:
        """The parameters the loss reaches (SB2 leaves out the unused ``q`` head, which has none)."""
        obs = tf.zeros((2,) + input_shape(self.observation_space), input_dtype(self.observation_space))
        with tf.GradientTape() as tape:
            pdparam, value, _ = self.act_model.network(obs, self.act_model.zero_state(2), tf.zeros(2))
            total = tf.reduce_sum(pdparam) + tf.reduce_sum(value)
        gradients = tape.gradient(total, self.params)
        return [v for v, g in zip(self.params, gradients) if g is not None]

    def _make_train_update(self):
        """The whole update (all epochs and minibatches) as one ``tf.function``, traced once."""
        policy, pdtype = self.act_model, self.act_model.pdtype
        variables, optimizer = self._trainable, self._optimizer
        ent_coef, vf_coef = float(self.ent_coef), float(self.vf_coef)
        max_grad_norm = None if self.max_grad_norm is None else float(self.max_grad_norm)
        n_steps = self.n_steps if policy.recurrent else 1

        def minibatch_step(obs, returns, actions, values, neglogpacs, states, masks, learning_rate,
                           cliprange, cliprange_vf):
            advantages = returns - values
            advantages = ((advantages - tf.reduce_mean(advantages))
                          / (tf.math.reduce_std(advantages) + 1e-8))
            with tf.GradientTape() as tape:
                pdparam, vpred, _ = policy.network(obs, states, masks, n_steps)
                distribution = pdtype.proba_distribution_from_flat(pdparam)
                neglogpac = distribution.neglogp(actions)
                entropy = tf.reduce_mean(distribution.entropy())
                clip_value = tf.abs(cliprange_vf)
                vpred_clipped = tf.where(
                    cliprange_vf < 0.0, vpred,
                    values + tf.clip_by_value(vpred - values, -clip_value, clip_value))
                vf_loss = 0.5 * tf.reduce_mean(tf.maximum(tf.square(vpred - returns),
                                                          tf.square(vpred_clipped - returns)))
                ratio = tf.exp(neglogpacs - neglogpac)
                pg_loss = tf.reduce_mean(tf.maximum(
                    -advantages * ratio,
                    -advantages * tf.clip_by_value(ratio, 1.0 - cliprange, 1.0 + cliprange)))
                approxkl = 0.5 * tf.reduce_mean(tf.square(neglogpac - neglogpacs))
                clipfrac = tf.reduce_mean(tf.cast(tf.abs(ratio - 1.0) > cliprange, tf.float32))
                loss = pg_loss - entropy * ent_coef + vf_loss * vf_coef
            gradients = tape.gradient(loss, variables)
            if max_grad_norm is not None:
                gradients, _ = tf.clip_by_global_norm(gradients, max_grad_norm)
            optimizer.apply(gradients, learning_rate)
            return tf.stack([pg_loss, vf_loss, entropy, approxkl, clipfrac])

        obs_spec = tf.TensorSpec((None,) + input_shape(self.observation_space),
                                 tf.as_dtype(input_dtype(self.observation_space)))
        action_spec = tf.TensorSpec((None,) + tuple(pdtype.sample_shape()),
                                    tf.as_dtype(pdtype.action_dtype))
        batch_spec = {"obs": obs_spec, "actions": action_spec,
                      "vectors": tf.TensorSpec((len(BATCH_VECTORS), None), tf.float32),
                      "initial_states": tf.TensorSpec((None, policy.state_size), tf.float32)}
        rows_spec = tf.TensorSpec((None, None), tf.int32)
        plan_spec = MinibatchPlan(sample_rows=rows_spec, env_rows=rows_spec)
        schedule_spec = tf.TensorSpec((len(SCHEDULE_VALUES),), tf.float32)
        jit_compile = USE_XLA and policy.uses_numpy_forward
        store_variables = self.params

        @tf.function(jit_compile=jit_compile, input_signature=[batch_spec, plan_spec, schedule_spec])
        def train_update(batch, plan, schedule):
            """Row i of ``plan.sample_rows``: the samples of minibatch step i (for recurrent policies
            whole env-major sequences, whose initial states are ``batch["initial_states"]`` at the
            rows ``plan.env_rows[i]``). ``batch["vectors"]``: the rows of :data:`BATCH_VECTORS`;
            ``schedule``: this update's :data:`SCHEDULE_VALUES`. Returns the mean losses and every
            parameter after the update, flat in ``get_parameter_list()`` order (one read for the
            numpy copies instead of one per variable)."""
            self._train_trace_count += 1  # Python side effect: runs only while tracing
            n_minibatches = tf.shape(plan.sample_rows)[0]
            returns, values, neglogpacs, episode_starts = tf.unstack(batch["vectors"])
            learning_rate, cliprange, cliprange_vf = tf.unstack(schedule)
            totals = tf.zeros((len(LOSS_NAMES),), tf.float32)
            for i in tf.range(n_minibatches):
                index = plan.sample_rows[i]
                totals += minibatch_step(
                    tf.gather(batch["obs"], index), tf.gather(returns, index),
                    tf.gather(batch["actions"], index), tf.gather(values, index),
                    tf.gather(neglogpacs, index),
                    tf.gather(batch["initial_states"], plan.env_rows[i]),
                    tf.gather(episode_starts, index), learning_rate, cliprange, cliprange_vf)
            parameters = tf.concat([tf.reshape(variable, (-1,)) for variable in store_variables], axis=0)
            return totals / tf.cast(n_minibatches, tf.float32), parameters

        # calling the concrete function skips tf.function's per-call argument binding (~0.4 ms)
        return train_update.get_concrete_function()

    def _compile_train_update(self) -> None:
        """Compile the (already traced) update now, as SB2 built its graph in the constructor, so
        the first ``learn`` starts training at full speed. XLA compiles once per input shape, so
        the call runs on a dummy rollout packed by :meth:`_update_inputs`, as ``learn``'s are, with
        learning rate 0; parameters and Adam's state are restored afterwards."""
        policy, n_batch = self.act_model, self.n_batch
        n_rows = self.noptepochs * self.nminibatches
        zeros = np.zeros(n_batch, np.float32)
        inputs = self._update_inputs(
            obs=np.zeros((n_batch,) + input_shape(self.observation_space), input_dtype(self.observation_space)),
            returns=zeros, actions=np.zeros((n_batch,) + tuple(policy.pdtype.sample_shape()),
                                            policy.pdtype.action_dtype),
            values=zeros, neglogpacs=zeros,
            minibatch_indices=np.tile(np.arange(n_batch // self.nminibatches), (n_rows, 1)),
            learning_rate=0.0, cliprange=0.2, cliprange_vf=None,
            masks=zeros if policy.recurrent else None,
            states=policy.zero_state(self.n_envs) if policy.recurrent else None,
            minibatch_envs=np.tile(np.arange(self._envs_per_minibatch()), (n_rows, 1)) if policy.recurrent else None)
        saved = [(v, v.numpy()) for v in self._trainable + self._optimizer.state_variables()]
        self._train_update(*inputs)
        for variable, value in saved:
            variable.assign(value)

    # ------------------------------------------------------------------------------ training
    @property
    def runner(self) -> Runner:
        if self._runner is None:
            self._runner = self._make_runner()
        return self._runner

    def _make_runner(self) -> Runner:
        return Runner(env=self.env, model=self, n_steps=self.n_steps, gamma=self.gamma, lam=self.lam)

    def _envs_per_minibatch(self) -> int:
        return self.n_envs // self.nminibatches if self.act_model.recurrent else 0

    def _minibatch_indices(self) -> MinibatchPlan:
        """This update's minibatch plan (SB2's shuffling of the global numpy RNG)."""
        return minibatch_plan(self.n_envs, self.n_steps, self.nminibatches, self.noptepochs,
                              self.act_model.recurrent)

    def train_on_batch(self, obs: np.ndarray, returns: np.ndarray, actions: np.ndarray, values: np.ndarray,
                       neglogpacs: np.ndarray, minibatch_indices: np.ndarray, learning_rate: float, cliprange: float,
                       cliprange_vf: Optional[float], masks: Optional[np.ndarray] = None,
                       states: Optional[np.ndarray] = None, minibatch_envs: Optional[np.ndarray] = None) -> np.ndarray:
        """One PPO update on a collected batch; returns the mean of the 5 losses (``loss_names``).

        ``minibatch_indices``: row k holds the samples of minibatch step k. ``cliprange_vf`` None or
        negative: no value clipping. Recurrent policies also need the episode-start ``masks``, the
        rollout's initial ``states`` and ``minibatch_envs`` (the envs of each row).
        """
        policy = self.act_model
        inputs = self._update_inputs(obs, returns, actions, values, neglogpacs, minibatch_indices, learning_rate,
                                     cliprange, cliprange_vf, masks, states, minibatch_envs)
        try:
            losses, parameters = self._train_update(*inputs)
        except BaseException:  # Ctrl-C arrives once the update has run: keep the two copies in step
            policy.commit_weights()
            raise
        losses = losses.numpy()
        if not (np.all(np.isfinite(losses)) and policy.commit_weights(parameters.numpy())):
            self._undo_non_finite_update(losses)
        return losses

    def _update_inputs(self, obs: np.ndarray, returns: np.ndarray, actions: np.ndarray, values: np.ndarray,
                       neglogpacs: np.ndarray, minibatch_indices: np.ndarray, learning_rate: float,
                       cliprange: float, cliprange_vf: Optional[float], masks: Optional[np.ndarray] = None,
                       states: Optional[np.ndarray] = None, minibatch_envs: Optional[np.ndarray] = None
                       ) -> Tuple[Dict[str, np.ndarray], MinibatchPlan, np.ndarray]:
        """``(batch, plan, schedule)`` for the compiled update, with the dtypes and shapes of its
        signature (feed-forward policies: no initial states, no env rows)."""
        policy = self.act_model
        batch = {
            "obs": np.asarray(obs, dtype=input_dtype(self.observation_space)),
            "actions": np.asarray(actions, policy.pdtype.action_dtype),
            "vectors": np.stack([returns, values, neglogpacs,
                                 np.zeros(len(returns)) if masks is None else masks]).astype(np.float32),
            "initial_states": policy.zero_state(0) if states is None else np.asarray(states, np.float32),
        }
        plan = MinibatchPlan(np.asarray(minibatch_indices, np.int32),
                             np.zeros((len(minibatch_indices), 0), np.int32) if minibatch_envs is None
                             else np.asarray(minibatch_envs, np.int32))
        schedule = np.array([learning_rate, cliprange, -1.0 if cliprange_vf is None else cliprange_vf], np.float32)
        return batch, plan, schedule

    def _undo_non_finite_update(self, losses: np.ndarray) -> None:
        """Restore the parameters from before the update, reset Adam (its moments are poisoned
        too) and raise FloatingPointError."""
        self.act_model.restore_weights()
        for variable in self._optimizer.state_variables():
            variable.assign(tf.zeros_like(variable))
        self._optimizer.beta1_power.assign(self._optimizer.beta1)
        self._optimizer.beta2_power.assign(self._optimizer.beta2)
        raise FloatingPointError(
            f"The PPO2 update produced NaN or inf (losses {dict(zip(self.loss_names, losses.tolist()))}). "
            "The parameters are back to their values before this update and Adam's state is reset. "
            "Likely causes: NaN/inf observations or rewards from the env (wrap it in VecCheckNan to "
            "find where), rewards on a huge scale (try VecNormalize), or a learning rate too high.")

    def learn(self, total_timesteps: int, callback: MaybeCallback = None, log_interval: int = 1,
              tb_log_name: str = "PPO2", reset_num_timesteps: bool = True, progress_bar: bool = False) -> PPO2:
        """Train for ``total_timesteps // (n_envs * n_steps)`` updates (SB2's count).

        ``progress_bar=True`` shows a tqdm bar (timesteps, fps, mean return). The schedules are local
        to this call: the model's ``learning_rate``/``cliprange``/``cliprange_vf`` stay as given.
        """
        learning_rate = get_schedule_fn(self.learning_rate)
        cliprange = get_schedule_fn(self.cliprange)
        # None means cliprange (SB2's documented default; setup_model stores it that way)
        cliprange_vf = get_schedule_fn(self.cliprange if self.cliprange_vf is None else self.cliprange_vf)
        new_tb_log = self._init_num_timesteps(reset_num_timesteps)
        if progress_bar:
            callback = [ProgressBarCallback(total_timesteps)] + (
                callback if isinstance(callback, list) else [] if callback is None else [callback])
        callback = self._init_callback(callback)
        with SetVerbosity(self.verbose), TensorboardWriter(None, self.tensorboard_log, tb_log_name,
                                                           new_tb_log) as writer:
            self._setup_learn()
            t_first_start = time.time()
            n_updates = total_timesteps // self.n_batch
            callback.on_training_start(locals(), globals())
            for update in range(first_update(self, total_timesteps, reset_num_timesteps), n_updates + 1):
                self._learn_progress = (total_timesteps, update - 1)  # for a saved training state
                frac = 1.0 - (update - 1.0) / n_updates
                lr_now = learning_rate(frac)
                cliprange_now = cliprange(frac)
                cliprange_vf_now = cliprange_vf(frac)
                _check_schedule_values(update, frac, lr_now, cliprange_now, cliprange_vf_now)
                t_start = time.time()
                callback.on_rollout_start()
                rollout = self.runner.run(callback)
                callback.on_rollout_end()
                if not self.runner.continue_training:
                    break
                self.ep_info_buf.extend(rollout.episode_infos)
                plan = self._minibatch_indices()
                try:
                    loss_vals = self.train_on_batch(
                        rollout.obs, rollout.returns, rollout.actions, rollout.values, rollout.neglogpacs,
                        plan.sample_rows, lr_now, cliprange_now, cliprange_vf_now,
                        masks=rollout.episode_starts, states=rollout.initial_states, minibatch_envs=plan.env_rows)
                except FloatingPointError as error:
                    raise FloatingPointError(f"Update {update} of {n_updates} (timestep "
                                             f"{self.num_timesteps}): {error}") from error
                fps = int(self.n_batch / (time.time() - t_start))
                if writer is not None:
                    self._write_summaries(writer, loss_vals, lr_now, cliprange_now, cliprange_vf_now,
                                          rollout, plan.sample_rows)
                if self.verbose >= 1 and (update % log_interval == 0 or update == 1):
                    self._log_update(update, fps, rollout.returns, rollout.values, t_start - t_first_start,
                                     loss_vals)
            self._learn_progress = (total_timesteps, n_updates)
            callback.on_training_end()
        return self

    def _write_summaries(self, writer, loss_vals, learning_rate, cliprange, cliprange_vf,
                         rollout: RolloutBuffer, minibatch_indices) -> None:
        """Per-update TensorBoard scalars with SB2's tags (losses are means over the minibatches),
        plus histograms of the parameters and inputs with ``full_tensorboard_log``."""
        obs, returns, values, neglogpacs = rollout.obs, rollout.returns, rollout.values, rollout.neglogpacs
        pg_loss, vf_loss, entropy, approxkl, clipfrac = (float(v) for v in loss_vals)
        minibatch_advantages = (returns - values)[minibatch_indices]
        normalized_advantages = ((minibatch_advantages - minibatch_advantages.mean(axis=1, keepdims=True))
                                 / (minibatch_advantages.std(axis=1, keepdims=True) + 1e-8))
        scalars = {
            "loss/entropy_loss": entropy, "loss/policy_gradient_loss": pg_loss,
            "loss/value_function_loss": vf_loss, "loss/approximate_kullback-leibler": approxkl,
            "loss/clip_factor": clipfrac,
            "loss/loss": pg_loss - entropy * self.ent_coef + vf_loss * self.vf_coef,
            "input_info/discounted_rewards": float(np.mean(returns)),
            "input_info/advantage": float(np.mean(normalized_advantages)),
            "input_info/learning_rate": float(learning_rate), "input_info/clip_range": float(cliprange),
            "input_info/old_neglog_action_probability": float(np.mean(neglogpacs)),
            "input_info/old_value_pred": float(np.mean(values)),
        }
        if cliprange_vf is not None and cliprange_vf >= 0:
            scalars["input_info/clip_range_vf"] = float(cliprange_vf)
        with writer.as_default():
            for tag, value in scalars.items():
                tf.summary.scalar(tag, value, step=self.num_timesteps)
        self.episode_reward = total_episode_reward_logger(
            self.episode_reward, rollout.true_rewards.reshape((self.n_envs, self.n_steps)),
            rollout.episode_starts.reshape((self.n_envs, self.n_steps)), writer, self.num_timesteps)
        if self.full_tensorboard_log:
            inputs = {"discounted_rewards": returns, "advantage": normalized_advantages,
                      "old_neglog_action_probability": neglogpacs, "old_value_pred": values}
            with writer.as_default():
                for variable in self.params:
                    tf.summary.histogram(variable.name, variable, step=self.num_timesteps)
                for name, value in inputs.items():
                    tf.summary.histogram(f"input_info/{name}", value, step=self.num_timesteps)
                if is_image(self.observation_space):
                    tf.summary.image("input_info/observation", obs[:4], step=self.num_timesteps)
                else:
                    tf.summary.histogram("input_info/observation", obs, step=self.num_timesteps)

    def _log_update(self, update: int, fps: int, returns, values, time_elapsed: float, loss_vals) -> None:
        logger.logkv("serial_timesteps", update * self.n_steps)
        logger.logkv("n_updates", update)
        logger.logkv("total_timesteps", self.num_timesteps)
        logger.logkv("fps", fps)
        logger.logkv("explained_variance", float(explained_variance(values, returns)))
        if len(self.ep_info_buf) > 0 and len(self.ep_info_buf[0]) > 0:
            logger.logkv("ep_reward_mean", safe_mean([info["r"] for info in self.ep_info_buf]))
            logger.logkv("ep_len_mean", safe_mean([info["l"] for info in self.ep_info_buf]))
        logger.logkv("time_elapsed", time_elapsed)
        for loss_val, loss_name in zip(loss_vals, self.loss_names):
            logger.logkv(loss_name, loss_val)
        logger.dumpkvs()

    # ------------------------------------------------------------------------------ files
    _data_schema = DataSchema({
        "gamma": "a number in [0, 1]", "n_steps": "an int >= 1", "vf_coef": "a finite number >= 0",
        "ent_coef": "a finite number >= 0", "max_grad_norm": "None or a number > 0",
        "learning_rate": "a finite number >= 0 or a schedule", "lam": "a number in [0, 1]",
        "nminibatches": "an int >= 1 dividing n_envs * n_steps", "noptepochs": "an int >= 1",
        "cliprange": "a finite number >= 0 or a schedule",
        "cliprange_vf": "None, a finite number (negative: no value clipping) or a schedule",
        "verbose": "an int", "policy": "an ActorCriticPolicy class",
        "observation_space": "a gymnasium space", "action_space": "a Box, Discrete, MultiDiscrete or "
        "MultiBinary space", "n_envs": "None or an int >= 1", "n_cpu_tf_sess": "None or an int >= 1",
        "seed": "None or an int >= 0", "_vectorize_action": "a bool",
        "policy_kwargs": "a dict of the policy's keyword arguments",
    }, types={"_vectorize_action": (bool, np.bool_)}, rollout=("n_steps", "n_envs"))

    def _get_save_data(self) -> Dict[str, Any]:
        return {
            "gamma": self.gamma, "n_steps": self.n_steps, "vf_coef": self.vf_coef,
            "ent_coef": self.ent_coef, "max_grad_norm": self.max_grad_norm,
            "learning_rate": self.learning_rate, "lam": self.lam, "nminibatches": self.nminibatches,
            "noptepochs": self.noptepochs, "cliprange": self.cliprange,
            "cliprange_vf": self.cliprange_vf, "verbose": self.verbose, "policy": self.policy,
            "observation_space": self.observation_space, "action_space": self.action_space,
            "n_envs": self.n_envs, "n_cpu_tf_sess": self.n_cpu_tf_sess, "seed": self.seed,
            "_vectorize_action": self._vectorize_action, "policy_kwargs": self.policy_kwargs,
        }
