"""Length bucketing, collate padding and the batched loader over the packed cache."""

import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from signclip.runtime.pose.io import read_pose
from signclip.runtime.pose.normalize import preprocess
from signclip.trainer.cache import build_cache, build_synthetic_cache
from signclip.trainer.lexicon import lexicon_rows
from signclip.trainer.loader import Batch, ClipDataset, collate, make_loader, set_epoch
from signclip.trainer.sampler import BucketBatchSampler

LEXICON = Path(__file__).parents[1] / "data" / "lexicon"


@pytest.fixture(scope="module")
def lexicon_cache(tmp_path_factory):
    root = tmp_path_factory.mktemp("lexcache")
    shutil.copytree(LEXICON, root / "lex")
    rows = lexicon_rows(root / "lex")
    return build_cache(rows, root / "cache", progress=False), rows


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory):
    return build_synthetic_cache(300, tmp_path_factory.mktemp("syn"), seed=0, progress=False)


def test_bucketing_covers_every_clip_once_and_is_deterministic():
    lengths = np.random.default_rng(0).integers(5, 250, size=1003)
    sampler = BucketBatchSampler(lengths, 32, seed=4, pool_batches=8)
    batches = list(sampler)
    assert len(batches) == len(sampler) == 32
    assert sorted(i for b in batches for i in b) == list(range(1003))
    assert batches == list(BucketBatchSampler(lengths, 32, seed=4, pool_batches=8))
    sampler.set_epoch(1)
    assert list(sampler) != batches                              # reshuffled per epoch
    # padding stays small: within a batch, lengths are close (sorted pools of 8 batches)
    spread = np.mean([np.ptp(lengths[b]) for b in batches])
    assert spread < 0.25 * np.ptp(lengths)


def test_bucketing_across_ranks():
    lengths = np.arange(100)
    parts = [list(BucketBatchSampler(lengths, 8, seed=1, rank=r, world_size=3)) for r in range(3)]
    assert [len(p) for p in parts] == [5, 5, 5]                  # 13 batches padded to 15
    assert [len(BucketBatchSampler(lengths, 8, rank=r, world_size=3)) for r in range(3)] == [5, 5, 5]
    seen = [i for p in parts for b in p for i in b]
    assert set(seen) == set(range(100))
    with pytest.raises(Exception, match="rank 3 is outside 0..2"):
        BucketBatchSampler(lengths, 8, rank=3, world_size=3)


def test_collate_pads_and_masks(lexicon_cache):
    cache, rows = lexicon_cache
    dataset = ClipDataset(cache)
    samples = [dataset[i] for i in range(len(cache))]
    batch = collate(samples)
    lengths = [21, 6, 6, 11]
    assert batch.poses.shape == (4, 21, 609) and batch.poses.dtype == torch.float32
    assert batch.mask.tolist() == [[t < n for t in range(21)] for n in lengths]
    assert not batch.poses[~batch.mask].any()                    # padding is zeros
    assert batch.text_ids.tolist() == [0, 1, 2, 3] and batch.indices.tolist() == [0, 1, 2, 3]
    for i, row in enumerate(rows):  # without augmentation: exactly the runtime's preprocessing
        ref = preprocess(read_pose(row.pose)).features
        np.testing.assert_array_equal(batch.poses[i, :lengths[i]].numpy(), ref)


def test_batched_loader_equals_clip_dataset_without_augmentation(synthetic):
    loader = make_loader(synthetic, 16, seed=0, augment=False)
    dataset = ClipDataset(synthetic)
    seen = []
    for batch in loader:
        assert isinstance(batch, Batch)
        ref = collate([dataset[i] for i in batch.indices.tolist()])
        torch.testing.assert_close(batch.poses, ref.poses, rtol=0, atol=0)
        assert torch.equal(batch.mask, ref.mask) and torch.equal(batch.text_ids, ref.text_ids)
        seen += batch.indices.tolist()
    assert sorted(seen) == list(range(300))


def test_augmented_loader_is_deterministic_and_keeps_padding_zero(synthetic):
    def run(epoch, workers=0):
        loader = make_loader(synthetic, 32, seed=3, augment=True, num_workers=workers)
        set_epoch(loader, epoch)
        return list(loader)

    a, b, c = run(0), run(0), run(1)
    for x, y in zip(a, b):
        assert torch.equal(x.indices, y.indices) and torch.equal(x.poses, y.poses)
    assert not torch.equal(a[0].indices, c[0].indices)
    for batch in a:
        assert batch.poses.shape[1] == batch.mask.sum(1).max() <= 256
        assert not batch.poses[~batch.mask].any()
        assert torch.isfinite(batch.poses).all()
    # the sampler buckets by the lengths after the speed change: the ones the batches really have
    loader = make_loader(synthetic, 32, seed=3, augment=True)
    expected = loader.dataset.epoch_lengths(0)
    for batch in a:
        assert batch.mask.sum(1).tolist() == expected[batch.indices.numpy()].tolist()
    # a worker process yields the same batches as the main process
    w = run(0, workers=1)
    assert all(torch.equal(x.poses, y.poses) for x, y in zip(a, w))


def test_augmented_clips_differ_from_plain(lexicon_cache):
    cache, _ = lexicon_cache
    plain = ClipDataset(cache)[0].features
    augmented = ClipDataset(cache, augment=True, seed=1)[0].features
    assert augmented.shape[1] == 609 and not np.array_equal(plain[:len(augmented)], augmented)
