"""A tiny but real model bundle for runtime tests: random-weight SignCLIP towers exported to ONNX.

Follows the contract of `signclip.runtime.model.bundle` (what `signclip export` writes). Uses torch, as
tests may; the runtime under test does not.
"""

from __future__ import annotations

import csv
import io
import json
import shutil
from dataclasses import asdict
from pathlib import Path

import numpy as np

from signclip.runtime.model import bundle as B
from signclip.runtime.pose.layouts import MODEL_203

DATA = Path(__file__).resolve().parent / "data"
LEXICON = DATA / "lexicon"
TEMPLATE = "<{spoken}> <{signed}> {text}"
LETTERS = {"ase": ("en", "ABCDEFGHIKLMNOPQRSTUVWXY"), "gss": ("el", "ΑΒΓΔΕΖΗΘ"),
           "ise": ("it", ("vv", "A", "B", "C"))}
DIM = 16


def tiny_model(normalization=None):
    import torch

    from signclip.runtime.pose.normalize import NormalizationConfig
    from signclip.trainer.config import ModelCfg, PoseTowerCfg, TextTowerCfg
    from signclip.trainer.model import SignCLIP

    torch.manual_seed(0)
    cfg = ModelCfg(name="tiny", embed_dim=DIM,
                   pose=PoseTowerCfg(width=32, layers=1, heads=2, dropout=0.0, max_frames=256),
                   text=TextTowerCfg(pretrained=None, hidden=32, layers=1, heads=2, intermediate=64,
                                     max_tokens=16),
                   prompt_template=TEMPLATE, normalization=normalization or NormalizationConfig())
    return SignCLIP(cfg).eval(), cfg


def export_onnx(module, args, names, axes, path: Path) -> None:
    import warnings

    import torch

    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tracer warnings about shapes that are dynamic axes anyway
        torch.onnx.export(module, args, str(path), dynamo=False, opset_version=17,
                          input_names=list(names), output_names=["embedding"],
                          dynamic_axes={**axes, "embedding": {0: "batch"}})


def tokenizer_file() -> Path:
    from signclip.trainer.config import TextTowerCfg
    from signclip.trainer.model import tokenizer_path

    return tokenizer_path(TextTowerCfg())


def lexicon_rows() -> list:
    with open(LEXICON / "data.csv", newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def write_bundle(folder: Path, files: dict, vocabulary: dict, meta: dict) -> Path:
    """Write `files` {name: bytes}, vocabulary.npz and signclip.json with every sha256."""
    folder.mkdir(parents=True, exist_ok=True)
    buf = io.BytesIO()
    np.savez(buf, **vocabulary)
    files = {**files, B.VOCABULARY_FILE: buf.getvalue()}
    for name, data in files.items():
        (folder / name).write_bytes(data)
    meta = {**meta, "files": {n: B.sha256_file(folder / n) for n in files},
            "vocabulary": {"count": int(len(vocabulary["texts"])),
                           "languages": sorted(set(vocabulary["languages"].tolist())),
                           "sha256": B.vocabulary_hash(vocabulary["texts"], vocabulary["embeddings"])}}
    (folder / B.META_FILE).write_text(json.dumps(meta, indent=1, ensure_ascii=False))
    return folder


def make_tiny_bundle(folder: Path, with_clips: bool = True, empty: bool = False,
                     normalization=None) -> Path:
    """Export the tiny model, embed letter prompts (and the lexicon clips) into a bundle."""
    import torch

    from signclip.runtime.pose.io import read_pose
    from signclip.runtime.pose.normalize import preprocess

    model, cfg = tiny_model(normalization)
    work = folder.parent / f".{folder.name}.onnx"
    work.mkdir(parents=True, exist_ok=True)
    x = torch.randn(2, 12, 609)
    mask = torch.ones(2, 12, dtype=torch.bool)
    mask[1, 6:] = False
    export_onnx(model.pose, (x, mask), ("poses", "mask"),
                {"poses": {0: "batch", 1: "frames"}, "mask": {0: "batch", 1: "frames"}},
                work / "pose_encoder.onnx")
    ids = torch.randint(1000, 2000, (2, 7))
    att = torch.ones(2, 7, dtype=torch.long)
    att[1, 4:] = 0
    export_onnx(model.text, (ids, att), ("input_ids", "attention_mask"),
                {"input_ids": {0: "batch", 1: "tokens"}, "attention_mask": {0: "batch", 1: "tokens"}},
                work / "text_encoder.onnx")

    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(tokenizer_file()))
    tok.enable_truncation(max_length=cfg.text.max_tokens)
    tok.enable_padding()
    texts, labels, languages = [], [], []
    for signed, (spoken, letters) in ([] if empty else LETTERS.items()):
        for letter in letters:
            texts.append(TEMPLATE.format(spoken=spoken, signed=signed, text=letter))
            labels.append(letter)
            languages.append(signed)
    if texts:
        enc = tok.encode_batch(texts)
        with torch.no_grad():
            emb = model.text(torch.tensor([e.ids for e in enc]),
                             torch.tensor([e.attention_mask for e in enc])).numpy()
    else:
        emb = np.zeros((0, DIM), np.float32)
    vocabulary = {"texts": np.array(texts, dtype=str), "labels": np.array(labels, dtype=str),
                  "languages": np.array(languages, dtype=str), "embeddings": emb.astype(np.float32)}
    if with_clips and not empty:
        rows = lexicon_rows()
        inputs = [preprocess(read_pose(LEXICON / r["path"]), cfg.normalization) for r in rows]
        clip_emb = []
        with torch.no_grad():
            for m in inputs:
                f = torch.from_numpy(m.features)[None]
                clip_emb.append(model.pose(f, torch.ones(1, len(m.features), dtype=torch.bool))[0].numpy())
        vocabulary.update(clip_embeddings=np.stack(clip_emb).astype(np.float32),
                          clip_labels=np.array([r["words"] for r in rows], dtype=str),
                          clip_languages=np.array([r["signed_language"] for r in rows], dtype=str))
    meta = {"schema_version": B.SCHEMA_VERSION,
            "model": json.loads(json.dumps(asdict(cfg))),
            "layout": [list(p) for p in MODEL_203.points],
            "normalization": asdict(cfg.normalization),
            "fps": 25, "max_frames": 256, "embedding_dim": DIM,
            "logit_scale": float(model.logit_scale().detach()), "prompt_template": TEMPLATE,
            "encoders": {"pose": "pose_encoder.onnx", "text": "text_encoder.onnx"},
            "tools": {"torch": torch.__version__},
            "parity": {"fp32": {"max_abs_diff": 0.0}}}
    files = {"pose_encoder.onnx": (work / "pose_encoder.onnx").read_bytes(),
             "text_encoder.onnx": (work / "text_encoder.onnx").read_bytes(),
             B.TOKENIZER_FILE: tokenizer_file().read_bytes()}
    shutil.rmtree(work, ignore_errors=True)
    return write_bundle(folder, files, vocabulary, meta)


def torch_pose_embedding(features: np.ndarray) -> np.ndarray:
    """The tiny model's pose embedding in torch, for parity checks against ONNX Runtime."""
    import torch

    model, _ = tiny_model()
    with torch.no_grad():
        f = torch.from_numpy(np.ascontiguousarray(features, np.float32))[None]
        return model.pose(f, torch.ones(1, len(features), dtype=torch.bool))[0].numpy()
