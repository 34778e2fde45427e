#!/usr/bin/env python
"""Numeric fixtures of the recurrent (LSTM) PPO2 policies made by the ORIGINAL Stable-Baselines 2 (TF 1.15).

Run with the SB2 venv (Python 3.7, tensorflow 1.15.5, stable-baselines 2.10.2, gym 0.17.3):

    .bench/sb2-venv/bin/python tools/sb2/make_recurrent_fixtures.py --out tests/fixtures/sb2_recurrent
    .bench/sb2-venv/bin/python tools/sb2/make_recurrent_fixtures.py --out /tmp/x --only seq_cnn_lstm

Two kinds of cases.

1. Forward sequences (``seq_*``).  A seeded ``PPO2`` (``seed=0, n_cpu_tf_sess=1, n_envs=2``) is built; its
   act model has a fixed batch of 2 observations and ``n_steps=1``.  Over T=12 consecutive calls the script
   feeds seeded observations, an episode-start mask (the runner's "done at the previous step" flags) and the
   state returned by the previous call:

       det_action, _, state_out, _ = model.step(obs[t], state_in[t], masks[t], deterministic=True)
       value[t]  = model.value(obs[t], state_in[t], masks[t])
       proba[t]  = model.proba_step(obs[t], state_in[t], masks[t])
       fixed_actions_logp[t] = model.action_probability(obs[t], state_in[t], masks[t],
                                                        actions=fixed_actions[t], logp=True)[:, 0]
       predict_action[t], _  = model.predict(obs[t], state_in[t], masks[t], deterministic=True)
       state_in[t + 1] = state_out[t]

   Checks made on the way (asserted, and written to the json): the stochastic ``step`` returns the same
   value and state as the deterministic one; ``action_probability(obs, state, mask)`` equals
   ``proba_step``; ``predict`` returns ``state_out``; for an env whose mask is set, ``state_out`` is the
   same as with a zero ``state_in`` (the mask zeroes c and h BEFORE the step).

2. One recurrent update (``update_*``).  A seeded ``PPO2`` (n_envs 4, n_steps 8, nminibatches 2,
   noptepochs 2, so 2 whole 8-step sequences per minibatch) collects a few warm-up rollouts that are
   thrown away (so that the recorded rollout starts from a non-zero LSTM state and contains episode starts),
   then one recorded rollout with ``model.runner.run()``.  ``neglogpacs`` and ``values`` are perturbed with
   seeded noise (as in make_update_fixtures.py) and ONE update is run exactly like the recurrent minibatch
   loop of ``PPO2.learn`` (first update: frac = 1):

       env_indices = arange(n_envs)
       flat_indices = arange(n_envs * n_steps).reshape(n_envs, n_steps)
       for epoch in range(noptepochs):
           rng.shuffle(env_indices)                      # seeded RandomState instead of the global RNG
           for start in range(0, n_envs, envs_per_batch):
               mb_env = env_indices[start:start + envs_per_batch]
               mb_flat = flat_indices[mb_env].ravel()    # whole sequences, env-major
               model._train_step(lr_now, cliprange_now, obs[mb_flat], returns[mb_flat], masks[mb_flat],
                                 actions[mb_flat], values[mb_flat], neglogpacs[mb_flat], update=tb_step,
                                 writer=None, states=states[mb_env], cliprange_vf=cliprange_vf_now)

   The json "learn_equivalence_check" compares this loop (with np.random.shuffle and no perturbation) on a
   fresh model against a fresh model's ``learn(n_batch)``.

OUT/seq_<case>.npz:
    params/<param name>     get_parameters() of the model (param_names order in the json)
    obs                     (T, 2) + obs_shape, dtype of the observation space
    masks                   bool (T, 2): episode-start flags fed as ``mask``
    state_in, state_out     float32 (T, 2, 2*n_lstm), layout concat([c, h]) (cell first)
    value                   float32 (T, 2)
    proba                   float32 (T, 2, n) (Discrete: softmax probabilities)
    proba_mean, proba_std   float32 (T, 2, k) (Box: the Gaussian's mean and std)
    det_action              (T, 2) int64 (Discrete) / (T, 2, k) float32 (Box, unclipped mean)
    predict_action          same as det_action, but from predict(): Box actions clipped to the bounds
    fixed_actions           seeded actions (T, 2) int64 / (T, 2, k) float32 (some outside the Box bounds)
    fixed_actions_logp      (T, 2) float: action_probability(..., actions=fixed_actions[t], logp=True)
OUT/update_<case>.npz:
    before/<param name>, after/<param name>, step<k>/<param name>   as in sb2_update
    obs, returns, masks, actions, values, neglogpacs   the whole (perturbed) flat batch, env-major
                            (index = env * n_steps + t), as SB2's runner returned it; masks bool
    values_unperturbed, neglogpacs_unperturbed
    states                  float32 (n_envs, 2*n_lstm): LSTM state at the start of the recorded rollout
    env_inds                int64 (noptepochs, n_envs): the env permutation used in each epoch
    losses                  float (noptepochs*nminibatches, 5), SB2 loss_names order
    pg_clip_binding, vf_clip_binding, vf_clip_outside   float (n_opt,), as in sb2_update
OUT/<case>.json: hyper-parameters, spaces, param_names, mask schedule, checks, clip statistics, versions.
"""
import argparse
import json
import os
import sys
import warnings

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
warnings.filterwarnings("ignore")

