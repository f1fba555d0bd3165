"""Where signs start and end in a stream of keypoint frames: hand activity with hysteresis, or windows.

Both segmenters take one frame at a time and do constant work per frame. Heights are measured in
shoulder widths below the shoulder line, from a running (exponentially smoothed) estimate of the
shoulders, so they do not depend on the camera's resolution or the signer's distance.
"""

from __future__ import annotations

from dataclasses import dataclass

import numba
import numpy as np

from ..errors import SignclipError
from ..pose.clip import PoseClip
from ..pose.layouts import BODY, LEFT_HAND, RIGHT_HAND, Layout
from ..pose.normalize import RESTING_BELOW

NO_HEIGHT = np.inf  # a hand that is not seen is infinitely low: never in the signing space


@dataclass(frozen=True)
class SegmenterConfig:
    """Thresholds of the hand-activity segmenter. Heights in shoulder widths below the shoulder line
    (0 = at the shoulders, negative = above them); times in seconds, turned into frames by the fps.

    Measured on the Signademy letter videos (seated signer): a hand resting in the lap is 1.4-1.65
    below the shoulders, the hips about 1.35, a held fingerspelled letter 0.45 above to 0.3 below.
    """

    rise_line: float = 1.0     # a wrist above this line is in the signing space: a sign may start
    rest_line: float = RESTING_BELOW  # during a sign, the hands rest only below this line (hysteresis)
    move_speed: float = 2.0    # shoulder widths / s: a wrist between the lines moving this fast counts
    start_s: float = 0.1       # activity must last this long to start a sign
    end_s: float = 0.3         # rest must last this long to end a sign (the sign ends where rest began)
    max_gap_s: float = 0.2     # frames without any wrist change nothing for this long (missed
                               # detections); longer means the hands left the frame: the sign ends
    min_sign_s: float = 0.3    # shorter segments are dropped as noise
    max_sign_s: float = 8.0    # a longer sign is cut here (the model reads at most 256 frames)
    pre_roll_s: float = 0.1    # frames kept before the first active frame
    post_roll_s: float = 0.1   # frames kept after the last active frame (at most end_s)
    shoulder_smoothing: float = 0.2  # weight of a new frame in the running shoulder estimate
    speed_smoothing: float = 0.5     # weight of a new frame in each wrist's running speed

    def check(self) -> None:
        if self.rest_line < self.rise_line:
            raise SignclipError(f"rest_line {self.rest_line} is above rise_line {self.rise_line}: "
                                "the rest line must be at or below the rise line")
        if self.post_roll_s > self.end_s:
            raise SignclipError(f"post_roll_s {self.post_roll_s} exceeds end_s {self.end_s}")
        if not 0 < self.shoulder_smoothing <= 1 or not 0 < self.speed_smoothing <= 1:
            raise SignclipError("shoulder_smoothing and speed_smoothing must be in (0, 1]")
        if self.min_sign_s > self.max_sign_s:
            raise SignclipError(f"min_sign_s {self.min_sign_s} exceeds max_sign_s {self.max_sign_s}")


@dataclass(frozen=True)
class FrameCounts:
    """SegmenterConfig's times in frames at one frame rate."""

    start: int
    end: int
    max_gap: int
    min_sign: int
    max_sign: int
    pre_roll: int
    post_roll: int

    @classmethod
    def of(cls, config: SegmenterConfig, fps: float) -> FrameCounts:
        def frames(s: float, least: int = 0) -> int:
            return max(least, int(round(s * fps)))

        return cls(start=frames(config.start_s, 1), end=frames(config.end_s, 1),
                   max_gap=frames(config.max_gap_s), min_sign=frames(config.min_sign_s, 1),
                   max_sign=frames(config.max_sign_s, 2), pre_roll=frames(config.pre_roll_s),
                   post_roll=min(frames(config.post_roll_s), frames(config.end_s, 1) - 1))


@dataclass(frozen=True)
class Decision:
    """What one frame changed: `ended` = (start, end) frames of a finished sign (end exclusive),
    `started` = first frame of a new sign (possibly before this one: the pre-roll)."""

    ended: tuple | None = None
    started: int | None = None


NOTHING = Decision()


