"""PPO2's rollout buffer and the pure functions around it: GAE, ``swap_and_flatten`` and the minibatch plan.

A rollout is ``n_steps`` steps of ``n_envs`` envs. :class:`RolloutBuffer` holds it flattened
env-major (sample ``env * n_steps + t``), the layout the compiled update and SB2's files use.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, Iterator, List, NamedTuple, Optional

import numpy as np


def swap_and_flatten(arr: np.ndarray) -> np.ndarray:
    """``(n_steps, n_envs, ...)`` -> ``(n_envs * n_steps, ...)``, env-major (index = env * n_steps + t)."""
    shape = arr.shape
    return arr.swapaxes(0, 1).reshape(shape[0] * shape[1], *shape[2:])


def compute_gae(rewards: np.ndarray, values: np.ndarray, episode_starts: np.ndarray, last_values: np.ndarray,
                last_dones: np.ndarray, gamma: float, lam: float) -> np.ndarray:
    """GAE(lambda) advantages, ``(n_steps, n_envs)`` time-major, SB2's recursion.

    ``episode_starts[t]`` is the done flag before step ``t`` (SB2's ``mb_dones``); ``last_dones``
    those after the last step, where ``last_values`` bootstraps. A done always cuts the bootstrap,
    time-limit truncations included (SB2 quirk 3).
    """
    n_steps = len(rewards)
    advantages = np.zeros_like(rewards)
    last_gae = 0.0
    for step in reversed(range(n_steps)):
        if step == n_steps - 1:
            next_non_terminal = 1.0 - np.asarray(last_dones).astype(np.float32)
            next_values = last_values
        else:
            next_non_terminal = 1.0 - episode_starts[step + 1].astype(np.float32)
            next_values = values[step + 1]
        delta = rewards[step] + gamma * next_values * next_non_terminal - values[step]
        advantages[step] = last_gae = delta + gamma * lam * next_non_terminal * last_gae
    return advantages


@dataclass
class RolloutBuffer:
    """One rollout, flattened env-major.

    :param obs: observations ``[n_envs * n_steps, ...]``
    :param returns: GAE advantages plus ``values``
    :param episode_starts: the done flag before each step (SB2's ``masks``)
    :param actions: the sampled actions (unclipped)
    :param values: value estimates at collection
    :param neglogpacs: negative log-probabilities of ``actions`` at collection
    :param initial_states: recurrent states at the rollout's start, one row per env (None: feed-forward)
    :param true_rewards: the env rewards
    :param episode_infos: the ``info["episode"]`` dicts of the episodes that ended
    """

    obs: np.ndarray
    returns: np.ndarray
    episode_starts: np.ndarray
    actions: np.ndarray
    values: np.ndarray
    neglogpacs: np.ndarray
    initial_states: Optional[np.ndarray]
    true_rewards: np.ndarray
    episode_infos: List[Dict[str, Any]] = field(default_factory=list)

    def __iter__(self) -> Iterator[Any]:
        """SB2's ``Runner.run()`` 9-tuple order, so ``obs, returns, masks, ... = runner.run()`` works."""
        return iter((self.obs, self.returns, self.episode_starts, self.actions, self.values, self.neglogpacs,
                     self.initial_states, self.episode_infos, self.true_rewards))


class MinibatchPlan(NamedTuple):
    """Row ``k``: the samples of the ``k``-th minibatch step of an update (epoch-major), and for
    recurrent policies the envs whose whole sequences it takes (``env_rows``, shape ``(rows, 0)``
    for feed-forward policies)."""

    sample_rows: np.ndarray
    env_rows: np.ndarray


def minibatch_plan(n_envs: int, n_steps: int, nminibatches: int, noptepochs: int, recurrent: bool) -> MinibatchPlan:
    """SB2's minibatch order, shuffled with the global numpy RNG exactly as SB2 does (one
    ``np.random.shuffle`` per epoch: of the samples, or for recurrent policies of the envs). Rows are
    copies: the next epoch shuffles the same index array in place."""
    n_batch = n_envs * n_steps
    rows: List[np.ndarray] = []
    env_rows: List[np.ndarray] = []
    if not recurrent:
        batch_size = n_batch // nminibatches
        indices = np.arange(n_batch)
        for _ in range(noptepochs):
            np.random.shuffle(indices)
            rows.extend(indices[start:start + batch_size].copy() for start in range(0, n_batch, batch_size))
        return MinibatchPlan(np.asarray(rows, np.int32), np.zeros((len(rows), 0), np.int32))
    envs_per_batch = n_envs // nminibatches
    env_indices = np.arange(n_envs)
    flat_indices = np.arange(n_batch).reshape(n_envs, n_steps)
    for _ in range(noptepochs):
        np.random.shuffle(env_indices)
        for start in range(0, n_envs, envs_per_batch):
            minibatch_envs = env_indices[start:start + envs_per_batch].copy()
            env_rows.append(minibatch_envs)
            rows.append(flat_indices[minibatch_envs].ravel())
    return MinibatchPlan(np.asarray(rows, np.int32), np.asarray(env_rows, np.int32))
