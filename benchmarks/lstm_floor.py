#!/usr/bin/env python
"""One recurrent gradient step against what its arithmetic needs on this CPU (one thread, XLA).

The setting is ``bench_ppo2.py --config lstm``: MlpLstmPolicy (64-64 tanh MLP, LSTM of 256), 4 envs,
n_steps 128, nminibatches 4, so every gradient step is one env's 128-step sequence (batch 1). It:

1. counts the step's FLOPs and the bytes of the recurrent weight it must stream;
2. times, as XLA kernels with one thread, the products no implementation can avoid: the 128
   sequential ``h @ wh`` forward products and 128 ``dgates @ wh^T`` backward products (each needs
   the previous one's result, so they cannot be batched), and the products batched over all steps
   (``x @ wx``, its two gradients, ``wh``'s gradient); their sum is the floor (the cell's
   element-wise work, the MLP, the loss and Adam come on top);
3. times a real PPO2 update (16 gradient steps) and divides.

    .venv/bin/python benchmarks/lstm_floor.py [--json OUT]
"""
import argparse
import json
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402

T, H, D_IN, N_OBS = 128, 256, 64, 4  # steps, LSTM units, LSTM input (the MLP's width), observation size
REPEATS = 50


def seconds_per_call(function, *args, repeats=REPEATS):
    """Best of 5 means of ``repeats`` calls (after one call that compiles)."""
    function(*args)
    best = float("inf")
    for _ in range(5):
        start = time.perf_counter()
        for _ in range(repeats):
            result = function(*args)
            if hasattr(result, "numpy"):  # a TF result: wait for it
                result.numpy()
        best = min(best, (time.perf_counter() - start) / repeats)
    return best


def kernel_floor(tf):
    """Seconds of the unavoidable kernels, each timed inside an XLA loop: the difference between 200
    and 100 iterations, so neither the call nor the loop's set-up is counted."""
    rng = np.random.default_rng(0)
    const = lambda *shape: tf.constant(rng.normal(size=shape).astype(np.float32) * 0.05)  # noqa: E731
    wh, wh_t = const(H, 4 * H), const(4 * H, H)

    def per_iteration(body, x):
        @tf.function(jit_compile=True)
        def run(x, n):
            return tf.while_loop(lambda k, _: k < n, lambda k, v: (k + 1, body(v)), (0, x))[1]
        return (seconds_per_call(run, x, 200) - seconds_per_call(run, x, 100)) / 100

    parts = {
        "forward recurrence (128 x [1,256]@[256,1024])":
            per_iteration(lambda h: tf.matmul(h, wh)[:, :H] * 1e-3, const(1, H)) * T,
        "backward recurrence (128 x [1,1024]@[1024,256])":
            per_iteration(lambda g: tf.concat([tf.matmul(g, wh_t) * 1e-3] * 4, axis=1), const(1, 4 * H)) * T,
    }
    batched = {
        "x @ wx (forward, all steps)": (const(T, D_IN), const(D_IN, 4 * H), False, False),
        "d wx = x^T @ dgates": (const(T, D_IN), const(T, 4 * H), True, False),
        "d x = dgates @ wx^T": (const(T, 4 * H), const(D_IN, 4 * H), False, True),
        "d wh = h^T @ dgates": (const(T, H), const(T, 4 * H), True, False),
    }
    for name, (a, b, transpose_a, transpose_b) in batched.items():
        parts[name] = per_iteration(lambda x, b=b, ta=transpose_a, tb=transpose_b: x + 1e-3 * tf.reduce_sum(
            tf.matmul(x, b, transpose_a=ta, transpose_b=tb)), a)
    return parts


