"""The workers without the window: drop-not-queue hand-offs, no camera, a camera that stops and comes
back (a real video opened as if it were a camera), and a video that stops or loops."""

import threading
import time

import cv2
import pytest
from conftest import SHORT_VIDEO
from PySide6.QtCore import QThread

from signclip.app.capture_workers import CaptureWorker, open_capture
from signclip.app.frames import END, SourceInfo, SourceSpec
from signclip.app.slots import DisplayGate, FrameSlot
from signclip.runtime.errors import SignclipError


def test_slot_drops_old_frames_when_the_consumer_is_slow():
    slot, taken = FrameSlot(), []

    def consume():
        while (item := slot.take()) is not None:
            taken.append(item)
            time.sleep(0.01)

    consumer = threading.Thread(target=consume)
    consumer.start()
    for i in range(200):
        slot.put(i)
        time.sleep(0.0005)
    slot.put(END, wait=True)
    slot.close()
    consumer.join(5)
    assert taken[-1] is END and taken[-2] == 199        # the newest frame always arrives
    assert taken[:-1] == sorted(taken[:-1])              # in order
    assert slot.dropped == 200 - len(taken[:-1]) > 100   # the rest was dropped, not queued


def test_slot_with_wait_drops_nothing():
    slot, taken = FrameSlot(), []
    consumer = threading.Thread(target=lambda: [taken.append(x) for x in iter(slot.take, None)])
    consumer.start()
    for i in range(300):
        slot.put(i, wait=True)
    slot.close()
    consumer.join(5)
    assert taken == list(range(300)) and slot.dropped == 0


def test_display_gate_lets_one_frame_through_until_painted():
    gate = DisplayGate()
    assert gate.offer() and not gate.offer() and not gate.offer()
    gate.done()
    assert gate.offer() and gate.dropped == 2


def run_capture(qtbot, worker: CaptureWorker):
    """The worker on a QThread, with a consumer draining its slot; returns (thread, frames seen)."""
    thread, seen = QThread(), []
    worker.moveToThread(thread)
    thread.started.connect(worker.run)
    drain = threading.Thread(target=lambda: seen.extend(iter(worker.out.take, None)), daemon=True)
    drain.start()
    thread.start()
    return thread, seen


def stop(worker, thread):
    worker.stop()
    worker.out.close()
    thread.quit()
    assert thread.wait(5000)


def test_no_camera_fails_with_one_clear_line(qtbot):
    with pytest.raises(SignclipError, match="camera 97 cannot be opened"):
        open_capture(SourceSpec(97))
    worker = CaptureWorker(SourceSpec(97), FrameSlot())
    with qtbot.waitSignal(worker.failed, timeout=10000) as failed:
        thread, _ = run_capture(qtbot, worker)
    assert "camera 97 cannot be opened" in failed.args[0]
    stop(worker, thread)


def as_camera(failures_after_end: int):
    """An opener that serves a real video as camera 0; after the video ends it fails a few times
    (unplugged) and then opens again (plugged back in)."""
    state = {"opens": 0, "failures": 0}

    def opener(spec):
        if state["opens"] >= 1 and state["failures"] < failures_after_end:
            state["failures"] += 1
            raise SignclipError("camera 0 cannot be opened")
        state["opens"] += 1
        capture = cv2.VideoCapture(str(SHORT_VIDEO))
        return capture, SourceInfo(spec.name, 30.0, 320, 240, True)

    return opener, state


def test_camera_unplugged_mid_run_reports_and_retries_until_it_is_back(qtbot):
    opener, state = as_camera(failures_after_end=2)
    worker = CaptureWorker(SourceSpec(0), FrameSlot(), opener=opener, retry_s=0.05)
    lost, opened = [], []
    worker.lost.connect(lost.append)
    worker.opened.connect(opened.append)
    thread, seen = run_capture(qtbot, worker)
    qtbot.waitUntil(lambda: len(opened) >= 2, timeout=15000)
    assert "stopped giving frames; retrying" in lost[0]
    assert state["failures"] == 2 and state["opens"] >= 2
    assert {f.epoch for f in seen if f is not END} >= {0}
    stop(worker, thread)
    assert not thread.isRunning()


@pytest.mark.parametrize("loop", [False, True])
def test_video_stops_or_loops_at_its_end(qtbot, loop):
    worker = CaptureWorker(SourceSpec(str(SHORT_VIDEO), loop=loop, paced=False), FrameSlot())
    looped, ended = [], []
    worker.looped.connect(looped.append)
    worker.ended.connect(lambda: ended.append(True))
    thread, seen = run_capture(qtbot, worker)
    if loop:
        qtbot.waitUntil(lambda: len(looped) >= 2, timeout=15000)
        assert looped[:2] == [1, 2] and not ended
        frames = [f for f in seen if f is not END]
        assert [f.index for f in frames if f.epoch == 1] == list(range(41))  # every frame, again
    else:
        qtbot.waitUntil(lambda: bool(ended), timeout=15000)
        qtbot.waitUntil(lambda: seen and seen[-1] is END, timeout=5000)
        assert [f.index for f in seen[:-1]] == list(range(41)) and not looped
    stop(worker, thread)
