"""Same weights, same outputs as SB2; one update, same parameters after as SB2.

Reference data come from the original SB2 (TF 1.15): the RL-zoo agents in ``tests/data/sb2-zoo``
(outputs for fixed observations) and ``tests/fixtures/sb2_update`` (made by
``tools/sb2/make_update_fixtures.py``: parameters before and after one PPO2 update).
"""
import glob
import os

import numpy as np
import pytest
from gymnasium import spaces

from stable_ppo2.common.tf_util import tf
from tests.helpers import FIXTURES, SB2_ZOO, model_for_spaces, read_json, space_from_json

ZOO_AGENTS = sorted(os.path.basename(p)[:-len(".reference.json")]
                    for p in glob.glob(os.path.join(SB2_ZOO, "*.reference.json")))
UPDATE_CASES = sorted(os.path.basename(p)[:-len(".json")]
                      for p in glob.glob(os.path.join(FIXTURES, "sb2_update", "*.json")))


def test_reference_data_present():
    assert len(ZOO_AGENTS) >= 5, f"SB2 zoo references missing under {SB2_ZOO}"
    assert len(UPDATE_CASES) >= 7


def _zoo_model(agent: str):
    meta = read_json(os.path.join(SB2_ZOO, f"{agent}.reference.json"))
    reference = np.load(os.path.join(SB2_ZOO, f"{agent}.reference.npz"))
    model = model_for_spaces(meta["policy_class"], space_from_json(meta["observation_space"]),
                             space_from_json(meta["action_space"]), n_envs=meta["data"]["n_envs"],
                             policy_kwargs=meta["policy_kwargs"])
    params = {name[len("params/"):]: reference[name] for name in reference.files
              if name.startswith("params/")}
    model.load_parameters(params)
    return model, reference


@pytest.mark.parametrize("agent", ZOO_AGENTS)
def test_zoo_agent_outputs_match_sb2(agent):
    model, ref = _zoo_model(agent)
    obs = ref["obs"]
    # Values reach ~100 (Pendulum), where 1e-5 is below float32 resolution: 1e-5 or 1e-6 relative.
    np.testing.assert_allclose(model.value(obs), ref["value"], atol=1e-5, rtol=1e-6)
    det_action, _ = model.predict(obs, deterministic=True)
    logp = model.action_probability(obs, actions=ref["fixed_actions"], logp=True).reshape(-1)
    np.testing.assert_allclose(logp, ref["fixed_actions_logp"], atol=1e-5, rtol=1e-5)
    proba = model.action_probability(obs)
    if "proba" in ref.files:
        np.testing.assert_allclose(proba, ref["proba"], atol=1e-5, rtol=0)
        np.testing.assert_array_equal(det_action, ref["det_action"])
    else:
        np.testing.assert_allclose(proba[0], ref["proba_mean"], atol=1e-5, rtol=0)
        np.testing.assert_allclose(proba[1], ref["proba_std"], atol=1e-5, rtol=0)
        np.testing.assert_allclose(det_action, ref["det_action"], atol=1e-5, rtol=0)


@pytest.mark.parametrize("agent", ZOO_AGENTS)
def test_zoo_agent_tf_and_numpy_paths_agree(agent):
    """The compiled TF network (training) and the numpy one (rollouts) give the same outputs."""
    model, ref = _zoo_model(agent)
    pdparam_tf, value_tf, _ = model.act_model.network(tf.constant(ref["obs"]))
    pdparam_np, value_np = model.act_model.forward_np(ref["obs"])
    assert model.act_model.uses_numpy_forward
    np.testing.assert_allclose(pdparam_np, pdparam_tf.numpy(), atol=1e-5)
    np.testing.assert_allclose(value_np, value_tf.numpy(), atol=1e-5)


def _policy_kwargs(meta):
    kwargs = dict(meta["policy_kwargs"] or {})
    if kwargs.get("act_fun") == "tf.nn.relu":
        kwargs["act_fun"] = tf.nn.relu
    return kwargs


@pytest.mark.parametrize("case", UPDATE_CASES)
def test_one_update_matches_sb2(case):
    meta = read_json(os.path.join(FIXTURES, "sb2_update", f"{case}.json"))
    data = np.load(os.path.join(FIXTURES, "sb2_update", f"{case}.npz"))
    hyper = meta["hyperparameters"]
    model = model_for_spaces(
        meta["policy"], space_from_json(meta["observation_space"]),
        space_from_json(meta["action_space"]), n_envs=hyper["n_envs"], n_steps=hyper["n_steps"],
        nminibatches=hyper["nminibatches"], noptepochs=hyper["noptepochs"],
        learning_rate=hyper["learning_rate"], cliprange=hyper["cliprange"],
        cliprange_vf=hyper["cliprange_vf"], ent_coef=hyper["ent_coef"], vf_coef=hyper["vf_coef"],
        max_grad_norm=hyper["max_grad_norm"], policy_kwargs=_policy_kwargs(meta))
    assert list(model.get_parameters()) == meta["param_names"]
    before = {name: data["before/" + name] for name in meta["param_names"]}
    model.load_parameters(before)

    batch_size = meta["batch_size"]
    minibatches = [epoch_inds[start:start + batch_size]
                   for epoch_inds in data["inds"] for start in range(0, meta["n_batch"], batch_size)]
    # SB2 stores cliprange_vf=None as cliprange (value clipping on); negative turns it off.
    cliprange_vf = hyper["cliprange_vf"] if hyper["cliprange_vf"] is not None else hyper["cliprange"]
    losses = model.train_on_batch(data["obs"], data["returns"], data["actions"], data["values"],
                                  data["neglogpacs"], minibatches, hyper["learning_rate"],
                                  hyper["cliprange"], cliprange_vf)

    after = model.get_parameters()
    for name in meta["param_names"]:
        expected_change = data["after/" + name] - before[name]
        np.testing.assert_allclose(after[name] - before[name], expected_change, atol=1e-6, rtol=0,
                                   err_msg=name)
        np.testing.assert_allclose(after[name], data["after/" + name], atol=1e-6, rtol=0, err_msg=name)
    np.testing.assert_allclose(losses, data["losses"].mean(axis=0), rtol=1e-4, atol=1e-6)


def test_every_epoch_takes_minibatches_from_a_fresh_shuffle():
    """SB2's ``learn`` shuffles the sample indices in place once per epoch (global numpy RNG) and
    cuts that epoch's minibatches from it; here the same draws give the same minibatches."""
    model = model_for_spaces("MlpPolicy", spaces.Box(-1.0, 1.0, (1,), np.float32), spaces.Discrete(2),
                             n_envs=2, n_steps=4, nminibatches=2, noptepochs=3)
    np.random.seed(0)
    rows, _ = model._minibatch_indices()
    np.random.seed(0)
    indices, expected = np.arange(8), []
    for _ in range(3):
        np.random.shuffle(indices)
        expected.extend([indices[:4].copy(), indices[4:].copy()])
    np.testing.assert_array_equal(rows, expected)
    assert len({tuple(row) for row in rows}) == 6
