"""Recurrent policies (MlpLstm, MlpLnLstm, CnnLstm, custom LstmPolicy): SB2's outputs over
sequences with episode starts, one recurrent update as SB2, and the limits SB2 had, lifted.

Fixtures: ``tools/sb2/make_recurrent_fixtures.py`` and ``tools/sb2/make_recurrent_run_fixtures.py``
(the original SB2).
"""
import glob
import os

import numpy as np
import pytest
from gymnasium import spaces

from stable_ppo2 import PPO2
from stable_ppo2.common.cmd_util import make_vec_env
from stable_ppo2.common.evaluation import evaluate_policy
from stable_ppo2.common.policies import LstmPolicy
from stable_ppo2.common.tf_util import tf
from stable_ppo2.common.vec_env.base_vec_env import VecEnv
from tests.helpers import FIXTURES, model_for_spaces, read_json, space_from_json

RECURRENT = os.path.join(FIXTURES, "sb2_recurrent")
SEQUENCE_CASES = sorted(os.path.basename(p)[:-5] for p in glob.glob(os.path.join(RECURRENT, "seq_*.json")))
UPDATE_CASES = sorted(os.path.basename(p)[:-5] for p in glob.glob(os.path.join(RECURRENT, "update_*.json")))


class CustomLstmNetArch(LstmPolicy):
    """SB2 test_lstm_policy style subclass: shared layer, LSTM, then separate heads."""

    def __init__(self, sess, ob_space, ac_space, n_env, n_steps, n_batch, n_lstm=8, reuse=False, **kwargs):
        super().__init__(sess, ob_space, ac_space, n_env, n_steps, n_batch, n_lstm, reuse,
                         net_arch=[8, "lstm", dict(vf=[5, 10], pi=[10])], layer_norm=True,
                         feature_extraction="mlp", **kwargs)


def _fixture_model(case: str, **overrides):
    meta = read_json(os.path.join(RECURRENT, f"{case}.json"))
    data = np.load(os.path.join(RECURRENT, f"{case}.npz"))
    hyper = dict(meta["hyperparameters"])
    hyper.update(overrides)
    policy = CustomLstmNetArch if meta["policy"] == "CustomLstmNetArch" else meta["policy"]
    model = model_for_spaces(policy, space_from_json(meta["observation_space"]),
                             space_from_json(meta["action_space"]), policy_kwargs=meta["policy_kwargs"],
                             **hyper)
    prefix = "params/" if "params/" + meta["param_names"][0] in data.files else "before/"
    assert list(model.get_parameters()) == meta["param_names"]
    model.load_parameters({name: data[prefix + name] for name in meta["param_names"]})
    return model, data, meta


def test_fixtures_present():
    assert len(SEQUENCE_CASES) >= 4 and len(UPDATE_CASES) >= 2


@pytest.mark.parametrize("case", SEQUENCE_CASES)
def test_step_by_step_outputs_match_sb2(case):
    """predict / action_probability / value with SB2's state and mask over 12 steps."""
    model, ref, _ = _fixture_model(case)
    state = ref["state_in"][0]
    for t in range(ref["obs"].shape[0]):
        obs, mask = ref["obs"][t], ref["masks"][t]
        np.testing.assert_allclose(state, ref["state_in"][t], atol=1e-5)
        action, new_state = model.predict(obs, state=state, mask=mask, deterministic=True)
        np.testing.assert_allclose(new_state, ref["state_out"][t], atol=1e-5)
        np.testing.assert_allclose(model.value(obs, state, mask), ref["value"][t], atol=1e-5, rtol=1e-6)
        proba = model.action_probability(obs, state=state, mask=mask)
        if "proba" in ref.files:
            np.testing.assert_allclose(proba, ref["proba"][t], atol=1e-5)
            np.testing.assert_array_equal(action, ref["det_action"][t])
        else:
            np.testing.assert_allclose(proba[0], ref["proba_mean"][t], atol=1e-5)
            np.testing.assert_allclose(proba[1], ref["proba_std"][t], atol=1e-5)
            np.testing.assert_allclose(action, ref["predict_action"][t], atol=1e-5)
        logp = model.action_probability(obs, state=state, mask=mask, actions=ref["fixed_actions"][t], logp=True)
        np.testing.assert_allclose(logp.reshape(-1), ref["fixed_actions_logp"][t], atol=1e-5, rtol=1e-5)
        state = new_state


