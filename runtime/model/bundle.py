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

from ..errors import SignclipError
from ..pose.layouts import MODEL_203
from ..pose.normalize import NormalizationConfig

SCHEMA_VERSION = 1
META_FILE = "signclip.json"
TOKENIZER_FILE = "tokenizer.json"
VOCABULARY_FILE = "vocabulary.npz"
ENV_VAR = "SIGNCLIP_BUNDLE"
VOCABULARY_ARRAYS = ("texts", "labels", "languages", "embeddings")  # required in vocabulary.npz
# optional in vocabulary.npz: pose embeddings of real clips, searched by text queries (text to sign)
CLIP_ARRAYS = ("clip_embeddings", "clip_labels", "clip_languages")
CLIP_TEXTS = "clip_texts"
REQUIRED_META = ("model", "layout", "normalization", "fps", "max_frames", "embedding_dim",
                 "logit_scale", "prompt_template", "vocabulary", "files", "encoders")
TOWERS = ("pose", "text")
REQUIRED_TOWERS = ("pose",)  # a pose-only bundle answers text queries from its vocabulary


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
    clip_embeddings: np.ndarray | None = None  # (M, D) float32 pose embeddings of example clips
    clip_labels: np.ndarray | None = None      # (M,) str
    clip_languages: np.ndarray | None = None   # (M,) str
    clip_texts: np.ndarray | None = None       # (M,) str, defaults to the labels

    def __len__(self) -> int:
        return len(self.texts)

    @property
    def has_clips(self) -> bool:
        return self.clip_embeddings is not None and len(self.clip_embeddings) > 0


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
    def fps(self) -> float:
        """The frame rate the model trained at: clips and cameras are brought to it."""
        return float(self.meta["fps"])

    @property
    def max_frames(self) -> int:
        return int(self.meta["max_frames"])

    @property
    def prompt_template(self) -> str:
        return str(self.meta["prompt_template"])

    def file(self, name: str) -> Path:
        return self.path / name

    @property
    def has_text_encoder(self) -> bool:
        return "text" in self.meta["encoders"]

    def encoder_file(self, tower: str) -> Path:
        """The ONNX file the runtime runs by default for a tower ('pose' or 'text')."""
        return self.file(self.meta["encoders"][tower])

    @property
    def model_hash(self) -> str:
        """sha256 of the pose encoder's ONNX: what personal vocabularies are keyed by."""
        return str(self.meta["files"][self.meta["encoders"]["pose"]])

    @property
    def max_tokens(self) -> int:
        text = self.meta["model"].get("text", {}) if isinstance(self.meta["model"], dict) else {}
        return int(text.get("max_tokens", 32)) if isinstance(text, dict) else 32

    @property
    def signs(self) -> frozenset:
        """(label, language) of the vocabulary's lexical signs: never letters, however short (ASL's WHY)."""
        return frozenset((str(label), str(lang)) for label, lang in self.meta["vocabulary"].get("signs", []))

    @property
    def parity(self) -> dict:
        return dict(self.meta.get("parity") or {})

    def vocabulary(self) -> Vocabulary:
        return _read_vocabulary(self.file(VOCABULARY_FILE))


def _read_vocabulary(path: Path) -> Vocabulary:
    with np.load(path, allow_pickle=False) as z:
        arrays = {k: z[k] for k in VOCABULARY_ARRAYS}
        for k in (*CLIP_ARRAYS, CLIP_TEXTS):
            arrays[k] = z[k] if k in z.files else None
    for k in ("texts", "labels", "languages", "clip_labels", "clip_languages", "clip_texts"):
        if arrays[k] is not None:
            arrays[k] = arrays[k].astype(str)
    if arrays["clip_embeddings"] is not None and arrays["clip_texts"] is None:
        arrays["clip_texts"] = arrays["clip_labels"]
    return Vocabulary(**arrays)


def default_bundle_path() -> Path:
    """$SIGNCLIP_BUNDLE, else the default bundle shipped inside the package."""
    if os.environ.get(ENV_VAR):
        return Path(os.environ[ENV_VAR])
    return Path(str(resources.files("signclip.runtime.models") / "default"))


def _meta_problems(meta: dict) -> list:
    """Type checks of signclip.json's fields, so that a malformed file is an error, not a crash."""
    missing = [k for k in REQUIRED_META if k not in meta]
    if missing:
        return [f"signclip.json lacks {', '.join(missing)}"]
    problems = []
    for key in ("embedding_dim", "max_frames"):
        v = meta[key]
        if not isinstance(v, int) or isinstance(v, bool) or v <= 0:
            problems.append(f"{key} is {v!r}, expected a positive integer")
    for key in ("model", "normalization", "vocabulary", "files", "encoders"):
        if not isinstance(meta[key], dict):
            problems.append(f"{key} is not a JSON object")
    if not isinstance(meta["layout"], list) or not all(
            isinstance(p, list) and len(p) == 2 and all(isinstance(x, str) for x in p)
            for p in meta["layout"]):
        problems.append("layout is not a list of [component, point] pairs")
    if not isinstance(meta["prompt_template"], str):
        problems.append("prompt_template is not a string")
    if not isinstance(meta["fps"], (int, float)) or isinstance(meta["fps"], bool):
        problems.append(f"fps is {meta['fps']!r}, expected a number")
    if problems:
        return problems
    files = meta["files"]
    if not all(isinstance(k, str) and isinstance(v, str) for k, v in files.items()):
        problems.append("files must map file names to sha256 strings")
    elif any(Path(k).is_absolute() or ".." in Path(k).parts or not k for k in files):
        problems.append("files names must stay inside the bundle folder")
    for tower in REQUIRED_TOWERS:
        if not isinstance(meta["encoders"].get(tower), str):
            problems.append(f"encoders.{tower} is missing or not a file name "
                            f"(encoders: {sorted(meta['encoders'])})")
    if not isinstance(meta["vocabulary"].get("sha256"), str):
        problems.append("vocabulary.sha256 is missing")
    try:
        NormalizationConfig(**meta["normalization"])
    except TypeError:
        problems.append(f"normalization has unknown fields {sorted(meta['normalization'])}; known: "
                        f"{sorted(NormalizationConfig.__dataclass_fields__)}")
    return problems


