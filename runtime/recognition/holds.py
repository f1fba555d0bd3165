"""Where a fingerspelling hand holds a letter: its shape and its place steady for a moment.

Frame by frame, with constant work per frame. The signing hand's 21 points relative to its wrist are
its shape, its wrist relative to the shoulders its place, both in shoulder widths, so that neither
the camera's resolution nor the signer's distance matter. A hold starts after a short run of frames
in which both barely change, and ends at the first frame that changes either one clearly or drifts
too far from the hold's mean: the letter can be looked up at once, without waiting for rest.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numba
import numpy as np

from ..errors import SignclipError
from ..pose.layouts import HAND_POINTS, LEFT_HAND, RIGHT_HAND, Layout


@dataclass(frozen=True)
class HoldConfig:
    """When a hand holds. Speeds in shoulder widths per second (the shape's is the mean speed of the
    20 finger points around the wrist), distances in shoulder widths, times in seconds.

    Measured on the lexicon's letter clips: while a letter is held its shape moves 0.07 (median) to
    0.27 (99th percentile) shoulder widths per second and its wrist less than 0.3; a change of letter
    moves both several times faster (1 to 10). The closest pairs of letters differ by 0.04 (ASL's M
    and N, A and S): such a change is too slow for one frame to show, but it adds up in `shift_s`.
    """

    shape_still: float = 0.3   # a frame whose shape moves slower than this is steady ...
    place_still: float = 0.5   # ... if its wrist moves slower than this too
    shape_break: float = 0.6   # inside a hold, one frame faster than this ends it
    place_break: float = 1.0
    shift: float = 0.025       # the shape's mean change within `shift_s` that ends a hold (and that
    shift_s: float = 0.2       # a steady run must stay under): a slow change of letter, while
                               # tremor does not add up and a settling hand moves slower
    drift: float = 0.08        # the shape's mean distance from the hold's mean shape that ends it
    wander: float = 0.2        # the wrist's distance from the hold's mean place that ends it
    hold_s: float = 0.1        # steady this long: a hold
    max_gap_s: float = 0.1     # frames without the hand inside a hold are missed detections up to
                               # this long; longer, the hand left the frame and the hold ends
    space_line: float = 1.0    # shoulder widths below the shoulders: a lower hand rests, it does not
                               # spell (SegmenterConfig.rise_line)

    def check(self) -> None:
        if not 0 < self.shape_still <= self.shape_break or not 0 < self.place_still <= self.place_break:
            raise SignclipError(f"hold thresholds: still ({self.shape_still}, {self.place_still}) must be "
                                f"positive and at most break ({self.shape_break}, {self.place_break})")
        if self.hold_s <= 0 or self.max_gap_s < 0 or self.shift_s <= 0:
            raise SignclipError(f"hold_s {self.hold_s} and shift_s {self.shift_s} must be positive, "
                                f"max_gap_s {self.max_gap_s} not negative")


@dataclass(frozen=True)
class HoldDecision:
    """What one frame changed: `started` = first frame of a new hold (before this one), `ended` =
    (start, end) frames of a finished hold (end exclusive)."""

    started: int | None = None
    ended: tuple | None = None


NOTHING = HoldDecision()
RIGHT, LEFT = 0, 1


def hand_points(layout: Layout) -> np.ndarray:
    """Indices [2, 21] of the right and left hand's points in `layout` (-1 where it lacks one)."""
    points = np.array([[layout.index.get((hand, p), -1) for p in HAND_POINTS]
                       for hand in (RIGHT_HAND, LEFT_HAND)], np.int64)
    if (points < 0).any(axis=1).all():
        raise SignclipError(f"layout {layout.name} has no complete hand: cannot read fingerspelling")
    return points


@numba.njit(cache=True)
def _hand(frame, mask, points, shoulders, shape, place) -> float:
    """Fill shape [21, 2] (points minus wrist) and place [2] (wrist minus shoulder centre), both over
    the shoulder width; return the wrist's height below the shoulders, or inf if a point is unseen."""
    width = shoulders[2]
    for j in range(points.shape[0]):
        if points[j] < 0 or not mask[points[j]]:
            return np.inf
    w = points[0]
    for j in range(points.shape[0]):
        i = points[j]
        shape[j, 0] = (frame[i, 0] - frame[w, 0]) / width
        shape[j, 1] = (frame[i, 1] - frame[w, 1]) / width
    place[0] = (frame[w, 0] - shoulders[0]) / width
    place[1] = (frame[w, 1] - shoulders[1]) / width
    return place[1]


@numba.njit(cache=True)
def _distance(a, b) -> float:
    """Mean distance between matching points of a and b [N, 2]."""
    total = 0.0
    for j in range(a.shape[0]):
        total += math.sqrt((a[j, 0] - b[j, 0]) ** 2 + (a[j, 1] - b[j, 1]) ** 2)
    return total / a.shape[0]


