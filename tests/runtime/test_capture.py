"""Video to pose through MediaPipe Holistic, on the real fixture videos, and the `signclip pose` CLI."""

import subprocess
import sys

import numpy as np
import pytest
from pose_format import Pose

from signclip.runtime.capture.holistic import CaptureConfig, video_to_clip
from signclip.runtime.errors import SignclipError
from signclip.runtime.pose.layouts import BODY, FACE, HOLISTIC_576, LEFT_HAND, RIGHT_HAND

# Measured with mediapipe 0.10.18, model complexity 1 (the data README gives the same numbers).
SOUP_RATES = {BODY: 1.00, FACE: 1.00, LEFT_HAND: 0.98, RIGHT_HAND: 0.85}


def signclip(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "signclip.runtime.cli", *map(str, args)],
                          capture_output=True, text=True, cwd=cwd, timeout=300)


@pytest.fixture(scope="module")
def soup(videos_dir):
    return video_to_clip(videos_dir / "asl_soup.mp4")


def test_soup_frames_fps_and_detection_rates(soup):
    assert soup.num_frames == 41
    assert soup.fps == pytest.approx(29.97, abs=0.01)
    assert (soup.width, soup.height) == (320, 240)
    assert soup.layout.size == 576
    for component, rate in SOUP_RATES.items():
        assert soup.detection_rate(component) == pytest.approx(rate, abs=0.06), component


def test_webcam_clip_goes_through_with_hands_masked(videos_dir):
    from signclip.runtime.pose.normalize import preprocess

    clip = video_to_clip(videos_dir / "webcam_one_hand.mp4")
    assert clip.num_frames == 58
    assert clip.detection_rate(LEFT_HAND) <= 0.1
    assert 0.15 <= clip.detection_rate(RIGHT_HAND) <= 0.6
    out = preprocess(clip)
    left = [i for i, (c, _) in enumerate(clip.layout.points) if c == LEFT_HAND]
    assert not clip.mask[:, left].any()
    assert np.isfinite(out.frames).all()


@pytest.mark.slow
def test_cli_writes_a_pose_file_pose_format_reads(videos_dir, tmp_path):
    run = signclip("pose", videos_dir / "asl_soup.mp4", "-o", tmp_path, "--refine-face", "--quiet")
    assert run.returncode == 0, run.stderr
    pose = Pose.read((tmp_path / "asl_soup.pose").read_bytes())
    assert pose.body.data.shape[:3] == (41, 1, 586)
    assert pose.body.fps == pytest.approx(29.97, abs=0.01)
    assert (pose.header.dimensions.width, pose.header.dimensions.height) == (320, 240)


def test_mediapipe_model_loading_log_stays_out_of_the_output(videos_dir):
    """Its hand model logs from a graph thread after the first hand shows, between frames."""
    run = signclip("lookup", videos_dir / "asl_letter_A.mp4", "--top-k", "1")
    assert run.returncode == 0, run.stderr
    assert "XNNPACK" not in run.stderr + run.stdout


def black_video(path, frames=15):
    import cv2

    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 25, (160, 120))
    for _ in range(frames):
        writer.write(np.zeros((120, 160, 3), np.uint8))
    writer.release()
    return path


def test_black_video_is_a_clear_error(tmp_path):
    with pytest.raises(SignclipError, match="nobody found"):
        video_to_clip(black_video(tmp_path / "black.mp4"))


def test_unavailable_model_complexity_is_one_line(videos_dir):
    with pytest.raises(SignclipError, match="not in the mediapipe wheel"):
        video_to_clip(videos_dir / "asl_soup.mp4", CaptureConfig(model_complexity=2))


