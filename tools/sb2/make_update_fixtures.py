#!/usr/bin/env python
"""Numeric fixtures of ONE PPO2 update made by the ORIGINAL Stable-Baselines 2 (TF 1.15).

Run with the SB2 venv (Python 3.7, tensorflow 1.15.5, stable-baselines 2.10.2, gym 0.17.3):

    .bench/sb2-venv/bin/python tools/sb2/make_update_fixtures.py --out tests/fixtures/sb2_update
    .bench/sb2-venv/bin/python tools/sb2/make_update_fixtures.py --out /tmp/x --only discrete_vf_pos

For every case, a seeded SB2 ``PPO2`` model (``n_cpu_tf_sess=1``) is built on a DummyVecEnv, one real
rollout is collected with ``model.runner.run()``, then ``neglogpacs`` and ``values`` are perturbed with a
seeded numpy RNG (so that policy-ratio clipping and value clipping both bind for some samples), and ONE
update is run exactly like the feed-forward minibatch loop of ``PPO2.learn`` (first update: frac = 1):

    for epoch in range(noptepochs):
        rng.shuffle(inds)                             # seeded RandomState instead of the global RNG
        for start in range(0, n_batch, batch_size):
            mb = inds[start:start + batch_size]
            model._train_step(lr_now, cliprange_now, obs[mb], returns[mb], masks[mb], actions[mb],
                              values[mb], neglogpacs[mb], update=tb_step, writer=None,
                              cliprange_vf=cliprange_vf_now)

``lr_now``, ``cliprange_now`` and ``cliprange_vf_now`` come from SB2's own ``get_schedule_fn(...)(1.0)``
applied to the model attributes after ``setup_model`` (as ``learn`` does; note that ``setup_model``
replaces ``cliprange_vf=None`` by ``cliprange``).  ``_train_step`` feeds ``cliprange_vf`` only when it
is not None and >= 0.

max_grad_norm=None (case shared_relu): SB2's TF1 graph then has a data race (an ApplyAdam may update a
ref variable in place before backprop has read it), so plain SB2 gives a slightly different update on
every run.  The model is built with every Adam apply op made to wait for all gradients (_RaceFreeApply,
a monkeypatch of AdamOptimizer.apply_gradients during construction; the intended semantics), and the
result is checked against unmodified SB2 with max_grad_norm=2**60 (clip scale exactly 1.0, which also
serialises the applies): json "race_free_check".

OUT/<case>.npz:
    before/<param name>, after/<param name>   get_parameters() before / after the update
    step<k>/<param name>                      parameters after optimiser step k (k = 0 .. n_opt-2;
                                              the last step is ``after``), to locate a divergence
    obs, returns, masks, actions, values, neglogpacs   the whole (perturbed) batch, as SB2 returned it
    values_unperturbed, neglogpacs_unperturbed        the rollout's own values / neglogpacs
    inds               int64 (noptepochs, n_batch): the permutation used in each epoch
    losses             float (noptepochs*nminibatches, 5), SB2 loss_names order:
                       policy_loss, value_loss, policy_entropy, approxkl, clipfrac
    pg_clip_binding, vf_clip_binding   float (n_opt,): fraction of the minibatch whose clipped branch
                       is strictly the max in the pg / vf loss (computed from the pre-step parameters)
    vf_clip_outside    float (n_opt,): fraction with |V - V_old| > cliprange_vf (0 if not clipped)
OUT/<case>.json: case, env, policy, policy_kwargs, hyper-parameters as passed to the constructor,
    spaces, param_names (get_parameter_list() order), clip statistics, seeds, versions.
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
from stable_baselines.common.identity_env import IdentityEnvMultiBinary, IdentityEnvMultiDiscrete  # noqa: E402
from stable_baselines.common.schedules import get_schedule_fn  # noqa: E402
from stable_baselines.common.vec_env import DummyVecEnv  # noqa: E402

SMALL_NET = dict(net_arch=[dict(pi=[16, 16], vf=[16, 16])])
LOOP = dict(n_envs=2, n_steps=32, nminibatches=2, noptepochs=2)
COMMON = dict(learning_rate=1e-3, cliprange=0.2, ent_coef=0.01, vf_coef=0.5, max_grad_norm=0.5,
              gamma=0.99, lam=0.95)

# name, env id, policy, policy_kwargs (python), policy_kwargs (json), hyper-parameter overrides
CASES = [
    ("discrete_vf_none", "CartPole-v1", "MlpPolicy", None, None, dict(cliprange_vf=None)),
    ("discrete_vf_neg", "CartPole-v1", "MlpPolicy", None, None, dict(cliprange_vf=-1)),
    ("discrete_vf_pos", "CartPole-v1", "MlpPolicy", None, None, dict(cliprange_vf=0.05)),
    ("box_vf_none", "Pendulum-v0", "MlpPolicy", None, None, dict(cliprange_vf=None)),
    ("multidiscrete", "IdentityEnvMultiDiscrete(3)", "MlpPolicy", SMALL_NET, SMALL_NET,
     dict(cliprange_vf=None)),
    ("multibinary", "IdentityEnvMultiBinary(3)", "MlpPolicy", SMALL_NET, SMALL_NET,
     dict(cliprange_vf=None)),
    ("shared_relu", "CartPole-v1", "MlpPolicy",
     dict(net_arch=[16, dict(pi=[8], vf=[8])], act_fun=tf.nn.relu),
     dict(net_arch=[16, dict(pi=[8], vf=[8])], act_fun="tf.nn.relu"),
     dict(cliprange_vf=None, max_grad_norm=None)),
]

SEED = 0
NLP_NOISE = 0.3   # std of the gaussian noise added to neglogpacs
VALUE_NOISE = 0.3  # std of the gaussian noise added to values


def make_env_fn(env_id, seed, rank):
    def _thunk():
        if env_id == "IdentityEnvMultiDiscrete(3)":
            env = IdentityEnvMultiDiscrete(3)
        elif env_id == "IdentityEnvMultiBinary(3)":
            env = IdentityEnvMultiBinary(3)
        else:
            return gym.make(env_id)
        # IdentityEnv ignores env.seed(); its state is drawn from action_space.sample().  SB2's
        # set_random_seed only seeds the VecEnv's action_space (= env 0's), so seed every env's space.
        env.action_space.seed(seed + rank)
        return env
    return _thunk


def space_to_json(space):
    d = {"class": type(space).__name__, "shape": list(space.shape) if space.shape is not None else None,
         "dtype": str(space.dtype) if space.dtype is not None else None}
    if isinstance(space, gym.spaces.Discrete):
        d["n"] = int(space.n)
    elif isinstance(space, gym.spaces.MultiDiscrete):
        d["nvec"] = [int(x) for x in space.nvec]
    elif isinstance(space, gym.spaces.MultiBinary):
        d["n"] = int(space.n)
    elif isinstance(space, gym.spaces.Box):
        d["low"] = space.low.tolist()
        d["high"] = space.high.tolist()
    return d


class _RaceFreeApply(object):
    """Make every Adam apply op wait for ALL gradients (only used when max_grad_norm is None).

    In TF1 SB2 with max_grad_norm=None, each ApplyAdam op depends only on its own gradient, so inside
    the single sess.run of _train_step it may overwrite a (ref) variable in place while backprop still
    has to read it (e.g. pi_fc1/w to push the gradient into pi_fc0 or a shared layer): the update is
    then nondeterministic from run to run (seen: up to ~4e-4 in parameters).  With gradient clipping
    the global norm already makes every apply wait for every gradient.  This patch adds exactly that
    wait (control dependencies on tf.identity of the gradients) and changes nothing else.
    """

    def __enter__(self):
        self._orig = tf.train.AdamOptimizer.apply_gradients
        orig = self._orig

        def apply_gradients(opt, grads_and_vars, global_step=None, name=None):
            grads_and_vars = list(grads_and_vars)
            grads = [g for g, _ in grads_and_vars if g is not None]
            with tf.control_dependencies(grads):
                grads_and_vars = [(None if g is None else tf.identity(g), v) for g, v in grads_and_vars]
            return orig(opt, grads_and_vars, global_step=global_step, name=name)

        tf.train.AdamOptimizer.apply_gradients = apply_gradients
        return self

    def __exit__(self, *exc):
        tf.train.AdamOptimizer.apply_gradients = self._orig
        return False


def build_model(env_id, policy, pk, hp):
    env = DummyVecEnv([make_env_fn(env_id, SEED, i) for i in range(hp["n_envs"])])
    kwargs = dict(gamma=hp["gamma"], n_steps=hp["n_steps"], ent_coef=hp["ent_coef"],
                  learning_rate=hp["learning_rate"], vf_coef=hp["vf_coef"], max_grad_norm=hp["max_grad_norm"],
                  lam=hp["lam"], nminibatches=hp["nminibatches"], noptepochs=hp["noptepochs"],
                  cliprange=hp["cliprange"], cliprange_vf=hp["cliprange_vf"], verbose=0, policy_kwargs=pk,
                  seed=SEED, n_cpu_tf_sess=1)
    if hp["max_grad_norm"] is None:
        with _RaceFreeApply():
            return PPO2(policy, env, **kwargs)
    return PPO2(policy, env, **kwargs)


def one_update(model, batch, lr_now, cliprange_now, cliprange_vf_now, vf_clip_range_effective, diag):
    """One PPO2 update: noptepochs x nminibatches calls of model._train_step (SB2's feed-forward loop)."""
    obs, returns, masks, actions, values, neglogpacs = batch
    n_batch, nminibatches, noptepochs = model.n_batch, model.nminibatches, model.noptepochs
    batch_size = n_batch // nminibatches
    update_fac = max(n_batch // nminibatches // noptepochs, 1)
    inds = np.arange(n_batch)
    perm_rng = np.random.RandomState(SEED + 777)
    all_inds, losses, pg_bind, vf_bind, vf_out, snapshots = [], [], [], [], [], []
    n_opt = noptepochs * nminibatches
    k = 0
    for epoch in range(noptepochs):
        perm_rng.shuffle(inds)
        all_inds.append(inds.copy())
        for start in range(0, n_batch, batch_size):
            tb_step = model.num_timesteps // update_fac + (epoch * n_batch + start) // batch_size
            mb = inds[start:start + batch_size]
            if diag is not None:
                # clip diagnostics from the pre-step parameters
                nlp, v = model.sess.run(list(diag), {model.train_model.obs_ph: obs[mb],
                                                     model.action_ph: actions[mb]})
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
                                    cliprange_vf=cliprange_vf_now)
            losses.append([float(x) for x in out])
            if k < n_opt - 1:
                snapshots.append(model.get_parameters())
            k += 1
    after = model.get_parameters()
    return (np.asarray(all_inds, dtype=np.int64), np.asarray(losses, dtype=np.float64), pg_bind, vf_bind,
            vf_out, snapshots, after)


def run_case(case, out_dir):
    name, env_id, policy, pk, pk_json, over = case
    hp = dict(LOOP)
    hp.update(COMMON)
    hp.update(over)
    n_envs, n_steps = hp["n_envs"], hp["n_steps"]
    nminibatches, noptepochs = hp["nminibatches"], hp["noptepochs"]

    model = build_model(env_id, policy, pk, hp)
    # ---- one real rollout (first update of learn(): runner created lazily, env reset once)
    obs, returns, masks, actions, values, neglogpacs, states, _ep_infos, _true_reward = model.runner.run()
    assert states is None
    n_batch = n_envs * n_steps
    assert obs.shape[0] == n_batch and model.n_batch == n_batch

    rng = np.random.RandomState(SEED + 12345)
    values_unperturbed = values.copy()
    neglogpacs_unperturbed = neglogpacs.copy()
    neglogpacs = (neglogpacs + rng.normal(0.0, NLP_NOISE, size=neglogpacs.shape)).astype(neglogpacs.dtype)
    values = (values + rng.normal(0.0, VALUE_NOISE, size=values.shape)).astype(values.dtype)

    # ---- what learn() computes at update 1 (frac = 1.0)
    frac = 1.0
    lr_now = get_schedule_fn(model.learning_rate)(frac)
    cliprange_now = get_schedule_fn(model.cliprange)(frac)
    cliprange_vf_now = get_schedule_fn(model.cliprange_vf)(frac)  # model.cliprange_vf: after setup_model
    vf_fed = cliprange_vf_now is not None and cliprange_vf_now >= 0
    vf_clip_in_graph = model.clip_range_vf_ph is not None
    vf_clip_range_effective = None
    if vf_clip_in_graph:
        vf_clip_range_effective = float(cliprange_now if model.clip_range_vf_ph is model.clip_range_ph
                                        else cliprange_vf_now)

    # diagnostic tensors (no variables, no random ops: nothing of the update changes)
    with model.graph.as_default():
        nlp_t = model.train_model.proba_distribution.neglogp(model.action_ph)
    v_t = model.train_model.value_flat

    params_list = model.get_parameter_list()
    param_names = [p.name for p in params_list]
    before = model.get_parameters()

    batch = (obs, returns, masks, actions, values, neglogpacs)
    (all_inds, losses, pg_bind, vf_bind, vf_out, snapshots, after) = one_update(
        model, batch, lr_now, cliprange_now, cliprange_vf_now, vf_clip_range_effective, (nlp_t, v_t))
    batch_size = n_batch // nminibatches
    n_opt = noptepochs * nminibatches

    race_check = None
    if hp["max_grad_norm"] is None:
        # Check the race-free patch (see build_model) against unmodified SB2 with a no-op gradient
        # clipping: clip_by_global_norm with clip_norm = 2**60 scales by exactly 1.0, and makes every
        # ApplyAdam wait for all gradients.
        hp2 = dict(hp, max_grad_norm=2.0 ** 60)
        model2 = build_model(env_id, policy, pk, hp2)
        batch2 = model2.runner.run()
        same_rollout = all(np.array_equal(x, y) for x, y in zip(batch2[:6], (
            obs, returns, masks, actions, values_unperturbed, neglogpacs_unperturbed)))
        model2.load_parameters(before)  # identical anyway (same seed); makes the check independent of it
        _, losses2, _, _, _, _, after2 = one_update(
            model2, batch, lr_now, cliprange_now, get_schedule_fn(model2.cliprange_vf)(frac), None, None)
        race_check = {
            "reference": "unmodified SB2 with max_grad_norm=2**60 (scale exactly 1.0), same batch and inds",
            "same_rollout": bool(same_rollout),
            "max_abs_diff_after": max(float(np.max(np.abs(after[p] - after2[p]))) for p in param_names),
            "max_abs_diff_losses": float(np.max(np.abs(losses - losses2))),
        }
        model2.env.close()
        model2.sess.close()

    arrays = {}
    for pname in param_names:
        arrays["before/" + pname] = before[pname]
        arrays["after/" + pname] = after[pname]
        for i, snap in enumerate(snapshots):
            arrays["step%d/%s" % (i, pname)] = snap[pname]
    arrays.update(obs=obs, returns=returns, masks=masks, actions=actions, values=values,
                  neglogpacs=neglogpacs, values_unperturbed=values_unperturbed,
                  neglogpacs_unperturbed=neglogpacs_unperturbed, inds=all_inds, losses=losses,
                  pg_clip_binding=np.asarray(pg_bind), vf_clip_binding=np.asarray(vf_bind),
                  vf_clip_outside=np.asarray(vf_out))
    npz_path = os.path.join(out_dir, name + ".npz")
    np.savez_compressed(npz_path, **arrays)

    max_delta = {p: float(np.max(np.abs(after[p] - before[p]))) for p in param_names}
    max_abs_change = max(max_delta.values())
    info = {
        "case": name,
        "env_id": env_id,
        "policy": policy,
        "policy_kwargs": pk_json,
        "hyperparameters": {key: hp[key] for key in (
            "n_envs", "n_steps", "nminibatches", "noptepochs", "learning_rate", "cliprange", "cliprange_vf",
            "ent_coef", "vf_coef", "max_grad_norm", "gamma", "lam")},
        "seed": SEED,
        "n_cpu_tf_sess": 1,
        "n_batch": n_batch,
        "batch_size": batch_size,
        "n_optimizer_steps": n_opt,
        "observation_space": space_to_json(model.observation_space),
        "action_space": space_to_json(model.action_space),
        "param_names": param_names,
        "param_shapes": {p: list(before[p].shape) for p in param_names},
        "loss_names": list(model.loss_names),
        "fed_to_train_step": {
            "learning_rate": lr_now, "cliprange": cliprange_now, "cliprange_vf": cliprange_vf_now,
            "cliprange_vf_placeholder_fed": bool(vf_fed),
        },
        "value_clipping": {
            "in_graph": bool(vf_clip_in_graph),
            "shares_cliprange_placeholder": bool(vf_clip_in_graph and model.clip_range_vf_ph is model.clip_range_ph),
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
        "permutation": "np.random.RandomState(%d).shuffle(inds) once per epoch, inds persists across "
                       "epochs (like SB2's np.random.shuffle(inds))" % (SEED + 777),
        "max_abs_param_change": max_abs_change,
        "max_abs_param_change_per_param": max_delta,
        "adam": {"epsilon": 1e-5, "beta1": 0.9, "beta2": 0.999, "fresh": True},
        "advantage_normalisation": "per minibatch: A = returns - values; (A - A.mean()) / (A.std() + 1e-8)",
        "race_free_check": race_check,
        "versions": {"python": sys.version.split()[0], "tensorflow": tf.__version__,
                     "stable_baselines": stable_baselines.__version__, "gym": gym.__version__,
                     "numpy": np.__version__},
    }
    with open(os.path.join(out_dir, name + ".json"), "w") as f:
        json.dump(info, f, indent=1, sort_keys=False)
    model.env.close()
    model.sess.close()
    return info, os.path.getsize(npz_path)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", default="tests/fixtures/sb2_update")
    parser.add_argument("--only", nargs="*", default=None, help="case names")
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    for case in CASES:
        if args.only and case[0] not in args.only:
            continue
        info, size = run_case(case, args.out)
        cs = info["clip_stats"]
        print("%-18s clipfrac(sb2) %.3f  pg-bind %.3f  vf-out %.3f  vf-bind %.3f  max|d| %.3e  npz %d B" % (
            info["case"], cs["sb2_clipfrac_mean"], np.mean(cs["pg_clip_binding_per_step"]),
            np.mean(cs["vf_clip_outside_per_step"]), np.mean(cs["vf_clip_binding_per_step"]),
            info["max_abs_param_change"], size))


if __name__ == "__main__":
    main()
