"""The app's workers: capture, MediaPipe and recognition, each a QObject on its own QThread.

Frames pass between workers through one-frame slots: a worker that falls behind gets the newest
frame and the older ones are dropped, never queued, so latency stays bounded. The UI gets a frame
only once it has painted the previous one (`DisplayGate`). Engine calls from the UI (text search,
teach, forget) run on a fourth thread (`EngineService`); one lock serializes them with recognition.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from PySide6.QtCore import QObject, QThread, Signal, Slot

from signclip.runtime.errors import SignclipError
from signclip.runtime.layouts import HOLISTIC_576
from signclip.runtime.pose import PoseClip

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


@dataclass(frozen=True)
class Recognition:
    """One recognized sign: source frames [start, end), the top-k matches (empty: no shoulders seen)
    and the per-stage timings of `signclip.runtime.recognizer.Timings`."""

    start_frame: int
    end_frame: int
    start_s: float
    end_s: float
    matches: tuple
    timings: object
    language: str | None


@dataclass(frozen=True)
class Stats:
    """Readouts: pipeline FPS, mean MediaPipe ms, segmentation + normalization us per frame, the last
    sign's encoder and lookup ms, and frames dropped at each hand-off."""

    fps: float
    mediapipe_ms: float
    segment_us: float
    encode_ms: float
    lookup_ms: float
    frames: int
    dropped_capture: int
    dropped_recognition: int
    dropped_display: int


@dataclass(frozen=True)
class TeachRequest:
    """Record `count` examples of `label`: each one recognized sign, or `seconds` of frames if set."""

    label: str
    count: int
    language: str | None = None
    seconds: float | None = None


@dataclass(frozen=True)
class TeachExamples:
    label: str
    language: str | None
    clips: tuple  # PoseClip in HOLISTIC_576
    sources: tuple


@dataclass
class Counter:
    value: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, n: int = 1) -> None:
        with self.lock:
            self.value += n


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

    def take(self):
        with self._cond:
            while self._item is None and not self.closed:
                self._cond.wait()
            item, self._item = self._item, None
            self._cond.notify_all()
            return item

    def close(self) -> None:
        with self._cond:
            self.closed = True
            self._cond.notify_all()


class DisplayGate:
    """Lets one frame at a time go to the UI: `offer` is True when the UI painted the previous one
    (the caller then emits), else the frame is counted as dropped for display."""

    def __init__(self):
        self._free = threading.Event()
        self._free.set()
        self.dropped = 0

    def offer(self) -> bool:
        if self._free.is_set():
            self._free.clear()
            return True
        self.dropped += 1
        return False

    def done(self) -> None:
        self._free.set()


class LockedEngine:
    """The engine with one lock: recognition, search and teach run on different threads."""

    def __init__(self, engine):
        self.engine = engine
        self.lock = threading.RLock()

    def embed_one(self, model_input):
        with self.lock:
            return self.engine.pose_encoder.embed_one(model_input)

    def lookup_embedding(self, embedding, k: int, language: str | None) -> list:
        with self.lock:
            return self.engine.lookup_embedding(embedding, k, language)

    def languages(self) -> list:
        with self.lock:
            return self.engine.languages()

    def lookup_text(self, text: str, k: int, language: str | None) -> list:
        with self.lock:
            return self.engine.lookup_text(text, k, language)

    def teach(self, examples: TeachExamples):
        with self.lock:
            return self.engine.teach(examples.label, list(examples.clips), list(examples.sources),
                                     examples.language)

    def forget(self, label: str, language: str | None):
        with self.lock:
            return self.engine.forget(label, language)

    def signs(self) -> list:
        with self.lock:
            return self.engine.personal.signs()

    def personal_warning(self) -> str | None:
        with self.lock:
            return self.engine.personal_warning()


def open_capture(spec: SourceSpec) -> tuple:
    """(cv2.VideoCapture, SourceInfo) for a camera or video, else a SignclipError."""
    import cv2

    from signclip.runtime.capture import open_video
    from signclip.runtime.sources import open_camera

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
        self.busy_ns = 0
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
        from signclip.runtime.capture import CaptureConfig, HolisticCapture

        recent = deque(maxlen=30)  # finish times of the last frames, for the FPS readout
        with HolisticCapture(self.capture_config or CaptureConfig()) as holistic:
            while (item := self.inp.take()) is not None:
                if item is END:
                    self.out.put(END, wait=True)
                    continue
                t0 = time.perf_counter_ns()
                keypoints, confidence = holistic.process(item.rgb)
                t1 = time.perf_counter_ns()
                self.frames += 1
                self.busy_ns += t1 - t0
                self.first_done_ns = self.first_done_ns or t1
                recent.append(t1)
                fps = (len(recent) - 1) / ((recent[-1] - recent[0]) / 1e9) if len(recent) > 1 else 0.0
                frame = PosedFrame(item.epoch, item.index, item.time_s, item.rgb,
                                   keypoints.astype(np.float32), confidence > 0, item.fps, item.captured_ns,
                                   (t1 - t0) / 1e6, fps)
                self.out.put(frame, wait=self.wait)
                if self.gate.offer():
                    self.posed.emit(frame)


