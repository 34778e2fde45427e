"""Expert data for behaviour cloning: :class:`ExpertDataset` and its :class:`DataLoader`.

The file format is SB2's: an ``.npz`` archive (or a dict) with

- ``obs``: ``(N,) + obs_shape`` (Discrete observations ``(N, 1)``; image observations: an array of
  image paths, relative to the working directory where they were recorded),
- ``actions``: ``(N,) + act_shape`` (Discrete actions ``(N, 1)``),
- ``rewards``: ``(N,)``, ``episode_returns``: ``(n_episodes,)``,
- ``episode_starts``: ``(N,)`` booleans, True at the first transition of each episode.

Differences from SB2 (spec section 9): ``traj_limitation=k`` keeps exactly the first ``k`` episodes
and their returns (quirk 16); the sequential loader never yields an empty batch (quirk 17); the
background loader is a thread, not a process, and nothing here needs MPI (quirk 27).
"""
from __future__ import annotations

import queue
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Dict, Mapping, Optional, Tuple

import numpy as np

from stable_ppo2 import logger
from stable_ppo2.common.image_files import CV2_HINT, import_cv2, read_image, read_images  # noqa: F401  (CV2_HINT: its old path)

REQUIRED_KEYS = ("obs", "actions", "episode_starts", "episode_returns")
def episode_boundaries(episode_starts: np.ndarray) -> np.ndarray:
    """Indices of the first transition of each episode (index 0 counts as a start)."""
    starts = np.flatnonzero(np.asarray(episode_starts, dtype=bool).reshape(-1))
    if len(starts) == 0 or starts[0] != 0:
        starts = np.concatenate([[0], starts])
    return starts.astype(np.int64)


