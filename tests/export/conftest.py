"""Tiny SignCLIP checkpoints (random weights, real shapes) and real lexicon clips for export tests."""

from __future__ import annotations

import csv
import dataclasses

import numpy as np
import pytest
import torch

from signclip.export import data
from signclip.runtime.pose.normalize import NormalizationConfig
from signclip.trainer.checkpoint import load_checkpoint, save_checkpoint
from signclip.trainer.config import TextTowerCfg, load_config
from signclip.trainer.model import SignCLIP


def tiny_config(embed_dim: int = 32):
    """edge-small with narrow towers; the text tower random (MiniLM's tokenizer, its vocab size)."""
    cfg = load_config("edge-small")
    pose = dataclasses.replace(cfg.model.pose, width=32, layers=1, heads=2)
    text = TextTowerCfg(pretrained=None, hidden=32, layers=1, heads=2, intermediate=64, frozen=False)
    return dataclasses.replace(cfg, model=dataclasses.replace(cfg.model, embed_dim=embed_dim, pose=pose,
                                                              text=text))


@pytest.fixture(scope="session")
def tiny_checkpoint(tmp_path_factory):
    torch.manual_seed(0)
    cfg = tiny_config()
    return save_checkpoint(tmp_path_factory.mktemp("ckpt") / "tiny", SignCLIP(cfg.model), cfg)


@pytest.fixture(scope="session")
def tiny_model(tiny_checkpoint):
    return load_checkpoint(tiny_checkpoint)[0].eval()


@pytest.fixture(scope="session")
def lexicon():
    return data.lexicon_entries()


@pytest.fixture(scope="session")
def real_clips(lexicon):
    """Features [T, 609] of 12 real lexicon clips spread over the sign languages, plus the longest."""
    picked = data.spread(lexicon, 12)
    return [data.clip_features(e, NormalizationConfig(), 256) for e in picked]


@pytest.fixture(scope="session")
def small_manifest(tmp_path_factory, lexicon):
    """A CSV manifest of 16 real lexicon clips (absolute pose paths)."""
    path = tmp_path_factory.mktemp("manifest") / "clips.csv"
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["pose", "text", "spoken_language", "sign_language"])
        for e in data.spread(lexicon, 16):
            w.writerow([str(e.pose), e.text, e.spoken_language, e.sign_language])
    return path


def _to_length(clip: np.ndarray, frames: int) -> np.ndarray:
    reps = -(-frames // len(clip))
    return np.ascontiguousarray(np.concatenate([clip] * reps)[:frames])


@pytest.fixture(scope="session")
def to_length():
    """A real clip at exactly `frames` frames (repeated or cut), to test fixed lengths on real poses."""
    return _to_length
