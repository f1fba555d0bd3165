"""Vocabulary packs: named, shareable sets of signs with example clips, found by every lookup.

A pack is stored like the personal vocabulary (`personal.py` arrays, `personal_store.py`'s lock and
last good copy), one file per pack beside it, for one model:

    packs/d256-0123456789abcdef/family-signs.npz            the pack (copy it to share it)
    packs/d256-0123456789abcdef/family-signs.last-good.npz  `signclip pack restore` brings it back

A teacher builds one from a folder of clips named by word (`build_plan`): one sub-folder per word
(`hello/1.mp4`, `hello/2.pose`), or files named by the word (`hello.mp4`, `hello-2.mp4`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from ..errors import SignclipError
from .personal import ANY_LANGUAGE, PersonalVocabulary, clean_label, clean_language, data_dir, read_personal
from .personal_store import PersonalStore

PACK_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")  # no '.': a.last-good, a.damaged-... are copies
CLIP_SUFFIXES = (".pose", ".mp4", ".mov", ".avi", ".mkv", ".webm", ".jpg", ".jpeg", ".png")
_NUMBERED = re.compile(r"^(.*?)(?:[-_ ]\(?\d+\)?)?$")  # hello-2, hello_3, hello (4) -> hello


def packs_dir(dim: int, model_hash: str, home: Path | None = None) -> Path:
    return (home or data_dir()) / "packs" / f"d{dim}-{model_hash[:16]}"


def check_name(name: str) -> str:
    """A pack's name as its file's stem: letters, digits, '-' and '_', at most 64 characters."""
    if not PACK_NAME.fullmatch(name or ""):
        raise SignclipError(f"pack name {name!r}: use 1 to 64 letters, digits, '-' or '_', starting "
                            f"with a letter or digit")
    return name


def restore_command(name: str) -> str:
    return f"signclip pack restore {name}"


def word_of(path: Path) -> str:
    """The word a clip file names: its stem without a trailing example number."""
    return _NUMBERED.match(path.stem).group(1).replace("_", " ").strip() or path.stem


def build_plan(folder) -> dict:
    """{word: [clip paths]} of a folder: sub-folders are words; loose files are named by their word."""
    folder = Path(folder)
    if not folder.is_dir():
        raise SignclipError(f"{folder}: not a folder (give a folder of clips named by word)")
    plan: dict = {}
    for entry in sorted(folder.iterdir()):
        if entry.name.startswith("."):
            continue
        if entry.is_dir():
            clips = sorted(p for p in entry.iterdir() if p.suffix.lower() in CLIP_SUFFIXES)
            if clips:
                plan.setdefault(clean_label(entry.name), []).extend(clips)
        elif entry.suffix.lower() in CLIP_SUFFIXES:
            plan.setdefault(clean_label(word_of(entry)), []).append(entry)
    if not plan:
        raise SignclipError(f"{folder}: no clips ({', '.join(CLIP_SUFFIXES)}) in it or in its sub-folders")
    return plan


@dataclass
class PackShelf:
    """Every pack of one model: its stores, found again whenever the folder's content changes."""

    dim: int
    model_hash: str
    home: Path | None = None

    def __post_init__(self):
        self.folder = packs_dir(self.dim, self.model_hash, self.home)
        self._stores: dict = {}

    def names(self) -> list:
        if not self.folder.is_dir():
            return []
        return sorted(p.stem for p in self.folder.glob("*.npz") if PACK_NAME.fullmatch(p.stem))

    def store(self, name: str) -> PersonalStore:
        name = check_name(name)
        if name not in self._stores:
            self._stores[name] = PersonalStore(self.folder / f"{name}.npz", self.dim, self.model_hash)
        return self._stores[name]

    def current(self) -> list:
        """(name, vocabulary, problem) of every pack as its file holds it now."""
        out = []
        for name in self.names():
            store = self.store(name)
            out.append((name, store.current(), store.problem))
        return out

    def get(self, name: str) -> PersonalVocabulary:
        if name not in self.names():
            raise SignclipError(f"no pack {name!r}; packs: {', '.join(self.names()) or 'none'} "
                                f"(signclip pack build NAME FOLDER)")
        return self.store(name).current()

    def add(self, name: str, label: str, embeddings, sources, language: str = ANY_LANGUAGE,
            takes: list | None = None) -> PersonalVocabulary:
        """Examples (and their takes) added to a pack's word (the pack is created if new), under the
        pack's lock."""
        return self.store(name).change(lambda v: v.with_examples(label, embeddings, sources, language, takes),
                                       restore_command(name))

    def replace(self, name: str, vocab: PersonalVocabulary) -> PersonalVocabulary:
        """The pack's content replaced whole (a build), under its lock."""
        return self.store(name).change(lambda _: vocab, restore_command(name))

    def remove(self, name: str, label: str | None = None) -> PersonalVocabulary | None:
        """One word out of a pack, or (label None) the pack's files gone; None then."""
        self.get(name)
        if label is not None:
            return self.store(name).change(lambda v: v.without(label), restore_command(name))
        self.store(name).delete()
        return None

    def install(self, path, name: str | None = None) -> tuple:
        """A pack file someone shared, checked against this model, added as `name` (default: its
        file's stem): (name, vocabulary)."""
        path = Path(path)
        name = check_name(name or path.stem)
        if name in self.names():
            raise SignclipError(f"a pack {name!r} exists already: remove it first, or install as another "
                                f"name (--name)")
        if not path.is_file():
            raise SignclipError(f"{path}: no such pack file")
        vocab = read_personal(path, self.dim, self.model_hash)
        for label, language in zip(vocab.labels, vocab.languages, strict=True):  # a stranger's file
            clean_label(label)
            clean_language(language)
        return name, self.replace(name, vocab)
