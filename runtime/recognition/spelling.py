"""Fingerspelling read letter by letter from a continuous hand, one frame at a time.

Each hold of the hand (`holds.HoldTracker`) is looked up among the letters of one sign language as
soon as it ends, like a sign of the streaming recognizer: its frames go into a `StreamingNormalizer`
as they arrive and, at the end, to an injected `encode` and `search` (typically the engine's pose
encoder and `lookup_embedding`). What real spelling adds:

- a double letter is one shape held twice with a small bounce or slide between: two holds read as
  the same letter count twice only if the wrist travelled between them, else they are one hold that
  a tremor split;
- a moving letter (J and Z in ASL) is a movement, not a hold: a long movement between holds that
  traces a shape (not a slide from one hold to the next) is looked up too, and kept when it reads
  as one of the language's moving letters, while a hold reads
  as its best letter made without moving (J is I's shape moved), except a word's first hold, whose
  lookup includes the raise of the hand;
- a word ends when the hand drops or leaves the frame (`segmentation.HandActivitySegmenter`).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from ..pose.clip import PoseClip
from ..pose.layouts import LEFT_HAND, MODEL_203, RIGHT_HAND, Layout
from ..pose.normalize import NormalizationConfig, shoulder_indices
from ..pose.streaming import StreamingNormalizer
from .holds import HoldConfig, HoldTracker
from .recognizer import FrameRing, warm_up
from .segmentation import HandActivitySegmenter, SegmenterConfig

Encode = Callable[[Any], Any]
Search = Callable[[Any], list]

# Letters made by moving the hand rather than holding it, per sign language (ISO 639-3). Languages
# not listed are read from their holds alone.
MOVING_LETTERS = {"ase": frozenset("JZ")}
MAX_LETTER_CHARS = 3  # the longest letter label (SCH in German fingerspelling); longer labels are signs


@dataclass(frozen=True)
class SpellConfig:
    """How holds become letters; times in seconds, distances in shoulder widths."""

    hold: HoldConfig = HoldConfig()
    words: SegmenterConfig = SegmenterConfig()  # a word ends where this segmenter ends a sign
    context_s: float = 0.1     # frames before a hold that its lookup includes (the hand arriving)
    approach_s: float = 1.0    # a word's first hold includes the raise of the hand, at most this long
    moving_s: float = 0.3      # a movement this long between holds may be a moving letter ...
    drop: float = 0.3          # ... until its wrist falls this far below where it began: the hand
                               # drops, and what follows is no letter
    trace_min: float = 0.4     # ... and only if a fingertip traced a shape (J's hook, Z's zigzag): a
    trace_ratio: float = 2.0   # path this long, this many times the straight line between its ends;
                               # a slide from one hold to the next is nearly straight (lexicon joins:
                               # ratio <= 1.7, the letters' own J and Z >= 4)
    double_travel: float = 0.1  # wrist travel between two holds of one letter that makes it double
    candidates: int = 5        # letters kept per hold, best first (for the word prior)


@dataclass(frozen=True)
class Letter:
    """One letter read: source frames [start_frame, end_frame), seconds, the cosine score, the best
    `candidates` (label, score) pairs, the frame whose arrival decided it and the milliseconds its
    encoder and lookup took. `kind` is "hold" or "movement" (a moving letter)."""

    letter: str
    start_frame: int
    end_frame: int
    start_s: float
    end_s: float
    score: float
    candidates: tuple
    decided_frame: int
    compute_ms: float
    kind: str = "hold"

    def to_json(self) -> dict:
        return {"letter": self.letter, "start_s": round(self.start_s, 3), "end_s": round(self.end_s, 3),
                "score": round(float(self.score), 6)}


@dataclass(frozen=True)
class WordEnd:
    """The hand dropped or left: the word's letters, their text, and the word the prior chose
    (`word` equals `raw` without a prior)."""

    letters: tuple
    raw: str
    word: str
    decided_frame: int


FINGERTIPS = ("THUMB_TIP", "INDEX_FINGER_TIP", "MIDDLE_FINGER_TIP", "RING_FINGER_TIP", "PINKY_TIP")
TIPS = np.array([MODEL_203.index[(hand, tip)] for hand in (RIGHT_HAND, LEFT_HAND) for tip in FINGERTIPS])


def traces_a_shape(frames: np.ndarray, mask: np.ndarray, config: SpellConfig) -> bool:
    """Whether a movement (model-layout frames [T, 203, 3] before normalization, mask [T, 203]) traces
    a letter's shape: some fingertip travels at least `trace_min` shoulder widths along a path at
    least `trace_ratio` times the straight line between its ends."""
    a, b = shoulder_indices(MODEL_203)
    both = mask[:, a] & mask[:, b]
    if not both.any():
        return False
    shoulders = frames[both][:, [a, b], :2].astype(np.float64)
    width = float(np.linalg.norm(shoulders[:, 0] - shoulders[:, 1], axis=1).mean())
    if width <= 0:
        return False
    for tip in TIPS:
        xy = frames[mask[:, tip], tip, :2].astype(np.float64) / width
        if len(xy) < 2:
            continue
        path = float(np.linalg.norm(np.diff(xy, axis=0), axis=1).sum())
        if path >= config.trace_min and path >= config.trace_ratio * float(np.linalg.norm(xy[-1] - xy[0])):
            return True
    return False


def alphabet(labels, languages, language: str | None, signs=frozenset()) -> frozenset:
    """The letters of one sign language (or of all): vocabulary labels short enough to be letters,
    except the bundle's lexical `signs` ((label, language) pairs: ASL's WHY is a word, not a letter).
    Digits are not letters: a number is signed, not spelled, and ASL's 0 and O, V and 2 look alike."""
    return frozenset(str(label) for label, lang in zip(labels, languages, strict=True)
                     if (language is None or lang == language) and 0 < len(str(label)) <= MAX_LETTER_CHARS
                     and not str(label).isdigit() and (str(label), str(lang)) not in signs)


