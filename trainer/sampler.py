"""Length bucketing: batches of clips of similar length, shuffled, deterministic, split across ranks.

Each epoch: a seeded permutation of all clips (a clip with `repeats` r appears r times: the way to
draw a small source as often as a large one) is cut into pools of `pool_batches` batches; each
pool is sorted by length and cut into batches (so a batch pads to a length close to its clips'),
and the batches of all pools are shuffled. Every clip is in exactly one batch per epoch; only the
last batch may be smaller. With world_size > 1 the batch list is extended by repeating its first
batches until it divides evenly, and rank r takes batches r, r + world_size, ...: every rank runs
the same number of steps (a few clips repeat in that epoch).
"""

from __future__ import annotations

import numpy as np

from signclip.runtime.errors import SignclipError


class BucketBatchSampler:
    """Yields lists of clip indices; `set_epoch` reshuffles, like DistributedSampler."""

    def __init__(self, lengths, batch_size: int, *, seed: int = 0, epoch: int = 0, rank: int = 0,
                 world_size: int = 1, pool_batches: int = 50, lengths_for_epoch=None, repeats=None):
        if batch_size < 1:
            raise SignclipError(f"batch size {batch_size} must be at least 1")
        if not 0 <= rank < world_size:
            raise SignclipError(f"rank {rank} is outside 0..{world_size - 1} (world size {world_size})")
        self.lengths = np.asarray(lengths, np.int64)
        if len(self.lengths) == 0:
            raise SignclipError("cannot sample batches from an empty dataset")
        self.batch_size, self.seed, self.epoch = batch_size, seed, epoch
        self.rank, self.world_size, self.pool_batches = rank, world_size, pool_batches
        self.lengths_for_epoch = lengths_for_epoch  # epoch -> lengths (e.g. after speed changes)
        repeats = np.ones(len(self.lengths), np.int64) if repeats is None else np.asarray(repeats, np.int64)
        if repeats.shape != self.lengths.shape or (repeats < 1).any():
            raise SignclipError("repeats must be one whole number >= 1 per clip")
        self.draws = np.repeat(np.arange(len(self.lengths)), repeats)   # clip of each draw

    def epoch_lengths(self) -> np.ndarray:
        """The lengths batches are bucketed by in this epoch."""
        if self.lengths_for_epoch is None:
            return self.lengths
        return np.asarray(self.lengths_for_epoch(self.epoch), np.int64)

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def global_batches(self) -> list:
        """All batches of this epoch, before splitting across ranks."""
        rng = np.random.default_rng((self.seed, self.epoch))
        lengths = self.epoch_lengths()
        order = self.draws[rng.permutation(len(self.draws))]
        pool = self.batch_size * self.pool_batches
        batches = []
        for start in range(0, len(order), pool):
            chunk = order[start:start + pool]
            chunk = chunk[np.argsort(lengths[chunk], kind="stable")]
            batches.extend(chunk[i:i + self.batch_size] for i in range(0, len(chunk), self.batch_size))
        return [batches[i].tolist() for i in rng.permutation(len(batches))]

    def __iter__(self):
        batches = self.global_batches()
        if self.world_size > 1:
            extra = -len(batches) % self.world_size
            batches = batches + [batches[i % len(batches)] for i in range(extra)]
        yield from batches[self.rank::self.world_size]

    def __len__(self) -> int:
        batches = -(-len(self.draws) // self.batch_size)  # pools hold whole batches: one partial
        return -(-batches // self.world_size)
