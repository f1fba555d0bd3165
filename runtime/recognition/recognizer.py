"""Keypoint frames in, recognized signs out, one frame at a time, with constant work per frame.

Each frame goes through the segmenter; the frames of the current sign go into a `StreamingNormalizer`
(reset at each sign's start, with a few pre-roll frames from a small ring). When a sign ends, its
`model_input()` (equal to the offline `preprocess` of the same frames) goes to an injected
`encode` callable and, if given, a `search` callable: typically `engine.pose_encoder.embed_one` and
`engine.lookup_embedding` of `signclip.runtime.recognition.engine.Engine`. Nothing here re-reads the history.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import SignclipError
from ..pose.clip import PoseClip
from ..pose.layouts import MODEL_203, Layout
from ..pose.normalize import ModelInput, NormalizationConfig, preprocess
from ..pose.streaming import StreamingNormalizer
from ..pose.timing import at_rate, frame_repeats, rate_indices
from .segmentation import (
    HandActivitySegmenter,
    SegmenterConfig,
    SlidingWindows,
    WindowConfig,
    segment_clip,
    window_clip,
)

Encode = Callable[[ModelInput], Any]
Search = Callable[[Any], Any]


@dataclass(frozen=True)
class SignSearch:
    """The search a sign goes through: `lookup(embedding, k, language, kind, model_input)`. Unlike a
    plain Search it is also given the sign's model input, whose hands tell its kind too."""

    lookup: Callable
    k: int
    language: str | None
    kind: str = "auto"

    def __call__(self, embedding, model_input: ModelInput | None = None):
        return self.lookup(embedding, self.k, self.language, self.kind, model_input)


def results_json(results):
    """Lookup results as JSON-ready values (Match objects give their own dicts)."""
    if isinstance(results, (list, tuple)):
        return [r.to_json() if hasattr(r, "to_json") else r for r in results]
    return results


@dataclass(frozen=True)
class Timings:
    """Per-stage costs: segmentation + normalization per frame (mean since the previous event, in
    microseconds), then, once the sign ended, model input, encoder and lookup (milliseconds)."""

    frame_us: float
    model_input_ms: float
    encode_ms: float
    lookup_ms: float

    @property
    def result_ms(self) -> float:
        """From the frame that ended the sign to its result."""
        return self.model_input_ms + self.encode_ms + self.lookup_ms


@dataclass(frozen=True)
class SignEvent:
    """One recognized sign: source frames [start_frame, end_frame), times in seconds, the results of
    search(encode(input)) (or of encode alone), and the frame whose arrival ended the sign."""

    start_frame: int
    end_frame: int
    start_s: float
    end_s: float
    results: Any
    timings: Timings
    decided_frame: int

    def to_json(self) -> dict:
        results = results_json(self.results)
        return {"start_frame": self.start_frame, "end_frame": self.end_frame,
                "start_s": round(self.start_s, 3), "end_s": round(self.end_s, 3), "results": results,
                "timings": {"frame_us": round(self.timings.frame_us, 2),
                            "model_input_ms": round(self.timings.model_input_ms, 3),
                            "encode_ms": round(self.timings.encode_ms, 3),
                            "lookup_ms": round(self.timings.lookup_ms, 3)}}


class FrameRing:
    """The last `size` raw frames with their source index and time, for pre-roll and pending rest."""

    def __init__(self, size: int, points: int):
        self.size = size
        self.frames = np.zeros((size, points, 3), np.float32)  # (R, K, 3)
        self.mask = np.zeros((size, points), bool)              # (R, K)
        self.index = np.zeros(size, np.int64)
        self.time = np.zeros(size)

    def store(self, t: int, frame: np.ndarray, mask: np.ndarray, index: int, time_s: float) -> None:
        i = t % self.size
        self.frames[i], self.mask[i], self.index[i], self.time[i] = frame, mask, index, time_s

    def get(self, t: int) -> tuple:
        i = t % self.size
        return self.frames[i], self.mask[i]

    def stamp(self, t: int) -> tuple:
        i = t % self.size
        return int(self.index[i]), float(self.time[i])


