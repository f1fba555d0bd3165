"""Frame sources behind one interface: a camera, a video file or a `.pose` file, as timestamped frames.

Live sources (a camera, or a video paced in real time) read frames on a thread into a one-frame slot:
when the consumer falls behind, the frames it did not take are dropped, never queued, so latency
stays bounded. Files read as fast as they are consumed, with no drops, unless paced.
"""

from __future__ import annotations

import abc
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import SignclipError
from ..pose.io import is_pose_file, read_pose
from ..pose.layouts import HOLISTIC_576, Layout


@dataclass(frozen=True)
class Frame:
    """One frame: its index in the source (gaps = dropped frames), time in seconds since the start,
    the RGB image [H, W, 3] uint8 (None for .pose sources), keypoints [K, 3] and mask [K]."""

    index: int
    time_s: float
    rgb: np.ndarray | None
    keypoints: np.ndarray | None
    mask: np.ndarray | None


class FrameSource(abc.ABC):
    """Iterate for frames; `layout` and `fps` describe them; `dropped` counts frames never handed out."""

    layout: Layout
    fps: float
    name: str

    def __init__(self):
        self.dropped = 0

    @abc.abstractmethod
    def __iter__(self) -> Iterator[Frame]: ...

    def close(self) -> None:  # noqa: B027 (sources without a device have nothing to release)
        """Release the device or file; iteration stops."""

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class PoseFileSource(FrameSource):
    """The frames of a `.pose` file: keypoints from the file, at its fps, optionally paced."""

    def __init__(self, path, realtime: bool = False):
        super().__init__()
        self.clip = read_pose(path)
        self.name = str(path)
        self.layout, self.fps, self.realtime = self.clip.layout, self.clip.fps, realtime

    def __iter__(self) -> Iterator[Frame]:
        clip, began = self.clip, time.perf_counter()
        for t in range(clip.num_frames):
            due = t / self.fps
            if self.realtime:
                late = time.perf_counter() - began - due
                if late > 1.0 / self.fps:  # a live feed would have moved on: drop this frame
                    self.dropped += 1
                    continue
                if late < 0:
                    time.sleep(-late)
            yield Frame(t, due, None, clip.frames[t], clip.mask[t])


class FrameSlot:
    """One item between two threads. `put` overwrites (dropping the old item) or, with wait=True,
    blocks until the consumer took it; `take` waits for an item; None once closed."""

    def __init__(self):
        self._cond = threading.Condition()
        self._item = None
        self.closed = False
        self.dropped = 0

    def put(self, item, wait: bool = False) -> bool:
        with self._cond:
            while wait and self._item is not None and not self.closed:
                self._cond.wait()
            if self.closed:
                return False
            if self._item is not None:
                self.dropped += 1
            self._item = item
            self._cond.notify_all()
            return True

    def ready(self) -> bool:
        """Whether `take` would return at once (an item waits, or the slot is closed)."""
        with self._cond:
            return self._item is not None or self.closed

    def take(self):
        with self._cond:
            while self._item is None and not self.closed:
                self._cond.wait()
            item, self._item = self._item, None
            self._cond.notify_all()
            return item

    def items(self) -> Iterator:
        """Each item taken until the slot closes, with a None whenever none waits yet (then the next
        is waited for): a consumer with work in flight hands it out meanwhile."""
        while True:
            if not self.ready():
                yield None
            if (item := self.take()) is None:
                return
            yield item

    def close(self) -> None:
        with self._cond:
            self.closed = True
            self._cond.notify_all()


