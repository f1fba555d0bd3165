"""Training batches from the packed cache: augment raw frames, normalize with the runtime, pad.

    cache = build_cache(read_manifest("lexicon.csv"), "cache/", cfg.model.normalization)
    loader = make_loader(cache, 64, seed=0, augment=True)
    for epoch in range(epochs):
        set_epoch(loader, epoch)
        for batch in loader:  # Batch(poses [B, T, 609], mask [B, T], text_ids [B], indices [B])
            ...

Clips with equal `text_ids` share a prompt (`cache.texts[id]`): positives of each other.
Normalization is the runtime's `normalize_frames` + `finish`, per clip, after the raw-frame
augmentations and before the geometric ones (see `augment.py` for the order and why).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

from signclip.runtime.capture.photo import hold
from signclip.runtime.errors import SignclipError
from signclip.runtime.pose.layouts import MODEL_203
from signclip.runtime.pose.normalize import ModelInput, NormalizationConfig, to_model_input

from .augment import (
    RIGHT_HAND_POINTS,
    AugmentConfig,
    NoiseBank,
    augment_normalized_,
    augment_raw,
    cap_length,
    speed_lengths,
    transplant_hand,
)
from .cache import PackedCache
from .sampler import BucketBatchSampler

FEATURES = MODEL_203.size * 3  # 609


@dataclass
class Batch:
    """A padded batch: poses [B, T, 609] float32, mask [B, T] bool (True = real frame)."""

    poses: torch.Tensor
    mask: torch.Tensor
    text_ids: torch.Tensor     # [B] long: index into cache.texts
    indices: torch.Tensor      # [B] long: clip numbers in the cache

    def to(self, device, non_blocking: bool = False) -> Batch:
        return Batch(*(t.to(device, non_blocking=non_blocking)
                       for t in (self.poses, self.mask, self.text_ids, self.indices)))

    def pin_memory(self) -> Batch:  # called by DataLoader(pin_memory=True)
        return Batch(*(t.pin_memory() for t in (self.poses, self.mask, self.text_ids, self.indices)))


class Sample(NamedTuple):
    features: np.ndarray       # [T, 609] float32, normalized
    length: int
    text_id: int
    index: int


def _augment_config(augment) -> AugmentConfig | None:
    if augment is True:
        return AugmentConfig()
    if augment is False or augment is None:
        return None
    if isinstance(augment, AugmentConfig):
        return augment
    raise SignclipError(f"augment must be True, False or an AugmentConfig, not {augment!r}")


def load_clip(cache: PackedCache, i: int, *, normalization: NormalizationConfig,
              augment: AugmentConfig | None, rng: np.random.Generator, max_frames: int,
              length: int | None = None) -> ModelInput:
    """Clip i read raw, augmented in time (to `length` frames when given) and by dropout/flip,
    then normalized by the runtime."""
    raw_frames, raw_mask = cache.read(i)
    if cache.photos[i]:  # a photo: held still, as the runtime holds one
        raw_frames, raw_mask = hold(raw_frames[0], raw_mask[0], normalization.photo_frames)
    if augment is None:
        frames, mask = cap_length(raw_frames, raw_mask, max_frames)
    else:
        frames, mask = augment_raw(raw_frames, raw_mask, rng, augment, max_frames, length)
    try:
        return to_model_input(frames, mask, normalization)
    except SignclipError:  # augmentation lost every frame with both shoulders or hands: as is
        return to_model_input(*cap_length(raw_frames, raw_mask, max_frames), normalization)


def transplant_hosts(records: list) -> dict:
    """For each photo of the cache (a row with an `item`), the video clips of its sign language."""
    videos: dict = {}
    for j, r in enumerate(records):
        if r.get("item") is None:
            videos.setdefault(r["sign_language"], []).append(j)
    pools = {lang: np.array(v, np.int64) for lang, v in videos.items()}
    return {j: pools[r["sign_language"]] for j, r in enumerate(records)
            if r.get("item") is not None and r["sign_language"] in pools}


class _Source:
    """What both datasets share: the cache, settings, and the noise bank."""

    def __init__(self, cache: PackedCache, *, augment=None, seed: int = 0, max_frames: int = 256,
                 normalization: NormalizationConfig | None = None):
        self.cache = cache
        self.augment = _augment_config(augment)
        self.seed = seed
        self.max_frames = max_frames
        self.normalization = normalization or cache.normalization
        self.bank = NoiseBank(seed) if self.augment is not None else None
        self.hosts = transplant_hosts(cache.rows)

    def maybe_transplant(self, i: int, clip: ModelInput, rng: np.random.Generator) -> ModelInput:
        """Photo i's hand put into a video clip of its sign language, with the augmentation's chance."""
        pool = self.hosts.get(int(i))
        if self.augment is None or pool is None or not self.augment.transplant_p > 0:
            return clip
        if rng.random() >= self.augment.transplant_p:
            return clip
        host = self.clip(int(rng.choice(pool)), rng)
        return transplant_hand(host, clip) if clip.mask[:, RIGHT_HAND_POINTS].any() else clip

    def clip(self, i: int, rng: np.random.Generator, length: int | None = None) -> ModelInput:
        return load_clip(self.cache, int(i), normalization=self.normalization, augment=self.augment,
                         rng=rng, max_frames=self.max_frames, length=length)

    @property
    def lengths(self) -> np.ndarray:
        """Every clip's length as loaded (photos held)."""
        return np.where(self.cache.photos, self.normalization.photo_frames, self.cache.lengths)

    def epoch_lengths(self, epoch: int) -> np.ndarray:
        """Every clip's length in this epoch: after the speed change drawn for (seed, epoch)."""
        if self.augment is None:
            return np.minimum(self.lengths, self.max_frames)
        rng = np.random.default_rng((self.seed, epoch, 0x5EED))
        return speed_lengths(self.lengths, rng, self.augment, self.max_frames)