def test_bad_inputs_give_one_line_and_nonzero_exit(tmp_path, poses_dir, videos_dir):
    full = (poses_dir / "holistic576_97f.pose").read_bytes()
    (tmp_path / "truncated.pose").write_bytes(full[:1000])
    (tmp_path / "empty.pose").write_bytes(b"")
    (tmp_path / "folder").mkdir()
    (tmp_path / "notavideo.mp4").write_bytes(b"hello")
    (tmp_path / "noise.avi").write_bytes(np.random.default_rng(0).bytes(5000))
    (tmp_path / "empty.mp4").write_bytes(b"")
    (tmp_path / "unfinished.mp4").write_bytes((videos_dir / "asl_soup.mp4").read_bytes()[:20000])
    cases = [
        (tmp_path / "truncated.pose", "not a readable .pose file: header cut at byte 1000"),
        (tmp_path / "empty.pose", "empty file"),
        (tmp_path / "missing.pose", "no such file"),
        (tmp_path / "missing.mp4", "no such file"),
        (tmp_path / "folder", "is a folder"),
        (tmp_path / "notavideo.mp4", "index \\(its 'moov' atom\\) is missing"),
        (tmp_path / "unfinished.mp4", "the recording was cut off before it was finished"),
        (tmp_path / "noise.avi", "cannot be opened as a video"),
        (tmp_path / "empty.mp4", "empty file, not a video"),
        (black_video(tmp_path / "black.mp4"), "nobody found"),
    ]
    for path, message in cases:
        run = signclip("pose", path, "-o", tmp_path / "out", "--quiet")
        assert run.returncode != 0, path
        # one line of ours, nothing from ffmpeg, MediaPipe or Python
        assert run.stderr.startswith("signclip pose: error: ") and run.stderr.count("\n") == 1, run.stderr
        assert __import__("re").search(message, run.stderr), run.stderr


def test_pose_file_summary(poses_dir):
    run = signclip("pose", poses_dir / "holistic576_97f.pose")
    assert run.returncode == 0, run.stderr
    assert "97 frames at 25.00 fps" in run.stdout and "model input (97, 609)" in run.stdout


def test_without_the_face_pose_and_hands_are_holistics(soup, videos_dir):
    """The Holistic graph less its face branch: the same pose and hand points from the same nodes,
    the face marked missing, the same frames and timing (what a bundle that hides the face reads)."""
    faceless = video_to_clip(videos_dir / "asl_soup.mp4", CaptureConfig(face=False))
    assert (faceless.num_frames, faceless.fps, faceless.layout) == (soup.num_frames, soup.fps, soup.layout)
    face = np.array([c == FACE for c, _ in soup.layout.points])
    assert faceless.detection_rate(FACE) == 0.0 and not faceless.frames[:, face].any()
    for component in (BODY, LEFT_HAND, RIGHT_HAND):
        part = np.array([c == component for c, _ in soup.layout.points])
        np.testing.assert_array_equal(faceless.mask[:, part], soup.mask[:, part])
        np.testing.assert_allclose(faceless.frames[:, part], soup.frames[:, part], atol=1e-4)


def test_a_bundle_that_hides_the_face_captures_without_it():
    from signclip.runtime.capture.holistic import capture_for
    from signclip.runtime.model.bundle import load_bundle
    from signclip.runtime.pose.normalize import NormalizationConfig

    assert capture_for(load_bundle().normalization) == CaptureConfig(face=False, skip_still_hands=True)
    face_read = capture_for(NormalizationConfig(hide_face=False))
    assert face_read == CaptureConfig(face=True, skip_still_hands=True)


def test_read_ahead_keeps_order_stops_early_and_passes_errors_on():
    from signclip.runtime.capture.holistic import read_ahead

    assert list(read_ahead(iter(range(50)), depth=3)) == list(range(50))
    taken = read_ahead(iter(range(1000)), depth=2)
    assert next(taken) == 0
    taken.close()  # the reader thread ends without draining the rest

    def broken():
        yield 1
        raise SignclipError("damaged frame")

    with pytest.raises(SignclipError, match="damaged frame"):
        list(read_ahead(broken()))


@pytest.fixture(scope="module")
def soup_rgb(videos_dir):
    from signclip.runtime.capture.holistic import open_video, video_frames

    capture, _ = open_video(videos_dir / "asl_soup.mp4")
    try:
        return list(video_frames(capture))[:24]
    finally:
        capture.release()


