"""Frame rates: every clip and camera is brought to the bundle's rate before the model sees it.

A bundle records the rate its model trained at (`fps`, 25); a 30 fps camera's sign would otherwise
reach the model 20% slower than a 25 fps training clip. Each output frame is the source frame
nearest in time (frames dropped or repeated, never blended), so a stream that decides frame by frame
(`frame_repeats`) and a whole clip resampled at once (`at_rate`) give the same frames.
"""

from __future__ import annotations

import math

import numpy as np

from .clip import PoseClip

RATE_TOLERANCE = 0.01  # rates within 1% are the same rate (29.97 and 30 are not)


def same_rate(a: float, b: float) -> bool:
    return a <= 0 or b <= 0 or abs(a - b) <= RATE_TOLERANCE * b


def frame_repeats(i: int, source_fps: float, fps: float) -> int:
    """How often source frame i appears at `fps`: the output frames j whose time j / fps is nearest
    to it, i.e. floor(j * source_fps / fps + 0.5) == i (0 where it is dropped, 2 where repeated)."""
    if same_rate(source_fps, fps):
        return 1
    step = source_fps / fps
    return max(0, math.ceil((i + 0.5) / step) - math.ceil((i - 0.5) / step))


def rate_indices(n: int, source_fps: float, fps: float) -> np.ndarray:
    """The source frame of each output frame, for a clip of n frames."""
    counts = [frame_repeats(i, source_fps, fps) for i in range(n)]
    return np.repeat(np.arange(n), counts)


def at_rate(clip: PoseClip, fps: float) -> PoseClip:
    """The clip at `fps` (unchanged where it already is, or where either rate is unknown)."""
    if same_rate(clip.fps, fps):
        return clip
    idx = rate_indices(clip.num_frames, clip.fps, fps)
    return PoseClip(clip.layout, clip.frames[idx], clip.mask[idx], float(fps), clip.width, clip.height)