class HoldTracker:
    """Feed frames with `step`; each says whether a hold started or ended. `path` is how far the wrist
    travelled since the last hold ended (a double letter's bounce or slide)."""

    def __init__(self, layout: Layout, fps: float, config: HoldConfig = HoldConfig()):
        config.check()
        if not fps > 0:
            raise SignclipError(f"fps {fps}: must be positive")
        self.config, self.fps = config, float(fps)
        self.points = hand_points(layout)
        self._complete = [bool((self.points[s] >= 0).all()) for s in (RIGHT, LEFT)]
        self.hold_frames = max(2, int(round(config.hold_s * fps)))
        self.gap_frames = int(round(config.max_gap_s * fps))
        self.shift_frames = max(1, int(round(config.shift_s * fps)))
        self._recent = np.zeros((self.shift_frames + 1, 21, 2))  # the last shapes, by frame % size
        self._recent_t = np.full(self.shift_frames + 1, -1, np.int64)
        self._shape = np.zeros((2, 21, 2))   # this frame's shape per side
        self._place = np.zeros((2, 2))
        self._prev_shape = np.zeros((21, 2))
        self._prev_place = np.zeros(2)
        self._sum_shape = np.zeros((21, 2))  # over the steady run, then the hold
        self._sum_place = np.zeros(2)
        self.reset()

    def reset(self) -> None:
        self.t = 0                # index of the next frame
        self.side = -1            # the signing hand: RIGHT, LEFT or -1 (none seen)
        self.in_hold = False
        self.start = 0            # first frame of the hold or of the steady run
        self.last_held = -1       # last frame of the hold so far
        self.path = 0.0
        self._prev_t = -10**9     # frame of _prev_shape / _prev_place
        self._recent_t[:] = -1
        self._recent_side = -1
        self._prev_side = -1
        self._streak = 0          # steady frames in a row outside a hold
        self._gap = 0             # frames in a row without the signing hand
        self._count = 0

    def _choose(self, frame: np.ndarray, mask: np.ndarray, shoulders: np.ndarray) -> int:
        """The signing hand of this frame: the current one while it stays in the signing space, else
        the higher of those in it; -1 if neither is."""
        if shoulders[3] == 0.0 or shoulders[2] <= 0:
            return -1
        heights = [_hand(frame, mask, self.points[s], shoulders, self._shape[s], self._place[s])
                   if self._complete[s] else np.inf for s in (RIGHT, LEFT)]
        line = self.config.space_line
        if self.side >= 0 and heights[self.side] < line:
            return self.side
        best = RIGHT if heights[RIGHT] <= heights[LEFT] else LEFT
        return best if heights[best] < line else -1

    @property
    def height(self) -> float:
        """The signing hand's wrist height in the last frame (shoulder widths below the shoulders;
        inf without a hand)."""
        return float(self._place[self.side, 1]) if self.side >= 0 else np.inf

    def step(self, frame: np.ndarray, mask: np.ndarray, shoulders: np.ndarray) -> HoldDecision:
        """Read frame `self.t` ([K, 3] + mask [K]) given the running shoulders ([centre x, centre y,
        width, seen], as `HandActivitySegmenter.shoulders`); what it decides."""
        t = self.t
        self.t += 1
        side = self.side = self._choose(frame, mask, shoulders)
        if side < 0:
            return self._missing(t)
        self._gap = 0
        shape, place = self._shape[side], self._place[side]
        steps = t - self._prev_t
        if side == self._prev_side and steps <= self.gap_frames + 1:
            dt = steps / self.fps
            shape_speed = _distance(shape, self._prev_shape) / dt
            travel = math.hypot(place[0] - self._prev_place[0], place[1] - self._prev_place[1])
            place_speed = travel / dt
        else:  # a new hand, or the same one after a long gap: no speed yet
            shape_speed = place_speed = np.inf
            travel = 0.0
        self._prev_shape[:], self._prev_place[:] = shape, place
        self._prev_t, self._prev_side = t, side
        shift = self._shift(t, side, shape)
        c = self.config
        if self.in_hold:
            n = self._count
            if (shape_speed > c.shape_break or place_speed > c.place_break or shift > c.shift
                    or _distance(shape, self._sum_shape / n) > c.drift
                    or math.hypot(place[0] - self._sum_place[0] / n, place[1] - self._sum_place[1] / n)
                    > c.wander):
                ended = self._end(t)
                self.path = travel
                return ended
            self._add(shape, place)
            self.last_held = t
            return NOTHING
        self.path += travel
        if not (shape_speed < c.shape_still and place_speed < c.place_still and shift <= c.shift):
            self._streak = 0
            return NOTHING
        if self._streak == 0:
            self.start, self._count = t, 0
            self._sum_shape[:], self._sum_place[:] = 0.0, 0.0
        self._streak += 1
        self._add(shape, place)
        if self._streak < self.hold_frames:
            return NOTHING
        self.in_hold, self.last_held = True, t
        return HoldDecision(started=self.start)

    def finish(self) -> HoldDecision:
        """End of stream: the hold still open, if any, ends after its last frame."""
        return self._end(self.last_held + 1) if self.in_hold else NOTHING

    def _shift(self, t: int, side: int, shape: np.ndarray) -> float:
        """How far the shape moved since `shift_frames` ago (0 without that frame of this hand)."""
        size = len(self._recent_t)
        then = t - self.shift_frames
        old = self._recent_t[then % size] == then and self._recent_side == side
        shift = _distance(shape, self._recent[then % size]) if old else 0.0
        if self._recent_side != side:
            self._recent_t[:] = -1
        self._recent_side = side
        self._recent[t % size], self._recent_t[t % size] = shape, t
        return shift

    def _add(self, shape: np.ndarray, place: np.ndarray) -> None:
        self._sum_shape += shape
        self._sum_place += place
        self._count += 1

    def _missing(self, t: int) -> HoldDecision:
        """No signing hand in this frame: a missed detection, or the hand left (the hold ends)."""
        self._gap += 1
        self._streak = 0
        if self._gap <= self.gap_frames:
            return NOTHING
        self._prev_side = -1
        return self._end(self.last_held + 1) if self.in_hold else NOTHING

    def _end(self, end: int) -> HoldDecision:
        self.in_hold, self._streak, self.path = False, 0, 0.0
        return HoldDecision(ended=(self.start, end))