@pytest.mark.parametrize("face", [True, False])
def test_frames_in_flight_give_mediapipes_own_holistic_numbers(soup_rgb, face):
    """Our run of the wheel's graph, frame by frame and two frames in flight, against MediaPipe's
    own Holistic solution: the same numbers, bit for bit (the face missing without it)."""
    import mediapipe as mp

    from signclip.runtime.capture.holistic import HolisticCapture, holistic_keypoints
    from signclip.runtime.capture.holistic_graph import BODY_AND_HANDS

    height, width = soup_rgb[0].shape[:2]
    names = (*BODY_AND_HANDS, "face_landmarks")
    with mp.solutions.holistic.Holistic() as solution:
        expected = [holistic_keypoints({n: getattr(r, n) for n in names}, width, height)
                    for r in map(solution.process, soup_rgb)]
    with HolisticCapture(CaptureConfig(face=face)) as holistic:
        one_by_one = [holistic.process(rgb) for rgb in soup_rgb]
    with HolisticCapture(CaptureConfig(face=face)) as holistic:
        streamed = [(f, c) for _, f, c in holistic.stream(enumerate(soup_rgb))]
    kept = np.array([face or c != FACE for c, _ in HOLISTIC_576.points])
    for got in (one_by_one, streamed):
        assert len(got) == len(expected)
        for (frame, conf), (want_frame, want_conf) in zip(got, expected, strict=True):
            np.testing.assert_array_equal(frame[kept], want_frame[kept])
            np.testing.assert_array_equal(conf[kept], want_conf[kept])
            assert not conf[~kept].any()


def test_a_stream_stopped_early_leaves_the_graph_in_step(soup_rgb):
    """A consumer that stops reading a stream leaves no frame in flight: the next frame's keypoints
    are its own, as after the same frames one by one."""
    from signclip.runtime.capture.holistic import IN_FLIGHT, HolisticCapture

    sent = IN_FLIGHT + 1  # frames submitted by the time the second comes out
    with HolisticCapture(CaptureConfig(face=False)) as holistic:
        list(holistic.stream(enumerate(soup_rgb[:sent])))
        expected = holistic.process(soup_rgb[sent])
    with HolisticCapture(CaptureConfig(face=False)) as holistic:
        stream = holistic.stream(enumerate(soup_rgb))
        assert [next(stream)[0], next(stream)[0]] == [0, 1]  # frames 2 to IN_FLIGHT are in the graph
        stream.close()
        got = holistic.process(soup_rgb[sent])
    for a, b in zip(got, expected, strict=True):
        np.testing.assert_array_equal(a, b)


def test_a_live_source_with_no_new_frame_gets_the_frames_in_flight(soup_rgb):
    """None among the pairs (no new camera frame yet) hands out every frame in flight before the
    stream asks for the next one, so a slow camera does not hold results back."""
    from signclip.runtime.capture.holistic import IN_FLIGHT, HolisticCapture

    log = []
    n = IN_FLIGHT + 1

    def pairs():
        for i in range(n):
            log.append(f"in {i}")
            yield i, soup_rgb[i]
        log.append("idle")
        yield None
        log.append(f"in {n}")
        yield n, soup_rgb[n]

    with HolisticCapture(CaptureConfig(face=False)) as holistic:
        for tag, _, _ in holistic.stream(pairs()):
            log.append(f"out {tag}")
    # the graph fills to IN_FLIGHT frames, then one out for each in; idle: all out
    filling = [f"in {i}" for i in range(IN_FLIGHT)]
    assert log == [*filling, "out 0", f"in {IN_FLIGHT}", "out 1", "idle",
                   *(f"out {i}" for i in range(2, n)), f"in {n}", f"out {n}"]


def test_a_hand_found_absent_is_not_looked_for_while_it_keeps_still():
    """HandWatch: after a frame whose hand model found no hand, the hand's models skip the frames
    where its pose points stay within STILL_SHOULDERS shoulder widths, at most STILL_SKIPS in a row;
    a hand found, one that moves, or a frame without a pose is looked for."""
    from signclip.runtime.capture.holistic_graph import ABSENT_SCORE, STILL_SHOULDERS, STILL_SKIPS, HandWatch

    here = np.array([[100.0, 400.0], [110.0, 420.0], [95.0, 425.0]])
    shoulders = 200.0
    nudge = here + 0.5 * STILL_SHOULDERS * shoulders          # moved, but less than the limit
    moved = here + 2 * STILL_SHOULDERS * shoulders
    watch = HandWatch()
    assert watch.look(here, shoulders, score_before=0.0)       # nothing looked for yet
    decisions = [watch.look(nudge, shoulders, score_before=0.01) for _ in range(STILL_SKIPS + 1)]
    assert decisions == [False] * STILL_SKIPS + [True]         # then looked for again
    assert not watch.look(here, shoulders, score_before=0.01)  # absent again, still: skipped
    assert watch.look(moved, shoulders, score_before=0.0)      # it moved

    found = HandWatch()
    found.look(here, shoulders, 0.0)
    assert found.look(here, shoulders, score_before=0.9)       # found: tracked on every frame
    assert found.look(here, shoulders, score_before=ABSENT_SCORE)  # unsure: looked for again
    assert found.look(None, 0.0, score_before=0.0)             # no pose: the graph finds no hand anyway


