"""The app's recognition worker: streaming recognition on the newest posed frames (signs, or letters
in Spell mode), and the examples of a teach request recorded from the same frames."""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from PySide6.QtCore import QObject, Signal, Slot

from signclip.runtime.pose.clip import PoseClip
from signclip.runtime.pose.layouts import HOLISTIC_576
from signclip.runtime.pose.timing import at_rate
from signclip.runtime.recognition.recognizer import SignEvent

from .engine_service import LockedEngine, TeachExamples, TeachRequest
from .frames import END
from .slots import FrameSlot


@dataclass(frozen=True)
class Recognition:
    """One recognized sign: source frames [start, end), the top-k matches (empty: no shoulders seen)
    and the per-stage timings of `signclip.runtime.recognition.recognizer.Timings`."""

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



class RecognitionWorker(QObject):
    """Streaming recognition (`signclip.runtime.recognition.recognizer.Recognizer`) on the newest
    posed frames; records teaching examples from the same frames."""

    recognized = Signal(Recognition)
    capturing = Signal(bool)          # a sign has started (True) or ended (False)
    stats = Signal(Stats)
    recording = Signal(int, int)      # examples recorded so far, examples asked for
    recorded = Signal(TeachExamples)  # all examples of a teach request
    failed = Signal(str)
    stopped = Signal()                # the input ended (END then closed) or the pipeline stopped
    spelled = Signal(object)          # Spell mode: a spelling.Letter as it is read, or a WordEnd

    def __init__(self, engine: LockedEngine, inp: FrameSlot, *, k: int = 5, language: str | None = None,
                 history_s: float = 20.0, stats_every_s: float = 0.25):
        super().__init__()
        self.engine, self.inp, self.k = engine, inp, k
        self.language = language  # set from the UI thread; read once per sign
        self.spelling = False     # Spell mode, set from the UI thread; read once per frame
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

    def _live_lookup(self, embedding, k: int, _language, kind: str = "auto", model_input=None):
        """Signs: the language chosen now, read at each lookup (once per sign), so that a new choice
        applies from the next sign on without a new reader; the kind the sign shows (auto)."""
        return self.engine.lookup_embedding(embedding, k, self.language, kind, model_input)

    @Slot()
    def run(self) -> None:
        try:
            self._run()
        except Exception as e:
            self.failed.emit(f"recognition stopped: {e}")
        finally:
            self.stopped.emit()

    def _mode(self) -> tuple:
        """What the reader must be now: (spelling, its language); a change makes a new reader."""
        spelling = self.spelling
        return spelling, self.language if spelling else None

    def _new_recognizer(self, fps: float, mode: tuple):
        from signclip.runtime.recognition.reading import ReadingOptions

        spelling, language = mode
        return self.engine.reader(HOLISTIC_576, fps, ReadingOptions(spell=spelling, language=language,
                                                                    top_k=self.k),
                                  lookup=None if spelling else self._live_lookup)

    def _run(self) -> None:
        recognizer, epoch, in_sign, mode = None, None, False, None
        history: deque = deque()
        last_stats = 0.0
        state = _Recording()
        encode_ms = lookup_ms = 0.0
        latest = None
        mark = (0, 0)  # recognizer time and frames at the last readout
        while (item := self.inp.take()) is not None:
            events = []
            if item is END or (recognizer is not None and (item.epoch != epoch or self._mode() != mode)):
                events = recognizer.finish() if recognizer is not None else []
                recognizer = None
            if item is not END:
                if recognizer is None:
                    mode = self._mode()
                    recognizer, epoch = self._new_recognizer(item.fps, mode), item.epoch
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
            signs = [e for e in events if isinstance(e, SignEvent)]
            for event in events:
                if not isinstance(event, SignEvent):
                    encode_ms = getattr(event, "compute_ms", encode_ms)
                    self.events += 1
                    self.spelled.emit(event)
                    continue
                encode_ms, lookup_ms = event.timings.encode_ms, event.timings.lookup_ms
                self.events += 1
                self.recognized.emit(Recognition(event.start_frame, event.end_frame, event.start_s,
                                                 event.end_s, tuple(event.results or ()), event.timings,
                                                 self.language))
            self._teach_step(state, signs, history, latest, item is END)
            now_in_sign = recognizer is not None and (recognizer.in_word if mode[0] else recognizer.in_sign)
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
            clip = at_rate(clip, self.engine.fps)  # taught as a lookup reads: at the bundle's rate
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
