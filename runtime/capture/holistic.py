"""Video to pose with MediaPipe Holistic (the legacy solution of mediapipe 0.10.18, models in the wheel).

Keypoints come out exactly as pose-format's `load_holistic` writes them: x and y in pixels, z as
MediaPipe gives it, body confidence = visibility, face and hands 1 where detected. A bundle that hides
the face reads no face point, so its capture runs the wheel's own Holistic graph without its face
branch (`CaptureConfig(face=False)`): the same pose and hands, the face points marked missing. Videos
go through the graph with frames in flight (`holistic_graph.py`): the same keypoints, sooner.
A bundle's capture also skips the hand models of a hand that rests unfound (`skip_still_hands`).
"""

from __future__ import annotations

import contextlib
import enum
import itertools
import os
import sys
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import SignclipError
from ..pose.clip import PoseClip
from ..pose.layouts import BODY, HOLISTIC_576, HOLISTIC_586, Layout


class ModelComplexity(enum.IntEnum):
    LITE = 0
    FULL = 1
    HEAVY = 2


# Only the full pose model ships in the wheel; MediaPipe downloads the others at first use.
_POSE_MODEL_FILES = {0: "pose_landmark_lite.tflite", 1: "pose_landmark_full.tflite",
                     2: "pose_landmark_heavy.tflite"}


@dataclass(frozen=True)
class CaptureConfig:
    model_complexity: ModelComplexity = ModelComplexity.FULL
    refine_face: bool = False          # 478-point face with irises (586-point layout)
    face: bool = True                  # False: no face mesh (its points missing), for bundles that hide it
    skip_still_hands: bool = False     # a hand found absent that keeps still is not looked for for a
                                       # frame or two (holistic_graph.HandWatch): what a bundle reads
    min_detection_confidence: float = 0.5
    min_tracking_confidence: float = 0.5


@dataclass(frozen=True)
class VideoInfo:
    fps: float
    width: int
    height: int


def capture_for(normalization) -> CaptureConfig:
    """The capture a bundle reads: no face mesh where its normalization hides the face, and no hand
    model for a hand that rests unfound."""
    return CaptureConfig(face=not normalization.hide_face, skip_still_hands=True)


def pose_model_available(complexity: int) -> bool:
    from .holistic_graph import import_mediapipe

    mediapipe = import_mediapipe()
    folder = Path(mediapipe.__file__).parent / "modules" / "pose_landmark"
    return (folder / _POSE_MODEL_FILES[int(complexity)]).is_file()


QUIET_START_FRAMES = 150     # at most this many first frames (5 s at 30 fps) have its native log silenced
QUIET_AFTER_HAND_FRAMES = 5  # ... or until this many frames after the first hand


@contextlib.contextmanager
def quiet_native_stderr():
    """Silence what MediaPipe's C++ side prints to fd 2 while its graph starts (TFLite delegate and
    absl warnings on every run); Python exceptions still propagate."""
    with open(os.devnull, "wb") as devnull, native_stderr_to(devnull):
        yield


# Frames in the graph at once: the next frames' pose models run beside the hand models, whose work
# varies from frame to frame where still hands are skipped. C-A-B on 2 cores: 6.9 s with 3 against
# 7.2 s with 2 (4: as 3).
IN_FLIGHT = 3


