"""``gym.utils.seeding`` as in gym 0.21: ``np_random(seed)`` returns a ``numpy.random.RandomState``.

Old envs call ``self.np_random.randint``, ``.rand`` or ``.uniform``; a ``RandomState`` has them all
(gymnasium's ``Generator`` has no ``randint``).
"""
import os
import struct
from typing import Optional, Tuple

import numpy as np
from gymnasium import error


def create_seed(a: Optional[int] = None, max_bytes: int = 4) -> int:
    """A seed of ``max_bytes`` bytes: random when ``a`` is None, else ``a`` itself reduced to that size."""
    if a is None:
        return int.from_bytes(os.urandom(max_bytes), "big")
    if isinstance(a, (int, np.integer)):
        return int(a) % 2 ** (8 * max_bytes)
    raise error.Error(f"Invalid type for seed: {type(a)} ({a})")


def np_random(seed: Optional[int] = None) -> Tuple[np.random.RandomState, int]:
    """``(RandomState, seed)``; a random seed is drawn when ``seed`` is None."""
    if seed is not None and not (isinstance(seed, (int, np.integer)) and seed >= 0):
        raise error.Error(f"Seed must be a non-negative integer or omitted, not {seed!r}")
    seed = create_seed(seed)
    return np.random.RandomState(seed), seed


def hash_seed(seed: Optional[int] = None, max_bytes: int = 8) -> int:
    """A well-mixed integer from ``seed`` (gym's helper for deriving seeds)."""
    import hashlib

    if seed is None:
        seed = create_seed(max_bytes=max_bytes)
    digest = hashlib.sha512(str(seed).encode("utf8")).digest()
    return struct.unpack("Q", digest[:8])[0] % 2 ** (8 * max_bytes)
