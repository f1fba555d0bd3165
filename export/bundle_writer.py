"""Writes the bundle's metadata and vocabulary in the format `signclip.runtime.model.bundle` loads."""

from __future__ import annotations

import json
import platform
from dataclasses import asdict
from importlib import metadata
from pathlib import Path

import numpy as np

from signclip.runtime.atomic import atomic_write_bytes
from signclip.runtime.model.bundle import (
    META_FILE,
    SCHEMA_VERSION,
    VOCABULARY_FILE,
    sha256_file,
    vocabulary_hash,
)
from signclip.runtime.model.encoders import unit
from signclip.runtime.model.selfcheck import SELFCHECK_FILE
from signclip.runtime.pose.layouts import MODEL_203

TOOLS = ("signclip-edge", "torch", "onnx", "onnxruntime", "onnxscript", "tokenizers", "numpy",
         "transformers", "tensorrt")


def tool_versions() -> dict:
    """Versions of the packages that made the bundle (those installed), and Python's."""
    versions = {"python": platform.python_version()}
    for name in TOOLS:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return versions


def write_vocabulary(folder: Path, vocab, embeddings: np.ndarray, extra: dict | None = None) -> str:
    """vocabulary.npz (texts, labels, languages, embeddings, plus `extra` arrays); returns its hash."""
    arrays = {"texts": np.array(vocab.texts, dtype=str), "labels": np.array(vocab.labels, dtype=str),
              "languages": np.array(vocab.languages, dtype=str),
              "embeddings": np.ascontiguousarray(embeddings, dtype=np.float32)}
    arrays.update(extra or {})
    with open(folder / VOCABULARY_FILE, "wb") as f:
        np.savez(f, **arrays)  # uncompressed: the runtime can memory-map it; floats barely compress
    return vocabulary_hash(arrays["texts"], arrays["embeddings"])


CREDITS_FILE = "CREDITS.md"


def write_credits(folder: Path, credits: list) -> None:
    """CREDITS.md: the training data whose license asks for credit wherever a model trained on it ships."""
    lines = ["# Training data credits", "",
             "This model was trained on the data below; its license asks for this credit.", ""]
    lines += [f"- **{c['name']}** ({c['license']}): {c['credit']}" for c in credits]
    atomic_write_bytes(folder / CREDITS_FILE, ("\n".join(lines) + "\n").encode())


SELFCHECK_CLIPS = 8
SELFCHECK_MAX_FRAMES = 64  # short clips keep the file small (float16, compressed: about 100 kB)


def pick_selfcheck(reference: np.ndarray, exported: np.ndarray, lengths, count: int = SELFCHECK_CLIPS,
                   max_frames: int = SELFCHECK_MAX_FRAMES) -> np.ndarray:
    """Indices of the clips whose exported embedding strays furthest from the FP32 model's: those a
    kernel's rounding moves first."""
    cos = np.sum(unit(reference) * unit(exported), axis=1)
    short = np.flatnonzero(np.asarray(lengths) <= max_frames)
    pool = short if len(short) >= count else np.arange(len(cos))
    return pool[np.argsort(cos[pool], kind="stable")[:count]]


def write_selfcheck(folder: Path, clips: list, reference: np.ndarray, exported: np.ndarray) -> None:
    """selfcheck.npz: clips [T_i, F] (exact in float16), the FP32 model's embeddings of them and the
    shipped graph's on the exporting machine, which `signclip doctor` compares with its own."""
    lengths = np.array([len(c) for c in clips], np.int64)
    poses = np.concatenate(clips).astype(np.float16)
    if not np.array_equal(poses.astype(np.float32), np.concatenate(clips)):
        raise ValueError("self-check clips must be exact in float16: round them before embedding")
    with open(folder / SELFCHECK_FILE, "wb") as f:
        np.savez_compressed(f, poses=poses, lengths=lengths, reference=reference.astype(np.float32),
                            exported=exported.astype(np.float32))


def build_meta(*, model_cfg, logit_scale: float, fps: float, vocab, vocab_sha: str, encoders: dict,
               parity: dict, tokenizer: dict, format_name: str, folder: Path, credits=(),
               int8: dict | None = None, signs=()) -> dict:
    """signclip.json: everything the runtime checks, with the sha256 of every file in `folder`."""
    files = {p.name: sha256_file(p) for p in sorted(folder.iterdir())
             if p.is_file() and p.name != META_FILE}
    return {
        "schema_version": SCHEMA_VERSION,
        "format": format_name,
        "model": asdict(model_cfg),
        "layout": [list(p) for p in MODEL_203.points],
        "normalization": asdict(model_cfg.normalization),
        "fps": float(fps),
        "max_frames": int(model_cfg.pose.max_frames),
        "embedding_dim": int(model_cfg.embed_dim),
        "logit_scale": float(logit_scale),
        "prompt_template": model_cfg.prompt_template,
        "tokenizer": tokenizer,
        "vocabulary": {"count": len(vocab), "languages": sorted(set(vocab.languages)),
                       "sha256": vocab_sha,
                       "signs": [list(s) for s in signs]},  # lexical signs: never read as letters
        "files": files,
        "encoders": encoders,
        "tools": tool_versions(),
        "parity": parity,
        "int8": dict(int8 or {}),         # tower -> the INT8 scheme of its graph (int8_scheme.describe)
        "training_data": list(credits),   # name, license, credit of the sets that ask for credit
    }


def write_meta(folder: Path, meta: dict) -> None:
    atomic_write_bytes(folder / META_FILE, (json.dumps(meta, indent=2) + "\n").encode())
