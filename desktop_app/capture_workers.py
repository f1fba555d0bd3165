"""The app's first two workers: capture (camera or video) and MediaPipe Holistic, each a QObject to run
on its own QThread, handing frames on through one-frame slots."""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable

import numpy as np
from PySide6.QtCore import QObject, Signal, Slot

from signclip.runtime.errors import SignclipError

from .frames import END, CapturedFrame, PosedFrame, SourceInfo, SourceSpec
from .slots import DisplayGate, FrameSlot


def open_capture(spec: SourceSpec) -> tuple:
    """(cv2.VideoCapture, SourceInfo) for a camera or video, else a SignclipError."""
    import cv2

    from signclip.runtime.capture.holistic import open_video
    from signclip.runtime.capture.sources import open_camera

    if spec.is_camera:
        capture, fps = open_camera(spec.value)
    else:
        capture, info = open_video(spec.value)
        fps = info.fps
    info = SourceInfo(spec.name, fps, int(capture.get(cv2.CAP_PROP_FRAME_WIDTH)),
                      int(capture.get(cv2.CAP_PROP_FRAME_HEIGHT)), spec.is_camera)
    return capture, info


class CaptureWorker(QObject):
    """Reads frames into `out`. A camera that stops giving frames is reopened every `retry_s`."""

    opened = Signal(SourceInfo)
    failed = Signal(str)   # could not open at all (no camera, bad file): the worker has stopped
    lost = Signal(str)     # a camera stopped giving frames; retrying
    looped = Signal(int)   # a video restarted; the new epoch
    ended = Signal()       # a video reached its end and stops

    def __init__(self, spec: SourceSpec, out: FrameSlot, *, opener: Callable = open_capture,
                 retry_s: float = 1.0):
        super().__init__()
        self.spec, self.out, self.opener, self.retry_s = spec, out, opener, retry_s
        self.stopping = threading.Event()
        self.frames = 0

    def stop(self) -> None:
        self.stopping.set()

    @Slot()
    def run(self) -> None:
        try:
            self._run()
        except Exception as e:  # a bug must not leave the window without a message
            self.failed.emit(f"{self.spec.name}: capture stopped: {e}")
        finally:
            self.out.close()

    def _open(self):
        try:
            return self.opener(self.spec)
        except SignclipError as e:
            return str(e)

    def _run(self) -> None:
        opened = self._open()
        if isinstance(opened, str):
            self.failed.emit(opened)
            return
        epoch = 0
        while not self.stopping.is_set():
            capture, info = opened
            self.opened.emit(info)
            result = self._read_all(capture, info, epoch)
            capture.release()
            if self.stopping.is_set():
                return
            if self.spec.is_camera:  # unplugged, or the driver gave up: retry until stopped
                self.lost.emit(f"{self.spec.name} stopped giving frames; retrying every "
                               f"{self.retry_s:g} s")
                opened = self._open()
                while isinstance(opened, str) and not self.stopping.wait(self.retry_s):
                    opened = self._open()
                if isinstance(opened, str):
                    return
                epoch += 1
            elif self.spec.loop and result > 0:
                epoch += 1
                self.looped.emit(epoch)
                opened = self._open()
                if isinstance(opened, str):
                    self.failed.emit(opened)
                    return
            else:
                self.out.put(END, wait=True)
                self.ended.emit()
                return

    def _read_all(self, capture, info: SourceInfo, epoch: int) -> int:
        """Frames until the source ends or the worker stops; how many were read."""
        import cv2

        began, index = time.perf_counter(), 0
        live = self.spec.is_camera or self.spec.paced
        while not self.stopping.is_set():
            ok, bgr = capture.read()
            if not ok:
                break
            rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
            stamp = index / info.fps
            if self.spec.is_camera:
                stamp = time.perf_counter() - began
            elif self.spec.paced and self.stopping.wait(max(0.0, stamp - (time.perf_counter() - began))):
                break
            frame = CapturedFrame(epoch, index, stamp, rgb, info.fps, time.perf_counter_ns())
            if not self.out.put(frame, wait=not live):
                break
            index += 1
            self.frames += 1
        return index


class PoseWorker(QObject):
    """MediaPipe Holistic on the newest captured frame; hands the result to recognition and the UI."""

    posed = Signal(PosedFrame)
    failed = Signal(str)

    def __init__(self, inp: FrameSlot, out: FrameSlot, gate: DisplayGate, *, wait: bool = False,
                 capture_config=None):
        super().__init__()
        self.inp, self.out, self.gate, self.wait = inp, out, gate, wait
        self.capture_config = capture_config
        self.frames = 0
        self.first_done_ns = 0  # when the first frame came out of MediaPipe (after the graph started)

    @Slot()
    def run(self) -> None:
        try:
            self._run()
        except Exception as e:
            self.failed.emit(f"MediaPipe stopped: {e}")
        finally:
            self.out.close()

    def _run(self) -> None:
        from signclip.runtime.capture.holistic import CaptureConfig, HolisticCapture

        recent = deque(maxlen=30)  # finish times of the last frames, for the FPS readout
        with HolisticCapture(self.capture_config or CaptureConfig()) as holistic:
            for (item, t0), keypoints, confidence in holistic.stream(self._pairs()):
                t1 = time.perf_counter_ns()
                self.frames += 1
                self.first_done_ns = self.first_done_ns or t1
                recent.append(t1)
                fps = (len(recent) - 1) / ((recent[-1] - recent[0]) / 1e9) if len(recent) > 1 else 0.0
                frame = PosedFrame(item.epoch, item.index, item.time_s, item.rgb,
                                   keypoints.astype(np.float32), confidence > 0, item.fps, item.captured_ns,
                                   (t1 - t0) / 1e6, fps)
                self.out.put(frame, wait=self.wait)
                if self.gate.offer():
                    self.posed.emit(frame)

    def _pairs(self):
        """((frame, when it went in), rgb) for MediaPipe's stream; None while no new frame waits, so
        that the frames in flight come out without waiting for the camera's next one."""
        for item in self.inp.items():
            if item is None:
                yield None
            elif item is END:  # the frames before the end come out first
                yield None
                self.out.put(END, wait=True)
            else:
                yield (item, time.perf_counter_ns()), item.rgb
