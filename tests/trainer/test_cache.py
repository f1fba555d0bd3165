"""The packed cache: built once, reused, rebuilt on change, and equal to the runtime's preprocessing."""

import os
import shutil
from pathlib import Path

import numpy as np
import pytest

from signclip.runtime.errors import SignclipError
from signclip.runtime.pose.io import read_pose
from signclip.runtime.pose.layouts import MODEL_203
from signclip.runtime.pose.normalize import NormalizationConfig, finish, normalize_frames, preprocess
from signclip.trainer import cache as cache_module
from signclip.trainer.cache import PackedCache, build_cache, build_synthetic_cache, synthetic_lengths
from signclip.trainer.data import ManifestRow
from signclip.trainer.lexicon import lexicon_rows
from signclip.trainer.loader import make_loader
from signclip.trainer.sources import PackedSource

LEXICON = Path(__file__).parents[1] / "data" / "lexicon"


@pytest.fixture
def rows(tmp_path):
    shutil.copytree(LEXICON, tmp_path / "lex")
    return lexicon_rows(tmp_path / "lex")


def normalized(frames, mask, config=NormalizationConfig()):
    return finish(normalize_frames(frames, mask, MODEL_203), mask, config)


def test_cached_frames_normalize_exactly_like_preprocess(rows, tmp_path):
    cache = build_cache(rows, tmp_path / "c", progress=False)
    assert cache.built and len(cache) == 4 and cache.dtype == "float32"
    assert cache.texts == ["<en> <ase> A", "<el> <gss> Α", "<el> <gss> Β", "<it> <ise> vv"]
    flipped = []
    for i, row in enumerate(rows):
        ref = preprocess(read_pose(row.pose), NormalizationConfig())
        frames, mask = cache.read(i)
        assert frames.dtype == np.float32 and frames.shape == (cache.lengths[i], 203, 3)
        got = normalized(frames, mask)
        np.testing.assert_array_equal(got.frames, ref.frames)
        np.testing.assert_array_equal(got.mask, ref.mask)
        flipped.append(got.flipped)
    assert flipped == [False, False, False, True]   # the ise clip is left-dominant
    assert cache.frames.shape == (cache.num_frames, 203, 3)  # the files are real .npy memory maps
    assert cache.mask.shape == (cache.num_frames, 26)