@pytest.mark.parametrize("case", SEQUENCE_CASES)
def test_whole_sequence_in_tf_matches_sb2(case):
    """The training path: the TF network unrolled over all 12 steps at once (env-major)."""
    model, ref, _ = _fixture_model(case)
    n_steps, n_envs = ref["masks"].shape
    obs = np.swapaxes(ref["obs"], 0, 1).reshape((n_envs * n_steps,) + ref["obs"].shape[2:])
    masks = np.swapaxes(ref["masks"], 0, 1).reshape(-1).astype(np.float32)
    pdparam, value, _, final_state = model.act_model.network_with_state(
        tf.constant(obs), ref["state_in"][0], masks, n_steps=n_steps)
    np.testing.assert_allclose(value.numpy().reshape(n_envs, n_steps), ref["value"].T, atol=1e-5, rtol=1e-6)
    np.testing.assert_allclose(final_state.numpy(), ref["state_out"][-1], atol=1e-5)


@pytest.mark.parametrize("case", UPDATE_CASES)
def test_one_recurrent_update_matches_sb2(case):
    model, data, meta = _fixture_model(case)
    hyper = meta["hyperparameters"]
    before = model.get_parameters()
    n_envs, n_steps = hyper["n_envs"], hyper["n_steps"]
    envs_per_batch = n_envs // hyper["nminibatches"]
    flat = np.arange(n_envs * n_steps).reshape(n_envs, n_steps)
    env_rows = [epoch[start:start + envs_per_batch] for epoch in data["env_inds"]
                for start in range(0, n_envs, envs_per_batch)]
    rows = [flat[envs].ravel() for envs in env_rows]
    cliprange_vf = hyper["cliprange"] if hyper["cliprange_vf"] is None else hyper["cliprange_vf"]
    losses = model.train_on_batch(data["obs"], data["returns"], data["actions"], data["values"],
                                  data["neglogpacs"], rows, hyper["learning_rate"], hyper["cliprange"],
                                  cliprange_vf, masks=data["masks"], states=data["states"],
                                  minibatch_envs=env_rows)
    after = model.get_parameters()
    for name in meta["param_names"]:
        np.testing.assert_allclose(after[name] - before[name], data["after/" + name] - before[name],
                                   atol=1e-6, rtol=0, err_msg=name)
    np.testing.assert_allclose(losses, data["losses"].mean(axis=0), rtol=1e-4, atol=1e-5)


class RecordedRolloutsVecEnv(VecEnv):
    """Plays back the observations, rewards and episode ends SB2's envs gave in a recorded run,
    and checks that the actions are the recorded ones."""

    def __init__(self, data, n_envs: int, n_steps: int):
        high = np.array([4.8, 0.42], np.float32)  # CartPole's position and angle bounds
        super().__init__(n_envs, spaces.Box(-high, high, dtype=np.float32), spaces.Discrete(2))
        self.data, self.n_steps = data, n_steps
        self.update, self.step_index = 0, 0

    def recorded(self, name: str, update: int):
        array = self.data[f"{name}{update}"]
        return array.reshape((self.num_envs, self.n_steps) + array.shape[1:])

    def recorded_actions(self):
        return self.recorded("actions", self.update)[:, self.step_index].copy()

    def reset(self):
        return self.recorded("obs", 0)[:, 0].copy()

    def step_async(self, actions):
        np.testing.assert_array_equal(actions, self.recorded_actions())

    def step_wait(self):
        update, t = self.update, self.step_index
        rewards = self.recorded("rewards", update)[:, t]
        if t + 1 < self.n_steps:
            obs, dones = self.recorded("obs", update)[:, t + 1], self.recorded("masks", update)[:, t + 1]
        else:
            obs, dones = self.data[f"last_obs{update}"], self.data[f"last_dones{update}"]
        self.update, self.step_index = (update + 1, 0) if t + 1 == self.n_steps else (update, t + 1)
        return obs.copy(), rewards.astype(np.float32), dones.astype(bool), [{} for _ in range(self.num_envs)]

    def close(self):
        pass

    def get_attr(self, attr_name, indices=None):
        raise NotImplementedError

    def set_attr(self, attr_name, value, indices=None):
        raise NotImplementedError

    def env_method(self, method_name, *method_args, indices=None, **method_kwargs):
        raise NotImplementedError

    def seed(self, seed=None):
        return [None] * self.num_envs