class ClipDataset(_Source, Dataset):
    """One clip at a time: Sample(features [T, 609], T, text id, index); pad with `collate`."""

    def __init__(self, cache: PackedCache, *, epoch: int = 0, **kwargs):
        super().__init__(cache, **kwargs)
        self.epoch = epoch

    def __len__(self) -> int:
        return len(self.cache)

    def __getitem__(self, i: int) -> Sample:
        rng = np.random.default_rng((self.seed, self.epoch, int(i)))
        clip = self.clip(i, rng)
        frames = clip.frames
        if self.augment is not None:
            frames = frames[None].copy()                                   # (1, T, 203, 3)
            augment_normalized_(frames, clip.mask[None], np.array([len(clip.frames)]), rng,
                                self.augment, self.bank)
            frames = frames[0]
        t = frames.shape[0]
        return Sample(frames.reshape(t, FEATURES), t, int(self.cache.text_ids[i]), int(i))


def collate(samples) -> Batch:
    """Pad samples to the longest: poses [B, T, 609] zeros after each clip's end, mask [B, T]."""
    lengths = np.array([s.length for s in samples])
    poses = np.zeros((len(samples), lengths.max(), FEATURES), np.float32)   # (B, T, 609)
    for b, s in enumerate(samples):
        poses[b, :s.length] = s.features
    return Batch(torch.from_numpy(poses),
                 torch.from_numpy(np.arange(lengths.max())[None, :] < lengths[:, None]),
                 torch.tensor([s.text_id for s in samples], dtype=torch.long),
                 torch.tensor([s.index for s in samples], dtype=torch.long))


