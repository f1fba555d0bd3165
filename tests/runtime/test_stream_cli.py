"""`signclip stream` and `signclip lookup --segments` on the real C-A-B recording, with a tiny real bundle."""

import io
import json
import subprocess
import sys

import pytest
from streaming_data import CAB_VIDEO, cab_clip

from signclip.runtime.capture.sources import Frame
from signclip.runtime.cli.main import main
from signclip.runtime.cli.stream import StatusLine
from signclip.runtime.model.bundle import load_bundle
from signclip.runtime.pose.io import write_pose
from signclip.runtime.pose.normalize import preprocess
from signclip.runtime.pose.timing import at_rate, rate_indices
from signclip.runtime.recognition.segmentation import segment_clip


@pytest.fixture(scope="session")
def cab():
    return cab_clip()


@pytest.fixture(scope="module")
def cab_pose(cab, tmp_path_factory):
    path = tmp_path_factory.mktemp("cab") / "cab.pose"
    write_pose(cab, path)
    return path


def json_lines(text: str) -> list:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def test_lookup_segments_json_gives_three_signs_equal_to_the_offline_lookup(
        cab, cab_pose, tiny_bundle, signclip_home, capsys):
    from signclip.runtime.recognition.engine import Engine

    assert main(["lookup", str(cab_pose), "--segments", "--json", "--bundle", str(tiny_bundle)]) == 0
    records = json_lines(capsys.readouterr().out)
    assert [r["segment"] for r in records] == [0, 1, 2]
    engine = Engine(tiny_bundle)
    timed = at_rate(cab, engine.bundle.fps)   # read at the bundle's rate; reported in the video's frames
    source = rate_indices(cab.num_frames, cab.fps, engine.bundle.fps)
    ranges = segment_clip(timed)
    assert [(r["start_frame"], r["end_frame"]) for r in records] == \
        [(source[s], source[e - 1] + 1) for s, e in ranges]
    for r, (s, e) in zip(records, ranges, strict=True):
        assert len(r["results"]) == 5
        part = preprocess(timed.slice(s, e), engine.bundle.normalization)
        expected = engine.lookup_embedding(engine.pose_encoder.embed_one(part), 5)
        assert r["results"] == [m.to_json() for m in expected]


def test_stream_prints_the_same_signs_as_lookup_segments(cab_pose, tiny_bundle, signclip_home, capsys):
    assert main(["lookup", str(cab_pose), "--segments", "--json", "--bundle", str(tiny_bundle)]) == 0
    offline = json_lines(capsys.readouterr().out)
    assert main(["stream", "--source", str(cab_pose), "--json", "--bundle", str(tiny_bundle)]) == 0
    out = capsys.readouterr().out
    streamed = json_lines(out)
    assert "\r" not in out  # not a terminal: no status line
    assert [(s["start_frame"], s["end_frame"], s["results"]) for s in streamed] == \
           [(o["start_frame"], o["end_frame"], o["results"]) for o in offline]
    assert all(s["timings"]["encode_ms"] > 0 for s in streamed)


def test_stream_text_output_and_windows(cab_pose, tiny_bundle, signclip_home, capsys):
    assert main(["stream", "--source", str(cab_pose), "--bundle", str(tiny_bundle), "-k", "3"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 3 and all("encoder" in line and " s]" in line for line in lines)
    assert main(["stream", "--source", str(cab_pose), "--bundle", str(tiny_bundle), "--json",
                 "--window", "2", "--hop", "1"]) == 0
    windows = json_lines(capsys.readouterr().out)
    assert [w["start_frame"] for w in windows][:3] == [0, 30, 60]


def test_stream_errors_are_one_line(cab_pose, tiny_bundle, signclip_home, capsys):
    assert main(["stream", "--source", "63", "--bundle", str(tiny_bundle)]) == 2
    assert "camera 63 cannot be opened" in capsys.readouterr().err
    assert main(["stream", "--source", str(cab_pose), "--bundle", str(tiny_bundle), "-l", "xx"]) == 2
    assert "language 'xx' is not in the vocabulary" in capsys.readouterr().err


def test_status_line_only_on_a_terminal():
    class Terminal(io.StringIO):
        def isatty(self):
            return True

    frame = Frame(3, 0.1, None, None, None)
    quiet, loud = io.StringIO(), Terminal()
    for line in (StatusLine(quiet), StatusLine(loud)):
        line.tick(frame, 0, False)
        line.clear()
    assert quiet.getvalue() == ""
    assert "FPS" in loud.getvalue() and "waiting for a sign" in loud.getvalue()


@pytest.mark.slow
def test_stream_runs_a_video_to_the_end(cab, tiny_bundle, signclip_home):
    """The acceptance run: MediaPipe on every frame of the video, in a fresh process."""
    run = subprocess.run([sys.executable, "-m", "signclip.runtime.cli", "stream", "--source",
                          str(CAB_VIDEO), "--json", "--bundle", str(tiny_bundle)],
                         capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr
    signs = json_lines(run.stdout)
    fps = load_bundle(tiny_bundle).fps   # read at the bundle's rate, reported in the video's frames
    source = rate_indices(cab.num_frames, cab.fps, fps)
    assert [(s["start_frame"], s["end_frame"]) for s in signs] == \
        [(source[a], source[b - 1] + 1) for a, b in segment_clip(at_rate(cab, fps))]
