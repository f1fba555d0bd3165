"""What an export reads besides the checkpoint: clip manifests, vocabularies and tokenized texts.

A manifest is CSV or JSONL with `pose,text,spoken_language,sign_language` (pose paths relative to
the manifest; a handshape photo is a landmark `.npz` with its row in `item`, as the trainer's
manifests write it); a vocabulary file is CSV with `text,spoken_language,sign_language`. Without
either, the fingerspelling lexicon inside `spoken_to_signed` is used.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np

from signclip.runtime.errors import SignclipError
from signclip.runtime.pose.io import read_pose
from signclip.runtime.pose.normalize import ModelInput, NormalizationConfig, preprocess

MANIFEST_COLUMNS = ("pose", "text", "spoken_language", "sign_language")
VOCAB_COLUMNS = ("text", "spoken_language", "sign_language")


@dataclass(frozen=True)
class Entry:
    """One clip of a manifest (pose may be None for a vocabulary row)."""

    pose: Path | None
    text: str
    spoken_language: str
    sign_language: str
    item: int | None = None      # the row of a handshape photo file (pose is its .npz)


@dataclass(frozen=True)
class VocabularyTexts:
    """Vocabulary rows before embedding: `texts` are prompts, `labels` the bare words."""

    texts: list
    labels: list
    languages: list

    def __len__(self) -> int:
        return len(self.texts)


def lexicon_folder() -> Path:
    try:
        folder = resources.files("spoken_to_signed") / "assets" / "fingerspelling_lexicon"
    except ModuleNotFoundError as e:
        raise SignclipError("no --data given and the default data (the fingerspelling lexicon of "
                            "spoken-to-signed) is not installed: pip install spoken-to-signed") from e
    return Path(str(folder))


def lexicon_entries() -> list:
    """The 600 fingerspelling clips: the default model's training data."""
    folder = lexicon_folder()
    with open(folder / "data.csv", newline="") as f:
        return [Entry(folder / r["path"], r["words"], r["spoken_language"], r["signed_language"])
                for r in csv.DictReader(f)]


def _rows(path: Path) -> list:
    if not path.is_file():
        raise SignclipError(f"{path}: no such file")
    try:
        if path.suffix.lower() in (".jsonl", ".ndjson"):
            return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
        with open(path, newline="") as f:
            return list(csv.DictReader(f))
    except (ValueError, UnicodeDecodeError, csv.Error) as e:
        raise SignclipError(f"{path}: not a readable CSV/JSONL file ({type(e).__name__})") from e


def _check_columns(path: Path, rows: list, columns: tuple) -> None:
    if not rows:
        raise SignclipError(f"{path}: no rows")
    for i, row in enumerate(rows):
        missing = [c for c in columns if not isinstance(row, dict) or not row.get(c)]
        if missing:
            raise SignclipError(f"{path}: row {i + 1} lacks {', '.join(missing)}; "
                                f"columns needed: {', '.join(columns)}")


def read_manifest(path) -> list:
    """Entries of a CSV/JSONL manifest; pose paths resolved against the manifest's folder. Rows of
    split 'test' are left out: a bundle never ships the clips its evaluation holds out."""
    path = Path(path)
    rows = _rows(path)
    _check_columns(path, rows, MANIFEST_COLUMNS)
    rows = [r for r in rows if r.get("split") != "test"] or rows
    return [Entry(path.parent / r["pose"], str(r["text"]), str(r["spoken_language"]),
                  str(r["sign_language"]), int(r["item"]) if r.get("item") not in (None, "") else None)
            for r in rows]


def read_vocabulary_file(path) -> list:
    path = Path(path)
    rows = _rows(path)
    _check_columns(path, rows, VOCAB_COLUMNS)
    return [Entry(None, str(r["text"]), str(r["spoken_language"]), str(r["sign_language"]))
            for r in rows]


def looked_up(entries: list) -> list:
    """The entries of sign languages a user looks up in: photos that only taught hand shapes, under
    ISO 639's "sign languages, unspecified" (`sgn`), are neither vocabulary nor shipped clips."""
    from signclip.trainer.handshapes import UNSPECIFIED

    return [e for e in entries if e.sign_language != UNSPECIFIED]