class BatchDataset(_Source, Dataset):
    """Whole batches per call, keyed by (epoch, step, indices[, lengths]): the geometric
    augmentation and the padding run once per batch, so one core loads thousands of clips per
    second. `lengths` are the clips' lengths after the speed change, which the sampler buckets by."""

    def __init__(self, cache: PackedCache, *, rank: int = 0, **kwargs):
        super().__init__(cache, **kwargs)
        self.rank = rank

    def __getitem__(self, key) -> Batch:
        epoch, step, indices, *rest = key
        targets = rest[0] if rest else [None] * len(indices)
        rng = np.random.default_rng((self.seed, epoch, self.rank, step))
        clips = [self.maybe_transplant(i, self.clip(i, rng, n), rng) for i, n in zip(indices, targets)]
        lengths = np.array([len(c.frames) for c in clips], np.int64)
        b, t = len(clips), int(lengths.max())
        poses = _batch_buffer((b, t, MODEL_203.size, 3))                       # (B, T, 203, 3)
        points = np.empty((b, t, MODEL_203.size), bool)                        # (B, T, 203)
        for j, c in enumerate(clips):  # bucketing keeps the zeroed tails short
            n = lengths[j]
            poses[j, :n], poses[j, n:] = c.frames, 0.0
            points[j, :n], points[j, n:] = c.mask, False
        if self.augment is not None:
            augment_normalized_(poses, points, lengths, rng, self.augment, self.bank)
        index = np.asarray(indices, np.int64)
        return Batch(torch.from_numpy(poses.reshape(b, t, FEATURES)),       # (B, T, 609)
                     torch.from_numpy(np.arange(t)[None, :] < lengths[:, None]),
                     torch.from_numpy(self.cache.text_ids[index]),
                     torch.from_numpy(index))


def _batch_buffer(shape: tuple) -> np.ndarray:
    """An uninitialized float32 array; in a loader worker, in shared memory from the start, so that
    sending the batch to the trainer process does not copy it once more."""
    if torch.utils.data.get_worker_info() is None:
        return np.empty(shape, np.float32)
    return torch.empty(shape, dtype=torch.float32).share_memory_().numpy()


class _KeyedSampler:
    """Turns the bucketing sampler's index lists into (epoch, step, indices, lengths) keys."""

    def __init__(self, batches: BucketBatchSampler):
        self.batches = batches

    def set_epoch(self, epoch: int) -> None:
        self.batches.set_epoch(epoch)

    def __iter__(self):
        epoch = self.batches.epoch
        lengths = self.batches.epoch_lengths()
        for step, indices in enumerate(self.batches):
            yield epoch, step, indices, lengths[indices].tolist()

    def __len__(self) -> int:
        return len(self.batches)


def _identity(batch):
    return batch


def make_loader(cache: PackedCache, batch_size: int, *, seed: int, augment, rank: int = 0,
                world_size: int = 1, num_workers: int = 0, epoch: int = 0, max_frames: int = 256,
                normalization: NormalizationConfig | None = None, pool_batches: int = 50,
                pin_memory: bool = False) -> DataLoader:
    """A DataLoader of length-bucketed Batches; call `set_epoch(loader, e)` before each epoch."""
    if num_workers < 0:
        raise SignclipError(f"num_workers {num_workers} must be 0 or more")
    dataset = BatchDataset(cache, rank=rank, augment=augment, seed=seed, max_frames=max_frames,
                           normalization=normalization)
    sampler = BucketBatchSampler(np.minimum(dataset.lengths, max_frames), batch_size, seed=seed,
                                 epoch=epoch, rank=rank, world_size=world_size,
                                 pool_batches=pool_batches, lengths_for_epoch=dataset.epoch_lengths,
                                 repeats=cache.weights)
    return DataLoader(dataset, batch_size=None, sampler=_KeyedSampler(sampler), collate_fn=_identity,
                      num_workers=num_workers, persistent_workers=num_workers > 0,
                      prefetch_factor=4 if num_workers > 0 else None, pin_memory=pin_memory)


def set_epoch(loader: DataLoader, epoch: int) -> None:
    """Reshuffle a loader from `make_loader` for this epoch (augmentation is keyed by it too)."""
    loader.sampler.set_epoch(epoch)