def test_skipping_still_hands_keeps_the_pose_and_the_hands_found(videos_dir):
    """The bundle's capture skips the hand models of a hand resting unfound: the pose is Holistic's
    bit for bit, and the hands found are Holistic's on the frames where both find them."""
    from signclip.runtime.capture.holistic import HolisticCapture, open_video, video_frames

    capture, _ = open_video(videos_dir / "webcam_one_hand.mp4")
    rgb = list(video_frames(capture))
    capture.release()
    runs = {}
    for skip in (False, True):
        with HolisticCapture(CaptureConfig(face=False, skip_still_hands=skip)) as holistic:
            runs[skip] = [(f, c) for _, f, c in holistic.stream(enumerate(rgb))]
            skipped = holistic.hands_skipped
    assert skipped > len(rgb) // 4  # the left hand is out of sight the whole clip
    body = np.array([c == BODY for c, _ in HOLISTIC_576.points])
    found, close = [], []  # per hand Holistic found: found too; then within 0.05 palm lengths
    for (frame, conf), (want, want_conf) in zip(runs[True], runs[False], strict=True):
        np.testing.assert_array_equal(frame[body], want[body])
        for side in (LEFT_HAND, RIGHT_HAND):
            part = np.array([c == side for c, _ in HOLISTIC_576.points])
            if want_conf[part].any():
                found.append(conf[part].any())
                if found[-1]:
                    hand, want_hand = frame[part][:, :2], want[part][:, :2]
                    palm = np.linalg.norm(want_hand[9] - want_hand[0])  # wrist to middle knuckle
                    close.append(np.linalg.norm(hand - want_hand, axis=1).max() <= 0.05 * palm)
    # a miss: a frame in a flicker of Holistic's own found / not found (its score near the threshold)
    assert len(found) > 10 and np.mean(found) >= 0.9 and np.mean(close) >= 0.95


def test_only_the_submitting_thread_adds_packets_to_the_graph(soup_rgb):
    """The hands' gate packets go in from the thread that submits frames, as the frames do: a graph
    thread that adds packets can block on the graph's throttling (holding the GIL) and hang it."""
    import threading

    from signclip.runtime.capture.holistic_graph import HolisticGraph

    class Recording:
        def __init__(self, graph):
            self.graph, self.threads = graph, set()

        def add_packet_to_input_stream(self, **kwargs):
            self.threads.add(threading.current_thread())
            return self.graph.add_packet_to_input_stream(**kwargs)

        def __getattr__(self, name):
            return getattr(self.graph, name)

    graph = HolisticGraph(face=False, skip_still_hands=True)
    graph._graph = recording = Recording(graph._graph)
    try:
        for i, rgb in enumerate(soup_rgb):
            graph.submit(rgb, i)
            while graph.in_flight >= 3:
                graph.result()
        while graph.in_flight:
            graph.result()
    finally:
        graph.close()
    assert recording.threads == {threading.current_thread()}


def test_mediapipe_is_imported_without_pyplot_which_still_works_when_used():
    """import_mediapipe leaves matplotlib's pyplot (which mediapipe's drawing utilities import) to
    its first use: a fresh interpreter has none loaded after it, and the utilities still draw."""
    code = ("import sys\n"
            "from signclip.runtime.capture.holistic_graph import import_mediapipe\n"
            "mp = import_mediapipe()\n"
            "assert 'matplotlib.pyplot' not in sys.modules\n"
            "import matplotlib.pyplot as plt\n"
            "assert mp.solutions.drawing_utils.plt.figure is plt.figure\n")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
