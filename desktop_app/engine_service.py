"""The engine shared by the app's threads: one lock around it, and a worker for the UI's requests
(text search, teach, forget, the taught signs) that runs them off the UI thread."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PySide6.QtCore import QObject, Signal, Slot

from signclip.runtime.errors import SignclipError


@dataclass(frozen=True)
class TeachRequest:
    """Record `count` examples of `label`: each one recognized sign, or `seconds` of frames if set."""

    label: str
    count: int
    language: str | None = None
    seconds: float | None = None


@dataclass(frozen=True)
class PhotoTeach:
    """Teach `label` from photo files (each held as the bundle's model was trained)."""

    label: str
    language: str | None
    paths: tuple


@dataclass(frozen=True)
class PhotoLookup:
    """A photo looked up: its image with keypoints [576, 3] and mask for the overlay, and the matches."""

    path: str
    rgb: np.ndarray
    keypoints: np.ndarray
    mask: np.ndarray
    matches: list


@dataclass(frozen=True)
class TeachExamples:
    label: str
    language: str | None
    clips: tuple  # PoseClip in HOLISTIC_576
    sources: tuple



class LockedEngine:
    """The engine with one lock: recognition, search and teach run on different threads."""

    def __init__(self, engine):
        self.engine = engine
        self.lock = threading.RLock()

    @property
    def fps(self) -> float:
        """The bundle's frame rate: what clips are brought to before the model reads them."""
        return self.engine.bundle.fps

    def embed_one(self, model_input):
        with self.lock:
            return self.engine.pose_encoder.embed_one(model_input)

    def lookup_embedding(self, embedding, k: int, language: str | None, kind: str = "auto",
                         model_input=None) -> list:
        with self.lock:
            return self.engine.lookup_embedding(embedding, k, language, kind, model_input)

    def reader(self, layout, fps: float, options, lookup=None):
        """The reader for `options` (a `ReadingOptions`) as the command line builds it, with this
        lock's encoder and lookup (or `lookup`, which goes through the lock itself)."""
        from signclip.runtime.recognition.reading import open_reader

        return open_reader(self.engine, layout, fps, options, encode=self.embed_one,
                           lookup=lookup or self.lookup_embedding)

    @property
    def capture_config(self):
        """What MediaPipe computes for this bundle (no face mesh where the model hides the face)."""
        return self.engine.capture_config

    def languages(self) -> list:
        with self.lock:
            return self.engine.languages()

    def lookup_text(self, text: str, k: int, language: str | None) -> list:
        with self.lock:
            return self.engine.lookup_text(text, k, language)

    def reference(self, label: str, language: str):
        with self.lock:
            return self.engine.reference(label, language)

    def teach(self, examples: TeachExamples):
        with self.lock:
            return self.engine.teach(examples.label, list(examples.clips), list(examples.sources),
                                     examples.language)

    def forget(self, label: str, language: str | None):
        with self.lock:
            return self.engine.forget(label, language)

    def signs(self) -> list:
        with self.lock:
            return self.engine.personal.signs()

    def pack_signs(self) -> list:
        """(pack, label, language, examples) of every sign of the vocabulary packs."""
        with self.lock:
            shelf = self.engine.packs
            packs = shelf.current() if shelf is not None else []
            return [(name, *sign) for name, vocab, _ in packs for sign in vocab.signs()]

    def personal_warning(self) -> str | None:
        with self.lock:
            return self.engine.personal_warning()

    def read_photo(self, path) -> tuple:
        """(RGB pixels, clip) of a photo: MediaPipe runs outside the lock, the model is not needed."""
        from signclip.runtime.capture.photo import read_photo

        return read_photo(path, self.engine.bundle.normalization.photo_frames)

    def lookup_clip(self, clip, k: int, language: str | None) -> list:
        with self.lock:
            return self.engine.lookup_clips([clip], k, language)[0]



class EngineService(QObject):
    """Text search, teach, forget and the personal sign list, off the UI thread."""

    searched = Signal(str, list)   # query, matches
    reference = Signal(str, str, object, float)  # for ("search"/"signs"), caption, RGB frames or None, fps
    photo = Signal(PhotoLookup)    # a photo looked up
    taught = Signal(str, int)      # label, examples of it now
    signs = Signal(list)           # (label, language, examples) of every taught sign
    pack_signs = Signal(list)      # (pack, label, language, examples) of every sign of the packs
    failed = Signal(str)

    def __init__(self, engine: LockedEngine, k: int = 5):
        super().__init__()
        self.engine, self.k = engine, k
        self.language: str | None = None

    @Slot(str)
    def search(self, text: str) -> None:
        try:
            matches = self.engine.lookup_text(text, self.k, self.language)
        except SignclipError as e:
            self.failed.emit(str(e))
            return
        self.searched.emit(text, matches)
        if matches:
            self.show_reference(matches[0], "search")

    @Slot(object, str)
    def show_reference(self, match, target: str) -> None:
        """The match's reference clip drawn frame by frame (RGB) for the `target` tab's player."""
        clip = self.engine.reference(match.label, match.language)
        caption = f"{match.label} ({match.language})" if match.language else match.label
        if clip is None:
            self.reference.emit(target, caption, None, 0.0)
            return
        from signclip.runtime.pose.render import visualizer

        frames = [np.ascontiguousarray(f[..., ::-1]) for f in visualizer(clip).draw()]  # BGR -> RGB
        self.reference.emit(target, caption, frames, float(clip.fps))

    @Slot(TeachExamples)
    def teach(self, examples: TeachExamples) -> None:
        try:
            vocab = self.engine.teach(examples)
        except SignclipError as e:
            self.failed.emit(str(e))
            return
        signs = vocab.signs()
        # The list before the message: whoever reads "Learned" (a user, a test) finds the sign listed.
        self.signs.emit(signs)
        self.taught.emit(examples.label, sum(n for label, _, n in signs if label == examples.label))

    @Slot(str)
    def look_up_photo(self, path: str) -> None:
        try:
            rgb, clip = self.engine.read_photo(path)
            matches = self.engine.lookup_clip(clip, self.k, self.language)
        except SignclipError as e:
            self.failed.emit(str(e))
            return
        self.photo.emit(PhotoLookup(path, rgb, clip.frames[0], clip.mask[0], matches))

    @Slot(PhotoTeach)
    def teach_photos(self, request: PhotoTeach) -> None:
        try:
            clips = tuple(self.engine.read_photo(p)[1] for p in request.paths)
        except SignclipError as e:
            self.failed.emit(str(e))
            return
        self.teach(TeachExamples(request.label, request.language, clips,
                                 tuple(Path(p).name for p in request.paths)))

    @Slot(str, str)
    def forget(self, label: str, language: str) -> None:
        try:
            vocab = self.engine.forget(label, language)
        except SignclipError as e:
            self.failed.emit(str(e))
            return
        self.signs.emit(vocab.signs())

    @Slot()
    def list_signs(self) -> None:
        self.signs.emit(self.engine.signs())
        self.pack_signs.emit(self.engine.pack_signs())