class HolisticCapture:
    """MediaPipe's Holistic graph (with or without its face) to keypoints in the Holistic layout:
    `process(rgb)` one frame, `stream(pairs)` many with frames in flight; `close()`."""

    def __init__(self, config: CaptureConfig = CaptureConfig(), *, static_image_mode: bool = False):
        from .holistic_graph import HolisticGraph

        complexity = ModelComplexity(config.model_complexity)
        if not pose_model_available(complexity):
            raise SignclipError(
                f"model complexity {int(complexity)} needs MediaPipe's "
                f"{_POSE_MODEL_FILES[complexity]}, which is not in the mediapipe wheel and would be "
                f"downloaded at first use (not possible offline); use --model-complexity 1")
        self.config = config
        self.layout: Layout = HOLISTIC_586 if config.refine_face else HOLISTIC_576
        self._face_points = 478 if config.refine_face else 468
        # MediaPipe's graph threads log as its models load: pose and face at the first frame, the
        # hand models after a hand first shows, and after a frame's results are out, so fd 2 stays
        # silenced across frames until a few frames after the first hand (or QUIET_START_FRAMES)
        self._quiet = contextlib.ExitStack()
        self._quiet.enter_context(quiet_native_stderr())
        try:
            self._graph = HolisticGraph(
                face=config.face, static_image_mode=static_image_mode, model_complexity=int(complexity),
                refine_face=config.refine_face, min_detection=config.min_detection_confidence,
                min_tracking=config.min_tracking_confidence, skip_still_hands=config.skip_still_hands)
        except BaseException:
            self._quiet.close()
            raise
        self._frames = 0
        self._quiet_until = QUIET_START_FRAMES

    def process(self, rgb: np.ndarray) -> tuple:
        """Keypoints of one RGB frame [H, W, 3] uint8: (frame [K, 3], confidence [K]). A photo's
        way; frames of a video go faster through `stream`, for which a video graph is laid out."""
        self._graph.submit(rgb, (None, rgb.shape))
        return self._next()[1:]

    def stream(self, pairs: Iterable) -> Iterator[tuple]:
        """(tag, rgb) pairs to (tag, frame, confidence) in order, IN_FLIGHT frames in the graph at
        once: the same keypoints as `process` one frame after the other. A None among the pairs
        (a live source with no new frame yet) hands out the frames in flight before the next."""
        graph = self._graph
        try:
            for pair in pairs:
                if pair is not None:
                    tag, rgb = pair
                    graph.submit(rgb, (tag, rgb.shape))
                while graph.in_flight and (pair is None or graph.in_flight >= IN_FLIGHT):
                    yield self._next()
            while graph.in_flight:
                yield self._next()
        finally:  # a consumer that stops early leaves no frame in the graph for the next call
            while graph.in_flight:
                graph.result()

    def _next(self) -> tuple:
        """The oldest frame in the graph as (tag, frame [K, 3], confidence [K])."""
        (tag, shape), results = self._graph.result()
        height, width = shape[:2]
        if results["left_hand_landmarks"] is not None or results["right_hand_landmarks"] is not None:
            self._quiet_until = min(self._quiet_until, self._frames + QUIET_AFTER_HAND_FRAMES)
        self._frames += 1
        if self._frames >= self._quiet_until:
            self._quiet.close()
        return (tag, *holistic_keypoints(results, width, height, self._face_points))

    def restart(self) -> None:
        """Forget the frames seen (tracking starts afresh, as in a new capture) and keep the graph:
        one capture serves many videos, each read as if it were the first."""
        with quiet_native_stderr():  # the graph flushes its log on shutdown
            self._graph.restart()

    @property
    def hands_skipped(self) -> int:
        """Hand models not run so far because the hand rested unfound (`skip_still_hands`)."""
        return self._graph.hands_skipped

    def close(self) -> None:
        with quiet_native_stderr():  # the graph flushes its log on shutdown
            self._graph.close()
        self._quiet.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def holistic_keypoints(results: dict, width: int, height: int, face_points: int = 468) -> tuple:
    """Holistic's landmarks {output: proto or None} as pose-format lays them out: (frame [K, 3] in
    pixels, confidence [K]); the face is missing where `results` has none."""
    parts = [
        _landmarks(results["pose_landmarks"], 33, width, height, visibility=True),
        _landmarks(results.get("face_landmarks"), face_points, width, height),
        _landmarks(results["left_hand_landmarks"], 21, width, height),
        _landmarks(results["right_hand_landmarks"], 21, width, height),
        _landmarks(results["pose_world_landmarks"], 33, width, height, visibility=True),
    ]
    frame = np.concatenate([p[0] for p in parts]).astype(np.float32)  # (K, 3)
    confidence = np.concatenate([p[1] for p in parts]).astype(np.float32)  # (K,)
    return frame, confidence


def _landmarks(component, num: int, width: int, height: int, visibility: bool = False) -> tuple:
    if component is None:
        return np.zeros((num, 3)), np.zeros(num)
    lm = component.landmark
    xyz = np.array([[p.x * width, p.y * height, p.z] for p in lm])
    conf = np.array([p.visibility for p in lm]) if visibility else np.ones(len(lm))
    return xyz, conf


@contextlib.contextmanager
def native_stderr_to(target):
    """File descriptor 2, where C libraries print, goes to `target` (an open file) meanwhile."""
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        os.dup2(target.fileno(), 2)
        yield
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)
        os.close(saved)


@contextlib.contextmanager
def captured_native_stderr():
    """Keep what native code prints to fd 2 meanwhile off the terminal; the yielded list receives
    its lines at the end, for a message of our own."""
    lines: list = []
    with tempfile.TemporaryFile() as log:
        try:
            with native_stderr_to(log):
                yield lines
        finally:
            log.seek(0)
            lines.extend(log.read().decode("utf-8", "replace").splitlines())


# What ffmpeg (inside OpenCV) says when it cannot open a file, and what that means to a user.
FFMPEG_MEANINGS = (
    ("moov atom not found", "the video's index (its 'moov' atom) is missing: the recording was cut off "
                            "before it was finished, or this is not an MP4/MOV file"),
    ("EBML header parsing failed", "not a Matroska/WebM video (its header is not there)"),
    ("Invalid data found when processing input", "not a video: its bytes are in no format ffmpeg knows"),
)