def test_reused_without_reading_then_rebuilt_when_a_file_changes(rows, tmp_path, monkeypatch):
    first = build_cache(rows, tmp_path / "c", progress=False)
    index_mtime = (tmp_path / "c" / "index.json").stat().st_mtime_ns
    reads = []
    real = cache_module.read_clip
    monkeypatch.setattr(cache_module, "read_clip", lambda row, frames: reads.append(row) or real(row, frames))
    again = build_cache(rows, tmp_path / "c", progress=False)
    assert not again.built and again.key == first.key and reads == []
    assert (tmp_path / "c" / "index.json").stat().st_mtime_ns == index_mtime
    # a changed file (new mtime) rebuilds; the old generation's files are removed
    st = rows[1].pose.stat()
    os.utime(rows[1].pose, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    rebuilt = build_cache(rows, tmp_path / "c", progress=False)
    assert rebuilt.built and rebuilt.key != first.key and len(reads) == 4
    assert sorted(p.name for p in (tmp_path / "c").iterdir()) == sorted(
        ["index.json", f"frames-{rebuilt.tag}.npy", f"mask-{rebuilt.tag}.npy", f"index-{rebuilt.tag}.npz"])
    # so do a changed normalization or prompt template
    assert build_cache(rows, tmp_path / "c", NormalizationConfig(hide_legs=False), progress=False).built
    assert build_cache(rows, tmp_path / "c", NormalizationConfig(hide_legs=False),
                       template="{text}", progress=False).texts[0] == "A"


def test_duplicate_texts_share_an_id(rows, tmp_path):
    cache = build_cache(rows + rows[:2], tmp_path / "c", progress=False)
    assert len(cache.texts) == 4 and list(cache.text_ids) == [0, 1, 2, 3, 0, 1]
    # the vocabulary loss scores each clip against its own language's prompts
    assert PackedSource(cache).text_languages == ["ase", "gss", "gss", "ise"]


def test_float16_storage_precision(rows, tmp_path):
    exact = build_cache(rows, tmp_path / "f32", progress=False)
    half = build_cache(rows, tmp_path / "f16", dtype="float16", progress=False)
    assert half.frames.dtype == np.float16
    errors = []
    for i in range(len(rows)):
        a, b = normalized(*exact.read(i)), normalized(*half.read(i))
        np.testing.assert_array_equal(a.mask, b.mask)
        assert not b.frames[~b.mask].any()                    # masked points stay exactly zero
        errors.append(np.abs(a.frames - b.frames)[a.mask].max())
    # measured: at most 5.3e-4 normalized units (shoulder widths), below the 1e-3 noise augmentation
    assert max(errors) < 1e-3


def test_errors(rows, tmp_path):
    with pytest.raises(SignclipError, match="cache dtype 'int8' is not supported; valid: float32, float16"):
        build_cache(rows, tmp_path / "c", dtype="int8", progress=False)
    with pytest.raises(SignclipError, match="empty manifest"):
        build_cache([], tmp_path / "c", progress=False)
    missing = ManifestRow(tmp_path / "gone.pose", "x", "en", "ase")
    with pytest.raises(SignclipError, match="gone.pose does not exist"):
        build_cache([missing], tmp_path / "c", progress=False)
    with pytest.raises(SignclipError, match="no packed cache here"):
        PackedCache.open(tmp_path / "empty")


def test_failed_build_leaves_no_partial_files(rows, tmp_path):
    bad = tmp_path / "bad.pose"
    bad.write_bytes(b"not a pose file at all")
    with pytest.raises(SignclipError, match="not a readable .pose file"):
        build_cache(rows + [ManifestRow(bad, "x", "en", "ase")], tmp_path / "c", progress=False)
    assert list((tmp_path / "c").iterdir()) == []


def test_synthetic_cache_lengths_and_normalization(tmp_path):
    lengths = synthetic_lengths(200_000, np.random.default_rng(0))
    assert abs(np.median(lengths) - 89) <= 2 and abs(np.percentile(lengths, 95) - 172) <= 4
    assert 93 <= lengths.mean() <= 99
    cache = build_synthetic_cache(50, tmp_path / "s", seed=1, progress=False)
    again = build_synthetic_cache(50, tmp_path / "s", seed=1, progress=False)
    assert cache.built and not again.built and len(cache) == 50
    half = build_synthetic_cache(50, tmp_path / "h", seed=1, dtype="float16", progress=False)
    for i in (0, 17, 49):
        frames, mask = cache.read(i)
        assert not frames[~mask].any() and mask[:, 11].all()
        a, b = normalized(frames, mask), normalized(*half.read(i))
        np.testing.assert_array_equal(a.mask, b.mask)
        assert np.abs(a.frames - b.frames).max() < 2e-3


# ---------------------------------------------------------------- shards


def _same_clips(a, b, ia, ib):
    for i, j in zip(ia, ib):
        for x, y in zip(a.read_stored(i), b.read_stored(j)):
            np.testing.assert_array_equal(x, y)
        assert a.texts[a.text_ids[i]] == b.texts[b.text_ids[j]] and a.rows[i] == b.rows[j]
        for name in ("lengths", "fps", "origins", "scales", "weights"):
            np.testing.assert_array_equal(getattr(a, name)[i], getattr(b, name)[j])


@pytest.mark.parametrize("dtype", ["float32", "float16"])
def test_sharded_cache_equals_the_one_file_cache_clip_by_clip(rows, tmp_path, dtype):
    many = [r for _ in range(60) for r in rows]                      # 240 clips, shards of 7
    whole = build_cache(many, tmp_path / "one", dtype=dtype, progress=False)
    sharded = build_cache(iter(many), tmp_path / "sharded", dtype=dtype, shard_clips=7, progress=False)
    assert sharded.built and len(sharded) == len(whole) == 240 and sharded.texts == whole.texts
    assert PackedCache.shard_count(tmp_path / "sharded") == 35 and len(sharded.files) == 35
    assert PackedCache.shard_count(tmp_path / "one") == 1
    _same_clips(whole, sharded, range(240), range(240))
    np.testing.assert_array_equal(whole.text_ids, sharded.text_ids)
    for i in (0, 8, 239):                                            # reads decode the same
        for x, y in zip(whole.read(i), sharded.read(i)):
            np.testing.assert_array_equal(x, y)
    a, b = (next(iter(make_loader(c, 16, seed=3, augment=True))) for c in (whole, sharded))
    np.testing.assert_array_equal(a.poses, b.poses)                  # the loader cannot tell them apart
    np.testing.assert_array_equal(a.indices, b.indices)
    # each shard opens alone, its clips numbered from 0; a rank takes several
    for k in (0, 13, 34):
        shard = PackedCache.open(tmp_path / "sharded", shards=[k])
        assert len(shard) == (7 if k < 34 else 240 - 34 * 7) and shard.texts == whole.texts
        _same_clips(whole, shard, range(7 * k, 7 * k + len(shard)), range(len(shard)))
        assert shard.frames.shape == (shard.num_frames, 203, 3)       # one shard maps whole
    rank = PackedCache.open(tmp_path / "sharded", shards=[1, 3])
    _same_clips(whole, rank, [*range(7, 14), *range(21, 28)], range(14))
    with pytest.raises(SignclipError, match="holds 35 shards; map one at a time"):
        _ = sharded.frames
    with pytest.raises(SignclipError, match=r"shards \[35\] do not exist; the cache has 35 \(0 to 34\)"):
        PackedCache.open(tmp_path / "sharded", shards=[35])
    # reused as is; a different shard size is another cache
    assert not build_cache(many, tmp_path / "sharded", dtype=dtype, shard_clips=7, progress=False).built
    assert build_cache(many, tmp_path / "sharded", dtype=dtype, shard_clips=50, progress=False).built
    assert PackedCache.shard_count(tmp_path / "sharded") == 5
    assert len(list((tmp_path / "sharded").glob("frames-*.npy"))) == 5   # the old generation removed


def test_failed_sharded_build_leaves_no_files(rows, tmp_path):
    bad = tmp_path / "bad.pose"
    bad.write_bytes(b"not a pose file at all")
    with pytest.raises(SignclipError, match="not a readable .pose file"):
        build_cache(rows * 3 + [ManifestRow(bad, "x", "en", "ase")], tmp_path / "c", shard_clips=2,
                    progress=False)
    assert list((tmp_path / "c").iterdir()) == []


def _build_peak(n: int, root, shard_clips) -> int:
    """tracemalloc's peak while writing n tiny clips (2 frames) with their manifest records."""
    import tracemalloc

    frames, mask = np.ones((2, 203, 3), np.float32), np.ones((2, 203), bool)
    tracemalloc.start()
    writer = cache_module.CacheWriter(root, f"{n:016x}", "float16", shard_clips=shard_clips)
    for i in range(n):
        writer.add(frames, mask, fps=25.0, text_id=i % 10,
                   record={"pose": f"/data/poses/clip-{i:08d}.pose", "text": f"word {i}", "signer": f"s{i}"})
    writer.commit(texts=[f"word {j}" for j in range(10)], meta={"normalization": {}})
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak


def test_sharded_build_memory_does_not_grow_with_the_clips(tmp_path):
    small, large = (_build_peak(n, tmp_path / f"s{n}", 100) for n in (200, 2000))
    assert large - small < 64 * 1024                 # measured: 8.5 MB both (the files' buffers), +7 KB
    # the one-file cache holds every record until index.json: its peak grows (measured: +750 KB)
    small1, large1 = (_build_peak(n, tmp_path / f"o{n}", None) for n in (200, 2000))
    assert large1 - small1 > 500 * 1024