import numpy as np  # noqa: E402
import gym  # noqa: E402
import tensorflow as tf  # noqa: E402

tf.compat.v1.logging.set_verbosity(tf.compat.v1.logging.ERROR)

import stable_baselines  # noqa: E402
from stable_baselines import PPO2  # noqa: E402
from stable_baselines.common.policies import LstmPolicy  # noqa: E402
from stable_baselines.common.schedules import get_schedule_fn  # noqa: E402
from stable_baselines.common.vec_env import DummyVecEnv  # noqa: E402

SEED = 0
T_SEQ = 12
NLP_NOISE = 0.3    # std of the gaussian noise added to neglogpacs (update cases)
VALUE_NOISE = 0.3  # std of the gaussian noise added to values (update cases)
# Env permutations: RandomState(SEED + 777), as in make_update_fixtures.py, gives the identity permutation of
# 4 envs in epoch 0; SEED + 778 gives [2, 0, 1, 3] then [1, 2, 3, 0] (minibatches [2, 0], [1, 3], [1, 2], [3, 0]),
# so the order of the sequences inside a minibatch and of states[mb_env] matters.
PERM_SEED = SEED + 778


class CustomLstmNetArch(LstmPolicy):
    """SB2 test_lstm_policy-style subclass: the ``net_arch`` mode of LstmPolicy, with layer norm."""

    def __init__(self, sess, ob_space, ac_space, n_env, n_steps, n_batch, n_lstm=8, reuse=False, **_kwargs):
        super(CustomLstmNetArch, self).__init__(sess, ob_space, ac_space, n_env, n_steps, n_batch, n_lstm, reuse,
                                                net_arch=[8, 'lstm', dict(vf=[5, 10], pi=[10])],
                                                layer_norm=True, feature_extraction="mlp", **_kwargs)


CUSTOM_DESC = ("LstmPolicy subclass: n_lstm=8, net_arch=[8, 'lstm', dict(vf=[5, 10], pi=[10])], "
               "layer_norm=True, feature_extraction='mlp', act_fun=tf.tanh")


class SyntheticImageEnv(gym.Env):
    """Box(0, 255, (36, 36, 1), uint8) observations (the smallest input nature_cnn accepts: 36 -> 8 -> 3 -> 1),
    Discrete(3) actions, random images, episodes of 7 steps.  Only its spaces matter for the fixtures."""

    def __init__(self):
        self.observation_space = gym.spaces.Box(low=0, high=255, shape=(36, 36, 1), dtype=np.uint8)
        self.action_space = gym.spaces.Discrete(3)
        self.np_random = np.random.RandomState(0)
        self._t = 0

    def seed(self, seed=None):
        self.np_random = np.random.RandomState(seed)
        return [seed]

    def _obs(self):
        return self.np_random.randint(0, 256, size=(36, 36, 1)).astype(np.uint8)

    def reset(self):
        self._t = 0
        return self._obs()

    def step(self, action):
        self._t += 1
        return self._obs(), float(action == 0), self._t >= 7, {}


