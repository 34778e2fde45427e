#!/usr/bin/env python
"""Learning check: PPO2 CnnPolicy with the RL zoo's Atari settings against the untrained policy.

The env is SB2's: ``VecFrameStack(make_atari_env(ENV, 8, seed), 4)`` (no-op reset, 4-frame max-pooled
skip, end of life ends an episode, FIRE at reset, 84x84 grey, clipped rewards). The hyperparameters are
the zoo's ``atari`` entry as ``stable-ppo2 train`` reads it (``stable_ppo2/zoo/ppo2.yml``: n_steps 128,
nminibatches 4, noptepochs 4, lin_2.5e-4, lin_0.1, ent_coef 0.01, vf_coef 0.5, cliprange_vf -1). The
linear schedules run over the zoo's budget (``--schedule-steps``, 10M): this is the start of the zoo's
run, not a whole run squeezed into ``--timesteps`` (``--schedule-steps 0`` decays them over
``--timesteps`` instead). Returns are the Monitor's full-game, unclipped scores.

1. the untrained model (same seed, same construction) plays ``--episodes`` whole games, stochastic
   actions, on fresh envs (seed + 1000); uniformly random actions likewise;
2. the model trains; every update's mean return over the last 20 finished games is the curve;
3. the trained model plays ``--episodes`` games as in 1.

    .bench/venv/bin/python benchmarks/atari_learning.py --env BreakoutNoFrameskip-v4 --timesteps 150000 \
        --seed 0 --json runs/atari_learning_s0.json
    .bench/venv/bin/python benchmarks/atari_learning.py --plot docs/images/atari_learning_breakout.png \
        --from-json runs/atari_learning_s0.json runs/atari_learning_s1.json   # the curves of finished runs
"""
import argparse
import json
import os
import sys
import time

import numpy as np


class ZooProgress:
    """A schedule of the zoo's ``schedule_steps``-step run, evaluated at this shorter run's real progress:
    ``f`` (1 -> 0 over ``timesteps``) becomes ``1 - (1 - f) * timesteps / schedule_steps``."""

    def __init__(self, schedule, timesteps, schedule_steps):
        self.schedule, self.share = schedule, timesteps / schedule_steps

    def __call__(self, frac):
        return self.schedule(1.0 - (1.0 - frac) * self.share)


def play(model, env_id, seed, n_episodes, random_actions=False):
    """Whole-game returns of ``n_episodes`` games (Monitor's, unclipped), 8 envs, stochastic actions."""
    from stable_ppo2.common.cmd_util import make_atari_env
    from stable_ppo2.common.vec_env import VecFrameStack

    env = VecFrameStack(make_atari_env(env_id, 8, seed), 4)
    rng = np.random.default_rng(seed)
    obs = env.reset()
    state, dones = None, np.zeros(8, bool)
    returns = []
    while len(returns) < n_episodes:
        if random_actions:
            actions = rng.integers(env.action_space.n, size=8)
        else:
            actions, state = model.predict(obs, state=state, mask=dones)
        obs, _rewards, dones, infos = env.step(actions)
        returns += [info["episode"]["r"] for info in infos if "episode" in info]
    env.close()
    return returns[:n_episodes]


