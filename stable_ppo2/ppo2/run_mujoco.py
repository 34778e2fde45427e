"""Train PPO2 on a MuJoCo task with SB2's settings: ``python -m stable_ppo2.ppo2.run_mujoco``.

SB2's ``stable_baselines/ppo2/run_mujoco.py`` with the same arguments and defaults (``--env Reacher-v2
--seed 0 --num-timesteps 1000000 [--play]``) and hyperparameters: one env in a ``DummyVecEnv`` with
``VecNormalize`` (observations and returns), MlpPolicy, n_steps 2048, nminibatches 32, noptepochs 10,
lam 0.95, gamma 0.99, ent_coef 0.0, learning rate 3e-4, clip range 0.2.

The envs are gymnasium's ``mujoco`` ones (``pip install "stable_ppo2[mujoco]"``); SB2-era ids that
needed mujoco-py (``-v2``, ``-v3``) and the older ``-v4`` map to the newest version (``Reacher-v2`` ->
``Reacher-v5``). The logger writes to ``$OPENAI_LOGDIR`` (else a new ``/tmp/openai-...`` folder) with
the Monitor file ``monitor.csv``. Unlike SB2's script this one logs each update (``verbose=1``), seeds the
env (SB2 only set the global seeds) and saves the model at the end, into ``--save-path`` (default
``model.zip`` in the logger's folder), with the VecNormalize statistics beside it
(``vec_normalize.pkl``). ``--play`` then runs the trained policy in a window (needs a display) until
interrupted.
"""
from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING, Optional, Sequence, Tuple

if TYPE_CHECKING:
    from stable_ppo2 import PPO2
    from stable_ppo2.common.vec_env import VecNormalize

INSTALL_HINT = 'pip install "stable_ppo2[mujoco]"'


def mujoco_env_id(env_id: str) -> str:
    """The gymnasium id to make: retired MuJoCo versions (``-v2``/``-v3``/``-v4``) become the newest one."""
    import gymnasium
    from gymnasium.envs.registration import find_highest_version, parse_env_id

    try:
        namespace, name, version = parse_env_id(env_id)
    except gymnasium.error.Error:
        return env_id
    newest = find_highest_version(namespace, name)
    if newest is None or version is None or version >= newest:
        return env_id
    newest_id = gymnasium.envs.registration.get_env_id(namespace, name, newest)
    entry_point = gymnasium.spec(newest_id).entry_point
    return newest_id if isinstance(entry_point, str) and ".mujoco." in entry_point else env_id


def _check_mujoco(env_id: str) -> None:
    """ImportError naming the extra when the MuJoCo bindings are missing."""
    import gymnasium

    try:
        gymnasium.make(env_id).close()
    except (gymnasium.error.DependencyNotInstalled, ImportError) as exc:
        raise ImportError(f"{env_id} needs MuJoCo ({' '.join(str(exc).split())}): {INSTALL_HINT}") from exc


def train(env_id: str, num_timesteps: int, seed: int,
          save_path: Optional[str] = None) -> Tuple[PPO2, VecNormalize]:
    """Train PPO2 on ``env_id`` (SB2's ``train``); returns ``(model, env)`` (the VecNormalize env).

    :param save_path: if given, the model is saved there and the VecNormalize statistics beside it
        (``vec_normalize.pkl`` in the same folder)
    """
    import gymnasium

    env_id = mujoco_env_id(env_id)
    _check_mujoco(env_id)  # before TensorFlow is imported

    from stable_ppo2 import PPO2, logger
    from stable_ppo2.bench import Monitor
    from stable_ppo2.common.misc_util import set_global_seeds
    from stable_ppo2.common.vec_env import DummyVecEnv, VecNormalize

    log_dir = logger.get_dir()

    def make_env():
        env_out = gymnasium.make(env_id)
        return Monitor(env_out, log_dir, allow_early_resets=True)

    envs = DummyVecEnv([make_env])
    envs.seed(seed)
    env = VecNormalize(envs)
    set_global_seeds(seed)
    model = PPO2(policy="MlpPolicy", env=env, n_steps=2048, nminibatches=32, lam=0.95, gamma=0.99,
                 noptepochs=10, ent_coef=0.0, learning_rate=3e-4, cliprange=0.2, seed=seed, verbose=1)
    model.learn(total_timesteps=num_timesteps)
    if save_path is not None:
        model.save(save_path)
        env.save(os.path.join(os.path.dirname(os.path.abspath(save_path)), "vec_normalize.pkl"))
    return model, env


def play(model: PPO2, env: VecNormalize, env_id: str) -> None:
    """Run the trained policy in a window until interrupted (SB2's ``--play``)."""
    import gymnasium
    import numpy as np

    from stable_ppo2.common.vec_env import DummyVecEnv, VecNormalize

    shown = VecNormalize(DummyVecEnv([lambda: gymnasium.make(mujoco_env_id(env_id), render_mode="human")]),
                         training=False, norm_reward=False)
    shown.obs_rms = env.obs_rms
    obs = np.zeros((shown.num_envs,) + (shown.observation_space.shape or ()))  # MuJoCo's Box: always a shape
    obs[:] = shown.reset()
    try:
        while True:
            actions = model.step(obs)[0]
            obs[:] = shown.step(actions)[0]
    except KeyboardInterrupt:
        pass
    finally:
        shown.close()


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Parse SB2's arguments, configure the logger, train, save, optionally play."""
    from stable_ppo2 import logger
    from stable_ppo2.common.cmd_util import mujoco_arg_parser
    from stable_ppo2.ppo2.script_args import parse_and_configure

    parser = mujoco_arg_parser()
    parser.prog = "python -m stable_ppo2.ppo2.run_mujoco"
    args, save_path = parse_and_configure(parser, argv)
    try:
        model, env = train(args.env, num_timesteps=args.num_timesteps, seed=args.seed, save_path=save_path)
    except ImportError as exc:
        parser.exit(2, f"{parser.prog}: error: {exc}\n")
    logger.log(f"Saved the model to {save_path}")
    if args.play:
        logger.log("Running trained model")
        play(model, env, args.env)
    env.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