class RecognitionWorker(QObject):
    """Streaming recognition (`signclip.runtime.recognizer.Recognizer`) on the newest posed frames;
    records teaching examples from the same frames."""

    recognized = Signal(Recognition)
    capturing = Signal(bool)          # a sign has started (True) or ended (False)
    stats = Signal(Stats)
    recording = Signal(int, int)      # examples recorded so far, examples asked for
    recorded = Signal(TeachExamples)  # all examples of a teach request
    failed = Signal(str)
    stopped = Signal()                # the input ended (END then closed) or the pipeline stopped

    def __init__(self, engine: LockedEngine, inp: FrameSlot, *, k: int = 5, language: str | None = None,
                 normalization=None, history_s: float = 20.0, stats_every_s: float = 0.25):
        super().__init__()
        self.engine, self.inp, self.k = engine, inp, k
        self.language = language  # set from the UI thread; read once per sign
        self.normalization = normalization
        self.history_s, self.stats_every_s = history_s, stats_every_s
        self.drops: Callable[[], tuple] = lambda: (0, 0, 0)
        self._request: TeachRequest | None = None
        self._request_lock = threading.Lock()
        self.events = 0
        self.frames = 0
        self.last_frame_ns = 0  # when the newest frame was fed to the recognizer

    def record(self, request: TeachRequest) -> None:
        """Start recording examples (any thread); replaces a recording in progress."""
        with self._request_lock:
            self._request = request

    def cancel_recording(self) -> None:
        with self._request_lock:
            self._request = None

    def _search(self, embedding):
        return self.engine.lookup_embedding(embedding, self.k, self.language)

    @Slot()
    def run(self) -> None:
        try:
            self._run()
        except Exception as e:
            self.failed.emit(f"recognition stopped: {e}")
        finally:
            self.stopped.emit()

    def _new_recognizer(self, fps: float):
        from signclip.runtime.normalize import NormalizationConfig
        from signclip.runtime.recognizer import Recognizer

        return Recognizer(HOLISTIC_576, fps, self.engine.embed_one, self._search,
                          normalization=self.normalization or NormalizationConfig())

    def _run(self) -> None:
        recognizer, epoch, in_sign = None, None, False
        history: deque = deque()
        last_stats = 0.0
        state = _Recording()
        encode_ms = lookup_ms = 0.0
        latest = None
        mark = (0, 0)  # recognizer time and frames at the last readout
        while (item := self.inp.take()) is not None:
            events = []
            if item is END or (recognizer is not None and item.epoch != epoch):
                events = recognizer.finish() if recognizer is not None else []
                recognizer = None
            if item is not END:
                if recognizer is None:
                    recognizer, epoch = self._new_recognizer(item.fps), item.epoch
                    recognizer.warm_up()
                    history.clear()
                    mark = (0, 0)
                latest = item
                history.append((item.index, item.keypoints, item.mask))
                while len(history) > self.history_s * item.fps:
                    history.popleft()
                events += recognizer.feed(item)
                self.frames += 1
                self.last_frame_ns = time.perf_counter_ns()
            for event in events:
                encode_ms, lookup_ms = event.timings.encode_ms, event.timings.lookup_ms
                self.events += 1
                self.recognized.emit(Recognition(event.start_frame, event.end_frame, event.start_s,
                                                 event.end_s, tuple(event.results or ()), event.timings,
                                                 self.language))
            self._teach_step(state, events, history, latest, item is END)
            now_in_sign = recognizer is not None and recognizer.in_sign
            if now_in_sign != in_sign:
                in_sign = now_in_sign
                self.capturing.emit(in_sign)
            now = time.perf_counter()
            if latest is not None and recognizer is not None and now - last_stats >= self.stats_every_s:
                last_stats = now
                # segmentation + normalization per frame since the last readout (not since the start,
                # which would keep the JIT compile of the first frame in the mean)
                ns, seen = recognizer.total_frame_ns, recognizer.frames_seen
                segment_us = (ns - mark[0]) / max(seen - mark[1], 1) / 1e3 if seen >= mark[1] else 0.0
                mark = (ns, seen)
                self.stats.emit(Stats(latest.pipeline_fps, latest.mediapipe_ms, segment_us,
                                      encode_ms, lookup_ms, self.frames, *self.drops()))

    def _teach_step(self, state: _Recording, events: list, history: deque, latest, ended: bool) -> None:
        with self._request_lock:
            request = self._request
        if request is not state.request:
            state.restart(request, latest.index if latest is not None else 0)
            if request is not None:
                self.recording.emit(0, request.count)
        if request is None or latest is None:
            return
        ranges = []
        if latest.index < state.start:  # the video looped: indices restarted
            state.start = latest.index
        if request.seconds is None:
            ranges = [(e.start_frame, e.end_frame) for e in events if e.results]
        elif (latest.index - state.start + 1 >= request.seconds * latest.fps
              or (ended and latest.index > state.start)):
            ranges = [(state.start, latest.index + 1)]
            state.start = latest.index + 1
        for start, end in ranges:
            rows = [(k, m) for i, k, m in history if start <= i < end]
            if len(rows) < 2:
                continue
            clip = PoseClip(HOLISTIC_576, np.stack([k for k, _ in rows]), np.stack([m for _, m in rows]),
                            latest.fps, latest.rgb.shape[1], latest.rgb.shape[0])
            state.clips.append(clip)
            state.sources.append(f"app:frames {start}-{end}")
            self.recording.emit(len(state.clips), request.count)
            if len(state.clips) == request.count:
                self.recorded.emit(TeachExamples(request.label, request.language, tuple(state.clips),
                                                 tuple(state.sources)))
                with self._request_lock:
                    if self._request is request:
                        self._request = None
                state.restart(None, 0)
                return