def test_learn_matches_sb2_over_several_updates(monkeypatch):
    """A whole ``learn()`` of 3 updates on CartPole without velocities, with SB2's env outputs, sampled
    actions and shuffles: the rollouts (LSTM states carried across rollouts, episode starts, GAE) and
    the parameters after every update are SB2's. The second update is the first to start from
    non-zero LSTM states, which each minibatch must take from its own envs."""
    data = np.load(os.path.join(RECURRENT, "learn_mlp_lstm.npz"))
    meta = read_json(os.path.join(RECURRENT, "learn_mlp_lstm.json"))
    n_envs, n_steps, n_updates = meta["n_envs"], meta["n_steps"], meta["n_record"]
    env = RecordedRolloutsVecEnv(data, n_envs, n_steps)
    model = PPO2("MlpLstmPolicy", env, n_steps=n_steps, nminibatches=meta["nminibatches"],
                 noptepochs=meta["noptepochs"], lam=meta["lam"], gamma=meta["gamma"], ent_coef=meta["ent_coef"],
                 learning_rate=lambda frac: frac * 1e-3, cliprange=lambda frac: frac * 0.2,
                 policy_kwargs=dict(n_lstm=meta["n_lstm"]))
    assert list(model.get_parameters()) == meta["param_names"]
    model.load_parameters({name: data["init/" + name] for name in meta["param_names"]})
    monkeypatch.setattr(model.act_model.pdtype, "np_sample", lambda flat, rng: env.recorded_actions())
    permutations = [perm for k in range(n_updates) for perm in data[f"env_inds{k}"]]
    monkeypatch.setattr(np.random, "shuffle", lambda array: array.__setitem__(slice(None), permutations.pop(0)))
    rollouts, parameters = [], []
    run, train_on_batch = model.runner._run, model.train_on_batch

    def recording_train_on_batch(*args, **kwargs):
        losses = train_on_batch(*args, **kwargs)
        parameters.append(model.get_parameters())
        return losses

    monkeypatch.setattr(model.runner, "_run", lambda: rollouts.append(run()) or rollouts[-1])
    monkeypatch.setattr(model, "train_on_batch", recording_train_on_batch)
    model.learn(meta["total_timesteps"])
    assert len(parameters) == n_updates and not permutations
    for k, (rollout, after) in enumerate(zip(rollouts, parameters)):
        returns, masks, values = rollout.returns, rollout.episode_starts, rollout.values
        neglogpacs, states = rollout.neglogpacs, rollout.initial_states
        np.testing.assert_array_equal(masks, data[f"masks{k}"])
        np.testing.assert_allclose(states, data[f"states{k}"], atol=1e-6, err_msg=f"update {k}")
        for name, ours in (("returns", returns), ("values", values), ("neglogpacs", neglogpacs)):
            np.testing.assert_allclose(ours, data[f"{name}{k}"], atol=1e-5, err_msg=f"update {k}: {name}")
        for name in meta["param_names"]:
            np.testing.assert_allclose(after[name], data[f"after{k}/{name}"], atol=1e-6, rtol=0,
                                       err_msg=f"update {k}: {name}")