def _vocabulary_problems(path: Path, dim: int, expected_hash: str) -> list:
    try:
        vocab = _read_vocabulary(path)
    except Exception as e:  # zip, npy and dtype errors of many kinds on a corrupt file
        return [f"{VOCABULARY_FILE} is unreadable ({type(e).__name__})"]
    problems = []
    emb = vocab.embeddings
    n = len(vocab.texts)
    if emb.ndim != 2 or emb.shape[1] != dim or not np.issubdtype(emb.dtype, np.floating):
        return [f"vocabulary embeddings have shape {emb.shape} ({emb.dtype}), expected (N, {dim}) float"]
    if vocab.texts.ndim != 1 or len(vocab.labels) != n or len(vocab.languages) != n or len(emb) != n:
        problems.append(f"vocabulary arrays differ in length (texts {vocab.texts.shape}, labels "
                        f"{vocab.labels.shape}, languages {vocab.languages.shape}, embeddings {emb.shape})")
    elif vocabulary_hash(vocab.texts, emb) != expected_hash:
        problems.append("vocabulary does not match its hash in signclip.json")
    if not np.isfinite(emb).all():
        problems.append("vocabulary embeddings hold NaN or infinity")
    present = [k for k in CLIP_ARRAYS if getattr(vocab, k) is not None]
    if present and len(present) != len(CLIP_ARRAYS):
        problems.append(f"vocabulary has {', '.join(present)} but needs all of {', '.join(CLIP_ARRAYS)}")
    elif present:
        clips = vocab.clip_embeddings
        m = len(clips) if clips.ndim else -1
        if clips.ndim != 2 or clips.shape[1] != dim or not np.issubdtype(clips.dtype, np.floating):
            problems.append(f"clip_embeddings have shape {clips.shape}, expected (M, {dim}) float")
        elif any(getattr(vocab, k).shape != (m,) for k in ("clip_labels", "clip_languages", "clip_texts")):
            problems.append("clip_labels, clip_languages and clip_texts must have one entry per clip")
        elif not np.isfinite(clips).all():
            problems.append("clip_embeddings hold NaN or infinity")
    return problems


def _problems(path: Path, meta: dict, verify_hashes: bool) -> list:
    problems = []
    if meta.get("schema_version") != SCHEMA_VERSION:
        problems.append(f"schema version {meta.get('schema_version')!r}, this runtime reads "
                        f"{SCHEMA_VERSION}")
        return problems
    problems = _meta_problems(meta)
    if problems:
        return problems
    if [tuple(p) for p in meta["layout"]] != list(MODEL_203.points):
        problems.append("keypoint layout differs from this runtime's 203-point model layout")
    for name, digest in meta["files"].items():
        f = path / name
        if not f.is_file():
            problems.append(f"{name} is missing")
        elif verify_hashes and sha256_file(f) != digest:
            problems.append(f"{name} does not match its sha256 (corrupt or changed)")
    for tower, name in meta["encoders"].items():
        if tower not in TOWERS or not isinstance(name, str):
            problems.append(f"encoders.{tower} is not a known tower with a file name (known: {TOWERS})")
        elif name not in meta["files"]:
            problems.append(f"{tower} encoder {name} is not among the bundle's files")
    for name in (TOKENIZER_FILE, VOCABULARY_FILE):
        if name not in meta["files"]:
            problems.append(f"{name} is not among the bundle's files")
    if not problems:
        problems += _vocabulary_problems(path / VOCABULARY_FILE, meta["embedding_dim"],
                                         meta["vocabulary"]["sha256"])
    return problems


def load_bundle(path=None, verify_hashes: bool = True) -> Bundle:
    """Load and validate a bundle folder; one SignclipError naming every problem found.

    Without `path`: $SIGNCLIP_BUNDLE, else the default bundle inside the package.
    """
    explicit = bool(path)
    path = Path(path) if path else default_bundle_path()
    meta_file = path / META_FILE
    if not meta_file.is_file():
        if not explicit:
            raise SignclipError(f"no model bundle at {path} (the default"
                                f"{' from $' + ENV_VAR if os.environ.get(ENV_VAR) else ''}); pass "
                                f"--bundle DIR, set {ENV_VAR}, or export one with `signclip export`")
        raise SignclipError(f"{path}: not a model bundle (no {META_FILE}); export one with "
                            f"`signclip export` or set {ENV_VAR}")
    try:
        meta = json.loads(meta_file.read_bytes().decode("utf-8"))
    except (ValueError, UnicodeDecodeError, RecursionError) as e:
        raise SignclipError(f"{meta_file}: not valid JSON ({e.__class__.__name__})") from e
    if not isinstance(meta, dict):
        raise SignclipError(f"{meta_file}: expected a JSON object")
    problems = _problems(path, meta, verify_hashes)
    if problems:
        raise SignclipError(f"bundle {path}: " + "; ".join(problems))
    return Bundle(path, meta)