class _Recording:
    """The teach request being recorded and its examples so far."""

    def __init__(self):
        self.restart(None, 0)

    def restart(self, request, start: int) -> None:
        self.request, self.start = request, start
        self.clips, self.sources = [], []


class EngineService(QObject):
    """Text search, teach, forget and the personal sign list, off the UI thread."""

    searched = Signal(str, list)   # query, matches
    taught = Signal(str, int)      # label, examples of it now
    signs = Signal(list)           # (label, language, examples) of every taught sign
    failed = Signal(str)

    def __init__(self, engine: LockedEngine, k: int = 5):
        super().__init__()
        self.engine, self.k = engine, k
        self.language: str | None = None

    @Slot(str)
    def search(self, text: str) -> None:
        try:
            self.searched.emit(text, self.engine.lookup_text(text, self.k, self.language))
        except SignclipError as e:
            self.failed.emit(str(e))

    @Slot(TeachExamples)
    def teach(self, examples: TeachExamples) -> None:
        try:
            vocab = self.engine.teach(examples)
        except SignclipError as e:
            self.failed.emit(str(e))
            return
        count = sum(n for label, _, n in vocab.signs() if label == examples.label)
        self.taught.emit(examples.label, count)
        self.signs.emit(vocab.signs())

    @Slot(str, str)
    def forget(self, label: str, language: str) -> None:
        try:
            vocab = self.engine.forget(label, language)
        except SignclipError as e:
            self.failed.emit(str(e))
            return
        self.signs.emit(vocab.signs())

    @Slot()
    def list_signs(self) -> None:
        self.signs.emit(self.engine.signs())


class Pipeline(QObject):
    """Opens, starts and stops the workers of one source; the engine service lives as long as the pipeline."""

    def __init__(self, engine: LockedEngine, *, k: int = 5, normalization=None,
                 opener: Callable = open_capture, retry_s: float = 1.0, capture_config=None):
        super().__init__()
        self.engine, self.k, self.normalization = engine, k, normalization
        self.opener, self.retry_s, self.capture_config = opener, retry_s, capture_config
        self.gate = DisplayGate()
        self.service = EngineService(engine, k)
        self.service_thread = self._thread("signclip engine", self.service)
        self.service_thread.start()
        self.capture = self.pose = self.recognition = None
        self.threads: list = []
        self.slots: list = []
        self._stragglers: list = []
        self._language: str | None = None

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

    def open(self, spec: SourceSpec) -> None:
        """Workers for `spec` (stopping those of the previous source); connect their signals, then `start`."""
        self.stop_source()
        frames, posed = FrameSlot(), FrameSlot()
        self.gate = DisplayGate()
        no_drops = not spec.is_camera and not spec.paced
        self.capture = CaptureWorker(spec, frames, opener=self.opener, retry_s=self.retry_s)
        self.pose = PoseWorker(frames, posed, self.gate, wait=no_drops, capture_config=self.capture_config)
        self.recognition = RecognitionWorker(self.engine, posed, k=self.k, language=self._language,
                                             normalization=self.normalization)
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

    def stop_source(self, timeout_s: float = 5.0) -> bool:
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

    def stop(self, timeout_s: float = 5.0) -> bool:
        """Stop everything, engine service included; True if every thread ended in time."""
        ok = self.stop_source(timeout_s)
        self.service_thread.quit()
        return self.service_thread.wait(int(timeout_s * 1000)) and ok

    def all_threads(self) -> list:
        return [*self.threads, self.service_thread]
