"""The fused LSTM sequence (hand-written backward pass) against autodiff of SB2's cell, step by step."""
import numpy as np
import pytest

from stable_ppo2.common.lstm_kernel import lstm_sequence
from stable_ppo2.common.tf_layers import TfBackend, _lstm_step
from stable_ppo2.common.tf_util import tf


def _inputs(n_steps, n_batch, n_hidden, seed):
    rng = np.random.default_rng(seed)
    as_tensor = lambda *shape: tf.constant(rng.normal(size=shape).astype(np.float32))  # noqa: E731
    masks = (rng.random((n_steps, n_batch, 1)) < 0.2).astype(np.float32)
    return (as_tensor(n_steps, n_batch, 4 * n_hidden), tf.constant(masks), as_tensor(n_batch, n_hidden),
            as_tensor(n_batch, n_hidden), as_tensor(n_hidden, 4 * n_hidden) * 0.3, as_tensor(4 * n_hidden))


def _reference(x_projected, masks, cell, hidden, wh, bias):
    weights = {"wh": wh, "b": bias}
    outputs = []
    for t in range(x_projected.shape[0]):
        cell, hidden = _lstm_step(TfBackend, weights, x_projected[t], masks[t], cell, hidden, False)
        outputs.append(hidden)
    return tf.stack(outputs), cell, hidden


def _loss_and_gradients(function, inputs, jit):
    @tf.function(jit_compile=jit)
    def run(*args):
        with tf.GradientTape() as tape:
            tape.watch(args)
            outputs, cell, hidden = function(*args)
            # weights make every output position and the final state matter differently
            loss = (tf.reduce_sum(tf.sin(outputs) * tf.range(1.0, 1.0 + outputs.shape[0])[:, None, None])
                    + tf.reduce_sum(cell * cell) + tf.reduce_sum(tf.cos(hidden)))
        return [outputs, cell, hidden], tape.gradient(loss, args)
    return run(*inputs)


@pytest.mark.parametrize("jit", [False, True])
@pytest.mark.parametrize("n_steps,n_batch,n_hidden", [(1, 1, 3), (7, 2, 5), (32, 3, 16)])
def test_forward_and_gradients_match_autodiff(n_steps, n_batch, n_hidden, jit):
    inputs = _inputs(n_steps, n_batch, n_hidden, seed=n_steps)
    outputs, gradients = _loss_and_gradients(lstm_sequence, inputs, jit)
    expected_outputs, expected_gradients = _loss_and_gradients(_reference, inputs, jit=False)
    for got, expected in zip(outputs, expected_outputs):
        np.testing.assert_allclose(got.numpy(), expected.numpy(), rtol=1e-5, atol=1e-6)
    names = ["x_projected", "masks", "cell", "hidden", "wh", "bias"]
    for name, got, expected in zip(names, gradients, expected_gradients):
        if name == "masks":
            continue  # episode starts are data: no gradient flows to them
        np.testing.assert_allclose(got.numpy(), expected.numpy(), rtol=1e-4, atol=1e-5, err_msg=name)


def test_a_mask_stops_the_gradient_reaching_earlier_steps():
    x_projected, _, cell, hidden, wh, bias = _inputs(6, 1, 4, seed=0)
    masks = tf.constant(np.eye(6, dtype=np.float32)[3][:, None, None])  # episode starts at step 3
    with tf.GradientTape() as tape:
        tape.watch(x_projected)
        outputs, _, _ = lstm_sequence(x_projected, masks, cell, hidden, wh, bias)
        loss = tf.reduce_sum(outputs[3:])
    gradient = tape.gradient(loss, x_projected).numpy()
    assert np.all(gradient[:3] == 0.0) and np.all(np.abs(gradient[3:]).sum(axis=-1) > 0)