# Episode starts (mask = True) per env.  In the "random" initial-state cases env 0 does NOT start at t=0,
# so its random state_in passes into the LSTM, while env 1's random state_in is erased by its mask.
STARTS_ZERO_INIT = {0: [0, 5], 1: [0, 3, 9]}
STARTS_RANDOM_INIT = {0: [5], 1: [0, 3, 9]}

# name, env id, policy, policy_kwargs (python), policy_kwargs (json), initial state
SEQ_CASES = [
    ("seq_mlp_lstm", "CartPole-v1", "MlpLstmPolicy", dict(n_lstm=32), dict(n_lstm=32), "zeros"),
    ("seq_mlp_ln_lstm", "Pendulum-v0", "MlpLnLstmPolicy", dict(n_lstm=16), dict(n_lstm=16), "random"),
    ("seq_cnn_lstm", "SyntheticImage36", "CnnLstmPolicy", dict(n_lstm=16), dict(n_lstm=16), "zeros"),
    ("seq_custom_lstm", "CartPole-v1", CustomLstmNetArch, None, None, "random"),
]

UPDATE_LOOP = dict(n_envs=4, n_steps=8, nminibatches=2, noptepochs=2)
UPDATE_COMMON = dict(learning_rate=1e-3, cliprange=0.2, cliprange_vf=None, ent_coef=0.01, vf_coef=0.5,
                     max_grad_norm=0.5, gamma=0.99, lam=0.95)
# Pendulum episodes last 200 steps: wrap each env in a short TimeLimit (per-env length) so that the
# recorded rollout (steps 16..23 of each env) contains episode starts: env 0 at t=4, env 1 at t=0 (a reset
# of the non-zero rollout-start state), env 2 at t=5, env 3 at t=2 and t=5.
PENDULUM_SHORT = [5, 8, 7, 3]
# name, env id, policy, policy_kwargs (python), policy_kwargs (json), time limits, warm-up rollouts
# (CartPole: the 4th rollout, steps 24..31, has natural episode starts in envs 0, 2 and 3)
UPDATE_CASES = [
    ("update_mlp_lstm", "CartPole-v1", "MlpLstmPolicy", dict(n_lstm=16), dict(n_lstm=16), None, 3),
    ("update_mlp_ln_lstm", "Pendulum-v0", "MlpLnLstmPolicy", dict(n_lstm=16), dict(n_lstm=16), PENDULUM_SHORT,
     2),
]


def policy_name(policy):
    return policy if isinstance(policy, str) else policy.__name__


def make_env_fn(env_id, rank, time_limits=None):
    def _thunk():
        if env_id == "SyntheticImage36":
            return SyntheticImageEnv()
        env = gym.make(env_id)
        if time_limits is not None:
            env = gym.wrappers.TimeLimit(env.env, max_episode_steps=time_limits[rank])
        return env
    return _thunk


def env_desc(env_id, time_limits):
    if env_id == "SyntheticImage36":
        return "SyntheticImage36: " + SyntheticImageEnv.__doc__.split("\n")[0]
    if time_limits is not None:
        return "%s, env i wrapped in TimeLimit(max_episode_steps=%s[i]) (the 200-step TimeLimit removed)" % (
            env_id, time_limits)
    return env_id


def space_to_json(space):
    d = {"class": type(space).__name__, "shape": list(space.shape) if space.shape is not None else None,
         "dtype": str(space.dtype) if space.dtype is not None else None}
    if isinstance(space, gym.spaces.Discrete):
        d["n"] = int(space.n)
    elif isinstance(space, gym.spaces.Box):
        if space.low.size <= 16:
            d["low"] = space.low.tolist()
            d["high"] = space.high.tolist()
        else:
            d["low"] = float(space.low.min())
            d["high"] = float(space.high.max())
    return d


def versions():
    return {"python": sys.version.split()[0], "tensorflow": tf.__version__,
            "stable_baselines": stable_baselines.__version__, "gym": gym.__version__, "numpy": np.__version__}


def build_model(env_id, policy, pk, hp, time_limits=None):
    env = DummyVecEnv([make_env_fn(env_id, i, time_limits) for i in range(hp["n_envs"])])
    kwargs = dict(gamma=hp["gamma"], n_steps=hp["n_steps"], ent_coef=hp["ent_coef"],
                  learning_rate=hp["learning_rate"], vf_coef=hp["vf_coef"], max_grad_norm=hp["max_grad_norm"],
                  lam=hp["lam"], nminibatches=hp["nminibatches"], noptepochs=hp["noptepochs"],
                  cliprange=hp["cliprange"], cliprange_vf=hp["cliprange_vf"], verbose=0, policy_kwargs=pk,
                  seed=SEED, n_cpu_tf_sess=1)
    return PPO2(policy, env, **kwargs)


