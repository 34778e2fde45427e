"""The rollout buffer and its pure functions: GAE, swap_and_flatten and the minibatch plan, on hand-made
cases worked out with SB2's formulas."""
import numpy as np
import pytest

from stable_ppo2 import PPO2
from stable_ppo2.ppo2.rollout import MinibatchPlan, RolloutBuffer, compute_gae, minibatch_plan, swap_and_flatten

# ------------------------------------------------------------------------------------------------ GAE
# Two envs, three steps, gamma 0.9, lam 0.5. SB2: delta_t = r_t + gamma * V_{t+1} * (1 - done_{t+1}) - V_t,
# adv_t = delta_t + gamma * lam * (1 - done_{t+1}) * adv_{t+1}; done_{t+1} is the start flag of step t+1,
# and after the last step the env's current done flag, with the bootstrap value V(last obs).
REWARDS = np.array([[1.0, 0.0], [2.0, 0.0], [3.0, 1.0]], np.float32)
VALUES = np.array([[0.5, 0.0], [1.0, 0.0], [1.5, 0.0]], np.float32)
EPISODE_STARTS = np.array([[False, True], [False, False], [True, False]])  # env 0: an episode ended at step 1
LAST_VALUES = np.array([2.0, 5.0], np.float32)
LAST_DONES = np.array([False, True])  # env 1: an episode ended at the last step: 5.0 must not bootstrap
EXPECTED_ADVANTAGES = np.array([
    # env 0: step 2 bootstraps 2.0 (3 + 0.9 * 2 - 1.5 = 3.3); step 1 ends an episode (2 - 1 = 1);
    # step 0: 1 + 0.9 * 1 - 0.5 = 1.4, plus 0.45 * 1.0
    [1.85, 0.2025],
    # env 1: step 2 ends an episode (1); step 1: 0 + 0.45 * 1; step 0: 0.45 * 0.45 (its own start flag is irrelevant)
    [1.0, 0.45],
    [3.3, 1.0],
], np.float32)


def test_gae_on_a_hand_made_case():
    advantages = compute_gae(REWARDS, VALUES, EPISODE_STARTS, LAST_VALUES, LAST_DONES, gamma=0.9, lam=0.5)
    assert advantages.dtype == np.float32 and advantages.shape == (3, 2)
    np.testing.assert_allclose(advantages, EXPECTED_ADVANTAGES, rtol=1e-6)


def test_gae_limits_lambda_zero_is_td_error_and_lambda_one_is_the_discounted_return():
    rewards = np.array([[1.0], [1.0], [1.0]], np.float32)
    values = np.array([[0.2], [0.4], [0.6]], np.float32)
    starts = np.zeros((3, 1), bool)
    last_values, last_dones = np.array([1.0], np.float32), np.array([False])
    td = compute_gae(rewards, values, starts, last_values, last_dones, gamma=0.5, lam=0.0)
    np.testing.assert_allclose(td[:, 0], [1 + 0.5 * 0.4 - 0.2, 1 + 0.5 * 0.6 - 0.4, 1 + 0.5 * 1.0 - 0.6], rtol=1e-6)
    mc = compute_gae(rewards, values, starts, last_values, last_dones, gamma=0.5, lam=1.0)
    returns = [1 + 0.5 + 0.25 + 0.125 * 1.0, 1 + 0.5 + 0.25 * 1.0, 1 + 0.5 * 1.0]
    np.testing.assert_allclose(mc[:, 0] + values[:, 0], returns, rtol=1e-6)


# ------------------------------------------------------------------------------------------------ layout
def test_swap_and_flatten_is_env_major():
    steps_by_envs = np.array([[10 * t + e for e in range(2)] for t in range(3)])[..., None]  # (3 steps, 2 envs, 1)
    flat = swap_and_flatten(steps_by_envs)
    assert flat.shape == (6, 1)
    np.testing.assert_array_equal(flat[:, 0], [0, 10, 20, 1, 11, 21])  # index env * n_steps + t
    assert swap_and_flatten(np.zeros((3, 2, 4, 5))).shape == (6, 4, 5)