@dataclass
class _Word:
    """The open word: its first frame, letters so far, and what the last letter came from."""

    start: int
    letters: list = field(default_factory=list)
    holds: int = 0
    after_movement: bool = False  # the last letter is a moving letter read just before this hold


class SpellReader:
    """Feed frames with `push`; each returns the `Letter`s and `WordEnd`s it decided (usually none).
    Call `finish` at the end of the stream. `correct` maps a word's letters to a word (the prior)."""

    def __init__(self, layout: Layout, fps: float, encode: Encode, search: Search, *,
                 letters: frozenset | None = None, moving: frozenset = frozenset(),
                 config: SpellConfig = SpellConfig(),
                 normalization: NormalizationConfig = NormalizationConfig(),
                 correct: Callable[[tuple], str] | None = None):
        self.layout, self.fps, self.config = layout, float(fps), config
        self.encode, self.search, self.correct = encode, search, correct
        self.letters, self.moving = letters, frozenset(moving)
        self.words = HandActivitySegmenter(layout, fps, config.words)
        self.tracker = HoldTracker(layout, fps, config.hold)
        self.approach = int(round(config.approach_s * fps))
        self.context = int(round(config.context_s * fps))
        self.moving_frames = max(1, int(round(config.moving_s * fps)))
        back = max(self.approach, self.context) + self.tracker.hold_frames
        self.ring = FrameRing(back + self.words.frames.pre_roll + self.words.frames.start + 2, layout.size)
        self.hold_input = StreamingNormalizer(layout, normalization)
        self.move_input = StreamingNormalizer(layout, normalization)
        self.t = 0
        self.word: _Word | None = None
        self._pushed = 0          # hold frames in hold_input: [hold start or context, _pushed)
        self._hold_stamp = (0, 0.0)  # source index and time of the open hold's first frame
        self._move_start = -1     # first frame of the movement in move_input, -1: none open
        self._move_stamp = (0, 0.0)
        self._move_top = 0.0      # wrist height where the movement began
        self._travel = 0.0        # wrist travel before the open hold
        self.frames_seen = 0
        self.total_frame_ns = 0

    @property
    def in_word(self) -> bool:
        return self.word is not None

    @property
    def in_hold(self) -> bool:
        return self.tracker.in_hold

    def warm_up(self) -> None:
        """Run encode and search once, so that the first letter pays no start-up cost."""
        warm_up(self.encode, self.search)

    def feed(self, frame) -> list:
        """A `sources.Frame` (with keypoints) in; the events it decided out."""
        return self.push(frame.keypoints, frame.mask, index=frame.index, time_s=frame.time_s)

    def push(self, keypoints, mask, *, index: int | None = None, time_s: float | None = None) -> list:
        """One frame [K, 3] + mask [K] in the reader's layout; the letters and word ends it decided."""
        began = time.perf_counter_ns()
        t = self.t
        self.t += 1
        self.ring.store(t, keypoints, mask, t if index is None else index,
                        t / self.fps if time_s is None else time_s)
        word = self.words.step(keypoints, mask)
        hold = self.tracker.step(keypoints, mask, self.words.shoulders)
        if word.started is not None and self.word is None:
            self.word = _Word(word.started)
        events = []
        if hold.ended is not None:
            events += self._hold_ended(*hold.ended, decided=t)
            self._open_movement(hold.ended[1], t)
        if hold.started is not None:
            events += self._movement_ended(decided=t)
            self._open_hold(hold.started, t)
        elif self.tracker.in_hold and self.tracker.last_held == t:
            self._catch_up(t + 1)
        elif self._move_start >= 0 and self.tracker.height < self._move_top + self.config.drop:
            self.move_input.push(keypoints, mask)
        if word.ended is not None or not (self.words.in_sign or self.tracker.in_hold):
            events += self._movement_ended(decided=t) + self._word_ended(decided=t)
            if word.started is not None:  # a word longer than the segmenter's maximum goes on
                self.word = _Word(word.started)
        self.frames_seen += 1
        self.total_frame_ns += time.perf_counter_ns() - began
        return events

    def finish(self) -> list:
        """End of stream: the open hold, movement and word are read."""
        t = self.t - 1
        events = []
        hold = self.tracker.finish()
        if hold.ended is not None:
            events += self._hold_ended(*hold.ended, decided=t)
        events += self._movement_ended(decided=t)
        self.words.finish()
        if self.word is not None:
            events += self._word_ended(decided=t)
        return events

    @property
    def frame_us(self) -> float:
        """Mean time per frame over the stream, lookups included."""
        return self.total_frame_ns / max(self.frames_seen, 1) / 1e3

    # ------------------------------------------------------------ holds

    def _open_hold(self, start: int, t: int) -> None:
        """A hold began at `start`: its lookup takes it from its context (a word's first hold: the
        raise of the hand) up to this frame, from the ring."""
        if self.word is None:  # a hold before the word segmenter saw activity: the word starts here
            self.word = _Word(start)
        back = self.context
        if self.word.holds == 0:
            back = max(back, min(self.approach, start - self.word.start))
        first = max(start - back, 0, self.t - self.ring.size)
        self.hold_input.reset()
        self._pushed = first
        self._hold_stamp = self.ring.stamp(first)
        self._catch_up(t + 1)
        self._travel = self.tracker.path
        self.word.holds += 1

    def _catch_up(self, until: int) -> None:
        for u in range(self._pushed, until):
            self.hold_input.push(*self.ring.get(u))
        self._pushed = max(self._pushed, until)

    def _hold_ended(self, start: int, end: int, *, decided: int) -> list:
        read = self._read(self.hold_input, self._hold_stamp, end, decided, "hold")
        if read is None or self.word is None:
            return []
        word, last = self.word, (self.word.letters[-1] if self.word.letters else None)
        after_movement, word.after_movement = word.after_movement, False
        if after_movement and last is not None and last.letter == read.letter:
            return []  # the end of the moving letter just read (J ends in a hold)
        if read.letter in self.moving and word.holds > 1:
            read = still_letter(read, self.moving)  # a hold is still: J is I's shape moved, not held
            if read is None:
                return []
        if last is not None and last.letter == read.letter and self._travel < self.config.double_travel:
            return []  # one hold that a tremor split
        word.letters.append(read)
        return [read]

    # ------------------------------------------------------------ movements

    def _open_movement(self, start: int, t: int) -> None:
        """Frames from `start` (a hold's end) on are a movement, looked up where moving letters exist.
        The raise that starts a word is not one: it would read as a letter in every word."""
        if not self.moving:
            return
        self.move_input.reset()
        self._move_top = self.tracker.height
        self._move_start = max(start, self.t - self.ring.size)
        self._move_stamp = self.ring.stamp(self._move_start)
        for u in range(self._move_start, t):
            self.move_input.push(*self.ring.get(u))

    def _movement_ended(self, *, decided: int) -> list:
        """The movement since the last hold ended (a hold began, or the word ended): a moving letter?"""
        start, self._move_start = self._move_start, -1
        if start < 0 or self.word is None or self.move_input.count < self.moving_frames:
            return []
        if not traces_a_shape(*self.move_input.raw(), self.config):  # a slide to the next hold
            return []
        read = self._read(self.move_input, self._move_stamp, decided, decided, "movement")
        if read is None or read.letter not in self.moving:
            return []
        self.word.letters.append(read)
        self.word.after_movement = True
        return [read]

    # ------------------------------------------------------------ lookup

    def _read(self, source: StreamingNormalizer, first: tuple, end: int, decided: int, kind: str):
        """The best letter for the frames in `source`, which began at `first` (source index and time)
        and end before frame `end` of the stream; None without shoulders or letters."""
        if not source.has_shoulders or source.count == 0:
            return None
        t0 = time.perf_counter_ns()
        matches = self.search(self.encode(source.model_input()))
        ms = (time.perf_counter_ns() - t0) / 1e6
        found = [(m.label, float(m.score)) for m in matches
                 if self.letters is None or m.label in self.letters]
        if not found:
            return None
        last, last_s = self.ring.stamp(end - 1)
        return Letter(found[0][0], first[0], last + 1, first[1], last_s + 1.0 / self.fps, found[0][1],
                      tuple(found[:self.config.candidates]), self.ring.stamp(decided)[0], ms, kind)

    # ------------------------------------------------------------ words

    def _word_ended(self, *, decided: int) -> list:
        word, self.word = self.word, None
        self._move_start = -1
        if word is None or not word.letters:
            return []
        letters = tuple(word.letters)
        raw = "".join(x.letter for x in letters)
        return [WordEnd(letters, raw, self.correct(letters) if self.correct else raw,
                        self.ring.stamp(decided)[0])]


def still_letter(read: Letter, moving: frozenset) -> Letter | None:
    """A hold's reading without the moving letters: its best candidate made without moving (None if
    every candidate moves). A moving letter comes from a movement, or from a word's first hold,
    whose lookup includes the raise of the hand where such a letter's movement is."""
    still = tuple((label, score) for label, score in read.candidates if label not in moving)
    if not still:
        return None
    return replace(read, letter=still[0][0], score=still[0][1], candidates=still)


def read_clip(clip: PoseClip, encode: Encode, search: Search, **options) -> list:
    """Every event of a whole clip, as the stream would decide them (options: SpellReader's)."""
    reader = SpellReader(clip.layout, clip.fps, encode, search, **options)
    events = []
    for t in range(clip.num_frames):
        events += reader.push(clip.frames[t], clip.mask[t])
    return events + reader.finish()


def letters_of(events) -> list:
    return [e for e in events if isinstance(e, Letter)]
