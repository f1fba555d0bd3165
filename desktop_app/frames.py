"""What passes between the app's workers: the source to open, captured images, posed frames."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

END = "end"  # passed down the slots when a video stops at its end: the open sign is finished


@dataclass(frozen=True)
class SourceSpec:
    """What to capture: a camera index or a video path; `loop` a video at its end, `paced` reads a
    video at its frame rate like a live feed (False: as fast as the workers take frames, none dropped)."""

    value: int | str
    loop: bool = True
    paced: bool = True

    @property
    def is_camera(self) -> bool:
        return isinstance(self.value, int)

    @property
    def name(self) -> str:
        return f"camera {self.value}" if self.is_camera else str(self.value)

    @classmethod
    def parse(cls, text: str, *, loop: bool = True, paced: bool = True) -> SourceSpec:
        """A CLI value: digits are a camera index, anything else a video path."""
        text = str(text)
        return cls(int(text) if text.isdigit() else text, loop=loop, paced=paced)


@dataclass(frozen=True)
class SourceInfo:
    name: str
    fps: float
    width: int
    height: int
    is_camera: bool


@dataclass(frozen=True)
class CapturedFrame:
    """One image: `epoch` counts the passes over a looping video (indices restart with each)."""

    epoch: int
    index: int
    time_s: float
    rgb: np.ndarray  # (H, W, 3) uint8
    fps: float
    captured_ns: int


@dataclass(frozen=True)
class PosedFrame:
    """An image with its own Holistic keypoints [576, 3] (pixels) and mask [576]: the overlay of a
    frame is always drawn from this object, so it cannot lag the image."""

    epoch: int
    index: int
    time_s: float
    rgb: np.ndarray
    keypoints: np.ndarray
    mask: np.ndarray
    fps: float
    captured_ns: int
    mediapipe_ms: float
    pipeline_fps: float  # frames through MediaPipe per second, recent average
