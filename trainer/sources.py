"""Where the training loop gets batches: the packed cache of a manifest, or synthetic clips.

A data source has `.texts` (the unique prompts that `Batch.text_ids` index), `.text_languages`
(each prompt's sign language) and
`.loader(epoch=, batch_size=, rank=, world_size=, seed=, skip=)`, an iterable over one epoch of
this rank's batches after its first `skip` (resuming mid-epoch), each with poses [B, T, 609]
float32, mask [B, T] bool, text_ids [B] and indices [B] long, fixed by (seed, epoch). The
`synthetic` source (open_clip's idea) needs no files: tests, benchmarks and
`signclip train CONFIG --data synthetic` use it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple, Protocol

import torch

from signclip.runtime.errors import SignclipError

from .config import RunCfg

FEATURES = 203 * 3


class SyntheticBatch(NamedTuple):
    poses: torch.Tensor     # (B, T, 609) float32, padded frames = 0
    mask: torch.Tensor      # (B, T) bool, True = real frame
    text_ids: torch.Tensor  # (B,) long
    indices: torch.Tensor   # (B,) long: clip numbers


class DataSource(Protocol):
    texts: list
    text_languages: list

    def loader(self, *, epoch: int, batch_size: int, rank: int, world_size: int, seed: int,
               skip: int = 0): ...


@dataclass
class SyntheticSource:
    """`clips` clips over `n_texts` prompts (so texts repeat: multi-positive batches); each clip is
    its text's prototype plus noise, so a model can learn it. Lengths uniform in [min, max]."""

    clips: int = 64
    n_texts: int = 16
    min_frames: int = 8
    max_frames: int = 32
    seed: int = 0

    def __post_init__(self):
        g = torch.Generator().manual_seed(self.seed)
        self.texts = [f"<en> <ase> synthetic {i}" for i in range(self.n_texts)]
        self.text_languages = ["ase"] * self.n_texts
        self.text_ids = torch.arange(self.clips) % self.n_texts
        self.lengths = torch.randint(self.min_frames, self.max_frames + 1, (self.clips,), generator=g)
        prototypes = torch.randn(self.n_texts, FEATURES, generator=g)
        noise = 0.5 * torch.randn(self.clips, self.max_frames, FEATURES, generator=g)
        self.poses = prototypes[self.text_ids][:, None, :] + noise             # (N, Tmax, 609)

    def loader(self, *, epoch: int, batch_size: int, rank: int = 0, world_size: int = 1, seed: int = 0,
               skip: int = 0):
        """This rank's batches of one epoch; the ragged end is dropped (equal batches on all ranks)."""
        g = torch.Generator().manual_seed(seed * 10_007 + epoch)
        order = torch.randperm(self.clips, generator=g)
        per_step = batch_size * world_size
        for start in range(skip * per_step, self.clips - per_step + 1, per_step):
            chosen = order[start:start + per_step][rank * batch_size:(rank + 1) * batch_size]
            t = int(self.lengths[chosen].max())
            mask = torch.arange(t)[None, :] < self.lengths[chosen][:, None]   # (B, T)
            poses = self.poses[chosen, :t] * mask[..., None]
            yield SyntheticBatch(poses, mask, self.text_ids[chosen], chosen)


@dataclass
class PackedSource:
    """The data developer's `make_loader` over a packed cache (augmentation, bucketing live there).

    One DataLoader per (batch size, rank, world size, seed), reshuffled by `set_epoch`, so worker
    processes persist across epochs. Resuming mid-epoch skips batches in the sampler, not by
    loading them: the loader's batches are keyed by (epoch, step, indices), so they are the same.
    """

    cache: object
    augment: object = True       # True (the default augmentation), False, or an AugmentConfig
    num_workers: int = 0
    max_frames: int = 256
    pin_memory: bool = False
    pool_batches: int = 50       # length bucketing over pools of this many batches; 1: none

    def __post_init__(self):
        self._loaders: dict = {}

    @property
    def texts(self) -> list:
        return self.cache.texts

    @property
    def text_languages(self) -> list:
        """Each prompt's sign language (a synthetic cache has none: one group)."""
        languages = [""] * len(self.cache.texts)
        for row, text_id in zip(self.cache.rows, self.cache.text_ids):
            languages[int(text_id)] = row["sign_language"]
        return languages

    @property
    def credits(self) -> list:
        """License and credit of the photo and word sets in the data (checkpoints carry them)."""
        from .clips import credits

        return credits(self.cache.rows)

    def loader(self, *, epoch: int, batch_size: int, rank: int = 0, world_size: int = 1, seed: int = 0,
               skip: int = 0):
        from torch.utils.data import DataLoader

        from .loader import make_loader, set_epoch

        key = (batch_size, rank, world_size, seed)
        if key not in self._loaders:
            self._loaders[key] = make_loader(
                self.cache, batch_size, seed=seed, augment=self.augment, rank=rank,
                world_size=world_size, num_workers=self.num_workers, epoch=epoch,
                max_frames=self.max_frames, pin_memory=self.pin_memory,
                pool_batches=self.pool_batches)
        loader = self._loaders[key]
        set_epoch(loader, epoch)
        if skip == 0:
            return loader
        # a one-off loader over the same dataset whose sampler starts at batch `skip`
        return DataLoader(loader.dataset, batch_size=None, sampler=_Skip(loader.sampler, skip),
                          collate_fn=loader.collate_fn, num_workers=self.num_workers,
                          pin_memory=self.pin_memory)


class _Skip:
    """A batch-key sampler without its first `count` keys (keys carry their step: same batches)."""

    def __init__(self, sampler, count: int):
        self.sampler, self.count = sampler, count

    def __iter__(self):
        for i, key in enumerate(self.sampler):
            if i >= self.count:
                yield key

    def __len__(self) -> int:
        return max(0, len(self.sampler) - self.count)


def parse_synthetic(spec: str) -> SyntheticSource | None:
    """`synthetic` or `synthetic:CLIPS` -> a SyntheticSource; anything else -> None."""
    if spec != "synthetic" and not spec.startswith("synthetic:"):
        return None
    count = spec.partition(":")[2] or "256"
    if not count.isdigit() or int(count) < 2:
        raise SignclipError(f"--data {spec!r}: expected synthetic or synthetic:N with N >= 2 clips")
    n = int(count)
    return SyntheticSource(clips=n, n_texts=max(1, n // 4), max_frames=64)


def open_source(data, cfg: RunCfg, out_dir: Path, info) -> DataSource:
    """A DataSource as is; 'synthetic[:N]'; a packed cache folder; or a manifest (cached in out_dir)."""
    if hasattr(data, "loader") and hasattr(data, "texts"):
        return data
    if isinstance(data, str) and (synthetic := parse_synthetic(data)) is not None:
        return synthetic
    path = Path(data)
    from .cache import PackedCache, build_cache

    if path.is_dir():
        cache = PackedCache.open(path)
    else:
        from .data import read_manifest
        from .distributed import barrier

        rows = read_manifest(path)
        build = dict(normalization=cfg.model.normalization, template=cfg.model.prompt_template)
        if info.is_master:  # one rank packs; the others then find it current and reuse it
            build_cache(rows, out_dir / "cache", **build)
        barrier(info)
        cache = build_cache(rows, out_dir / "cache", progress=False, **build)
    augment = cfg.train.augmentation if cfg.train.augment else False
    return PackedSource(cache, augment=augment, num_workers=cfg.train.num_workers,
                        max_frames=cfg.model.pose.max_frames, pin_memory=info.device.startswith("cuda"))