def matmul_rate(tf):
    """GFLOP/s of a large square product and GB/s of the recurrent matvec (wh streamed once)."""
    rng = np.random.default_rng(1)
    a = tf.constant(rng.normal(size=(1024, 1024)).astype(np.float32))
    square = tf.function(lambda x: tf.matmul(x, x), jit_compile=True)
    gflops = 2 * 1024 ** 3 / seconds_per_call(square, a, repeats=10) / 1e9
    wh = tf.constant(rng.normal(size=(H, 4 * H)).astype(np.float32))

    @tf.function(jit_compile=True)
    def matvecs(h, n):
        return tf.while_loop(lambda k, _: k < n, lambda k, v: (k + 1, tf.matmul(v, wh)[:, :H] * 1e-3),
                             (0, h))[1]
    h = tf.ones((1, H))
    per_matvec = (seconds_per_call(matvecs, h, 400) - seconds_per_call(matvecs, h, 200)) / 200
    return gflops, wh.numpy().nbytes / per_matvec / 1e9


def measured_step():
    """Seconds per gradient step of a real update, and its number of gradient steps."""
    from stable_ppo2 import PPO2
    from stable_ppo2.common.cmd_util import make_vec_env

    model = PPO2("MlpLstmPolicy", make_vec_env("CartPole-v1", n_envs=4, seed=0), seed=0, n_cpu_tf_sess=1)
    rollout = model.runner.run(model._init_callback(None))
    plan = model._minibatch_indices()

    def update():
        model.train_on_batch(rollout.obs, rollout.returns, rollout.actions, rollout.values, rollout.neglogpacs,
                             plan.sample_rows, 0.0, 0.2, 0.2, masks=rollout.episode_starts,
                             states=rollout.initial_states, minibatch_envs=plan.env_rows)
    return seconds_per_call(update, repeats=5) / len(plan.sample_rows), len(plan.sample_rows)


def flops_and_bytes():
    recurrent = 2 * T * H * 4 * H  # one [1,256]@[256,1024] per step
    projection = 2 * T * D_IN * 4 * H
    mlp = 2 * T * (N_OBS * D_IN + D_IN * D_IN)
    return {
        "forward": recurrent + projection + mlp,
        "backward": 2 * recurrent + 2 * projection + 2 * mlp,  # d inputs and d weights
        "wh bytes streamed": 2 * T * H * 4 * H * 4,  # wh read once per step, forward and backward
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--json", default=None)
    args = parser.parse_args()
    from stable_ppo2.common.tf_util import set_num_threads, tf

    set_num_threads(1)
    counts = flops_and_bytes()
    gflops, matvec_gbs = matmul_rate(tf)
    parts = kernel_floor(tf)
    floor = sum(parts.values())
    step, n_steps = measured_step()
    total_flops = counts["forward"] + counts["backward"]
    print(f"one gradient step: T={T}, batch 1, LSTM {H}, input {D_IN}: {total_flops / 1e6:.0f} MFLOP "
          f"({counts['forward'] / 1e6:.0f} forward), wh streamed {counts['wh bytes streamed'] / 1e6:.0f} MB")
    print(f"this CPU, one thread, XLA: {gflops:.0f} GFLOP/s on a 1024^3 product; the [1,256]@[256,1024] "
          f"matvec streams wh at {matvec_gbs:.0f} GB/s")
    print("| kernel | ms |\n|---|---|")
    for name, seconds in parts.items():
        print(f"| {name} | {seconds * 1e3:.2f} |")
    print(f"| **floor (sum)** | **{floor * 1e3:.2f}** |")
    print(f"| measured gradient step (update of {n_steps} / {n_steps}, incl. MLP, heads, loss, Adam) | "
          f"{step * 1e3:.2f} |")
    print(f"measured / floor: {step / floor:.2f}; at {total_flops / step / 1e9:.1f} GFLOP/s")
    if args.json:
        with open(args.json, "w") as out:
            json.dump(dict(counts=counts, gflops=gflops, matvec_gbs=matvec_gbs, parts_s=parts, floor_s=floor,
                           step_s=step, steps_per_update=n_steps), out, indent=1)


if __name__ == "__main__":
    main()
