"""The RL zoo's PPO2 hyperparameters and helpers for the ``stable-ppo2`` command.

- :mod:`stable_ppo2.zoo.hyperparams`: ``ppo2.yml`` (shipped) and user files, parsed without running code;
- :mod:`stable_ppo2.zoo.envs`: SB2-era env ids on gymnasium, optional-dependency checks, Atari preprocessing;
- :mod:`stable_ppo2.zoo.normalization`: VecNormalize statistics beside a model (ours and the zoo's);
- :mod:`stable_ppo2.zoo.overrides`: ``-params`` / ``--env-kwargs`` and where each value came from;
- :mod:`stable_ppo2.zoo.resume`, :mod:`stable_ppo2.zoo.seeds`, :mod:`stable_ppo2.zoo.tune`: ``train --resume``,
  several seeds, and ``stable-ppo2 tune`` (Optuna).

None of these import TensorFlow when imported (resume, seeds and tune do when they run).
"""
from stable_ppo2.zoo.envs import ENV_RENAMES, EnvError, check_env_id, gymnasium_id
from stable_ppo2.zoo.hyperparams import ZOO_FILE, HyperparamsError, TrainConfig, load_setting, make_train_config
from stable_ppo2.zoo.normalization import find_statistics, load_running_mean_std, wrap_with_statistics

__all__ = ["ENV_RENAMES", "EnvError", "HyperparamsError", "TrainConfig", "ZOO_FILE", "check_env_id",
           "find_statistics", "gymnasium_id", "load_running_mean_std", "load_setting", "make_train_config",
           "wrap_with_statistics"]