class ExpertDataset:
    """Expert transitions split into training and validation sets for behaviour cloning (and GAIL).

    :param expert_path: path of an ``.npz`` archive (exclusive with ``traj_data``)
    :param traj_data: the same content as a dict (exclusive with ``expert_path``)
    :param train_fraction: share of the transitions used for training (the rest validates)
    :param batch_size: minibatch size of the loaders
    :param traj_limitation: keep only the first ``traj_limitation`` episodes (-1 or 0: all)
    :param randomize: shuffle the minibatches at every epoch
    :param verbose: print the arrays' shapes and log the dataset's statistics
    :param sequential_preprocessing: build minibatches in the caller's thread instead of a
        background thread (no prefetching)
    """

    #: attributes left out when pickling (the loaders are rebuilt on unpickling, except GAIL's)
    EXCLUDED_KEYS = {"dataloader", "train_loader", "val_loader"}

    def __init__(self, expert_path: Optional[str] = None, traj_data: Optional[Dict[str, np.ndarray]] = None,
                 train_fraction: float = 0.7, batch_size: int = 64, traj_limitation: int = -1, randomize: bool = True,
                 verbose: int = 1, sequential_preprocessing: bool = False) -> None:
        if traj_data is not None and expert_path is not None:
            raise ValueError("Cannot specify both 'traj_data' and 'expert_path'")
        if traj_data is None and expert_path is None:
            raise ValueError("Must specify one of 'traj_data' or 'expert_path'")
        if not 0.0 < train_fraction < 1.0:
            raise ValueError(f"train_fraction must lie strictly between 0 and 1, got {train_fraction}")
        if int(batch_size) < 1:
            raise ValueError(f"batch_size must be a positive int, got {batch_size}")
        if traj_data is None:
            assert expert_path is not None  # one of the two is given (checked above)
            with np.load(expert_path, allow_pickle=True) as archive:
                traj_data = {key: archive[key] for key in archive.files}
        self._check_keys(traj_data, expert_path)

        if verbose > 0:
            for key, val in traj_data.items():
                print(key, np.shape(val))

        episode_starts = np.asarray(traj_data["episode_starts"]).reshape(-1).astype(bool)
        all_observations = np.asarray(traj_data["obs"])
        all_actions = np.asarray(traj_data["actions"])
        episode_returns = np.asarray(traj_data["episode_returns"]).reshape(-1)
        n_total = len(all_observations)
        if len(all_actions) != n_total:
            raise ValueError(f"The expert data has {n_total} observations but {len(all_actions)} "
                             "actions: please check your expert dataset")
        if len(episode_starts) != n_total:
            raise ValueError(f"'episode_starts' has {len(episode_starts)} entries, the expert data "
                             f"{n_total} transitions: one flag per transition is expected")

        starts = episode_boundaries(episode_starts)
        n_episodes = len(starts) if n_total > 0 else 0
        if traj_limitation is not None and traj_limitation > 0 and traj_limitation < n_episodes:
            # Cut exactly after the last transition of episode `traj_limitation` (SB2 quirk 16 fixed).
            traj_limit_idx = int(starts[traj_limitation])
            n_episodes = int(traj_limitation)
        else:
            traj_limit_idx = n_total

        observations = all_observations[:traj_limit_idx]
        actions = all_actions[:traj_limit_idx]
        # Flatten (N, ...) to (N, prod(...)) as SB2 does: policies read flat observations back
        # with the observation space's shape.
        if observations.ndim > 2 and not isinstance(observations.flat[0], str):
            observations = observations.reshape((len(observations), -1))
        if actions.ndim > 2:
            actions = actions.reshape((len(actions), -1))

        indices = np.random.permutation(len(observations)).astype(np.int64)
        n_train = int(train_fraction * len(indices))
        train_indices, val_indices = indices[:n_train], indices[n_train:]
        if len(train_indices) == 0:
            raise ValueError(f"No sample for the training set ({len(indices)} transitions, "
                             f"train_fraction={train_fraction})")
        if len(val_indices) == 0:
            raise ValueError(f"No sample for the validation set ({len(indices)} transitions, "
                             f"train_fraction={train_fraction})")

        self.observations = observations
        self.actions = actions
        # One return per kept episode (SB2 sliced the returns with a transition index).
        self.returns = episode_returns[:n_episodes]
        self.avg_ret = float(np.mean(self.returns)) if len(self.returns) > 0 else float("nan")
        self.std_ret = float(np.std(self.returns)) if len(self.returns) > 0 else float("nan")
        self.episode_starts = episode_starts[:traj_limit_idx]
        self.verbose = verbose
        self.num_traj = n_episodes
        self.num_transition = len(self.observations)
        self.batch_size = int(batch_size)
        self.train_fraction = train_fraction
        self.randomize = randomize
        self.sequential_preprocessing = sequential_preprocessing
        self._train_indices = train_indices
        self._val_indices = val_indices

        self.dataloader: Optional[DataLoader] = None
        self.train_loader: Optional[DataLoader] = None
        self.val_loader: Optional[DataLoader] = None
        self._make_split_loaders()
        if self.verbose >= 1:
            self.log_info()

    @staticmethod
    def _check_keys(traj_data: Mapping[str, Any], expert_path) -> None:
        try:
            missing = [key for key in REQUIRED_KEYS if key not in traj_data]
        except TypeError as error:
            raise TypeError(f"traj_data must be a dict-like object with the keys {list(REQUIRED_KEYS)}, "
                            f"got {type(traj_data).__name__}") from error
        if missing:
            source = f"the expert file {expert_path!r}" if expert_path is not None else "traj_data"
            raise KeyError(f"Missing key(s) {missing} in {source}; an expert dataset needs "
                           f"{list(REQUIRED_KEYS)} (and usually 'rewards'), as written by "
                           "generate_expert_traj")

    def _make_split_loaders(self) -> None:
        self.train_loader = DataLoader(self._train_indices, self.observations, self.actions,
                                       self.batch_size, shuffle=self.randomize, start_process=False,
                                       sequential=self.sequential_preprocessing)
        self.val_loader = DataLoader(self._val_indices, self.observations, self.actions,
                                     self.batch_size, shuffle=self.randomize, start_process=False,
                                     sequential=self.sequential_preprocessing)

    def init_dataloader(self, batch_size: int) -> None:
        """Create ``self.dataloader`` over all transitions (the one GAIL reads, ``split=None``)."""
        indices = np.random.permutation(len(self.observations)).astype(np.int64)
        self.dataloader = DataLoader(indices, self.observations, self.actions, batch_size,
                                     shuffle=self.randomize, start_process=False,
                                     sequential=self.sequential_preprocessing)

    def __del__(self):
        for key in self.EXCLUDED_KEYS:
            loader = self.__dict__.get(key)
            if loader is not None:
                loader.close()

    def __getstate__(self) -> Dict[str, Any]:
        return {key: val for key, val in self.__dict__.items() if key not in self.EXCLUDED_KEYS}

    def __setstate__(self, state: Dict[str, Any]) -> None:
        self.__dict__.update(state)
        self.dataloader = None  # as SB2: call init_dataloader() before using it with GAIL
        self.train_loader = self.val_loader = None
        if "_train_indices" in state:  # unlike SB2, the pretraining loaders come back
            self._make_split_loaders()

    def log_info(self) -> None:
        """Log the number of episodes and transitions and the returns' mean and std."""
        logger.log(f"Total trajectories: {self.num_traj}")
        logger.log(f"Total transitions: {self.num_transition}")
        logger.log(f"Average returns: {self.avg_ret}")
        logger.log(f"Std for returns: {self.std_ret}")

    def get_next_batch(self, split: Optional[str] = None) -> Tuple[np.ndarray, np.ndarray]:
        """The next ``(observations, actions)`` minibatch of a split, restarting at the end of an epoch.

        :param split: None (GAIL's loader, see :meth:`init_dataloader`), ``'train'`` or ``'val'``
        """
        if split not in (None, "train", "val"):
            raise ValueError(f"split must be None, 'train' or 'val', got {split!r}")
        dataloader = {None: self.dataloader, "train": self.train_loader, "val": self.val_loader}[split]
        if dataloader is None:
            what = "init_dataloader(batch_size)" if split is None else "a new ExpertDataset"
            raise ValueError(f"The {split or 'GAIL'} data loader is not initialised: call {what} first")
        if dataloader.process is None:
            dataloader.start_process()
        try:
            return next(dataloader)
        except StopIteration:
            dataloader = iter(dataloader)
            return next(dataloader)

    def episode_split(self) -> Tuple[np.ndarray, np.ndarray]:
        """Whole episodes for recurrent pretraining: ``(train, val)`` arrays of ``[start, stop)``
        transition ranges, a random ``train_fraction`` of the episodes for training (at least one
        episode each). Drawn from numpy's global RNG at the first call, then kept."""
        split = self.__dict__.get("_episode_split")
        if split is None:
            starts = episode_boundaries(self.episode_starts)
            ranges = np.stack([starts, np.append(starts[1:], self.num_transition)], axis=1)
            if len(ranges) < 2:
                raise ValueError("Recurrent pretraining splits whole episodes into training and validation "
                                 f"sets: it needs at least 2 episodes, the dataset has {len(ranges)}")
            order = np.random.permutation(len(ranges))
            n_train = min(max(int(self.train_fraction * len(ranges)), 1), len(ranges) - 1)
            split = (ranges[np.sort(order[:n_train])], ranges[np.sort(order[n_train:])])
            self._episode_split = split
        return split

    def plot(self) -> None:
        """Show a histogram of the expert's episode returns (needs matplotlib)."""
        import matplotlib.pyplot as plt  # pylint: disable=import-outside-toplevel
        plt.hist(self.returns)
        plt.show()