@dataclass(frozen=True)
class HandPoints:
    """Indices of the points the segmenter reads (-1 where the layout lacks one)."""

    shoulders: np.ndarray  # (2,) right, left
    wrists: np.ndarray     # (2, 2): per side (right, left), [hand model wrist, body wrist]

    @classmethod
    def of(cls, layout: Layout) -> HandPoints:
        def at(component, name):
            return layout.index.get((component, name), -1)

        shoulders = np.array([at(BODY, "RIGHT_SHOULDER"), at(BODY, "LEFT_SHOULDER")], np.int64)
        if (shoulders < 0).any():
            raise SignclipError(f"layout {layout.name} has no shoulders: cannot segment signs")
        wrists = np.array([[at(RIGHT_HAND, "WRIST"), at(BODY, "RIGHT_WRIST")],
                           [at(LEFT_HAND, "WRIST"), at(BODY, "LEFT_WRIST")]], np.int64)
        if (wrists < 0).all():
            raise SignclipError(f"layout {layout.name} has no wrists: cannot segment signs")
        return cls(shoulders, wrists)


@numba.njit(cache=True)
def _measure(frame, mask, shoulders, wrists, state, alpha, beta, fps, out):
    """Update the running shoulders (state[0:3] = centre x, y, width; state[3] = seen) and each
    wrist's last position and speed (state[4 + 4*side:] = x, y, speed, seen); write each side's
    height below the shoulders to out[side, 0] and speed to out[side, 1] (shoulder widths, per s)."""
    a, b = shoulders[0], shoulders[1]
    if mask[a] and mask[b]:
        cx = (frame[a, 0] + frame[b, 0]) * 0.5
        cy = (frame[a, 1] + frame[b, 1]) * 0.5
        dx, dy = frame[a, 0] - frame[b, 0], frame[a, 1] - frame[b, 1]
        width = np.sqrt(dx * dx + dy * dy)
        if width > 0:
            if state[3] == 0.0:
                state[0], state[1], state[2], state[3] = cx, cy, width, 1.0
            else:
                state[0] += alpha * (cx - state[0])
                state[1] += alpha * (cy - state[1])
                state[2] += alpha * (width - state[2])
    for side in range(2):
        out[side, 0] = np.inf
        out[side, 1] = 0.0
        s = 4 + 4 * side
        if state[3] == 0.0:
            state[s + 3] = 0.0
            continue
        point = -1
        for j in range(2):  # the hand model's wrist is sharper; the body's is found more often
            i = wrists[side, j]
            if i >= 0 and mask[i]:
                point = i
                break
        if point < 0:
            state[s + 3] = 0.0
            continue
        x = (frame[point, 0] - state[0]) / state[2]
        y = (frame[point, 1] - state[1]) / state[2]
        if state[s + 3] != 0.0:
            step = np.sqrt((x - state[s]) ** 2 + (y - state[s + 1]) ** 2) * fps
            state[s + 2] += beta * (step - state[s + 2])
        else:
            state[s + 2] = 0.0
        state[s], state[s + 1], state[s + 3] = x, y, 1.0
        out[side, 0] = y
        out[side, 1] = state[s + 2]


