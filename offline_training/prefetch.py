"""Batches made in a worker process while the model trains on the previous ones.

Rendering, transforming and (for pool batches) refreshing primitive masks cost about a third
of a training step; on a machine with two cores a worker process hides that time. The worker
is a forked ``torch.utils.data.DataLoader`` worker: it inherits the bank's memory maps (no
copy), draws from its own generator seeded by ``(seed, first step)``, so a resumed run sees a
reproducible stream, and hands tensors back through shared memory.
"""

from __future__ import annotations

import numpy as np
import torch


class _Stream(torch.utils.data.IterableDataset):
    def __init__(self, make, seed: int, start: int):
        super().__init__()
        self.make, self.seed, self.start = make, int(seed), int(start)

    def __iter__(self):
        rng = np.random.default_rng([self.seed, self.start, 1])
        while True:
            yield self.make(rng)


def batch_stream(make, seed: int, start: int, workers: int = 1):
    """An endless iterator of ``make(rng)`` batches; made in ``workers`` processes (0: here)."""
    if workers <= 0:
        rng = np.random.default_rng([seed, start, 1])
        while True:
            yield make(rng)
    loader = torch.utils.data.DataLoader(
        _Stream(make, seed, start), batch_size=None, num_workers=int(workers),
        prefetch_factor=2, persistent_workers=False,
        multiprocessing_context="fork")
    yield from loader
