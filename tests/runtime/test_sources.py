"""Frame sources: .pose files, video files (with and without real-time pacing), cameras; drops, not queues."""

import threading
import time

import numpy as np
import pytest

from signclip.runtime.capture.sources import FrameSlot, PoseFileSource, VideoSource, open_source
from signclip.runtime.errors import SignclipError
from signclip.runtime.pose.io import read_pose

SOUP_FRAMES = 41


def test_pose_file_frames_come_from_the_file(poses_dir):
    path = poses_dir / "holistic576_97f.pose"
    clip = read_pose(path)
    with open_source(path) as source:
        assert isinstance(source, PoseFileSource) and source.layout == clip.layout
        frames = list(source)
    assert [f.index for f in frames] == list(range(97))
    assert frames[10].time_s == pytest.approx(10 / clip.fps)
    assert all(f.rgb is None for f in frames)
    assert np.array_equal(np.stack([f.keypoints for f in frames]), clip.frames)
    assert np.array_equal(np.stack([f.mask for f in frames]), clip.mask)
    assert source.dropped == 0


def test_paced_pose_file_drops_frames_a_slow_consumer_misses(poses_dir):
    source = PoseFileSource(poses_dir / "holistic576_97f.pose", realtime=True)  # 25 fps: ~3.9 s
    seen, began = [], time.perf_counter()
    for frame in source:
        seen.append(frame.index)
        if len(seen) < 10:
            time.sleep(0.1)  # 2.5 frame periods of work per frame
    assert source.dropped > 0 and len(seen) + source.dropped == 97
    assert seen == sorted(seen) and seen[-1] == 96
    assert time.perf_counter() - began == pytest.approx(96 / 25, abs=1.0)


def test_video_file_as_fast_as_possible_without_drops(videos_dir):
    with VideoSource(videos_dir / "asl_soup.mp4", estimate=False) as source:
        frames = list(source)
    assert [f.index for f in frames] == list(range(SOUP_FRAMES))
    assert frames[0].rgb.shape == (240, 320, 3) and frames[0].keypoints is None
    assert frames[-1].time_s == pytest.approx(40 / 29.97, abs=1e-3)
    assert source.dropped == 0


def test_live_video_drops_frames_instead_of_queueing_them(videos_dir):
    """Paced at 30 fps on a reader thread; a consumer taking 100 ms per frame sees the newest frames."""
    with VideoSource(videos_dir / "asl_soup.mp4", realtime=True, estimate=False) as source:
        seen = []
        for frame in source:
            seen.append(frame.index)
            time.sleep(0.1)
    assert source.dropped > SOUP_FRAMES // 2
    assert len(seen) + source.dropped == SOUP_FRAMES
    assert seen == sorted(seen) and len(set(np.diff(seen))) > 0 and max(np.diff(seen)) >= 2


def test_video_source_estimates_keypoints(videos_dir):
    with VideoSource(videos_dir / "asl_soup.mp4") as source:
        first = next(iter(source))
    assert first.keypoints.shape == (576, 3) and first.mask.shape == (576,)
    assert first.mask[:33].all()  # the body is found


def test_latest_frame_slot_keeps_only_the_newest():
    slot = FrameSlot()
    assert not slot.ready()
    for i in range(5):
        slot.put(i)
    assert slot.ready()
    assert slot.take() == 4 and slot.dropped == 4
    assert not slot.ready()
    threading.Timer(0.05, slot.put, args=(9,)).start()
    assert slot.take() == 9  # waits for the next one
    slot.close()
    assert slot.ready() and slot.take() is None


def test_a_camera_that_cannot_open_is_a_clear_error():
    with pytest.raises(SignclipError, match="camera 57 cannot be opened"):
        open_source("57")


def test_a_missing_source_is_a_clear_error(tmp_path):
    with pytest.raises(SignclipError, match="no such file, and not a camera index"):
        open_source(tmp_path / "nothing.mp4")
    (tmp_path / "bad.mp4").write_bytes(b"not a video")
    with pytest.raises(SignclipError, match="bad.mp4: the video's index \\(its 'moov' atom\\) is missing"):
        open_source(tmp_path / "bad.mp4")