class HandActivitySegmenter:
    """Frame by frame: is a hand in the signing space (or moving low in it)? With hysteresis on the
    height line and in time, gap filling for missed detections, and minimum/maximum sign lengths."""

    def __init__(self, layout: Layout, fps: float, config: SegmenterConfig = SegmenterConfig()):
        config.check()
        if not fps > 0:
            raise SignclipError(f"fps {fps}: must be positive")
        self.layout, self.fps, self.config = layout, float(fps), config
        self.frames = FrameCounts.of(config, fps)
        self.points = HandPoints.of(layout)
        self._state = np.zeros(12)
        self._out = np.zeros((2, 2))
        self.reset()

    def reset(self) -> None:
        self._state[:] = 0.0
        self.t = 0                 # index of the next frame
        self.in_sign = False
        self.start = 0             # first frame of the current sign
        self.last_active = -1      # last frame that was active
        self.last_end = 0          # end of the previous sign: a pre-roll never reaches before it
        self._streak = 0           # consecutive active frames while resting
        self._gap = 0              # consecutive frames with no wrist seen

    @property
    def shoulders(self) -> np.ndarray:
        """The running shoulder estimate after the last frame: [centre x, centre y, width, seen]."""
        return self._state[:4]

    def _activity(self, frame: np.ndarray, mask: np.ndarray) -> bool | None:
        """True: a hand is in the signing space (or moving in its low part); False: the hands rest;
        None: no wrist seen in this frame."""
        c = self.config
        _measure(frame, mask, self.points.shoulders, self.points.wrists, self._state,
                 c.shoulder_smoothing, c.speed_smoothing, self.fps, self._out)
        heights, speeds = self._out[:, 0], self._out[:, 1]
        if np.isinf(heights).all():
            return None
        line = c.rest_line if self.in_sign else c.rise_line
        return bool((heights < line).any() or ((heights < c.rest_line) & (speeds >= c.move_speed)).any())

    def step(self, frame: np.ndarray, mask: np.ndarray) -> Decision:
        """Read frame `self.t` ([K, 3] + mask [K] in the layout); what it decides."""
        t = self.t
        self.t += 1
        active = self._activity(frame, mask)
        f = self.frames
        # a short run of frames without any wrist (missed detections) changes nothing; a longer one
        # means the hands left the frame, which ends a sign where they were last seen
        self._gap = self._gap + 1 if active is None else 0
        left = self._gap > f.max_gap
        if not self.in_sign:
            if active or (active is None and not left):
                self._streak += 1 if active else 0
            else:
                self._streak = 0
            if self._streak < f.start:
                return NOTHING
            self.in_sign, self.last_active = True, t
            first = t - self._streak + 1 if active else t  # approximately, across a short gap
            self.start = max(first - f.pre_roll, self.last_end)
            return Decision(started=self.start)
        if active:
            self.last_active = t
        if left or t - self.last_active >= f.end:
            return Decision(ended=self._close(min(t + 1, self.last_active + 1 + f.post_roll)))
        if t - self.start >= f.max_sign:  # too long: cut before this frame
            ended = self._close(min(t, self.last_active + 1 + f.post_roll))
            if not active:
                return Decision(ended=ended)
            self.in_sign, self.start, self.last_active = True, t, t
            return Decision(ended=ended, started=t)
        return NOTHING

    def committed(self) -> int:
        """Frames before this index surely belong to the current sign (rest after it may not)."""
        return min(self.t, self.last_active + 1 + self.frames.post_roll)

    def finish(self) -> tuple | None:
        """End of stream: (start, end) of the sign still open, if any."""
        if not self.in_sign:
            return None
        return self._close(self.committed())

    def _close(self, end: int) -> tuple | None:
        """Leave the sign; its (start, end), or None when it is shorter than min_sign."""
        start = self.start
        self.in_sign, self._streak, self.last_end = False, 0, end
        return (start, end) if end - start >= self.frames.min_sign else None


@dataclass(frozen=True)
class WindowConfig:
    """Fixed sliding windows: `window_s` long, one every `hop_s` (both in seconds)."""

    window_s: float = 1.5
    hop_s: float = 0.5

    def frames(self, fps: float) -> tuple:
        window, hop = int(round(self.window_s * fps)), int(round(self.hop_s * fps))
        if window < 1 or hop < 1:
            raise SignclipError(f"window {self.window_s} s and hop {self.hop_s} s at {fps} fps: "
                                "both must be at least one frame")
        return window, hop


class SlidingWindows:
    """Windows [start, start + window) for start = 0, hop, 2 hop, ...; one decision per frame."""

    def __init__(self, fps: float, config: WindowConfig = WindowConfig()):
        self.window, self.hop = config.frames(fps)
        self.t = 0

    def step(self) -> tuple | None:
        """The window that ends with this frame, if one does."""
        t = self.t
        self.t += 1
        start = t + 1 - self.window
        return (start, t + 1) if start >= 0 and start % self.hop == 0 else None

    def starts_here(self, t: int) -> bool:
        return t % self.hop == 0


def segment_clip(clip: PoseClip, config: SegmenterConfig = SegmenterConfig()) -> list:
    """(start, end) frame ranges of the signs in a clip (end exclusive), as the stream would find them."""
    segmenter = HandActivitySegmenter(clip.layout, clip.fps, config)
    found = []
    for t in range(clip.num_frames):
        ended = segmenter.step(clip.frames[t], clip.mask[t]).ended
        if ended is not None:
            found.append(ended)
    last = segmenter.finish()
    return found + ([last] if last is not None else [])


def trim_rest(clip: PoseClip, config: SegmenterConfig = SegmenterConfig()) -> PoseClip:
    """The clip from the first sign's start to the last sign's end: rest before and after removed.

    A recording of one sign usually starts and ends with the hands down (a phone video, a webcam);
    training clips hold only the sign. Without any sign found, the clip comes back whole.
    """
    spans = segment_clip(clip, config)
    if not spans:
        return clip
    return clip.slice(spans[0][0], spans[-1][1])


def window_clip(clip: PoseClip, config: WindowConfig = WindowConfig()) -> list:
    """(start, end) of every full sliding window of a clip."""
    windows = SlidingWindows(clip.fps, config)
    return [w for w in (windows.step() for _ in range(clip.num_frames)) if w is not None]