def video_problem(lines: list) -> str:
    """Why a video could not be opened, from what ffmpeg printed (its lines), in our words."""
    said = " ".join(lines)
    for needle, meaning in FFMPEG_MEANINGS:
        if needle in said:
            return meaning
    last = next((line for line in reversed(lines) if line.strip()), "")
    last = last.split("] ", 1)[-1].strip()  # drop "[mov,mp4,... @ 0x...]"
    return "cannot be opened as a video" + (f" (ffmpeg: {last[:100]})" if last else
                                            ": no decoder recognizes its contents")


def open_video(path) -> tuple:
    """(cv2.VideoCapture, VideoInfo) for a readable video file, else a SignclipError in one line
    (what ffmpeg prints on the way is kept off the terminal)."""
    import cv2

    path = Path(path)
    if not path.exists():
        raise SignclipError(f"{path}: no such file")
    if path.is_dir():
        raise SignclipError(f"{path}: is a folder, not a video")
    if path.stat().st_size == 0:
        raise SignclipError(f"{path}: empty file, not a video")
    with captured_native_stderr() as said:
        capture = cv2.VideoCapture(str(path))
        opened = capture.isOpened()
    if not opened:
        raise SignclipError(f"{path}: {video_problem(said)}")
    fps = capture.get(cv2.CAP_PROP_FPS) or 0.0
    info = VideoInfo(fps=float(fps) if fps > 0 else 30.0,
                     width=int(capture.get(cv2.CAP_PROP_FRAME_WIDTH)),
                     height=int(capture.get(cv2.CAP_PROP_FRAME_HEIGHT)))
    return capture, info


def video_frames(capture) -> Iterator[np.ndarray]:
    """RGB frames until the video ends."""
    import cv2

    while True:
        ok, bgr = capture.read()
        if not ok:
            return
        yield cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


READ_AHEAD = 4  # frames decoded ahead of MediaPipe


def read_ahead(frames: Iterator, depth: int = READ_AHEAD) -> Iterator:
    """The items of `frames`, produced on a thread up to `depth` ahead, so that decoding and colour
    conversion overlap MediaPipe's inference (both release the GIL); errors reach the consumer."""
    import queue
    import threading

    items, stop, done = queue.Queue(maxsize=depth), threading.Event(), object()

    def produce() -> None:
        try:
            for item in frames:
                while not stop.is_set():
                    try:
                        items.put(item, timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            items.put(done)
        except BaseException as e:  # handed over to the consumer
            items.put(e)

    thread = threading.Thread(target=produce, name="signclip video reader", daemon=True)
    thread.start()
    try:
        while (item := items.get()) is not done:
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        thread.join()


def video_to_clip(path, config: CaptureConfig = CaptureConfig(), progress: bool = False, *,
                  holistic: HolisticCapture | None = None, start: int = 0,
                  end: int | None = None) -> PoseClip:
    """Run Holistic over every frame of a video (or frames `start` to `end`, 0-based, `end` not
    included); SignclipError when no frame shows a person. `holistic`: a long-lived capture of
    `config`'s, restarted for this video (a corpus worker keeps one graph for all its videos)."""
    from tqdm import tqdm

    config = holistic.config if holistic is not None else config
    capture, info = open_video(path)
    total = int(capture.get(7)) or None  # cv2.CAP_PROP_FRAME_COUNT; containers may overstate it
    if total is not None:
        total = max(0, min(total, end if end is not None else total) - start)
    frames, confidences = [], []
    # ffmpeg's decoder threads report a damaged file's packets on fd 2 at any moment: fd 2 stays
    # captured while the video is read, and the progress bar goes to the terminal through its own fd
    decoded = read_ahead(itertools.islice(video_frames(capture), start, end))
    try:
        with contextlib.ExitStack() as stack:
            terminal = stack.enter_context(os.fdopen(os.dup(2), "w"))
            stack.enter_context(captured_native_stderr())
            if holistic is None:
                holistic = stack.enter_context(HolisticCapture(config))
            else:
                holistic.restart()
            pairs = ((None, rgb) for rgb in decoded)
            for _, frame, confidence in tqdm(holistic.stream(pairs), total=total, unit="frame",
                                             disable=not progress, desc=Path(path).name, leave=False,
                                             file=terminal):
                frames.append(frame)
                confidences.append(confidence)
    finally:
        decoded.close()  # the reader thread stops before the video it reads is released
        capture.release()
    if not frames:
        last = "the end" if end is None else end
        where = "" if (start, end) == (0, None) else f" in frames {start} to {last}"
        raise SignclipError(f"{path}: no frames could be decoded{where} (empty or corrupt video)")
    layout = HOLISTIC_586 if config.refine_face else HOLISTIC_576
    conf = np.stack(confidences)
    clip = PoseClip(layout, np.stack(frames), conf > 0, info.fps, info.width, info.height)
    if clip.detection_rate(BODY) == 0:
        raise SignclipError(f"{path}: nobody found in the video (no body detected in "
                            f"{clip.num_frames} frames)")
    return clip
