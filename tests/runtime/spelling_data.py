"""Fingerspelled words joined from real letter clips, for the spelling tests and bench/spelling.py.

Each letter clip (a lexicon clip, or a letter video through MediaPipe) is trimmed to its held part:
the frames between the raise of the hand and its drop, where the wrist is raised and moves slower
than `ARRIVED` shoulder widths per second. The parts are joined without rest: a short straight transition
from one letter's last frame to the next one's first, as a hand goes from shape to shape. A letter
that repeats slides sideways (the second one's hand is moved by `SLIDE` shoulder widths), as
fingerspellers mark a double letter. Every clip is first moved and scaled onto the first clip's
shoulders, so that only the hands move between letters.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from signclip.runtime.pose.clip import PoseClip
from signclip.runtime.pose.io import read_pose
from signclip.runtime.pose.layouts import BODY, LEFT_HAND, RIGHT_HAND

DATA = Path(__file__).resolve().parents[1] / "data"
ARRIVED = 1.0        # wrist speed (shoulder widths / s) under which the hand has arrived ...
RAISED = 1.0         # ... if it is above this line (shoulder widths below the shoulders), not resting
TRANSITION_S = 0.12  # from one letter's shape to the next
SLIDE = 0.3          # shoulder widths: how far a repeated letter slides
MAX_HOLD_S = 0.8     # a letter held longer (a letter video holds 2 s) is cut to its first 0.8 s
FAST_HOLD_S = (0.3, 0.5)  # a fluent signer's holds: each letter cut to a length drawn in this range
FAST_TRANSITION_S = 0.08
ARM_POINTS = ("WRIST", "PINKY", "INDEX", "THUMB", "ELBOW")


@dataclass(frozen=True)
class SpelledWord:
    """A joined word: the clip and (letter, first frame, end frame exclusive) of each held part."""

    word: str
    clip: PoseClip
    truth: tuple


def lexicon_folder() -> Path:
    """The installed spoken_to_signed lexicon (600 clips), else the copies in tests/data/lexicon."""
    try:
        from importlib import resources

        folder = Path(str(resources.files("spoken_to_signed") / "assets" / "fingerspelling_lexicon"))
        if (folder / "data.csv").is_file():
            return folder
    except ImportError:
        pass
    return DATA / "lexicon"


def lexicon_letters(language: str, folder: Path | None = None) -> dict:
    """{letter: PoseClip} of one sign language's lexicon clips (single-character letters only)."""
    folder = folder or lexicon_folder()
    with open(folder / "data.csv", newline="", encoding="utf-8") as f:
        rows = [r for r in csv.DictReader(f) if r["signed_language"] == language]
    return {r["words"]: read_pose(folder / r["path"]) for r in rows if len(r["words"]) == 1}


def _shoulders(clip: PoseClip) -> tuple:
    """(centre [T, 2], width [T]) of the shoulders per frame."""
    r, left = clip.layout.index[(BODY, "RIGHT_SHOULDER")], clip.layout.index[(BODY, "LEFT_SHOULDER")]
    a, b = clip.frames[:, r, :2], clip.frames[:, left, :2]
    return (a + b) / 2, np.linalg.norm(a - b, axis=1)


def _dominant_wrist(clip: PoseClip) -> np.ndarray:
    """Per frame, the wrist [T, 2] of the hand held higher over the clip (NaN where unseen)."""
    best = None
    for hand in (RIGHT_HAND, LEFT_HAND):
        i = clip.layout.index[(hand, "WRIST")]
        xy = np.where(clip.mask[:, i, None], clip.frames[:, i, :2], np.nan)
        height = np.nanmean(xy[:, 1]) if np.isfinite(xy[:, 1]).any() else np.inf
        if best is None or height < best[0]:
            best = (height, xy)
    return best[1]


def held_part(clip: PoseClip, max_hold_s: float | None = MAX_HOLD_S) -> tuple:
    """(start, end) of the frames between the raise and the drop: the hand seen and its wrist
    slower than ARRIVED; the whole clip if that leaves nothing. At most max_hold_s long (None: any)."""
    centre, width = _shoulders(clip)
    wrist = (_dominant_wrist(clip) - centre) / width[:, None]
    speed = np.r_[np.inf, np.linalg.norm(np.diff(wrist, axis=0), axis=1) * clip.fps]
    raised = np.nan_to_num(wrist[:, 1], nan=np.inf) < RAISED
    arrived = (np.nan_to_num(speed, nan=np.inf) < ARRIVED) & raised
    if not arrived.any():
        return 0, clip.num_frames
    start = int(np.argmax(arrived))
    end = clip.num_frames - int(np.argmax(arrived[::-1]))
    if max_hold_s is not None:
        end = min(end, start + max(2, int(round(max_hold_s * clip.fps))))
    return start, end


