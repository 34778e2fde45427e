"""TensorBoard logging with SB2's run folders (``PPO2_1``, ``PPO2_2``, ...) and tags."""
from __future__ import annotations

import glob
import os
from typing import Any, Optional

import numpy as np

from stable_ppo2.common.tf_util import tf


def latest_run_id(log_path: str, log_name: str) -> int:
    """Largest N among the folders ``{log_name}_{N}`` in ``log_path`` (0 if none)."""
    run_ids = [0]
    for path in glob.glob(os.path.join(glob.escape(log_path), f"{glob.escape(log_name)}_[0-9]*")):
        suffix = os.path.basename(path)[len(log_name) + 1:]
        if suffix.isdigit():
            run_ids.append(int(suffix))
    return max(run_ids)


class TensorboardWriter:
    """Context giving a ``tf.summary`` writer (or None without a log folder).

    A new run folder is made when ``new_tb_log`` (``learn(reset_num_timesteps=True)``), else the
    latest one is continued, as in SB2.
    """

    def __init__(self, graph: Any, tensorboard_log_path: Optional[str], tb_log_name: str,
                 new_tb_log: bool = True) -> None:
        self.tensorboard_log_path = tensorboard_log_path
        self.tb_log_name = tb_log_name
        self.new_tb_log = new_tb_log
        self.writer = None

    def __enter__(self):
        if self.tensorboard_log_path is not None:
            run_id = latest_run_id(self.tensorboard_log_path, self.tb_log_name)
            if self.new_tb_log or run_id == 0:
                run_id += 1
            save_path = os.path.join(self.tensorboard_log_path, f"{self.tb_log_name}_{run_id}")
            os.makedirs(save_path, exist_ok=True)
            self.writer = tf.summary.create_file_writer(save_path)
        return self.writer

    def __exit__(self, exc_type, exc_val, exc_tb):
        if self.writer is not None:
            self.writer.flush()
            self.writer.close()
            self.writer = None


def total_episode_reward_logger(rew_acc: np.ndarray, rewards: np.ndarray, masks: np.ndarray, writer: Any,
                                steps: int) -> np.ndarray:
    """Write the return of every episode that ended in this rollout as ``episode_reward``.

    ``rewards`` and ``masks`` (episode-start flags) are ``(n_envs, n_steps)``; ``rew_acc`` carries
    each env's unfinished return across rollouts. An episode is logged at ``steps`` plus the index
    of the next episode's first step (SB2's offsets, quirk 23).
    """
    with writer.as_default():
        for env_idx in range(rewards.shape[0]):
            starts = np.flatnonzero(masks[env_idx])
            if len(starts) == 0:
                rew_acc[env_idx] += float(np.sum(rewards[env_idx]))
                continue
            rew_acc[env_idx] += float(np.sum(rewards[env_idx, :starts[0]]))
            tf.summary.scalar("episode_reward", rew_acc[env_idx], step=int(steps + starts[0]))
            for previous, start in zip(starts[:-1], starts[1:]):
                rew_acc[env_idx] = float(np.sum(rewards[env_idx, previous:start]))
                tf.summary.scalar("episode_reward", rew_acc[env_idx], step=int(steps + start))
            rew_acc[env_idx] = float(np.sum(rewards[env_idx, starts[-1]:]))
    return rew_acc
