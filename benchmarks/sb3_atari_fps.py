#!/usr/bin/env python
"""Time Stable-Baselines3 PPO (CnnPolicy) / sb3-contrib RecurrentPPO (CnnLstmPolicy) with SB2's Atari
settings (run with the SB3 venv; Pong needs ``ale-py`` and ``opencv-python-headless`` in it).

SB2's ``run_atari.py`` translated: 8 envs, ``VecFrameStack(..., 4)`` (SB3 adds ``VecTransposeImage``),
n_steps 128, batch_size 256 (nminibatches 4), n_epochs 4, gae_lambda 0.95, gamma 0.99, ent_coef 0.01,
learning rate ``2.5e-4 * progress``, clip range ``0.1 * progress`` (also for the value, as SB2's
``cliprange_vf=None``), Adam epsilon 1e-5. CnnLstm: one LSTM of 256 shared by actor and critic, as
SB2's. ``--env synthetic`` is ``benchmarks/synthetic_atari.py``; an Atari id uses SB3's
``make_atari_env`` (its ``AtariWrapper``: the same DeepMind preprocessing). One torch thread by default.
Prints one JSON line with the keys of ``shared/bench/sb3/ppo_fps.py``'s output, plus ``train_s``.

    .bench/sb3-venv/bin/python benchmarks/sb3_atari_fps.py --env synthetic --policy cnn --timesteps 10240
"""
import argparse
import json
import os
import sys
import time
import warnings

warnings.filterwarnings("ignore")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from call_timer import timed_learn  # noqa: E402


class Linear:
    """``initial * progress_remaining`` (SB2's ``lambda f: f * initial``); picklable."""

    def __init__(self, initial):
        self.initial = initial

    def __call__(self, progress_remaining):
        return self.initial * max(float(progress_remaining), 0.0)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--env", default="synthetic")
    parser.add_argument("--policy", choices=["cnn", "lstm"], default="cnn")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--timesteps", type=int, default=10240)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()

    import numpy as np
    import torch
    from stable_baselines3 import PPO
    from stable_baselines3.common.env_util import make_atari_env, make_vec_env
    from stable_baselines3.common.vec_env import VecFrameStack

    torch.set_num_threads(args.threads)
    t0 = time.time()
    if args.env == "synthetic":
        from synthetic_atari import make_synthetic_env

        venv = make_vec_env(lambda: make_synthetic_env("gymnasium"), n_envs=8, seed=args.seed)
    else:
        import ale_py
        import gymnasium

        gymnasium.register_envs(ale_py)
        venv = make_atari_env(args.env, n_envs=8, seed=args.seed)
    env = VecFrameStack(venv, 4)
    hyperparams = dict(n_steps=128, batch_size=256, n_epochs=4, gae_lambda=0.95, gamma=0.99, ent_coef=0.01,
                       vf_coef=0.5, max_grad_norm=0.5, learning_rate=Linear(2.5e-4), clip_range=Linear(0.1),
                       clip_range_vf=Linear(0.1), seed=args.seed, verbose=0, device="cpu")
    if args.policy == "cnn":
        model = PPO("CnnPolicy", env, policy_kwargs=dict(optimizer_kwargs=dict(eps=1e-5)), **hyperparams)
    else:
        from sb3_contrib import RecurrentPPO

        model = RecurrentPPO("CnnLstmPolicy", env, policy_kwargs=dict(
            lstm_hidden_size=256, n_lstm_layers=1, shared_lstm=True, enable_critic_lstm=False,
            optimizer_kwargs=dict(eps=1e-5)), **hyperparams)
    setup_s = time.time() - t0

    wall_s, cpu_s, train_s = timed_learn(model, args.timesteps, "train")
    returns = [info["r"] for info in model.ep_info_buffer]
    env.close()
    import importlib.metadata as metadata

    print(json.dumps(dict(timesteps_done=int(model.num_timesteps), setup_s=setup_s, wall_s=wall_s, cpu_s=cpu_s,
                          train_s=sum(train_s), final_mean_return_100=float(np.mean(returns)) if returns else None,
                          episodes_in_window=len(returns), eval_mean_return=None,
                          versions=dict(torch=torch.__version__, stable_baselines3=metadata.version("stable_baselines3")))))


if __name__ == "__main__":
    main()