# ----------------------------------------------------------------------------------------------------------
# 1. forward sequences
# ----------------------------------------------------------------------------------------------------------

def seq_observations(rng, space, n):
    if isinstance(space, gym.spaces.Box) and space.dtype == np.uint8:
        return rng.randint(0, 256, size=(n, 2) + space.shape).astype(np.uint8)
    if space.shape == (3,):  # Pendulum: (cos, sin, thetadot)
        theta = rng.uniform(-np.pi, np.pi, size=(n, 2))
        thdot = rng.uniform(-8.0, 8.0, size=(n, 2))
        return np.stack([np.cos(theta), np.sin(theta), thdot], axis=-1).astype(np.float32)
    return rng.normal(0.0, 1.0, size=(n, 2) + space.shape).astype(np.float32)


def seq_fixed_actions(rng, space, n):
    if isinstance(space, gym.spaces.Discrete):
        return rng.randint(0, space.n, size=(n, 2)).astype(np.int64)
    return rng.normal(0.0, 1.5, size=(n, 2) + space.shape).astype(np.float32)


def run_seq_case(case, out_dir):
    name, env_id, policy, pk, pk_json, init = case
    hp = dict(n_envs=2, n_steps=8, nminibatches=1, noptepochs=1, learning_rate=2.5e-4, cliprange=0.2,
              cliprange_vf=None, ent_coef=0.01, vf_coef=0.5, max_grad_norm=0.5, gamma=0.99, lam=0.95)
    model = build_model(env_id, policy, pk, hp)
    ob_space, ac_space = model.observation_space, model.action_space
    discrete = isinstance(ac_space, gym.spaces.Discrete)
    state_dim = int(model.initial_state.shape[1])
    n_lstm = state_dim // 2
    assert model.initial_state.shape == (2, state_dim) and not model.initial_state.any()

    rng = np.random.RandomState(SEED + 2024)
    obs = seq_observations(rng, ob_space, T_SEQ)
    fixed_actions = seq_fixed_actions(rng, ac_space, T_SEQ)
    starts = STARTS_ZERO_INIT if init == "zeros" else STARTS_RANDOM_INIT
    masks = np.zeros((T_SEQ, 2), dtype=bool)
    for e, ts in starts.items():
        masks[ts, e] = True
    if init == "zeros":
        state = model.initial_state.copy()
    else:
        state = rng.normal(0.0, 1.0, size=(2, state_dim)).astype(np.float32)

    rec = {k: [] for k in ("state_in", "state_out", "value", "proba", "proba_mean", "proba_std", "det_action",
                           "predict_action", "fixed_actions_logp")}
    checks = {"stochastic_step_same_value_and_state": True, "action_probability_equals_proba_step": True,
              "predict_returns_state_out": True, "masked_state_out_equals_zero_state_out": True,
              "step_value_equals_value": True}
    max_masked_state_in_abs = 0.0
    for t in range(T_SEQ):
        o, m = obs[t], masks[t]
        rec["state_in"].append(state.copy())
        det_action, step_value, state_out, _ = model.step(o, state, m, deterministic=True)
        s_action, s_value, s_state, _ = model.step(o, state, m)
        checks["stochastic_step_same_value_and_state"] &= bool(
            np.array_equal(s_value, step_value) and np.array_equal(s_state, state_out))
        value = model.value(o, state, m)
        checks["step_value_equals_value"] &= bool(np.array_equal(value, step_value))
        proba = model.proba_step(o, state, m)
        ap = model.action_probability(o, state, m)
        if discrete:
            checks["action_probability_equals_proba_step"] &= bool(np.array_equal(ap, proba))
            rec["proba"].append(proba)
        else:
            mean, std = proba
            checks["action_probability_equals_proba_step"] &= bool(
                np.array_equal(ap[0], mean) and np.array_equal(ap[1], std))
            rec["proba_mean"].append(mean)
            rec["proba_std"].append(std)
        logp = model.action_probability(o, state, m, actions=fixed_actions[t], logp=True)
        assert logp.shape == (2, 1), logp.shape
        rec["fixed_actions_logp"].append(logp[:, 0])
        p_action, p_state = model.predict(o, state=state, mask=m, deterministic=True)
        checks["predict_returns_state_out"] &= bool(np.array_equal(p_state, state_out))
        if m.any():
            _, _, z_state, _ = model.step(o, np.zeros_like(state), m, deterministic=True)
            for e in np.nonzero(m)[0]:
                checks["masked_state_out_equals_zero_state_out"] &= bool(np.array_equal(z_state[e], state_out[e]))
                max_masked_state_in_abs = max(max_masked_state_in_abs, float(np.max(np.abs(state[e]))))
        rec["det_action"].append(det_action)
        rec["predict_action"].append(p_action)
        rec["value"].append(value)
        rec["state_out"].append(state_out)
        state = state_out
    assert all(checks.values()), checks

    params_list = model.get_parameter_list()
    param_names = [p.name for p in params_list]
    params = model.get_parameters()
    arrays = {"params/" + p: params[p] for p in param_names}
    arrays.update(obs=obs, masks=masks, fixed_actions=fixed_actions)
    for k, v in rec.items():
        if v:
            arrays[k] = np.asarray(v)
    npz_path = os.path.join(out_dir, name + ".npz")
    np.savez_compressed(npz_path, **arrays)

    info = {
        "case": name,
        "kind": "forward_sequence",
        "env_id": env_desc(env_id, None),
        "policy": policy_name(policy),
        "policy_description": CUSTOM_DESC if not isinstance(policy, str) else None,
        "policy_kwargs": pk_json,
        "n_lstm": n_lstm,
        "state_layout": "concat([c, h], axis=1): cell state first, then hidden state",
        "hyperparameters": {key: hp[key] for key in ("n_envs", "n_steps", "nminibatches")},
        "act_model": "n_env=2, n_steps=1, n_batch=2 (the batch of step/value/proba_step is exactly n_envs)",
        "seed": SEED,
        "n_cpu_tf_sess": 1,
        "T": T_SEQ,
        "episode_starts": {str(e): ts for e, ts in starts.items()},
        "initial_state": init if init == "zeros" else
        "random: RandomState(%d).normal(0, 1, (2, %d)) drawn after obs and fixed_actions" % (SEED + 2024,
                                                                                            state_dim),
        "inputs_rng": "np.random.RandomState(%d): obs, then fixed_actions%s" % (
            SEED + 2024, "" if init == "zeros" else ", then the initial state"),
        "observation_space": space_to_json(ob_space),
        "action_space": space_to_json(ac_space),
        "param_names": param_names,
        "param_shapes": {p: list(params[p].shape) for p in param_names},
        "arrays": {k: [list(v.shape), str(v.dtype)] for k, v in sorted(arrays.items())
                   if not k.startswith("params/")},
        "checks": checks,
        "max_abs_state_in_of_masked_envs": max_masked_state_in_abs,
        "calls": {
            "det_action, _, state_out, _": "model.step(obs[t], state_in[t], masks[t], deterministic=True)",
            "value": "model.value(obs[t], state_in[t], masks[t])",
            "proba": "model.proba_step(obs[t], state_in[t], masks[t])",
            "fixed_actions_logp": "model.action_probability(obs[t], state_in[t], masks[t], "
                                  "actions=fixed_actions[t], logp=True)[:, 0]",
            "predict_action": "model.predict(obs[t], state=state_in[t], mask=masks[t], deterministic=True)[0]",
            "state_in[t+1]": "state_out[t]",
        },
        "versions": versions(),
    }
    with open(os.path.join(out_dir, name + ".json"), "w") as f:
        json.dump(info, f, indent=1)
    model.env.close()
    model.sess.close()
    return info, os.path.getsize(npz_path)


