"""Personal vocabulary: signs a user taught, stored as prototype embeddings (few-shot prompting).

A sign's prototype is the mean of its examples' unit embeddings, renormalized (the paper's class
prototype); every example is kept so that teaching more examples refines it, and so is each take's
clip (as the bundle's reference clips are kept: `model/references.py`'s unit box, float16), which
makes the take a sign template of its word (engine.py's read_signs). One `.npz` per model
in the user's data folder, keyed by embedding size and the pose encoder's hash; written atomically.
Labels are checked once, when taught (`clean_label`). Locking, the last good copy and recovery are
`personal_store.py`'s.
"""

from __future__ import annotations

import io
import json
import unicodedata
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from ..atomic import atomic_write_bytes
from ..errors import SignclipError
from ..home import data_dir
from ..model.references import BOXED_POINT, no_clip, pack_clips

FORMAT_VERSION = 2           # 2: each example's take kept (take_frames, take_offsets); 1 read as without
ANY_LANGUAGE = ""            # a sign taught without --language matches every language filter
LABEL_MAX = 64               # characters of a taught label (Unicode code points, after NFC)
LANGUAGE_MAX = 16            # characters of a taught sign's language code
ARRAYS = ("labels", "languages", "prototypes", "examples", "example_sign", "example_sources")
TAKE_ARRAYS = ("take_frames", "take_offsets")  # absent from format 1 files
# Bidirectional overrides and isolates reorder the text around them on screen (a label could show
# as another word); they count as control characters here, with the C0/C1 controls.
_BIDI_CONTROLS = set("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def vocabulary_path(dim: int, model_hash: str, home: Path | None = None) -> Path:
    return (home or data_dir()) / "personal" / f"d{dim}-{model_hash[:16]}.npz"


def clean_label(text: str, what: str = "label", limit: int = LABEL_MAX) -> str:
    """`text` as stored: Unicode NFC (two spellings of one word are one sign), outer spaces removed.
    SignclipError when it is empty, longer than `limit` characters or holds a control character."""
    text = unicodedata.normalize("NFC", str(text)).strip()
    if not text:
        raise SignclipError(f"the {what} of a taught sign cannot be empty")
    for i, ch in enumerate(text):
        # Cc: C0/C1 controls (newline, tab, escape); Cs: lone surrogates (undecodable bytes in
        # argv); Zl/Zp: line and paragraph separators. All of them break a table row.
        if unicodedata.category(ch) in ("Cc", "Cs", "Zl", "Zp") or ch in _BIDI_CONTROLS:
            raise SignclipError(f"the {what} {ascii(text[:limit])} holds a control character "
                                f"(U+{ord(ch):04X} at position {i + 1}); use printable text")
    if len(text) > limit:
        raise SignclipError(f"the {what} {text[:20]!r}... is {len(text)} characters long; at most "
                            f"{limit} are allowed")
    return text


def clean_language(language: str | None) -> str:
    """A taught sign's language: ANY_LANGUAGE when not given, else checked like a label."""
    if language is None or not str(language).strip():
        return ANY_LANGUAGE
    return clean_label(language, "language", LANGUAGE_MAX)


def _nfc(values: np.ndarray) -> np.ndarray:
    """Stored labels in NFC, for comparing (files written before labels were normalized)."""
    return np.array([unicodedata.normalize("NFC", str(v)) for v in values], dtype=str)


def no_takes(examples: int) -> tuple:
    """(take_frames, take_offsets) of `examples` examples whose takes were not kept."""
    return pack_clips([no_clip()] * examples)


def _unit(x: np.ndarray) -> np.ndarray:
    return (x / np.maximum(np.linalg.norm(x, axis=-1, keepdims=True), 1e-12)).astype(np.float32)


@dataclass(frozen=True)
class PersonalVocabulary:
    """Taught signs: one prototype per (label, language), and every example embedding."""

    dim: int
    model_hash: str
    labels: np.ndarray            # (M,) str
    languages: np.ndarray         # (M,) str, ANY_LANGUAGE when not given
    prototypes: np.ndarray        # (M, D) float32, unit rows
    examples: np.ndarray          # (E, D) float32, unit rows
    example_sign: np.ndarray      # (E,) int64, row of `labels` each example belongs to
    example_sources: np.ndarray   # (E,) str, the file each example came from
    take_frames: np.ndarray       # (sum T, 75, 2) float16, each example's clip in its unit box, NaN unseen
    take_offsets: np.ndarray      # (E + 1,) int64, where each example's take starts (empty: not kept)

    @classmethod
    def empty(cls, dim: int, model_hash: str) -> PersonalVocabulary:
        s = np.zeros(0, dtype=str)
        return cls(dim, model_hash, s, s, np.zeros((0, dim), np.float32), np.zeros((0, dim), np.float32),
                   np.zeros(0, np.int64), s, *no_takes(0))

    def __len__(self) -> int:
        return len(self.labels)

    def signs(self) -> list:
        """(label, language, number of examples) of every taught sign."""
        counts = np.bincount(self.example_sign, minlength=len(self.labels))
        return [(str(la), str(lg), int(c)) for la, lg, c in zip(self.labels, self.languages, counts,
                                                                   strict=True)]

    def take(self, example: int) -> np.ndarray:
        """Example `example`'s take, float16 [T, 75, 2] (T = 0 where it was not kept)."""
        return self.take_frames[self.take_offsets[example]:self.take_offsets[example + 1]]

    def takes_of(self, row: int) -> list:
        """The kept takes of sign `row`, in the order they were taught."""
        return [t for t in map(self.take, np.flatnonzero(self.example_sign == row)) if len(t)]

    def _find(self, label: str, language: str) -> int:
        hits = np.flatnonzero((_nfc(self.labels) == label) & (self.languages == language))
        return int(hits[0]) if len(hits) else -1

    def with_examples(self, label: str, embeddings: np.ndarray, sources, language: str = ANY_LANGUAGE,
                      takes: list | None = None) -> PersonalVocabulary:
        """A new vocabulary with the examples added to `label` (created if new); prototype refit.
        `takes`: each example's clip as model/references.py's unit_box gives it (None: not kept)."""
        label, language = clean_label(label), clean_language(language)
        embeddings = np.asarray(embeddings, np.float32)
        if embeddings.ndim != 2 or embeddings.shape[1] != self.dim or len(embeddings) == 0:
            raise SignclipError(f"teach needs at least one {self.dim}-dim embedding, got {embeddings.shape}")
        takes = [no_clip()] * len(embeddings) if takes is None else list(takes)
        if len(takes) != len(embeddings) or any(np.shape(t)[1:] != BOXED_POINT for t in takes):
            raise SignclipError(f"teach needs one [T, 75, 2] take per example, got {len(takes)} for "
                                f"{len(embeddings)}")
        labels, languages, prototypes = self.labels, self.languages, self.prototypes
        row = self._find(label, language)
        if row < 0:
            row = len(labels)
            labels = np.append(labels, label).astype(str)
            languages = np.append(languages, language).astype(str)
            prototypes = np.concatenate([prototypes, np.zeros((1, self.dim), np.float32)])
        examples = np.concatenate([self.examples, _unit(embeddings)])
        example_sign = np.concatenate([self.example_sign, np.full(len(embeddings), row, np.int64)])
        example_sources = np.append(self.example_sources, [str(s) for s in sources]).astype(str)
        prototypes = prototypes.copy()
        prototypes[row] = _unit(examples[example_sign == row].mean(axis=0))
        frames, offsets = pack_clips(takes)
        take_frames = np.concatenate([self.take_frames, frames])
        take_offsets = np.concatenate([self.take_offsets, self.take_offsets[-1] + offsets[1:]])
        return replace(self, labels=labels, languages=languages, prototypes=prototypes,
                       examples=examples, example_sign=example_sign, example_sources=example_sources,
                       take_frames=take_frames, take_offsets=take_offsets)

    def without(self, label: str, language: str | None = None) -> PersonalVocabulary:
        """A new vocabulary without `label` (in every language, or only in `language`)."""
        label = unicodedata.normalize("NFC", str(label)).strip()
        drop = (_nfc(self.labels) == label) & ((self.languages == language) if language is not None else True)
        if not drop.any():
            known = ", ".join(sorted(set(self.labels.tolist()))) or "none"
            raise SignclipError(f"no taught sign {label!r}{f' in {language}' if language else ''}; "
                                f"taught: {known}")
        keep = np.flatnonzero(~drop)
        new_row = np.full(len(self.labels), -1, np.int64)
        new_row[keep] = np.arange(len(keep))
        ex_keep = new_row[self.example_sign] >= 0
        take_frames, take_offsets = pack_clips([self.take(int(i)) for i in np.flatnonzero(ex_keep)])
        return replace(self, labels=self.labels[keep], languages=self.languages[keep],
                       prototypes=self.prototypes[keep], examples=self.examples[ex_keep],
                       example_sign=new_row[self.example_sign[ex_keep]],
                       example_sources=self.example_sources[ex_keep],
                       take_frames=take_frames, take_offsets=take_offsets)

    def to_bytes(self) -> bytes:
        meta = {"format": FORMAT_VERSION, "embedding_dim": self.dim, "model_hash": self.model_hash}
        buf = io.BytesIO()
        np.savez(buf, meta=np.array(json.dumps(meta)), **{k: getattr(self, k) for k in ARRAYS + TAKE_ARRAYS})
        return buf.getvalue()


class UnreadableVocabulary(SignclipError):
    """A personal vocabulary file that cannot be used; `reason` says why, in one line."""

    def __init__(self, path: Path, reason: str):
        self.path, self.reason = Path(path), reason
        super().__init__(f"{path}: personal vocabulary is unreadable: {reason}")


def _one_line(e: Exception) -> str:
    text = " ".join(str(e).split())
    return f"{type(e).__name__}: {text[:120]}" if text else type(e).__name__


def parse_personal(data: bytes, dim: int, model_hash: str, path: Path) -> PersonalVocabulary:
    """The vocabulary in `data` (a file's bytes); UnreadableVocabulary naming what is wrong."""
    if not data:
        raise UnreadableVocabulary(path, "the file is empty (0 bytes)")
    try:
        with np.load(io.BytesIO(data), allow_pickle=False) as z:
            missing = [k for k in ("meta", *ARRAYS) if k not in z.files]
            if missing:
                raise UnreadableVocabulary(path, f"the archive lacks {', '.join(missing)}")
            meta = json.loads(str(z["meta"]))
            arrays = {k: z[k] for k in ARRAYS}
            takes = tuple(z[k] for k in TAKE_ARRAYS) if TAKE_ARRAYS[0] in z.files else None
        file_dim = int(meta["embedding_dim"])
        file_hash = str(meta["model_hash"])
    except UnreadableVocabulary:
        raise
    except Exception as e:  # zip, npy, JSON and key errors of a damaged file
        raise UnreadableVocabulary(path, f"not a complete .npz archive ({_one_line(e)})") from e
    if file_dim != dim:
        raise UnreadableVocabulary(path, f"it holds {file_dim}-dim embeddings but the bundle's model "
                                         f"makes {dim}-dim ones; it belongs to another model")
    if file_hash != model_hash:
        raise UnreadableVocabulary(path, f"it was taught with another model ({file_hash[:12]}, this "
                                         f"bundle {model_hash[:12]})")
    try:
        vocab = PersonalVocabulary(dim, model_hash, arrays["labels"].astype(str),
                                   arrays["languages"].astype(str),
                                   np.asarray(arrays["prototypes"], np.float32).reshape(-1, dim),
                                   np.asarray(arrays["examples"], np.float32).reshape(-1, dim),
                                   arrays["example_sign"].astype(np.int64),
                                   arrays["example_sources"].astype(str),
                                   *_takes(takes, len(arrays["example_sign"])))
    except (ValueError, TypeError) as e:
        raise UnreadableVocabulary(path, f"its arrays do not fit {dim} dimensions") from e
    if (len(vocab.prototypes) != len(vocab.labels) or len(vocab.languages) != len(vocab.labels)
            or len(vocab.examples) != len(vocab.example_sign)
            or len(vocab.example_sources) != len(vocab.example_sign)):
        raise UnreadableVocabulary(path, "its arrays differ in length")
    offsets = vocab.take_offsets
    if (len(offsets) != len(vocab.example_sign) + 1 or offsets[0] != 0 or (np.diff(offsets) < 0).any()
            or offsets[-1] != len(vocab.take_frames)):
        raise UnreadableVocabulary(path, "its takes' offsets do not cut its take frames into its examples")
    if len(vocab.example_sign) and not (0 <= vocab.example_sign.min() <= vocab.example_sign.max()
                                        < len(vocab.labels)):
        raise UnreadableVocabulary(path, "its examples point at signs it does not hold")
    if not (np.isfinite(vocab.prototypes).all() and np.isfinite(vocab.examples).all()):
        raise UnreadableVocabulary(path, "its embeddings hold NaN or infinite values")
    return vocab


def _takes(takes: tuple | None, examples: int) -> tuple:
    """(take_frames, take_offsets) as read: a format 1 file kept no takes."""
    if takes is None:
        return no_takes(examples)
    frames, offsets = takes
    return np.asarray(frames, np.float16).reshape(-1, *BOXED_POINT), np.asarray(offsets, np.int64).reshape(-1)


def read_personal(path: Path, dim: int, model_hash: str) -> PersonalVocabulary:
    """Read a personal vocabulary for a model; an empty one if the file does not exist."""
    path = Path(path)
    try:
        data = path.read_bytes()  # then parsed from memory: the file is open only for this read
    except FileNotFoundError:
        return PersonalVocabulary.empty(dim, model_hash)
    except OSError as e:
        raise UnreadableVocabulary(path, _one_line(e)) from e
    return parse_personal(data, dim, model_hash, path)


def write_personal(vocab: PersonalVocabulary, path: Path) -> None:
    """Atomic: a kill in the middle leaves the previous file intact."""
    atomic_write_bytes(Path(path), vocab.to_bytes())