def plot(results, path):
    """One figure: each run's curve (last-20 mean game score per update) with its untrained, random and
    trained evaluations as markers at the start and the end."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.2))
    for index, result in enumerate(results):
        color = f"C{index}"
        steps = [point[0] for point in result["curve"] if point[1] is not None]
        means = [point[1] for point in result["curve"] if point[1] is not None]
        ax.plot(steps, means, color=color, label=f"seed {result['seed']}: last-20 training games")
        ax.errorbar([0], [result["untrained_mean"]], yerr=[np.std(result["untrained"])], fmt="o", color=color,
                    capsize=3, label=f"seed {result['seed']}: untrained / trained ({len(result['trained'])} games)")
        ax.errorbar([result["timesteps"]], [result["trained_mean"]], yerr=[np.std(result["trained"])], fmt="s",
                    color=color, capsize=3)
    random_mean = float(np.mean([r for result in results for r in result["random"]]))
    ax.axhline(random_mean, color="grey", linestyle=":", label=f"random actions ({random_mean:.2f})")
    ax.set_xlabel("timesteps")
    ax.set_ylabel("game score (unclipped)")
    ax.set_title(f"PPO2 CnnPolicy, zoo Atari settings, {results[0]['env']}")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="upper left")
    fig.tight_layout()
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--env", default="BreakoutNoFrameskip-v4")
    parser.add_argument("--timesteps", type=int, default=150_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--episodes", type=int, default=24, help="games played before and after training")
    parser.add_argument("--schedule-steps", type=int, default=None,
                        help="budget the linear schedules decay over (default: the zoo's n_timesteps; 0: --timesteps)")
    parser.add_argument("--json", default=None, help="write the results (curve, returns, timings) here")
    parser.add_argument("--plot", default=None, metavar="OUT.png", help="plot the curve(s) to this PNG")
    parser.add_argument("--from-json", nargs="+", default=None, metavar="JSON",
                        help="with --plot: plot these finished runs instead of training")
    args = parser.parse_args(argv)
    if args.from_json:
        if not args.plot:
            parser.error("--from-json needs --plot")
        results = []
        for path in args.from_json:
            with open(path) as file:
                results.append(json.load(file))
        plot(results, args.plot)
        return 0

    from stable_ppo2 import PPO2
    from stable_ppo2.common.cmd_util import make_atari_env
    from stable_ppo2.common.callbacks import BaseCallback
    from stable_ppo2.common.vec_env import VecFrameStack
    from stable_ppo2.zoo.hyperparams import load_setting, make_train_config

    setting, source = load_setting(args.env)
    config = make_train_config(args.env, setting, source, n_timesteps=args.timesteps, seed=args.seed)
    kwargs = dict(config.model_kwargs)
    kwargs.pop("verbose", None)
    schedule_steps = int(setting["n_timesteps"]) if args.schedule_steps is None else args.schedule_steps
    if schedule_steps:
        for key in ("learning_rate", "cliprange"):
            kwargs[key] = ZooProgress(kwargs[key], config.n_timesteps, schedule_steps)
    print(f"[atari] {args.env}: {config.policy}, {config.n_envs} envs, {source}: {config.raw}", flush=True)

    env = VecFrameStack(make_atari_env(args.env, config.n_envs, args.seed), 4)
    model = PPO2(config.policy, env, verbose=0, **kwargs)

    t0 = time.time()
    untrained = play(model, args.env, args.seed + 1000, args.episodes)
    random_returns = play(None, args.env, args.seed + 2000, args.episodes, random_actions=True)
    print(f"[atari] untrained: {np.mean(untrained):.2f} +/- {np.std(untrained):.2f}; random actions: "
          f"{np.mean(random_returns):.2f} +/- {np.std(random_returns):.2f} ({args.episodes} games each, "
          f"{time.time() - t0:.0f} s)", flush=True)

    curve = []

    class Curve(BaseCallback):
        def _on_rollout_start(self):  # after the previous update: ep_info_buf holds its games
            if self.model.num_timesteps > 0:
                self._on_training_end()

        def _on_training_end(self):
            returns = [info["r"] for info in list(self.model.ep_info_buf)[-20:]]
            curve.append((int(self.model.num_timesteps), float(np.mean(returns)) if returns else None,
                          len(self.model.ep_info_buf), round(time.time() - t1, 1)))
            if len(curve) % 10 == 0:
                print(f"[atari] {curve[-1][0]:>7} steps  last-20 mean return {curve[-1][1]}  "
                      f"({curve[-1][3]:.0f} s)", flush=True)

        def _on_step(self):
            return True

    t1, cpu1 = time.time(), time.process_time()
    model.learn(total_timesteps=config.n_timesteps, callback=Curve())
    train_s, train_cpu = time.time() - t1, time.process_time() - cpu1
    env.close()
    trained = play(model, args.env, args.seed + 1000, args.episodes)
    result = dict(env=args.env, seed=args.seed, timesteps=int(model.num_timesteps), train_s=train_s,
                  train_cpu_s=train_cpu, steps_per_s=model.num_timesteps / train_s,
                  untrained=untrained, random=random_returns, trained=trained,
                  untrained_mean=float(np.mean(untrained)), random_mean=float(np.mean(random_returns)),
                  trained_mean=float(np.mean(trained)), curve=curve, hyperparams=config.raw,
                  schedule_steps=schedule_steps)
    print(f"[atari] trained {model.num_timesteps} steps in {train_s / 60:.1f} min "
          f"({result['steps_per_s']:.0f} steps/s): {np.mean(trained):.2f} +/- {np.std(trained):.2f} over "
          f"{args.episodes} games, against {np.mean(untrained):.2f} untrained and {np.mean(random_returns):.2f} "
          f"random", flush=True)
    if args.json:
        os.makedirs(os.path.dirname(os.path.abspath(args.json)), exist_ok=True)
        with open(args.json, "w") as file:
            json.dump(result, file, indent=1, default=str)
    if args.plot:
        plot([result], args.plot)
    return 0


if __name__ == "__main__":
    sys.exit(main())
