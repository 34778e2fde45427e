#!/usr/bin/env python
"""Several consecutive recurrent PPO2 updates recorded from the ORIGINAL Stable-Baselines 2 (TF 1.15).

Run with the SB2 venv (Python 3.7, tensorflow 1.15.5, stable-baselines 2.10.2, gym 0.17.3):

    .bench/sb2-venv/bin/python tools/sb2/make_recurrent_run_fixtures.py --out tests/fixtures/sb2_recurrent
    .bench/sb2-venv/bin/python tools/sb2/make_recurrent_run_fixtures.py --out /tmp/x --case learn_novel_full

The env is CartPole-v1 observing only the cart position and the pole angle ("CartPoleNoVel", a memory
task). ``PPO2("MlpLstmPolicy", ...)`` is built with ``seed=0, n_cpu_tf_sess=1`` and runs an unmodified
``model.learn(total_timesteps)``; the script only listens in, and stops it (by an exception) once
``n_record`` updates are recorded, so the schedules see the real number of updates. For every update
it keeps the rollout exactly as SB2's runner returned it, the runner's state after it, the env
permutation of every epoch (``np.random.shuffle`` of the global RNG) and the parameters after the
update; the parameters at the start of ``learn`` are ``init/<name>``.

OUT/<case>.npz (k = 0 .. n_record - 1):
    init/<name>, after<k>/<name>   parameters (param_names order in the json)
    obs<k>, returns<k>, masks<k>, actions<k>, values<k>, neglogpacs<k>, rewards<k>
                                   the flat batch, env-major (index = env * n_steps + t); masks bool
    states<k>                      float32 (n_envs, 2*n_lstm): LSTM state at the start of the rollout
    last_obs<k>, last_dones<k>     the runner's observations and done flags after the rollout
    last_values<k>                 the values of ``last_obs<k>`` (GAE's bootstrap)
    env_inds<k>                    int64 (noptepochs, n_envs): the env permutation of each epoch
    lr<k>, cliprange<k>            the schedule values of the update
OUT/<case>.json: hyper-parameters, param_names, versions.
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
from stable_baselines.common import make_vec_env  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "benchmarks"))
from cartpole_novel import no_velocity_wrapper  # noqa: E402

SEED = 0
# name: (n_envs, n_steps, nminibatches, noptepochs, n_lstm, total_timesteps, n_record)
CASES = {
    "learn_mlp_lstm": (4, 16, 2, 4, 16, 3 * 64, 3),      # the test fixture: a whole learn() of 3 updates
    "learn_novel_full": (8, 32, 1, 20, 64, 200000, 5),  # benchmarks/cartpole_novel.py's setting (diagnosis)
}


class StopRecording(Exception):
    pass


def record(case):
    n_envs, n_steps, nminibatches, noptepochs, n_lstm, total_timesteps, n_record = CASES[case]
    env = make_vec_env("CartPole-v1", n_envs=n_envs, seed=SEED, wrapper_class=no_velocity_wrapper(gym))
    model = PPO2("MlpLstmPolicy", env, n_steps=n_steps, nminibatches=nminibatches, noptepochs=noptepochs,
                 lam=0.8, gamma=0.98, ent_coef=0.0, learning_rate=lambda f: f * 1e-3,
                 cliprange=lambda f: f * 0.2, seed=SEED, n_cpu_tf_sess=1, policy_kwargs=dict(n_lstm=n_lstm))
    names = list(model.get_parameters().keys())
    data = {f"init/{k}": v for k, v in model.get_parameters().items()}
    n_train_steps = noptepochs * nminibatches
    record_state = {"update": 0, "train_steps": 0, "perms": []}

    original_run = model.runner._run

    def run():
        out = original_run()
        obs, returns, masks, actions, values, neglogpacs, states, _, true_reward = out
        k = record_state["update"]
        runner = model.runner
        data.update({f"obs{k}": obs, f"returns{k}": returns, f"masks{k}": masks, f"actions{k}": actions,
                     f"values{k}": values, f"neglogpacs{k}": neglogpacs, f"rewards{k}": true_reward,
                     f"states{k}": np.asarray(states, np.float32),
                     f"last_obs{k}": runner.obs.copy(),
                     f"last_values{k}": model.value(runner.obs, runner.states, runner.dones),
                     f"last_dones{k}": np.asarray(runner.dones, bool)})
        return out

    model.runner._run = run
    original_shuffle = np.random.shuffle

    def shuffle(array):
        original_shuffle(array)
        record_state["perms"].append(np.array(array))

    np.random.shuffle = shuffle
    original_train_step = model._train_step

    def train_step(learning_rate, cliprange, *args, **kwargs):
        out = original_train_step(learning_rate, cliprange, *args, **kwargs)
        record_state["train_steps"] += 1
        if record_state["train_steps"] == n_train_steps:
            k = record_state["update"]
            data.update({f"after{k}/{name}": value for name, value in model.get_parameters().items()})
            data[f"env_inds{k}"] = np.stack(record_state["perms"]).astype(np.int64)
            data[f"lr{k}"], data[f"cliprange{k}"] = np.float64(learning_rate), np.float64(cliprange)
            record_state.update(update=k + 1, train_steps=0, perms=[])
            if k + 1 == n_record:
                raise StopRecording
        return out

    model._train_step = train_step
    try:
        model.learn(total_timesteps)
    except StopRecording:
        pass
    finally:
        np.random.shuffle = original_shuffle
    meta = dict(case=case, seed=SEED, n_envs=n_envs, n_steps=n_steps, nminibatches=nminibatches,
                noptepochs=noptepochs, n_lstm=n_lstm, total_timesteps=total_timesteps, n_record=n_record,
                lam=0.8, gamma=0.98, ent_coef=0.0, learning_rate="lin 1e-3", cliprange="lin 0.2",
                param_names=names, versions=dict(stable_baselines=stable_baselines.__version__,
                                                 tensorflow=tf.__version__, gym=gym.__version__,
                                                 numpy=np.__version__))
    return data, meta


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", required=True)
    parser.add_argument("--case", choices=sorted(CASES), default="learn_mlp_lstm")
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    data, meta = record(args.case)
    np.savez_compressed(os.path.join(args.out, f"{args.case}.npz"), **data)
    with open(os.path.join(args.out, f"{args.case}.json"), "w") as handle:
        json.dump(meta, handle, indent=1)
    print(json.dumps({k: meta[k] for k in ("case", "n_record")}))


if __name__ == "__main__":
    main()