def _resample(clip: PoseClip, fps: float) -> PoseClip:
    if abs(clip.fps - fps) < 1e-3:
        return clip
    n = max(1, int(round(clip.num_frames * fps / clip.fps)))
    pick = np.minimum((np.arange(n) * clip.fps / fps).round().astype(int), clip.num_frames - 1)
    return PoseClip(clip.layout, clip.frames[pick], clip.mask[pick], fps, clip.width, clip.height)


def _onto(clip: PoseClip, centre: np.ndarray, width: float) -> PoseClip:
    """The clip moved and scaled so that its mean shoulders are `centre` and `width` apart."""
    c, w = _shoulders(clip)
    own_c, own_w = c.mean(axis=0), float(w.mean())
    frames = clip.frames.copy()
    frames[..., :2] = (frames[..., :2] - own_c) * (width / own_w) + centre
    frames[..., 2] *= width / own_w
    frames[~clip.mask] = 0.0
    return PoseClip(clip.layout, frames, clip.mask.copy(), clip.fps, clip.width, clip.height)


def _hand_indices(layout) -> np.ndarray:
    points = [i for i, (c, _) in enumerate(layout.points) if c in (RIGHT_HAND, LEFT_HAND)]
    points += [layout.index[(BODY, f"{s}_{p}")] for s in ("RIGHT", "LEFT") for p in ARM_POINTS]
    return np.array(points)


def _slide(clip: PoseClip, dx: float) -> PoseClip:
    frames = clip.frames.copy()
    hands = _hand_indices(clip.layout)
    frames[:, hands, 0] = np.where(clip.mask[:, hands], frames[:, hands, 0] + dx, 0.0)
    return PoseClip(clip.layout, frames, clip.mask, clip.fps, clip.width, clip.height)


def _transition(a: PoseClip, b: PoseClip, n: int) -> tuple:
    """n frames from a's last frame to b's first, straight; a point is seen where both ends see it."""
    fa, fb = a.frames[-1], b.frames[0]
    seen = a.mask[-1] & b.mask[0]
    w = (np.arange(1, n + 1) / (n + 1))[:, None, None]
    frames = np.where(seen[None, :, None], fa[None] * (1 - w) + fb[None] * w, 0.0).astype(np.float32)
    return frames, np.repeat(seen[None], n, axis=0)


def join_word(word: str, letters: dict, *, transition_s: float = TRANSITION_S, slide: float = SLIDE,
              max_hold_s=MAX_HOLD_S) -> SpelledWord:
    """`word` spelled from `letters` ({letter: PoseClip}): held parts joined without rest, after the
    first letter's raise of the hand and before the last one's drop. `max_hold_s`: one length for
    every letter's held part, or one per letter."""
    holds = [max_hold_s] * len(word) if np.isscalar(max_hold_s) else list(max_hold_s)
    first = letters[word[0]]
    fps = first.fps
    centre, width = _shoulders(first)
    centre, width = centre.mean(axis=0), float(width.mean())
    n = max(1, int(round(transition_s * fps)))
    parts, truth, t, previous = [], [], 0, None
    for i, letter in enumerate(word):
        whole = _onto(_resample(letters[letter], fps), centre, width)
        start, end = held_part(whole, holds[i])
        clip = whole.slice(start, end)
        if i == 0:  # the word starts with the first letter's own raise of the hand
            parts.append((whole.frames[:start], whole.mask[:start]))
            t += start
        slid = i > 0 and letter == word[i - 1] and not truth[-1][3]  # a third one slides back
        if slid:
            clip = _slide(clip, slide * width)
        if previous is not None:
            frames, mask = _transition(previous, clip, n)
            parts.append((frames, mask))
            t += n
        parts.append((clip.frames, clip.mask))
        truth.append((letter, t, t + clip.num_frames, slid))
        t += clip.num_frames
        previous = clip
    last = _onto(_resample(letters[word[-1]], fps), centre, width)
    drop = held_part(last, None)[1]  # ... and ends with the last letter's own drop
    if truth[-1][3]:
        last = _slide(last, slide * width)
    parts.append((last.frames[drop:], last.mask[drop:]))
    frames = np.concatenate([f for f, _ in parts])
    mask = np.concatenate([m for _, m in parts])
    joined = PoseClip(first.layout, frames, mask, fps, first.width, first.height)
    return SpelledWord(word, joined, tuple((x, a, b) for x, a, b, _ in truth))


def fast_holds(word: str, rng: np.random.Generator, span: tuple = FAST_HOLD_S) -> list:
    """A fluent signer's hold lengths for `word`: each drawn uniformly in `span` seconds."""
    return [float(x) for x in rng.uniform(*span, size=len(word))]
