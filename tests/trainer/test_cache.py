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
