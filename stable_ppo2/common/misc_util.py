"""Small general helpers kept under SB2's module path (``common.misc_util``)."""
import argparse
import os
import random
from typing import Any, Iterable, Iterator, List, Optional, Sequence, Tuple

import numpy as np


def zipsame(*seqs: Sequence[Any]) -> Iterator[Tuple[Any, ...]]:
    """``zip`` of sequences that must have the same length (ValueError otherwise)."""
    length = len(seqs[0])
    if not all(len(seq) == length for seq in seqs[1:]):
        raise ValueError(f"zipsame: sequences differ in length: {[len(seq) for seq in seqs]}")
    return zip(*seqs)


def set_global_seeds(seed: Optional[int]) -> None:
    """Seed Python's ``random``, numpy's global RNG and TensorFlow's global seed.

    TensorFlow is imported here, not at module import, so that env-only code stays light.
    """
    random.seed(seed)
    np.random.seed(seed)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import tensorflow as tf

    tf.random.set_seed(seed)


def boolean_flag(parser: argparse.ArgumentParser, name: str, default: bool = False,
                 help_msg: Optional[str] = None) -> None:
    """Add ``--name`` (sets True) and ``--no-name`` (sets False) to an argparse parser."""
    dest = name.replace("-", "_")
    parser.add_argument("--" + name, action="store_true", default=default, dest=dest, help=help_msg)
    parser.add_argument("--no-" + name, action="store_false", dest=dest)


def mpi_rank_or_zero() -> int:
    """MPI rank of this process; the port runs without MPI, so always 0."""
    return 0


def flatten_lists(listoflists: Iterable[Iterable[Any]]) -> List[Any]:
    """Concatenate a list of lists into one list."""
    return [elem for sub in listoflists for elem in sub]
