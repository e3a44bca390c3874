"""Named, independent random streams spawned from one run seed (numpy SeedSequence).

Streams are identified by name; the order of STREAMS is fixed forever: add new names at the end only.
"""

from __future__ import annotations

import numpy as np

STREAMS = ("variation", "write", "retention", "read", "data", "train", "sweep")


def stream(seed: int, name: str, *key: int) -> np.random.Generator:
    """Generator for stream ``name`` of run ``seed``; ``key`` selects a sub-stream (repeat, layer...).

    The same (seed, name, key) always gives the same numbers, independent of any other stream.
    """
    if name not in STREAMS:
        raise KeyError(f"unknown random stream {name!r}; known: {', '.join(STREAMS)}")
    entropy = [int(seed), STREAMS.index(name), *[int(k) for k in key]]
    return np.random.default_rng(np.random.SeedSequence(entropy))


def kernel_seed(gen: np.random.Generator) -> int:
    """A 63-bit integer seed for a numba kernel's own generator, drawn from ``gen``."""
    return int(gen.integers(0, 2**63 - 1))