def test_buffer_unpacks_in_sb2_run_order():
    fields = {name: np.full(2, i) for i, name in enumerate(
        ["obs", "returns", "episode_starts", "actions", "values", "neglogpacs", "initial_states", "true_rewards"])}
    buffer = RolloutBuffer(**fields, episode_infos=[{"r": 1.0, "l": 2}])
    obs, returns, masks, actions, values, neglogpacs, states, ep_infos, true_reward = buffer
    unpacked = (obs, returns, masks, actions, values, neglogpacs, states, true_reward)
    assert [int(array[0]) for array in unpacked] == list(range(8))
    assert ep_infos == [{"r": 1.0, "l": 2}]


def test_runner_fills_the_buffer_with_the_rollout():
    model = PPO2("MlpPolicy", "CartPole-v1", n_steps=8, nminibatches=1, seed=0)
    rollout = model.runner.run()
    assert isinstance(rollout, RolloutBuffer)
    assert rollout.obs.shape == (8, 4) and rollout.returns.shape == (8,) and rollout.actions.shape == (8,)
    assert rollout.episode_starts.dtype == bool and rollout.initial_states is None
    assert model.num_timesteps == 8


# ------------------------------------------------------------------------------------------------ minibatch plan
def _replay_shuffles(seed, size, n_epochs):
    """What SB2 draws: one np.random.shuffle of arange(size) per epoch from the global RNG."""
    np.random.seed(seed)
    orders = []
    indices = np.arange(size)
    for _ in range(n_epochs):
        np.random.shuffle(indices)
        orders.append(indices.copy())
    return orders, np.random.rand()


def test_feed_forward_plan_slices_one_shuffle_per_epoch():
    orders, next_draw = _replay_shuffles(seed=3, size=8, n_epochs=2)
    np.random.seed(3)
    plan = minibatch_plan(n_envs=2, n_steps=4, nminibatches=2, noptepochs=2, recurrent=False)
    assert np.random.rand() == next_draw  # the global RNG moved exactly as in SB2
    assert isinstance(plan, MinibatchPlan) and plan.sample_rows.dtype == np.int32
    np.testing.assert_array_equal(plan.sample_rows, [orders[0][:4], orders[0][4:], orders[1][:4], orders[1][4:]])
    assert plan.env_rows.shape == (4, 0)
    for epoch in (plan.sample_rows[:2], plan.sample_rows[2:]):
        assert sorted(epoch.ravel()) == list(range(8))  # every sample once per epoch


def test_recurrent_plan_takes_whole_env_sequences():
    orders, next_draw = _replay_shuffles(seed=5, size=4, n_epochs=2)
    np.random.seed(5)
    plan = minibatch_plan(n_envs=4, n_steps=3, nminibatches=2, noptepochs=2, recurrent=True)
    assert np.random.rand() == next_draw  # one shuffle of the envs per epoch
    np.testing.assert_array_equal(plan.env_rows, [orders[0][:2], orders[0][2:], orders[1][:2], orders[1][2:]])
    for envs, samples in zip(plan.env_rows, plan.sample_rows):
        # env-major samples: env e's sequence is e * n_steps .. e * n_steps + 2, in order
        np.testing.assert_array_equal(samples, np.concatenate([np.arange(3 * e, 3 * e + 3) for e in envs]))


@pytest.mark.parametrize("recurrent", [False, True])
def test_one_minibatch_one_epoch_covers_the_batch(recurrent):
    plan = minibatch_plan(n_envs=2, n_steps=3, nminibatches=1, noptepochs=1, recurrent=recurrent)
    assert plan.sample_rows.shape == (1, 6) and sorted(plan.sample_rows[0]) == list(range(6))
    assert plan.env_rows.shape == ((1, 2) if recurrent else (1, 0))
