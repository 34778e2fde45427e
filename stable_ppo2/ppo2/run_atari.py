"""Train PPO2 on an Atari game with SB2's settings: ``python -m stable_ppo2.ppo2.run_atari``.

SB2's ``stable_baselines/ppo2/run_atari.py`` with the same arguments and defaults (``--env
BreakoutNoFrameskip-v4 --seed 0 --num-timesteps 10000000 --policy cnn``) and hyperparameters: 8 envs
from ``make_atari_env`` (SB2's DeepMind wrappers on ale-py), ``VecFrameStack(..., 4)``, n_steps 128,
nminibatches 4, noptepochs 4, lam 0.95, gamma 0.99, ent_coef 0.01, learning rate ``f * 2.5e-4`` and
clip range ``f * 0.1`` (``f``: the fraction of training left).

The logger writes to ``$OPENAI_LOGDIR`` (else a new ``/tmp/openai-...`` folder), with one Monitor file
per env (``0.monitor.csv``, ...). Unlike SB2's script, this one saves the model at the end: into
``--save-path``, by default ``model.zip`` in the logger's folder.
"""
from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Optional, Sequence

if TYPE_CHECKING:
    from stable_ppo2 import PPO2

POLICIES = {"cnn": "CnnPolicy", "lstm": "CnnLstmPolicy", "lnlstm": "CnnLnLstmPolicy", "mlp": "MlpPolicy"}


def train(env_id: str, num_timesteps: int, seed: int, policy: str, n_envs: int = 8, nminibatches: int = 4,
          n_steps: int = 128, save_path: Optional[str] = None) -> PPO2:
    """Train PPO2 on ``env_id`` (SB2's ``train``) and return the model; saved to ``save_path`` if given.

    :param env_id: a ``...NoFrameskip-v4`` or ``ALE/...`` id
    :param num_timesteps: timesteps to train for (all envs together)
    :param seed: seed of the envs and of the model
    :param policy: ``cnn``, ``lstm``, ``lnlstm`` or ``mlp``
    :param n_envs: parallel envs
    :param nminibatches: minibatches per update (recurrent policies: ``n_envs`` must be a multiple of it)
    :param n_steps: steps per env and update
    """
    from stable_ppo2 import PPO2
    from stable_ppo2.common.cmd_util import make_atari_env
    from stable_ppo2.common.schedules import linear_schedule
    from stable_ppo2.common.vec_env import VecFrameStack

    env = VecFrameStack(make_atari_env(env_id, n_envs, seed), 4)
    # linear_schedule(x)(f) == f * x, SB2's lambdas, but a class that saves and loads safely
    model = PPO2(policy=POLICIES[policy], env=env, n_steps=n_steps, nminibatches=nminibatches, lam=0.95,
                 gamma=0.99, noptepochs=4, ent_coef=.01, learning_rate=linear_schedule(2.5e-4),
                 cliprange=linear_schedule(0.1), verbose=1, seed=seed)
    try:
        model.learn(total_timesteps=num_timesteps)
        if save_path is not None:
            model.save(save_path)
    finally:
        env.close()
    return model


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Parse SB2's arguments, configure the logger and train."""
    from stable_ppo2 import logger
    from stable_ppo2.common.cmd_util import atari_arg_parser
    from stable_ppo2.ppo2.script_args import parse_and_configure

    parser = atari_arg_parser()
    parser.prog = "python -m stable_ppo2.ppo2.run_atari"
    parser.add_argument("--policy", help="Policy architecture", choices=list(POLICIES), default="cnn")
    args, save_path = parse_and_configure(parser, argv)
    try:
        train(args.env, num_timesteps=args.num_timesteps, seed=args.seed, policy=args.policy, save_path=save_path)
    except ImportError as exc:  # ale-py or OpenCV missing: one line naming the extra
        parser.exit(2, f"{parser.prog}: error: {exc}\n")
    logger.log(f"Saved the model to {save_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
