"""The model bundle: the contract between `signclip export` and the runtime.

A folder with `signclip.json` (metadata, sha256 of every file), ONNX encoders, `tokenizer.json` and
`vocabulary.npz`. Loading validates schema version, hashes, layout and embedding size, and names
every problem it finds.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np

from .errors import SignclipError
from .layouts import MODEL_203
from .normalize import NormalizationConfig

SCHEMA_VERSION = 1
META_FILE = "signclip.json"
TOKENIZER_FILE = "tokenizer.json"
VOCABULARY_FILE = "vocabulary.npz"
ENV_VAR = "SIGNCLIP_BUNDLE"
VOCABULARY_ARRAYS = ("texts", "labels", "languages", "embeddings")  # required in vocabulary.npz


def sha256_file(path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def vocabulary_hash(texts, embeddings: np.ndarray) -> str:
    """Identity of a vocabulary: its texts in order and their float32 embeddings."""
    h = hashlib.sha256("\n".join(str(t) for t in texts).encode())
    h.update(np.ascontiguousarray(embeddings, dtype=np.float32).tobytes())
    return h.hexdigest()


@dataclass(frozen=True)
class Vocabulary:
    """Entries to look up: `label` is the bare word or letter, `text` the prompt it was embedded from."""

    texts: np.ndarray        # (N,) str
    labels: np.ndarray       # (N,) str
    languages: np.ndarray    # (N,) str, sign language code (ISO 639-3)
    embeddings: np.ndarray   # (N, D) float32, unit rows

    def __len__(self) -> int:
        return len(self.texts)


@dataclass(frozen=True)
class Bundle:
    path: Path
    meta: dict

    @property
    def embedding_dim(self) -> int:
        return int(self.meta["embedding_dim"])

    @property
    def normalization(self) -> NormalizationConfig:
        return NormalizationConfig(**self.meta["normalization"])

    @property
    def max_frames(self) -> int:
        return int(self.meta["max_frames"])

    @property
    def prompt_template(self) -> str:
        return str(self.meta["prompt_template"])

    def file(self, name: str) -> Path:
        return self.path / name

    def encoder_file(self, tower: str) -> Path:
        """The ONNX file the runtime runs by default for a tower ('pose' or 'text')."""
        return self.file(self.meta["encoders"][tower])

    def vocabulary(self) -> Vocabulary:
        with np.load(self.file(VOCABULARY_FILE), allow_pickle=False) as z:
            return Vocabulary(*(z[k] for k in VOCABULARY_ARRAYS))


def default_bundle_path() -> Path:
    """$SIGNCLIP_BUNDLE, else the default bundle shipped inside the package."""
    if os.environ.get(ENV_VAR):
        return Path(os.environ[ENV_VAR])
    return Path(str(resources.files("signclip.runtime.models") / "default"))


def _problems(path: Path, meta: dict, verify_hashes: bool) -> list:
    problems = []
    if meta.get("schema_version") != SCHEMA_VERSION:
        problems.append(f"schema version {meta.get('schema_version')!r}, this runtime reads "
                        f"{SCHEMA_VERSION}")
        return problems
    required = ("model", "layout", "normalization", "fps", "max_frames", "embedding_dim",
                "logit_scale", "prompt_template", "vocabulary", "files", "encoders")
    missing = [k for k in required if k not in meta]
    if missing:
        return [f"signclip.json lacks {', '.join(missing)}"]
    if [tuple(p) for p in meta["layout"]] != list(MODEL_203.points):
        problems.append("keypoint layout differs from this runtime's 203-point model layout")
    for name, digest in meta["files"].items():
        f = path / name
        if not f.is_file():
            problems.append(f"{name} is missing")
        elif verify_hashes and sha256_file(f) != digest:
            problems.append(f"{name} does not match its sha256 (corrupt or changed)")
    for tower, name in meta["encoders"].items():
        if name not in meta["files"]:
            problems.append(f"{tower} encoder {name} is not among the bundle's files")
    if not problems:
        try:
            with np.load(path / VOCABULARY_FILE, allow_pickle=False) as z:
                arrays = {k: z[k] for k in VOCABULARY_ARRAYS}
        except Exception as e:
            return [f"{VOCABULARY_FILE} is unreadable ({type(e).__name__})"]
        emb = arrays["embeddings"]
        if emb.ndim != 2 or emb.shape[1] != meta["embedding_dim"]:
            problems.append(f"vocabulary embeddings have shape {emb.shape}, expected "
                            f"(N, {meta['embedding_dim']})")
        elif vocabulary_hash(arrays["texts"], emb) != meta["vocabulary"].get("sha256"):
            problems.append("vocabulary does not match its hash in signclip.json")
    return problems


def load_bundle(path=None, verify_hashes: bool = True) -> Bundle:
    """Load and validate a bundle folder; one SignclipError naming every problem found."""
    path = Path(path) if path else default_bundle_path()
    meta_file = path / META_FILE
    if not meta_file.is_file():
        raise SignclipError(f"{path}: not a model bundle (no {META_FILE}); export one with "
                            f"`signclip export` or set {ENV_VAR}")
    try:
        meta = json.loads(meta_file.read_text())
    except (ValueError, UnicodeDecodeError) as e:
        raise SignclipError(f"{meta_file}: not valid JSON ({e.__class__.__name__})") from e
    if not isinstance(meta, dict):
        raise SignclipError(f"{meta_file}: expected a JSON object")
    problems = _problems(path, meta, verify_hashes)
    if problems:
        raise SignclipError(f"bundle {path}: " + "; ".join(problems))
    return Bundle(path, meta)