class DataLoader:
    """Minibatches of ``(observations, actions)`` over a set of indices, images read from disk.

    Two modes, both reading ``len(self)`` minibatches per epoch and reshuffling each epoch when
    ``shuffle`` is set:

    - ``sequential=True``: each ``next()`` builds the next minibatch in the caller's thread;
      iteration stops at the end of an epoch and ``iter()`` starts the next one.
    - otherwise a background thread (started by :meth:`start_process`) prefetches minibatches into
      a queue of ``max_queue_len``, with an end-of-epoch marker after each epoch (``next()`` then
      raises StopIteration); with ``infinite_loop`` it keeps going epoch after epoch.

    :param indices: the transitions this loader serves
    :param observations: all observations, or image paths (read with OpenCV)
    :param actions: all actions
    :param batch_size: minibatch size
    :param n_workers: threads reading images in parallel (background mode)
    :param infinite_loop: background mode: serve epochs forever (else a single one)
    :param max_queue_len: background mode: minibatches prepared ahead
    :param shuffle: shuffle the indices at the start of each epoch
    :param start_process: start the background thread now
    :param backend: accepted for SB2 compatibility; the background worker is always a thread
    :param sequential: build minibatches on demand in the caller's thread
    :param partial_minibatch: serve the last, smaller minibatch (else drop it)
    """

    def __init__(self, indices: np.ndarray, observations: np.ndarray, actions: np.ndarray, batch_size: int,
                 n_workers: int = 1, infinite_loop: bool = True, max_queue_len: int = 1, shuffle: bool = False,
                 start_process: bool = True, backend: str = "threading", sequential: bool = False,
                 partial_minibatch: bool = True) -> None:
        if int(batch_size) < 1:
            raise ValueError(f"batch_size must be a positive int, got {batch_size}")
        self.n_workers = n_workers
        self.infinite_loop = infinite_loop
        self.indices = np.asarray(indices, dtype=np.int64).copy()
        self.original_indices = self.indices.copy()
        self.batch_size = int(batch_size)
        self.n_minibatches = len(self.indices) // self.batch_size
        if partial_minibatch and len(self.indices) % self.batch_size > 0:
            self.n_minibatches += 1
        self.observations = observations
        self.actions = actions
        self.shuffle = shuffle
        self.max_queue_len = max_queue_len
        self.backend = backend
        self.sequential = sequential
        self.partial_minibatch = partial_minibatch
        self.load_images = len(observations) > 0 and isinstance(np.asarray(observations).flat[0], str)
        if self.load_images:
            import_cv2()
        # Own RNG (seeded from numpy's global one): the background thread shuffles without
        # racing other users of np.random, and results follow np.random.seed().
        self._rng = np.random.default_rng(np.random.randint(2 ** 31 - 1))
        self.queue: "queue.Queue" = queue.Queue(max(1, int(max_queue_len)))
        self.process: Optional[threading.Thread] = None
        self._stop = threading.Event()
        self.start_idx = 0
        self._batch_count = 0
        if start_process:
            self.start_process()

    def __len__(self) -> int:
        return self.n_minibatches

    # -------------------------------------------------------------------------------- batches
    def _make_batch(self, batch_indices: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
        obs = self.observations[batch_indices]
        if self.load_images:
            obs = read_images(obs)
        return obs, self.actions[batch_indices]

    @classmethod
    def _make_batch_element(cls, image_path: str) -> np.ndarray:
        """SB2's name for :func:`~stable_ppo2.common.image_files.read_image`."""
        return read_image(image_path)

    @property
    def _minibatch_indices(self) -> np.ndarray:
        return self.indices[self.start_idx:self.start_idx + self.batch_size]

    def sequential_next(self) -> Tuple[np.ndarray, np.ndarray]:
        """The next minibatch built in the caller's thread; StopIteration after ``len(self)`` of them."""
        if self._batch_count >= self.n_minibatches:  # never an empty batch (SB2 quirk 17 fixed)
            raise StopIteration
        if self._batch_count == 0 and self.shuffle:
            self._rng.shuffle(self.indices)
        self.start_idx = self._batch_count * self.batch_size
        batch = self._make_batch(self._minibatch_indices)
        self._batch_count += 1
        return batch

    # -------------------------------------------------------------------------------- background
    def start_process(self) -> None:
        """Start the background thread (nothing in sequential mode)."""
        if self.sequential or (self.process is not None and self.process.is_alive()):
            return
        self._stop.clear()
        self.process = threading.Thread(
            target=_fill_queue, name="DataLoader",
            args=(self.queue, self._stop, self._epoch_source(), self.infinite_loop), daemon=True)
        self.process.start()

    def _epoch_source(self) -> Dict[str, Any]:
        """What the background thread needs, without a reference to the loader itself (so that
        deleting the loader stops the thread)."""
        return dict(indices=self.original_indices, observations=self.observations,
                    actions=self.actions, batch_size=self.batch_size,
                    n_minibatches=self.n_minibatches, shuffle=self.shuffle, rng=self._rng,
                    load_images=self.load_images, n_workers=self.n_workers)

    def close(self) -> None:
        """Stop the background thread (it exits at its next queue operation)."""
        self._stop.set()
        self.process = None

    # -------------------------------------------------------------------------------- iteration
    def __iter__(self) -> "DataLoader":
        self.start_idx = 0
        self._batch_count = 0
        self.indices = self.original_indices.copy()
        return self

    def __next__(self) -> Tuple[np.ndarray, np.ndarray]:
        if self.sequential:
            return self.sequential_next()
        if self.process is None:
            raise ValueError("You must call .start_process() before using the dataloader")
        while True:
            try:
                item = self.queue.get(timeout=0.1)
                break
            except queue.Empty:
                if not self.process.is_alive() and self.queue.empty():
                    raise RuntimeError("The DataLoader's background thread stopped "
                                       "(see the error it printed above)") from None
        if item is None:
            raise StopIteration
        return item

    def __getstate__(self) -> Dict[str, Any]:
        state = dict(self.__dict__)
        state.update(queue=None, process=None, _stop=None)
        return state

    def __setstate__(self, state: Dict[str, Any]) -> None:
        self.__dict__.update(state)
        self.queue = queue.Queue(max(1, int(self.max_queue_len)))
        self._stop = threading.Event()

    def __del__(self):
        stop = self.__dict__.get("_stop")
        if stop is not None:
            stop.set()


def _epoch_batches(indices, observations, actions, batch_size, n_minibatches, shuffle, rng,
                   load_images, n_workers):
    """One epoch of ``(observations, actions)`` minibatches (background mode)."""
    indices = indices.copy()
    if shuffle:
        rng.shuffle(indices)
    pool = None
    if load_images and n_workers > 1:
        pool = ThreadPoolExecutor(max_workers=int(n_workers))
    try:
        for minibatch_idx in range(n_minibatches):
            batch_indices = indices[minibatch_idx * batch_size:(minibatch_idx + 1) * batch_size]
            obs = observations[batch_indices]
            if load_images:
                paths = list(obs)
                images = (pool.map(DataLoader._make_batch_element, paths) if pool is not None
                          else map(DataLoader._make_batch_element, paths))
                obs = np.concatenate(list(images), axis=0)
            yield obs, actions[batch_indices]
    finally:
        if pool is not None:
            pool.shutdown()


def _fill_queue(out: "queue.Queue", stop: threading.Event, source: Dict[str, Any],
                infinite_loop: bool) -> None:
    """Background thread: put epochs of minibatches, each followed by None, until told to stop.

    Puts time out regularly so that :meth:`DataLoader.close` (or the loader's deletion) ends it.
    """
    def put(item) -> bool:
        while not stop.is_set():
            try:
                out.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    first = True
    while (first or infinite_loop) and not stop.is_set():
        first = False
        for batch in _epoch_batches(**source):
            if not put(batch):
                return
        if not put(None):
            return
