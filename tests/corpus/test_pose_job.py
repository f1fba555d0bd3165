"""`signclip pose` on a folder of the real fixture videos: N workers, bad inputs recorded and
skipped, resume after SIGKILL with no partial file and little work done twice."""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from signclip.corpus.extract import WORK_LOG
from signclip.runtime.pose.io import read_pose


def signclip(*args, env=None, **kwargs):
    return subprocess.run([sys.executable, "-m", "signclip.runtime.cli", *map(str, args)],
                          capture_output=True, text=True, timeout=600, env=env, **kwargs)


def corpus(videos_dir, root, copies: dict):
    """Fixture videos copied into sub-folders: {name: count} -> root/sNN/<name>."""
    for name, count in copies.items():
        for i in range(count):
            folder = root / f"s{i:02d}"
            folder.mkdir(parents=True, exist_ok=True)
            shutil.copy(videos_dir / name, folder / name)
    return root


def report(out) -> dict:
    records = [json.loads(line) for line in (out / "report.jsonl").read_text().splitlines()]
    return {r["input"]: r for r in records}


def test_a_folder_with_bad_files_among_good_ones(videos_dir, tmp_path):
    src = corpus(videos_dir, tmp_path / "in", {"signer_two_hands.mp4": 20, "asl_soup.mp4": 1})
    shutil.copy(videos_dir / "signer_two_hands.mp4", src / "s00" / "signer_two_hands.webm")  # same stem
    (src / "s01" / "cut_off.mp4").write_bytes((videos_dir / "asl_soup.mp4").read_bytes()[:20000])
    (src / "s02" / "empty.mp4").write_bytes(b"")
    (src / "s03" / "notes.mp4").write_text("a text file named like a video\n")
    (src / "s03" / "readme.txt").write_text("not a video suffix: not an input\n")
    out = tmp_path / "out"
    run = signclip("pose", src, "-o", out, "--workers", 2, "--quiet")
    assert run.returncode == 1, run.stderr
    assert run.stderr.startswith("signclip pose: error: 3 of 25 videos failed")
    assert run.stderr.count("\n") == 1
    lines = report(out)
    assert len(lines) == 25
    bad = {os.path.basename(k): v["reason"] for k, v in lines.items() if v["status"] == "failed"}
    assert set(bad) == {"cut_off.mp4", "empty.mp4", "notes.mp4"}
    assert "cut off before it was finished" in bad["cut_off.mp4"] and "empty file" in bad["empty.mp4"]
    assert "not an MP4/MOV file" in bad["notes.mp4"]
    poses = sorted(p.relative_to(out).as_posix() for p in out.rglob("*.pose"))
    assert len(poses) == 22
    assert {"s00/signer_two_hands.webm.pose", "s00/signer_two_hands.mp4.pose"} <= set(poses)
    assert not list(out.rglob(".*.tmp"))
    # one graph per worker, restarted for each video: a video's keypoints do not depend on which
    # worker read it or what it read before
    copies = [read_pose(out / p) for p in poses if "signer_two_hands" in p]
    assert len({c.num_frames for c in copies}) == 1
    assert all(np.array_equal(c.frames, copies[0].frames) for c in copies)
    assert len({v["worker"] for v in lines.values()}) == 2
    ok = lines[str(src / "s00" / "asl_soup.mp4")]
    assert ok["frames"] == 41 and ok["rates"]["body"] == 1.0 and ok["seconds"] > 0

    again = signclip("pose", src, "-o", out, "--workers", 2, "--quiet")  # all done: nothing runs
    assert again.returncode == 1 and all(v["reused"] for v in report(out).values())


def lines_in(path) -> int:
    return path.read_text().count('"status"') if path.exists() else 0


@pytest.mark.slow
def test_killed_five_times_it_resumes_without_partial_files_or_much_work_twice(videos_dir, tmp_path):
    src = corpus(videos_dir, tmp_path / "in", {"signer_two_hands.mp4": 40})
    out, log = tmp_path / "out", tmp_path / "work.log"
    env = {**os.environ, WORK_LOG: str(log)}
    command = [sys.executable, "-m", "signclip.runtime.cli", "pose", str(src), "-o", str(out),
               "--workers", "2", "--quiet"]
    rng = random.Random(0)
    for _ in range(5):
        job = subprocess.Popen(command, env=env, start_new_session=True, stderr=subprocess.DEVNULL)
        began = lines_in(out / "report.jsonl")
        while job.poll() is None and lines_in(out / "report.jsonl") == began:
            time.sleep(0.02)  # until it has finished a video: a kill at a random point of a long run
        time.sleep(rng.uniform(0, 1.0))
        os.killpg(job.pid, signal.SIGKILL)
        job.wait()
        for pose in out.rglob("*.pose"):  # whatever is there is whole
            read_pose(pose)
    finished = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)
    assert finished.returncode == 0, finished.stderr
    lines = report(out)
    assert len(lines) == 40 and all(v["status"] == "ok" for v in lines.values())
    assert sum(v["reused"] for v in lines.values()) >= 5  # the killed runs did some of it
    assert sorted(out.rglob("*.pose")) == sorted(Path(v["output"]) for v in lines.values())
    assert not list(out.rglob(".*.tmp"))
    clean = sum(v["frames"] for v in lines.values())  # what one clean run puts through MediaPipe
    assert log.stat().st_size <= 1.2 * clean, (log.stat().st_size, clean)


def test_ctrl_c_stops_the_workers_at_once_and_leaves_no_partial_file(videos_dir, tmp_path):
    src = corpus(videos_dir, tmp_path / "in", {"asl_football.mp4": 8})
    out = tmp_path / "out"
    command = [sys.executable, "-m", "signclip.runtime.cli", "pose", src, "-o", out, "--workers", "2",
               "--quiet"]
    # as a terminal's foreground job has it: a suite started in the background of a script (`make test
    # &`) runs with SIGINT ignored, which its children inherit, and Python then never raises
    # KeyboardInterrupt (the job ran on to the end)
    job = subprocess.Popen(command, start_new_session=True, stderr=subprocess.PIPE, text=True,
                           preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    while job.poll() is None and not list(out.rglob(".*.tmp")) and lines_in(out / "report.jsonl") == 0:
        time.sleep(0.01)  # until a worker writes, or one video is done
    done_before = lines_in(out / "report.jsonl")
    os.killpg(job.pid, signal.SIGINT)  # what Ctrl-C sends to the terminal's process group
    code = job.wait(timeout=10)
    assert code == 130, (code, done_before, lines_in(out / "report.jsonl"))
    assert job.stderr.read() == "signclip pose: interrupted\n"
    assert not list(out.rglob(".*.tmp"))
    for pose in out.rglob("*.pose"):
        read_pose(pose)
