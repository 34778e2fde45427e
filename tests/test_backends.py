"""Network backends: numpy and TF run one forward function; the backend belongs to each forward pass (thread-local),
so several threads and several models predict at once; one activation registry."""
import sys
import threading
import warnings

import gymnasium as gym
import numpy as np
import pytest

from stable_ppo2.common.tf_layers import ACTIVATIONS, NumpyBackend, conv_to_fc, linear, lstm
from stable_ppo2.common.tf_util import tf
from tests.helpers import model_for_spaces

BOX4 = gym.spaces.Box(-5, 5, (4,), np.float32)


# ------------------------------------------------------------------------------------------------ threads
def _jobs(seed=0, n=12):
    """Predictions to make: (model key, obs, state, mask). The LSTM carries a state and episode starts."""
    rng = np.random.RandomState(seed)
    jobs = []
    for i in range(n):
        jobs.append(("mlp_a", rng.randn(3, 4).astype(np.float32), None, None))
        jobs.append(("mlp_b", rng.randn(3, 4).astype(np.float32), None, None))
        jobs.append(("lstm", rng.randn(2, 4).astype(np.float32), rng.randn(2, 32).astype(np.float32),
                     np.array([i % 2 == 0, False])))
    return jobs


def _predict(model, obs, state, mask):
    actions, new_state = model.predict(obs, state=state, mask=mask, deterministic=True)
    return actions, new_state, model.action_probability(obs, state=state, mask=mask)


def test_predict_from_threads_matches_sequential_results():
    """8 threads predict with two MLP models of the same shapes (different weights) and an LSTM model at once:
    every result equals the sequential one (no thread sees another's weights or loses its backend)."""
    discrete = gym.spaces.Discrete(2)
    models = {
        "mlp_a": model_for_spaces("MlpPolicy", BOX4, discrete, seed=1),
        "mlp_b": model_for_spaces("MlpPolicy", BOX4, discrete, seed=2),
        "lstm": model_for_spaces("MlpLstmPolicy", BOX4, discrete, n_envs=2, seed=3, nminibatches=2,
                                 policy_kwargs=dict(n_lstm=16)),
    }
    assert all(model.act_model.uses_numpy_forward for model in models.values())
    jobs = _jobs()
    expected = [_predict(models[key], obs, state, mask) for key, obs, state, mask in jobs]
    assert not np.allclose(expected[0][2], _predict(models["mlp_b"], *jobs[0][1:])[2])  # the weights differ

    results, errors = {}, []
    barrier = threading.Barrier(8)

    def work(thread_index):
        try:
            barrier.wait()
            for repeat in range(4):
                for job_index in range(thread_index % 2, len(jobs), 2):  # 4 threads on each job
                    key, obs, state, mask = jobs[job_index]
                    results[(thread_index, repeat, job_index)] = _predict(models[key], obs, state, mask)
        except BaseException as error:  # noqa: BLE001 (reported below)
            errors.append(error)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    switch_interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads as often as possible: inside forward passes too
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        sys.setswitchinterval(switch_interval)
    assert errors == []
    assert len(results) == 8 * 4 * len(jobs) // 2
    for (_, _, job_index), (actions, state, proba) in results.items():
        want_actions, want_state, want_proba = expected[job_index]
        np.testing.assert_array_equal(actions, want_actions)
        np.testing.assert_allclose(proba, want_proba, rtol=1e-6, atol=1e-7)
        if want_state is not None:
            np.testing.assert_allclose(state, want_state, rtol=1e-6, atol=1e-7)


def test_a_weight_sync_during_a_forward_pass_does_not_mix_weights():
    """The numpy backend reads the weights the store held when the pass began; a sync swaps them whole."""
    model = model_for_spaces("MlpPolicy", BOX4, gym.spaces.Discrete(2), seed=0)
    policy = model.act_model
    backend = NumpyBackend(policy.keras_model)
    obs = np.ones((2, 4), np.float32)
    before = policy._network(obs, backend)[0]
    model.load_parameters({name: value + 1.0 for name, value in model.get_parameters().items()})
    np.testing.assert_array_equal(policy._network(obs, backend)[0], before)  # the old snapshot, whole
    assert not np.allclose(policy._network(obs, NumpyBackend(policy.keras_model))[0], before)


