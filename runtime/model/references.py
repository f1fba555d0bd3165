"""The bundle's reference clips: a clip of each vocabulary entry, to show how it is signed, and for
words signed by several people one clip of each (sign templates, templates.py).

`references.npz` (written at export, `signclip.export.references`): the upper body and hands
(BODY_HANDS_75, legs never seen) as x and y in float16, each clip scaled into its own unit box, NaN
where a point was not seen; `offsets` cut the frames into clips; `labels` and `languages` name each;
an entry's first clip is the one shown; `fps` is the bundle's rate. Depth is left out: drawn in 2D,
it would only double the file.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import SignclipError
from ..pose.clip import PoseClip
from ..pose.layouts import BODY, BODY_HANDS_75

REFERENCES_FILE = "references.npz"
REFERENCE_SIZE = 512  # pixels of the box a reference clip is drawn in
MARGIN = 0.08         # of that box, left empty on each side
BOXED_POINT = (75, 2)  # a stored frame's points: BODY_HANDS_75's x and y


@dataclass(frozen=True)
class References:
    frames: np.ndarray     # float16 [sum T, 75, 2], NaN = not seen
    offsets: np.ndarray    # int64 [N + 1]
    labels: np.ndarray     # str [N]
    languages: np.ndarray  # str [N]
    fps: float

    def rows(self, label: str, language: str) -> np.ndarray:
        return np.flatnonzero((self.labels == label) & (self.languages == language))

    def find(self, label: str, language: str) -> int | None:
        hits = self.rows(label, language)
        return int(hits[0]) if len(hits) else None

    def clip(self, label: str, language: str) -> PoseClip | None:
        """The entry's reference clip (the one shown), or None where it has none."""
        i = self.find(label, language)
        return None if i is None else self.clip_at(i)

    def clips(self, label: str, language: str) -> list:
        """All the entry's reference clips, the one shown first (several signers' for some words)."""
        return [self.clip_at(int(i)) for i in self.rows(label, language)]

    def clip_at(self, i: int) -> PoseClip:
        """Reference clip `i`, in pixels of a REFERENCE_SIZE box."""
        return boxed_clip(self.frames[self.offsets[i]:self.offsets[i + 1]], self.fps)


def no_clip() -> np.ndarray:
    """A stored clip of no frames (a taught take that was not kept)."""
    return np.zeros((0, *BOXED_POINT), np.float16)


def pack_clips(clips: list) -> tuple:
    """Stored clips [T, 75, 2] as one float16 array [sum T, 75, 2] and the offsets [N + 1] that cut it."""
    frames = np.concatenate([no_clip(), *[np.asarray(c, np.float16) for c in clips]])
    return frames, np.concatenate([[0], np.cumsum([len(c) for c in clips])]).astype(np.int64)


def boxed_clip(raw: np.ndarray, fps: float) -> PoseClip:
    """A clip stored by `unit_box` (float16 [T, 75, 2], NaN unseen), in pixels of a REFERENCE_SIZE box."""
    raw = np.asarray(raw, np.float32)
    mask = ~np.isnan(raw).any(axis=2)
    xy = np.where(mask[..., None], REFERENCE_SIZE * (MARGIN + raw * (1 - 2 * MARGIN)), 0.0)
    frames = np.concatenate([xy, np.zeros_like(xy[..., :1])], axis=2).astype(np.float32)
    return PoseClip(BODY_HANDS_75, frames, mask, fps, REFERENCE_SIZE, REFERENCE_SIZE)


def load_references(path) -> References | None:
    """A bundle folder's references, or None where it has none (bundles before 2026-12)."""
    file = path / REFERENCES_FILE
    if not file.is_file():
        return None
    try:
        with np.load(file, allow_pickle=False) as z:
            return References(z["frames"], z["offsets"].astype(np.int64), z["labels"].astype(str),
                              z["languages"].astype(str), float(z["fps"]))
    except (OSError, KeyError, ValueError) as e:
        raise SignclipError(f"{file}: unreadable reference clips ({e})") from e


def unit_box(clip: PoseClip) -> np.ndarray:
    """A clip's x and y as float16 [T, 75, 2] in its own box, 0 to 1 along the longer side, NaN where
    not seen and for the legs (no model reads them). Pure: what the bundle stores."""
    clip = clip.to_layout(BODY_HANDS_75)
    mask = clip.mask & ~leg_points()
    seen = clip.frames[mask][:, :2]
    if not len(seen):
        raise SignclipError("a reference clip shows no point")
    low = seen.min(axis=0)
    extent = float((seen.max(axis=0) - low).max()) or 1.0
    out = (clip.frames[..., :2].astype(np.float64) - low) / extent
    out[~mask] = np.nan
    return out.astype(np.float16)


def leg_points() -> np.ndarray:
    """Which BODY_HANDS_75 points are the legs' (hips down), bool [75]."""
    legs = ("HIP", "KNEE", "ANKLE", "HEEL", "FOOT")
    return np.array([c == BODY and any(k in p for k in legs) for c, p in BODY_HANDS_75.points])
