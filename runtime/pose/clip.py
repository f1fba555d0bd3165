"""One type for a pose sequence: a layout of named points, frames, a mask, and the video it came from."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .layouts import Layout, conversion_plan, convert


@dataclass(frozen=True)
class PoseClip:
    """Keypoints of one person: frames float32 [T, K, 3], mask bool [T, K] (True = observed)."""

    layout: Layout
    frames: np.ndarray
    mask: np.ndarray
    fps: float
    width: int = 0
    height: int = 0

    def __post_init__(self):
        t, k = self.mask.shape
        if self.frames.shape != (t, k, 3) or k != self.layout.size:
            raise ValueError(f"frames {self.frames.shape} and mask {self.mask.shape} do not fit "
                             f"layout {self.layout.name} ({self.layout.size} points)")

    @property
    def num_frames(self) -> int:
        return self.frames.shape[0]

    def to_layout(self, target: Layout) -> PoseClip:
        """The same clip in another layout; points the source lacks are masked."""
        frames, mask = convert(self.frames, self.mask, conversion_plan(self.layout, target))
        return PoseClip(target, frames, mask, self.fps, self.width, self.height)

    def slice(self, start: int, end: int) -> PoseClip:
        return PoseClip(self.layout, self.frames[start:end].copy(), self.mask[start:end].copy(),
                        self.fps, self.width, self.height)

    def detection_rate(self, component: str) -> float:
        """Share of frames in which any point of a component was observed."""
        idx = [i for i, (c, _) in enumerate(self.layout.points) if c == component]
        if not idx or self.num_frames == 0:
            return 0.0
        return float(self.mask[:, idx].any(axis=1).mean())