def test_layer_helpers_outside_a_forward_pass_say_so():
    with pytest.raises(RuntimeError, match="No active network backend"):
        linear(np.zeros((1, 2), np.float32), "fc", 3)


# ------------------------------------------------------------------------------------------------ user extractors
def _user_extractor(scaled_images, **kwargs):
    """Written as in SB2: public helpers without a backend, a TF activation applied directly."""
    return tf.nn.relu(linear(conv_to_fc(scaled_images), "fc1", 8, init_scale=np.sqrt(2)))


def test_user_extractor_runs_on_both_backends_with_sb2_names():
    space = gym.spaces.Box(0, 255, (3, 3, 1), np.uint8)
    model = model_for_spaces("CnnPolicy", space, gym.spaces.Discrete(2), seed=0,
                             policy_kwargs=dict(cnn_extractor=_user_extractor))
    assert [name for name in model.get_parameters()][:2] == ["model/fc1/w:0", "model/fc1/b:0"]
    obs = np.random.RandomState(0).randint(0, 256, (5, 3, 3, 1)).astype(np.uint8)
    pdparam_np, value_np = model.act_model.forward_np(obs)
    pdparam_tf, value_tf, _ = model.act_model.network(obs)
    np.testing.assert_allclose(pdparam_np, pdparam_tf.numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(value_np, value_tf.numpy(), rtol=1e-5, atol=1e-6)


def test_sb2_list_form_lstm_on_both_backends():
    """SB2's list-of-steps lstm() call gives a list back, with the same numbers in numpy and TF."""
    model = model_for_spaces("MlpLstmPolicy", BOX4, gym.spaces.Discrete(2), n_envs=2, seed=0, nminibatches=2,
                             policy_kwargs=dict(n_lstm=4))
    store = model.act_model.keras_model
    rng = np.random.RandomState(0)
    steps = [rng.randn(2, 64).astype(np.float32) for _ in range(3)]
    masks = [np.array([0.0, 1.0], np.float32)] * 3
    state = rng.randn(2, 8).astype(np.float32)
    np_out, np_state = lstm(steps, masks, state, "lstm1", 4, backend=NumpyBackend(store))
    tf_out, tf_state = lstm([tf.constant(s) for s in steps], [tf.constant(m) for m in masks], tf.constant(state),
                            "lstm1", 4, backend=model.act_model._tf_backend)
    assert isinstance(np_out, list) and len(np_out) == 3
    for np_step, tf_step in zip(np_out, tf_out):
        np.testing.assert_allclose(np_step, tf_step.numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(np_state, tf_state.numpy(), rtol=1e-5, atol=1e-6)


# ------------------------------------------------------------------------------------------------ activations
@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_activation_twins_agree(name):
    tf_fun, np_fun = ACTIVATIONS[name]
    x = np.linspace(-8, 8, 101, dtype=np.float32)
    np.testing.assert_allclose(np_fun(x), tf_fun(x).numpy(), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("act_fun", [tf.nn.relu6, tf.nn.selu, tf.nn.silu, tf.nn.swish, tf.nn.elu, tf.nn.softplus])
def test_registered_activations_keep_the_numpy_forward(act_fun):
    model = model_for_spaces("MlpPolicy", BOX4, gym.spaces.Discrete(2), seed=0,
                             policy_kwargs=dict(act_fun=act_fun, net_arch=[8]))
    assert model.act_model.uses_numpy_forward


def test_unknown_activation_warns_once_and_uses_tf():
    def scaled_tanh(x):
        return 1.7 * tf.tanh(x)

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        models = [model_for_spaces("MlpPolicy", BOX4, gym.spaces.Discrete(2), seed=seed,
                                   policy_kwargs=dict(act_fun=scaled_tanh, net_arch=[8])) for seed in (0, 1)]
    messages = [str(w.message) for w in caught if "scaled_tanh" in str(w.message)]
    assert len(messages) == 1 and "runs its forward pass in TF" in messages[0]
    assert not any(model.act_model.uses_numpy_forward for model in models)