class Recognizer:
    """Feed frames with `push` (or `feed` for a `sources.Frame`); each returns the signs it ended.

    `windows` None: hand-activity segmentation with `segmenter`; a WindowConfig: fixed sliding
    windows instead (each window normalized on its own). Call `finish` at the end of the stream.
    """

    def __init__(self, layout: Layout, fps: float, encode: Encode, search: Search | None = None, *,
                 segmenter: SegmenterConfig = SegmenterConfig(), windows: WindowConfig | None = None,
                 normalization: NormalizationConfig = NormalizationConfig(), source_fps: float | None = None):
        self.layout, self.fps = layout, float(fps)
        # frames arrive at source_fps (a camera's 30) and are read at fps (the bundle's 25): each is
        # dropped or repeated as pose/timing.py says, as a whole clip read offline is
        self.source_fps = float(source_fps) if source_fps is not None else self.fps
        self._source_t = 0
        self.encode, self.search = encode, search
        self.normalization = normalization
        self.segmenter = HandActivitySegmenter(layout, fps, segmenter)
        self.windows = SlidingWindows(fps, windows) if windows is not None else None
        f = self.segmenter.frames
        size = max(f.start + f.pre_roll, f.end) + 2
        if self.windows is not None:
            size = max(size, self.windows.window + 1)
        self.ring = FrameRing(size, layout.size)
        self.normalizer = StreamingNormalizer(layout, normalization)
        # windows overlap: one normalizer per window in flight, reused (window / hop of them)
        self._live: list = []
        self._spare: list = []
        self.t = 0
        self._open = False
        self._start_stamp = (0, 0.0)  # source index and time of the open sign's first frame
        self._pushed = 0          # frames of the open sign already in the normalizer: [start, _pushed)
        self._frame_ns = 0        # segmentation + normalization time since the previous event
        self._frame_count = 0
        self.frames_seen = 0
        self.total_frame_ns = 0

    @property
    def in_sign(self) -> bool:
        """A sign has started and not yet ended."""
        return self._open

    def warm_up(self) -> None:
        """Run encode and search once, so that the first sign pays no start-up cost."""
        warm_up(self.encode, self.search)

    # ------------------------------------------------------------ input

    def feed(self, frame) -> list:
        """A `sources.Frame` (with keypoints) in; the signs it ended out."""
        if frame.keypoints is None:
            raise SignclipError(f"frame {frame.index} has no keypoints: the source must estimate poses")
        return self.push(frame.keypoints, frame.mask, index=frame.index, time_s=frame.time_s)

    def push(self, keypoints: np.ndarray, mask: np.ndarray, *, index: int | None = None,
             time_s: float | None = None) -> list:
        """One frame [K, 3] + mask [K] in the recognizer's layout; the signs it ended (usually none)."""
        if index is None:  # the frame's number in the source: what signs are reported in
            index = self._source_t
        if time_s is None:
            time_s = index / self.source_fps
        repeats = frame_repeats(self._source_t, self.source_fps, self.fps)
        self._source_t += 1
        ended = []
        for _ in range(repeats):
            ended += self._push_at_rate(keypoints, mask, index, time_s)
        return ended

    def _push_at_rate(self, keypoints: np.ndarray, mask: np.ndarray, index: int, time_s: float) -> list:
        t = self.t
        self.t += 1
        began = time.perf_counter_ns()
        self.ring.store(t, keypoints, mask, index, time_s)
        if self.windows is not None:
            ready = self._window_step(t, keypoints, mask)
        else:
            ready = self._sign_step(t, keypoints, mask)
        spent = time.perf_counter_ns() - began
        self._frame_ns += spent
        self._frame_count += 1
        self.frames_seen += 1
        self.total_frame_ns += spent
        return [self._recognize(*r, decided=t) for r in ready]

    def finish(self) -> list:
        """End of stream: the sign still open (if long enough) is recognized."""
        if self.windows is not None:
            return []
        ended = self.segmenter.finish()
        if not self._open or ended is None:
            self._open = False
            return []
        self._catch_up(ended[1])
        self._open = False
        return [self._recognize(*ended, None, self._start_stamp, decided=self.t - 1)]

    # ------------------------------------------------------------ hand activity

    def _catch_up(self, until: int) -> None:
        """Push the open sign's frames up to `until` (exclusive) into the normalizer (from the ring)."""
        for u in range(self._pushed, until):
            self.normalizer.push(*self.ring.get(u))
        self._pushed = max(self._pushed, until)

    def _sign_step(self, t: int, keypoints: np.ndarray, mask: np.ndarray) -> list:
        seg = self.segmenter
        decision = seg.step(keypoints, mask)
        ready = []
        if self._open and (decision.ended is not None or decision.started is not None or not seg.in_sign):
            if decision.ended is not None:  # else: too short, dropped
                self._catch_up(decision.ended[1])
                ready.append((*decision.ended, None, self._start_stamp))
            self._open = False
        if decision.started is not None:
            if ready:  # the normalizer is about to be reset: take the finished sign's input now
                ready[-1] = (*decision.ended, self._model_input(self.normalizer), self._start_stamp)
            self.normalizer.reset()
            self._open, self._pushed = True, decision.started
            self._start_stamp = self.ring.stamp(decision.started)
        if self._open:
            self._catch_up(seg.committed())
        return ready

    # ------------------------------------------------------------ sliding windows

    def _window_step(self, t: int, keypoints: np.ndarray, mask: np.ndarray) -> list:
        if self.windows.starts_here(t):
            normalizer = self._spare.pop() if self._spare else StreamingNormalizer(
                self.layout, self.normalization)
            normalizer.reset()
            self._live.append((t, normalizer))
        for _, normalizer in self._live:
            normalizer.push(keypoints, mask)
        window = self.windows.step()
        if window is None:
            return []
        start, normalizer = self._live.pop(0)
        assert start == window[0] and normalizer.count == window[1] - window[0]
        self._spare.append(normalizer)
        return [(*window, self._model_input(normalizer), self.ring.stamp(window[0]))]

    # ------------------------------------------------------------ recognition

    @staticmethod
    def _model_input(normalizer: StreamingNormalizer) -> ModelInput | None:
        return normalizer.model_input() if normalizer.has_shoulders else None

    def _recognize(self, start: int, end: int, model_input: ModelInput | None, first: tuple, *,
                   decided: int) -> SignEvent:
        """Encode and look up a finished sign (`first` = source index and time of its first frame)."""
        t0 = time.perf_counter_ns()
        if model_input is None:
            model_input = self._model_input(self.normalizer)
        t1 = time.perf_counter_ns()
        results, encode_ns, lookup_ns = run_lookup(model_input, self.encode, self.search)
        frame_us = self._frame_ns / max(self._frame_count, 1) / 1e3
        self._frame_ns = self._frame_count = 0
        last, last_s = self.ring.stamp(end - 1)
        return SignEvent(first[0], last + 1, first[1], last_s + 1.0 / self.source_fps, results,
                         Timings(frame_us, (t1 - t0) / 1e6, encode_ns / 1e6, lookup_ns / 1e6),
                         self.ring.stamp(decided)[0])

    @property
    def frame_us(self) -> float:
        """Mean segmentation + normalization time per frame over the whole stream."""
        return self.total_frame_ns / max(self.frames_seen, 1) / 1e3