def test_each_recurrent_minibatch_takes_the_initial_states_of_its_own_envs():
    """Row k of the env rows (whose rollout-start states the minibatch's sequences start from) names
    the envs whose samples row k of the sample rows holds, in every epoch."""
    model = PPO2("MlpLstmPolicy", make_vec_env("CartPole-v1", n_envs=4), n_steps=4, nminibatches=2,
                 noptepochs=3, policy_kwargs=dict(n_lstm=8))
    np.random.seed(0)
    sample_rows, env_rows = model._minibatch_indices()
    assert env_rows.shape == (6, 2)
    np.testing.assert_array_equal(sample_rows.reshape(6, 2, 4) // 4, np.repeat(env_rows[:, :, None], 4, axis=2))
    assert len({tuple(row) for row in env_rows}) > 2  # the epochs' permutations differ


def test_recurrent_n_envs_must_be_multiple_of_nminibatches():
    with pytest.raises(ValueError, match="multiple of nminibatches"):
        PPO2("MlpLstmPolicy", make_vec_env("CartPole-v1", n_envs=2), nminibatches=4)


def test_lstm_net_arch_errors():
    env = make_vec_env("CartPole-v1", n_envs=2)
    for net_arch, error in (([8, 8], ValueError), (["lstm", "lstm"], ValueError),
                            ([8, "lstm", dict(pi=["lstm"])], NotImplementedError)):
        with pytest.raises(error):
            PPO2("MlpLstmPolicy", env, nminibatches=2, policy_kwargs=dict(net_arch=net_arch))
    with pytest.raises(NotImplementedError, match="MLP"):
        LstmPolicy(None, env.observation_space, env.action_space, 2, 1, None, net_arch=["lstm"])


def test_predict_with_any_batch_and_unbatched_observations():
    """SB2 needed exactly n_envs observations; here any batch, or one unbatched observation."""
    env = make_vec_env("CartPole-v1", n_envs=4, seed=0)
    model = PPO2("MlpLstmPolicy", env, nminibatches=4, seed=0, policy_kwargs=dict(n_lstm=16))
    obs = env.reset()
    actions, state = model.predict(obs)
    assert actions.shape == (4,) and state.shape == (4, 32)
    action, single_state = model.predict(obs[0], deterministic=True)
    assert np.ndim(action) == 0 and single_state.shape == (1, 32)
    again, _ = model.predict(obs[0], state=single_state[0], mask=False, deterministic=True)
    batch_actions, batch_state = model.predict(obs[:2], state=state[:2], mask=[True, False],
                                               deterministic=True)
    assert batch_actions.shape == (2,)
    reset_actions, reset_state = model.predict(obs[:1], state=state[:1], mask=[True], deterministic=True)
    np.testing.assert_allclose(reset_state, single_state, atol=1e-6)  # mask resets to the zero state
    assert model.action_probability(obs[0]).shape == (2,)
    with pytest.raises(ValueError, match="state"):
        model.predict(obs[:2], state=np.zeros((3, 32)))


def test_learn_save_load_evaluate(tmp_path):
    env = make_vec_env("CartPole-v1", n_envs=2, seed=0)
    model = PPO2("MlpLnLstmPolicy", env, n_steps=16, nminibatches=2, seed=0,
                 policy_kwargs=dict(n_lstm=8))
    model.learn(64)
    assert model._train_trace_count == 1
    model.save(tmp_path / "lstm")
    loaded = PPO2.load(tmp_path / "lstm.zip")
    obs = env.reset()
    np.testing.assert_allclose(loaded.action_probability(obs), model.action_probability(obs), atol=1e-6)
    mean_reward, _ = evaluate_policy(loaded, make_vec_env("CartPole-v1", n_envs=1, seed=1), n_eval_episodes=2)
    assert mean_reward > 0