class VideoSource(FrameSource):
    """Frames of a video file or a camera, with keypoints from MediaPipe Holistic (`estimate=False`:
    images only). A camera, or a file with `realtime=True`, is read on a thread and drops frames."""

    def __init__(self, source, *, realtime: bool | None = None, estimate: bool = True, capture_config=None):
        super().__init__()
        from .holistic import CaptureConfig, open_video

        self.is_camera = isinstance(source, int)
        self.name = f"camera {source}" if self.is_camera else str(source)
        if self.is_camera:
            self._capture, self.fps = open_camera(source)
        else:
            self._capture, info = open_video(source)
            self.fps = info.fps
        self.realtime = self.is_camera if realtime is None else (realtime or self.is_camera)
        self._config = capture_config or CaptureConfig()
        self.layout = HOLISTIC_576
        self._holistic = None
        if estimate:
            from .holistic import HolisticCapture

            self._holistic = HolisticCapture(self._config)
            self.layout = self._holistic.layout
        self._slot = FrameSlot()
        self._thread = None
        self._stop = threading.Event()

    def _read(self):
        import cv2

        from .holistic import quiet_native_stderr

        with quiet_native_stderr():  # ffmpeg reports a damaged file's packets; decodable frames go on
            ok, bgr = self._capture.read()
        return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB) if ok else None

    def _reader(self) -> None:
        """Thread: read every frame (paced to the fps for files) into the slot, newest wins."""
        began, index = time.perf_counter(), 0
        try:
            while not self._stop.is_set():
                rgb = self._read()
                if rgb is None:
                    break
                now = time.perf_counter() - began
                if self.is_camera:
                    stamp = now
                else:
                    stamp = index / self.fps
                    if stamp > now:
                        time.sleep(stamp - now)
                self._slot.put((index, stamp, rgb))
                index += 1
        finally:
            self._slot.close()

    def _rgb_frames(self) -> Iterator:
        """(index, time, rgb) of each frame; a live source also yields None while no new frame waits."""
        if not self.realtime:
            index = 0
            while (rgb := self._read()) is not None:
                yield index, index / self.fps, rgb
                index += 1
            return
        self._thread = threading.Thread(target=self._reader, name=f"read {self.name}", daemon=True)
        self._thread.start()
        for item in self._slot.items():
            self.dropped = self._slot.dropped
            yield item
        self.dropped = self._slot.dropped

    def __iter__(self) -> Iterator[Frame]:
        frames = self._rgb_frames()
        if self._holistic is None:
            yield from (Frame(index, stamp, rgb, None, None) for index, stamp, rgb in filter(None, frames))
            return
        pairs = (None if item is None else (item, item[2]) for item in frames)
        for (index, stamp, rgb), keypoints, confidence in self._holistic.stream(pairs):
            yield Frame(index, stamp, rgb, keypoints, confidence > 0)

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2.0)
        self._capture.release()
        if self._holistic is not None:
            self._holistic.close()
            self._holistic = None


def open_camera(index: int) -> tuple:
    """(cv2.VideoCapture, fps) for a camera that opens, else a SignclipError."""
    import cv2

    level = cv2.getLogLevel()
    cv2.setLogLevel(0)  # silent: our one-line error replaces OpenCV's warnings
    try:
        capture = cv2.VideoCapture(index)
    finally:
        cv2.setLogLevel(level)
    if not capture.isOpened():
        capture.release()
        raise SignclipError(f"camera {index} cannot be opened (no such camera, or it is in use); "
                            "give another index or a video/.pose file with --source")
    fps = capture.get(cv2.CAP_PROP_FPS) or 0.0
    return capture, float(fps) if 1 <= fps <= 240 else 30.0


def open_source(spec, *, realtime: bool = False, estimate: bool = True, capture_config=None) -> FrameSource:
    """A source from a CLI value: a camera index ("0"), a `.pose` file or a video file."""
    text = str(spec)
    if text.isdigit():
        return VideoSource(int(text), estimate=estimate, capture_config=capture_config)
    path = Path(text)
    if not path.exists():
        raise SignclipError(f"--source {text}: no such file, and not a camera index (0, 1, ...)")
    if is_pose_file(path):
        return PoseFileSource(path, realtime=realtime)
    return VideoSource(path, realtime=realtime, estimate=estimate, capture_config=capture_config)
