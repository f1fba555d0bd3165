"""One worker's side of a pose job: a long-lived MediaPipe graph that turns tasks into outcomes.

A worker (a local process or a Ray actor) builds one `HolisticCapture` and restarts it for each
video (MediaPipe's own `reset`: every video is tracked afresh, so its keypoints do not depend on
which worker read it or what it read before). A video that fails is an outcome, never an exception:
the job goes on.
"""

from __future__ import annotations

import os
import socket
import time

from signclip.runtime.errors import SignclipError
from signclip.runtime.pose.layouts import BODY, FACE, LEFT_HAND, RIGHT_HAND

from .inputs import Task
from .report import FAILED, OK, Outcome, input_stat

RATES = {"body": BODY, "face": FACE, "left_hand": LEFT_HAND, "right_hand": RIGHT_HAND}
# Where set, each frame a worker puts through MediaPipe adds one byte to this file (appended): what
# the tests and bench/corpus.py count as the work a killed and resumed job did.
WORK_LOG = "SIGNCLIP_CORPUS_WORK_LOG"


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


class PoseWorker:
    """`run(task) -> Outcome` with one MediaPipe graph for all the tasks; `close()`."""

    def __init__(self, config, settings: str):
        from signclip.runtime.capture.holistic import HolisticCapture

        self.config, self.settings = config, settings
        self._holistic = HolisticCapture(config)
        log = os.environ.get(WORK_LOG)
        if log:
            self._holistic = _CountedCapture(self._holistic, log)

    def run(self, task: Task) -> Outcome:
        """Pose one video into its `.pose` file (atomically); a failure is the outcome's reason."""
        from signclip.runtime.capture.holistic import video_to_clip
        from signclip.runtime.pose.io import write_pose

        size, mtime = input_stat(task.video)
        base = Outcome(str(task.video), str(task.output), FAILED, start=task.start, end=task.end,
                       input_size=size, input_mtime_ns=mtime, settings=self.settings, worker=worker_name())
        began = time.perf_counter()
        try:
            clip = video_to_clip(task.video, holistic=self._holistic, start=task.start, end=task.end)
            write_pose(clip, task.output)
        except SignclipError as e:
            return _replace(base, reason=str(e), seconds=time.perf_counter() - began)
        except Exception as e:  # noqa: BLE001 (a video that breaks a library is one failed input)
            return _replace(base, reason=f"{task.video}: {type(e).__name__}: {e}".splitlines()[0],
                            seconds=time.perf_counter() - began)
        return _replace(base, status=OK, frames=clip.num_frames, seconds=time.perf_counter() - began,
                        rates={k: round(clip.detection_rate(c), 3) for k, c in RATES.items()},
                        output_size=task.output.stat().st_size)

    def close(self) -> None:
        self._holistic.close()


class _CountedCapture:
    """A capture that appends a byte to a file for each frame it hands out (WORK_LOG)."""

    def __init__(self, holistic, path: str):
        self._holistic, self.config = holistic, holistic.config
        self._fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)

    def restart(self) -> None:
        self._holistic.restart()

    def stream(self, pairs):
        for item in self._holistic.stream(pairs):
            os.write(self._fd, b"f")
            yield item

    def close(self) -> None:
        os.close(self._fd)
        self._holistic.close()


def _replace(outcome: Outcome, **changes) -> Outcome:
    from dataclasses import replace

    if "seconds" in changes:
        changes["seconds"] = round(changes["seconds"], 3)
    return replace(outcome, **changes)