def lexical_signs(entries) -> list:
    """[label, sign language] of the entries that only word files show (not the lexicon's letters,
    not a photo's handshape): lexical signs, which a spelling reader must not take for letters."""
    from signclip.trainer.clips import is_word_row

    kinds: dict = {}
    for e in entries:
        kinds.setdefault((e.text, e.sign_language), set()).add(is_word_row(e))
    return sorted([label, lang] for (label, lang), word in kinds.items() if word == {True})


def vocabulary_texts(entries, template: str) -> VocabularyTexts:
    """Unique (text, spoken, signed) rows in first-seen order, each with its prompt."""
    seen, texts, labels, languages = set(), [], [], []
    for e in entries:
        key = (e.text, e.spoken_language, e.sign_language)
        if key in seen:
            continue
        seen.add(key)
        texts.append(template.format(spoken=e.spoken_language, signed=e.sign_language, text=e.text))
        labels.append(e.text)
        languages.append(e.sign_language)
    return VocabularyTexts(texts, labels, languages)


def spread(items: list, count: int) -> list:
    """At most `count` items evenly spread over the list (every language, not just the first)."""
    if len(items) <= count:
        return list(items)
    picks = np.linspace(0, len(items) - 1, count).round().astype(int)
    return [items[i] for i in picks]


PHOTOS_PER_CLASS = 2  # photos shipped per class: text-to-sign finds a class that has no video


def pick_clips(entries: list, count: int) -> list:
    """Up to `count` `.pose` clips spread over the list, then a few photos of each photo class."""
    picked = spread([e for e in entries if e.pose is not None and e.item is None], count)
    photos: dict = {}
    for e in entries:
        if e.item is not None:
            photos.setdefault((e.text, e.sign_language), []).append(e)
    return picked + [p for group in photos.values() for p in spread(group, PHOTOS_PER_CLASS)]


def entry_clip(entry: Entry, photo_frames: int):
    """The PoseClip of a manifest entry: its .pose file, or its photo or word clip as in training."""
    if entry.item is None:
        return read_pose(entry.pose)
    from signclip.trainer.clips import item_clip

    return item_clip(entry.pose, entry.item, photo_frames)


def clip_input(entry: Entry, config: NormalizationConfig, max_frames: int) -> ModelInput:
    """A manifest entry as model input, T <= max_frames (evenly subsampled)."""
    x = preprocess(entry_clip(entry, config.photo_frames), config)
    if len(x.frames) > max_frames:  # the pose tower's position table ends at max_frames
        keep = np.linspace(0, len(x.frames) - 1, max_frames).round().astype(int)
        x = ModelInput(x.frames[keep], x.mask[keep], x.flipped)
    return x


def input_features(x: ModelInput) -> np.ndarray:
    """Model input features [T, P*3] as the exported encoder takes them."""
    return np.ascontiguousarray(x.features, dtype=np.float32)


def clip_features(entry: Entry, config: NormalizationConfig, max_frames: int) -> np.ndarray:
    """A manifest entry as model input features [T, P*3], T <= max_frames."""
    return input_features(clip_input(entry, config, max_frames))


def load_tokenizer(path, max_tokens: int):
    """The `tokenizers` JSON with truncation at max_tokens and no padding (we pad per batch)."""
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(path))
    tokenizer.no_padding()
    tokenizer.enable_truncation(max_tokens)
    return tokenizer


def tokenize(tokenizer, texts) -> tuple:
    """(input_ids, attention_mask) int64 [N, L], right-padded with zeros to the longest text."""
    encodings = tokenizer.encode_batch(list(texts))
    length = max(len(e.ids) for e in encodings)
    ids = np.zeros((len(encodings), length), np.int64)
    mask = np.zeros((len(encodings), length), np.int64)
    for i, e in enumerate(encodings):
        ids[i, :len(e.ids)] = e.ids
        mask[i, :len(e.ids)] = 1
    return ids, mask
