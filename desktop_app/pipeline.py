"""The app's pipeline: capture, MediaPipe and recognition workers, each on its own QThread, and the
engine service on a fourth; one lock serializes engine calls (`engine_service.LockedEngine`).

Frames pass between workers through one-frame slots (`slots`): a worker that falls behind gets the
newest frame and older ones are dropped, never queued.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QObject, QThread

from .capture_workers import CaptureWorker, PoseWorker, open_capture
from .engine_service import EngineService, LockedEngine
from .frames import SourceSpec
from .recognition import RecognitionWorker
from .slots import DisplayGate, FrameSlot

# How long closing waits for each thread. On the first start after an install a worker may be inside
# Numba's compiler (the normalization and segmentation kernels, ~10 s on a cold 2-core CPU), which no
# signal interrupts; a thread left running when the window goes would abort the process.
STOP_TIMEOUT_S = 20.0

class Pipeline(QObject):
    """Opens, starts and stops the workers of one source; the engine service lives as long as the pipeline."""

    def __init__(self, engine: LockedEngine, *, k: int = 5, opener: Callable = open_capture,
                 retry_s: float = 1.0, capture_config=None):
        super().__init__()
        self.engine, self.k = engine, k
        self.opener, self.retry_s = opener, retry_s
        self.capture_config = capture_config or engine.capture_config  # only what the model reads
        self.gate = DisplayGate()
        self.service = EngineService(engine, k)
        self.service_thread = self._thread("signclip engine", self.service)
        self.service_thread.start()
        self.capture = self.pose = self.recognition = None
        self.threads: list = []
        self.slots: list = []
        self._stragglers: list = []
        self._language: str | None = None
        self._spelling = False

    @staticmethod
    def _thread(name: str, worker: QObject) -> QThread:
        thread = QThread()
        thread.setObjectName(name)
        worker.moveToThread(thread)
        return thread

    @property
    def language(self) -> str | None:
        return self._language

    @language.setter
    def language(self, value: str | None) -> None:
        self._language = value
        self.service.language = value
        if self.recognition is not None:
            self.recognition.language = value

    @property
    def spelling(self) -> bool:
        """Spell mode: recognition reads fingerspelled letters instead of signs."""
        return self._spelling

    @spelling.setter
    def spelling(self, value: bool) -> None:
        self._spelling = bool(value)
        if self.recognition is not None:
            self.recognition.spelling = self._spelling

    def open(self, spec: SourceSpec) -> None:
        """Workers for `spec` (stopping those of the previous source); connect their signals, then `start`."""
        self.stop_source()
        frames, posed = FrameSlot(), FrameSlot()
        self.gate = DisplayGate()
        no_drops = not spec.is_camera and not spec.paced
        self.capture = CaptureWorker(spec, frames, opener=self.opener, retry_s=self.retry_s)
        self.pose = PoseWorker(frames, posed, self.gate, wait=no_drops, capture_config=self.capture_config)
        self.recognition = RecognitionWorker(self.engine, posed, k=self.k, language=self._language)
        self.recognition.spelling = self._spelling
        gate = self.gate
        self.recognition.drops = lambda: (frames.dropped, posed.dropped, gate.dropped)
        self.slots = [frames, posed]
        self.threads = []
        for name, worker in (("capture", self.capture), ("mediapipe", self.pose),
                             ("recognition", self.recognition)):
            thread = self._thread(f"signclip {name}", worker)
            thread.started.connect(worker.run)
            self.threads.append(thread)

    def start(self) -> None:
        """Start the threads of the source given to `open`."""
        for thread in reversed(self.threads):
            thread.start()

    def stop_source(self, timeout_s: float = STOP_TIMEOUT_S) -> bool:
        """Stop the source's workers and join their threads; False if one did not end in time."""
        if self.capture is not None:
            self.capture.stop()
        for slot in self.slots:
            slot.close()
        self.gate.done()
        ok = True
        for thread in self.threads:
            thread.quit()
            if not thread.wait(int(timeout_s * 1000)):
                ok = False
                self._stragglers.append(thread)  # a QThread destroyed while running aborts the process
        self.threads, self.slots = [], []
        return ok

    def stop(self, timeout_s: float = STOP_TIMEOUT_S) -> bool:
        """Stop everything, engine service included; True if every thread ended in time."""
        ok = self.stop_source(timeout_s)
        self.service_thread.quit()
        return self.service_thread.wait(int(timeout_s * 1000)) and ok

    def all_threads(self) -> list:
        return [*self.threads, self.service_thread]
