"""The cache archive (what the GPU machine gets): smaller than the cache, and unpacked byte for byte."""

import shutil
from pathlib import Path

import numpy as np
import pytest

from signclip.runtime.errors import SignclipError
from signclip.trainer.cache import build_cache
from signclip.trainer.cache_archive import read_archive, write_archive
from signclip.trainer.lexicon import lexicon_rows

LEXICON = Path(__file__).parents[1] / "data" / "lexicon"


def files(folder: Path) -> dict:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}


@pytest.mark.parametrize("dtype", ["float16", "float32"])
def test_archive_unpacks_to_the_same_cache_files(tmp_path, dtype):
    shutil.copytree(LEXICON, tmp_path / "lex")
    cache = build_cache(lexicon_rows(tmp_path / "lex"), tmp_path / "cache", dtype=dtype, progress=False)
    archive = write_archive(cache, tmp_path / "lexicon.npz")
    packed = sum(len(b) for b in files(tmp_path / "cache").values())
    assert archive.stat().st_size < 0.7 * packed    # 4 short clips, every point seen: little to drop

    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "frames-0000000000000000.npy").write_bytes(b"stale")   # an earlier generation
    again = read_archive(archive, tmp_path / "out")
    assert files(tmp_path / "out") == files(tmp_path / "cache")
    assert again.key == cache.key and again.texts == cache.texts and again.rows == cache.rows
    for i in range(len(cache)):
        for got, want in zip(again.read(i), cache.read(i)):
            np.testing.assert_array_equal(got, want)


def test_a_value_at_a_masked_point_is_refused(tmp_path):
    shutil.copytree(LEXICON, tmp_path / "lex")
    cache = build_cache(lexicon_rows(tmp_path / "lex"), tmp_path / "cache", dtype="float16", progress=False)
    observed = np.unpackbits(np.asarray(cache.mask), axis=1, count=203).astype(bool)
    frame, point = np.argwhere(~observed)[0]
    frames = np.load(cache.root / f"frames-{cache.tag}.npy", mmap_mode="r+")
    frames[frame, point, 0] = -0.0        # a bit pattern that is not zero
    frames.flush()
    del frames
    with pytest.raises(SignclipError, match="masked point"):
        write_archive(cache, tmp_path / "lexicon.npz")