def warm_up(encode: Encode, search: Search | None) -> None:
    """Run encode and search once on a blank input: the sessions' and kernels' start-up happens now."""
    blank = ModelInput(np.zeros((8, MODEL_203.size, 3), np.float32), np.zeros((8, MODEL_203.size), bool))
    run_lookup(blank, encode, search)


def warm_up_offline(encode: Encode, search: Search | None, normalization: NormalizationConfig,
                    layout: Layout) -> None:
    """Run `lookup_segments`'s steps once on made-up frames in `layout`: Numba's kernels of the
    segmentation and the normalization, and the encoder's session, load now."""
    rng = np.random.default_rng(0)
    frames = rng.normal(size=(16, layout.size, 3)).astype(np.float32)
    clip = PoseClip(layout, frames, np.ones(frames.shape[:2], bool), 30.0, 640, 480)
    segment_clip(clip)
    run_lookup(preprocess(clip, normalization), encode, search)


def run_lookup(model_input: ModelInput | None, encode: Encode, search: Search | None) -> tuple:
    """(results, encode ns, search ns); a segment without shoulders has no results (None)."""
    if model_input is None:
        return None, 0, 0
    t0 = time.perf_counter_ns()
    embedding = encode(model_input)
    t1 = time.perf_counter_ns()
    if search is None:
        results = embedding
    else:
        results = search(embedding, model_input) if isinstance(search, SignSearch) else search(embedding)
    return results, t1 - t0, time.perf_counter_ns() - t1


# ---------------------------------------------------------------- offline: a whole clip at once


@dataclass(frozen=True)
class SegmentResult:
    """A sign found in a clip (frames [start, end)) and its lookup results."""

    start: int
    end: int
    start_s: float
    end_s: float
    results: Any

    def to_json(self) -> dict:
        return {"start_frame": self.start, "end_frame": self.end, "start_s": round(self.start_s, 3),
                "end_s": round(self.end_s, 3), "results": results_json(self.results)}


def lookup_segments(clip: PoseClip, encode: Encode, search: Search | None = None, *,
                    segmenter: SegmenterConfig = SegmenterConfig(), windows: WindowConfig | None = None,
                    normalization: NormalizationConfig = NormalizationConfig(),
                    fps: float | None = None) -> list:
    """Each sign of a longer clip looked up on its own: `preprocess(clip.slice(start, end))` per
    segment, the offline reference the streaming recognizer must equal. With `fps` (the bundle's),
    the clip is read at that rate, as the recognizer reads a stream; segments keep the clip's own
    frame numbers and times."""
    source = np.arange(clip.num_frames) if fps is None else rate_indices(clip.num_frames, clip.fps, fps)
    timed = clip if fps is None else at_rate(clip, fps)
    ranges = window_clip(timed, windows) if windows is not None else segment_clip(timed, segmenter)
    out = []
    for start, end in ranges:
        part = timed.slice(start, end)
        try:
            model_input = preprocess(part, normalization)
        except SignclipError:  # no frame with both shoulders in this segment
            model_input = None
        results, _, _ = run_lookup(model_input, encode, search)
        first, last = int(source[start]), int(source[end - 1])
        out.append(SegmentResult(first, last + 1, first / clip.fps, (last + 1) / clip.fps, results))
    return out