# ----------------------------------------------------------------------------------------------------------
# 2. one recurrent update
# ----------------------------------------------------------------------------------------------------------

def recurrent_update(model, batch, states, lr_now, cliprange_now, cliprange_vf_now, vf_clip_range_effective,
                     diag, shuffle):
    """One PPO2 update: noptepochs x nminibatches calls of model._train_step (SB2's recurrent loop)."""
    obs, returns, masks, actions, values, neglogpacs = batch
    n_envs, n_steps = model.n_envs, model.n_steps
    n_batch, nminibatches, noptepochs = model.n_batch, model.nminibatches, model.noptepochs
    batch_size = n_batch // nminibatches
    update_fac = max(n_batch // nminibatches // noptepochs // n_steps, 1)
    env_indices = np.arange(n_envs)
    flat_indices = np.arange(n_envs * n_steps).reshape(n_envs, n_steps)
    envs_per_batch = batch_size // n_steps
    all_inds, losses, pg_bind, vf_bind, vf_out, snapshots = [], [], [], [], [], []
    n_opt = noptepochs * nminibatches
    k = 0
    for epoch in range(noptepochs):
        shuffle(env_indices)
        all_inds.append(env_indices.copy())
        for start in range(0, n_envs, envs_per_batch):
            tb_step = model.num_timesteps // update_fac + (epoch * n_envs + start) // envs_per_batch
            mb_env = env_indices[start:start + envs_per_batch]
            mb = flat_indices[mb_env].ravel()
            if diag is not None:
                tm = model.train_model
                nlp, v = model.sess.run(list(diag), {tm.obs_ph: obs[mb], model.action_ph: actions[mb],
                                                     tm.states_ph: states[mb_env], tm.dones_ph: masks[mb]})
                adv = returns[mb] - values[mb]
                adv = (adv - adv.mean()) / (adv.std() + 1e-8)
                ratio = np.exp(neglogpacs[mb] - nlp)
                l1 = -adv * ratio
                l2 = -adv * np.clip(ratio, 1.0 - cliprange_now, 1.0 + cliprange_now)
                pg_bind.append(float(np.mean(l2 > l1)))
                if vf_clip_range_effective is not None:
                    cv = vf_clip_range_effective
                    v_old = values[mb]
                    v_clip = v_old + np.clip(v - v_old, -cv, cv)
                    vf_bind.append(float(np.mean((v_clip - returns[mb]) ** 2 > (v - returns[mb]) ** 2)))
                    vf_out.append(float(np.mean(np.abs(v - v_old) > cv)))
                else:
                    vf_bind.append(0.0)
                    vf_out.append(0.0)
            out = model._train_step(lr_now, cliprange_now, obs[mb], returns[mb], masks[mb], actions[mb],
                                    values[mb], neglogpacs[mb], update=tb_step, writer=None,
                                    states=states[mb_env], cliprange_vf=cliprange_vf_now)
            losses.append([float(x) for x in out])
            if k < n_opt - 1:
                snapshots.append(model.get_parameters())
            k += 1
    after = model.get_parameters()
    return (np.asarray(all_inds, dtype=np.int64), np.asarray(losses, dtype=np.float64), pg_bind, vf_bind,
            vf_out, snapshots, after)


def learn_equivalence_check(env_id, policy, pk, hp, time_limits):
    """learn(n_batch) on a fresh model vs. runner.run() + recurrent_update (np.random.shuffle, no noise)."""
    m1 = build_model(env_id, policy, pk, hp, time_limits)
    m1.learn(m1.n_batch)
    p1 = m1.get_parameters()
    m1.env.close()
    m1.sess.close()
    m2 = build_model(env_id, policy, pk, hp, time_limits)
    r = m2.runner.run()
    obs, returns, masks, actions, values, neglogpacs, states = r[:7]
    out = recurrent_update(m2, (obs, returns, masks, actions, values, neglogpacs), states,
                           get_schedule_fn(m2.learning_rate)(1.0), get_schedule_fn(m2.cliprange)(1.0),
                           get_schedule_fn(m2.cliprange_vf)(1.0), None, None, np.random.shuffle)
    p2 = out[-1]
    m2.env.close()
    m2.sess.close()
    return {"reference": "fresh model learn(n_batch) vs fresh model runner.run() + this loop with "
                         "np.random.shuffle and no perturbation",
            "max_abs_diff_params": max(float(np.max(np.abs(p1[k] - p2[k]))) for k in p1)}


def run_update_case(case, out_dir):
    name, env_id, policy, pk, pk_json, time_limits, warmup = case
    hp = dict(UPDATE_LOOP)
    hp.update(UPDATE_COMMON)
    n_envs, n_steps = hp["n_envs"], hp["n_steps"]
    nminibatches, noptepochs = hp["nminibatches"], hp["noptepochs"]

    model = build_model(env_id, policy, pk, hp, time_limits)
    for _ in range(warmup):
        model.runner.run()
    obs, returns, masks, actions, values, neglogpacs, states, _ep_infos, _true_reward = model.runner.run()
    assert states is not None and states.shape[0] == n_envs
    assert masks.any() and np.abs(states).min(axis=1).all(), "want episode starts and a non-zero start state"
    n_batch = n_envs * n_steps
    assert obs.shape[0] == n_batch and model.n_batch == n_batch

    rng = np.random.RandomState(SEED + 12345)
    values_unperturbed = values.copy()
    neglogpacs_unperturbed = neglogpacs.copy()
    neglogpacs = (neglogpacs + rng.normal(0.0, NLP_NOISE, size=neglogpacs.shape)).astype(neglogpacs.dtype)
    values = (values + rng.normal(0.0, VALUE_NOISE, size=values.shape)).astype(values.dtype)

    frac = 1.0
    lr_now = get_schedule_fn(model.learning_rate)(frac)
    cliprange_now = get_schedule_fn(model.cliprange)(frac)
    cliprange_vf_now = get_schedule_fn(model.cliprange_vf)(frac)
    vf_fed = cliprange_vf_now is not None and cliprange_vf_now >= 0
    vf_clip_in_graph = model.clip_range_vf_ph is not None
    vf_clip_range_effective = None
    if vf_clip_in_graph:
        vf_clip_range_effective = float(cliprange_now if model.clip_range_vf_ph is model.clip_range_ph
                                        else cliprange_vf_now)
    with model.graph.as_default():
        nlp_t = model.train_model.proba_distribution.neglogp(model.action_ph)
    v_t = model.train_model.value_flat

    param_names = [p.name for p in model.get_parameter_list()]
    before = model.get_parameters()
    perm_rng = np.random.RandomState(PERM_SEED)
    batch = (obs, returns, masks, actions, values, neglogpacs)
    (env_inds, losses, pg_bind, vf_bind, vf_out, snapshots, after) = recurrent_update(
        model, batch, states, lr_now, cliprange_now, cliprange_vf_now, vf_clip_range_effective, (nlp_t, v_t),
        perm_rng.shuffle)
    n_opt = noptepochs * nminibatches
    batch_size = n_batch // nminibatches
    assert not any(np.array_equal(p, np.arange(n_envs)) for p in env_inds), env_inds

    arrays = {}
    for pname in param_names:
        arrays["before/" + pname] = before[pname]
        arrays["after/" + pname] = after[pname]
        for i, snap in enumerate(snapshots):
            arrays["step%d/%s" % (i, pname)] = snap[pname]
    arrays.update(obs=obs, returns=returns, masks=masks, actions=actions, values=values,
                  neglogpacs=neglogpacs, values_unperturbed=values_unperturbed,
                  neglogpacs_unperturbed=neglogpacs_unperturbed, states=states, env_inds=env_inds,
                  losses=losses, pg_clip_binding=np.asarray(pg_bind), vf_clip_binding=np.asarray(vf_bind),
                  vf_clip_outside=np.asarray(vf_out))
    npz_path = os.path.join(out_dir, name + ".npz")
    np.savez_compressed(npz_path, **arrays)

    check = learn_equivalence_check(env_id, policy, pk, hp, time_limits)

    m2d = masks.reshape(n_envs, n_steps)
    max_delta = {p: float(np.max(np.abs(after[p] - before[p]))) for p in param_names}
    info = {
        "case": name,
        "kind": "recurrent_update",
        "env_id": env_desc(env_id, time_limits),
        "policy": policy_name(policy),
        "policy_kwargs": pk_json,
        "hyperparameters": {key: hp[key] for key in (
            "n_envs", "n_steps", "nminibatches", "noptepochs", "learning_rate", "cliprange", "cliprange_vf",
            "ent_coef", "vf_coef", "max_grad_norm", "gamma", "lam")},
        "seed": SEED,
        "n_cpu_tf_sess": 1,
        "n_batch": n_batch,
        "batch_size": batch_size,
        "envs_per_batch": batch_size // n_steps,
        "n_optimizer_steps": n_opt,
        "warmup_rollouts": warmup,
        "rollout": "model.runner.run() called %d times first (discarded, no training); rollout number %d "
                   "(steps %d..%d of each env) is recorded, so states (the LSTM state at its start) is "
                   "non-zero" % (warmup, warmup + 1, warmup * n_steps, (warmup + 1) * n_steps - 1),
        "flat_order": "env-major: flat index = env * n_steps + t",
        "episode_starts_in_rollout": {str(e): np.nonzero(m2d[e])[0].tolist() for e in range(n_envs)},
        "state_layout": "concat([c, h], axis=1): cell state first, then hidden state",
        "observation_space": space_to_json(model.observation_space),
        "action_space": space_to_json(model.action_space),
        "param_names": param_names,
        "param_shapes": {p: list(before[p].shape) for p in param_names},
        "loss_names": list(model.loss_names),
        "fed_to_train_step": {
            "learning_rate": lr_now, "cliprange": cliprange_now, "cliprange_vf": cliprange_vf_now,
            "cliprange_vf_placeholder_fed": bool(vf_fed),
            "states": "states[mb_env]", "masks": "masks[mb_flat] (fed to train_model.dones_ph)",
        },
        "value_clipping": {
            "in_graph": bool(vf_clip_in_graph),
            "shares_cliprange_placeholder": bool(vf_clip_in_graph
                                                 and model.clip_range_vf_ph is model.clip_range_ph),
            "effective_range": vf_clip_range_effective,
            "model_cliprange_vf_after_setup": model.cliprange_vf,
        },
        "clip_stats": {
            "sb2_clipfrac_per_step": losses[:, 4].tolist(),
            "sb2_clipfrac_mean": float(losses[:, 4].mean()),
            "pg_clip_binding_per_step": pg_bind,
            "vf_clip_outside_per_step": vf_out,
            "vf_clip_binding_per_step": vf_bind,
        },
        "perturbation": {"rng": "np.random.RandomState(%d): normal(0, %g) added to neglogpacs, then "
                                "normal(0, %g) added to values" % (SEED + 12345, NLP_NOISE, VALUE_NOISE),
                         "returns": "unchanged (computed by the runner from the unperturbed values)"},
        "permutation": "np.random.RandomState(%d).shuffle(env_indices) once per epoch, env_indices persists "
                       "across epochs (like SB2's np.random.shuffle(env_indices))" % PERM_SEED,
        "max_abs_param_change": max(max_delta.values()),
        "max_abs_param_change_per_param": max_delta,
        "adam": {"epsilon": 1e-5, "beta1": 0.9, "beta2": 0.999, "fresh": True},
        "advantage_normalisation": "per minibatch: A = returns - values; (A - A.mean()) / (A.std() + 1e-8)",
        "learn_equivalence_check": check,
        "versions": versions(),
    }
    with open(os.path.join(out_dir, name + ".json"), "w") as f:
        json.dump(info, f, indent=1)
    model.env.close()
    model.sess.close()
    return info, os.path.getsize(npz_path)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", default="tests/fixtures/sb2_recurrent")
    parser.add_argument("--only", nargs="*", default=None, help="case names")
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    for case in SEQ_CASES:
        if args.only and case[0] not in args.only:
            continue
        info, size = run_seq_case(case, args.out)
        print("%-20s n_lstm %3d  params %2d  npz %d B" % (info["case"], info["n_lstm"], len(info["param_names"]),
                                                          size))
    for case in UPDATE_CASES:
        if args.only and case[0] not in args.only:
            continue
        info, size = run_update_case(case, args.out)
        cs = info["clip_stats"]
        print("%-20s clipfrac(sb2) %.3f  pg-bind %.3f  vf-out %.3f  vf-bind %.3f  max|d| %.3e  learn-check %.1e"
              "  npz %d B" % (info["case"], cs["sb2_clipfrac_mean"], np.mean(cs["pg_clip_binding_per_step"]),
                              np.mean(cs["vf_clip_outside_per_step"]), np.mean(cs["vf_clip_binding_per_step"]),
                              info["max_abs_param_change"], info["learn_equivalence_check"]["max_abs_diff_params"],
                              size))


if __name__ == "__main__":
    main()
