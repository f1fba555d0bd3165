"""Inputs to tasks (names that never collide silently) and the report a rerun resumes from; no MediaPipe."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from signclip.corpus.inputs import Task, file_tasks, folder_tasks, manifest_tasks, plan_tasks
from signclip.corpus.local import remove_partial
from signclip.corpus.report import FAILED, OK, Journal, Outcome, input_stat, is_done, read_report
from signclip.runtime.errors import SignclipError


def touch(path: Path, data: bytes = b"x") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def test_a_folder_keeps_sub_folders_and_suffixes_apart(tmp_path):
    src, out = tmp_path / "in", tmp_path / "out"
    for name in ("a/foo.mp4", "b/foo.mp4", "b/bar.mp4", "b/bar.WEBM", "c/d/e.mov", "notes.txt", ".hidden.mp4",
                 ".cache/x.mp4"):
        touch(src / name)
    names = {t.video.relative_to(src).as_posix(): t.output.relative_to(out).as_posix()
             for t in folder_tasks(src, out)}
    assert names == {"a/foo.mp4": "a/foo.pose", "b/foo.mp4": "b/foo.pose", "b/bar.mp4": "b/bar.mp4.pose",
                     "b/bar.WEBM": "b/bar.WEBM.pose", "c/d/e.mov": "c/d/e.pose"}


def test_files_named_go_to_their_stem_and_a_clash_is_a_usage_error(tmp_path):
    out = tmp_path / "out"
    a, b = touch(tmp_path / "a" / "foo.mp4"), touch(tmp_path / "b" / "foo.mp4")
    assert [t.output for t in file_tasks([a], out)] == [out / "foo.pose"]
    with pytest.raises(SignclipError, match="would both be written to .*out/foo.pose; pass their folder"):
        plan_tasks([a, b], out)


def test_an_empty_folder_and_a_missing_out_are_usage_errors(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(SignclipError, match="is a folder with no video in it"):
        plan_tasks([tmp_path / "empty"], tmp_path / "out")
    with pytest.raises(SignclipError, match="need -o DIR"):
        plan_tasks([touch(tmp_path / "v.mp4")], None)


def test_a_manifest_names_videos_ranges_and_outputs_relative_to_itself(tmp_path):
    manifest = tmp_path / "m.csv"
    manifest.write_text("pose,text,video,frame_start,frame_end\nposes/a.pose,A,v/a.mp4,3,10\n"
                        "poses/b.pose,B,/abs/b.mp4,,\nposes/a.pose,A,v/a.mp4,3,10\n")
    tasks = plan_tasks([manifest], None)
    assert tasks == [Task(tmp_path / "v/a.mp4", tmp_path / "poses/a.pose", 3, 10),
                     Task(Path("/abs/b.mp4"), tmp_path / "poses/b.pose", 0, None)]


@pytest.mark.parametrize("text, message", [
    ("pose,text\na.pose,A\n", "needs the columns video and pose \\(missing: video\\)"),
    ("pose,video,frame_start,frame_end\na.pose,a.mp4,9,3\n", "m.csv:2: frame_end 3 is not after frame_start"),
    ("pose,video,frame_start\na.pose,a.mp4,x\n", "m.csv:2: 'x' is not a frame number"),
    ("pose,video\n", "the manifest has no rows"),
])
def test_a_manifest_in_the_wrong_layout_is_one_line(tmp_path, text, message):
    (tmp_path / "m.csv").write_text(text)
    with pytest.raises(SignclipError, match=message):
        manifest_tasks(tmp_path / "m.csv")


def outcome(task: Task, status=OK, settings="s", **changes) -> Outcome:
    size, mtime = input_stat(task.video)
    output_size = task.output.stat().st_size if task.output.exists() else -1
    fields = dict(input_size=size, input_mtime_ns=mtime, output_size=output_size, settings=settings)
    return Outcome(str(task.video), str(task.output), status, **{**fields, **changes})


def test_done_means_same_input_same_settings_and_a_whole_output(tmp_path):
    task = Task(touch(tmp_path / "v.mp4"), touch(tmp_path / "v.pose", b"pose"))
    assert is_done(task, outcome(task), "s")
    assert not is_done(task, None, "s")
    assert not is_done(task, outcome(task), "other settings")
    assert not is_done(Task(task.video, task.output, 5), outcome(task), "s")     # another frame range
    assert not is_done(task, outcome(task, output_size=99), "s")                # not the file written
    failed = outcome(task, FAILED)
    assert is_done(task, failed, "s") and not is_done(task, failed, "s", retry_failed=True)
    touch(task.video, b"a new recording")
    assert not is_done(task, outcome(Task(task.video, task.output), input_size=1), "s")
    task.output.unlink()
    assert not is_done(task, outcome(task, output_size=4), "s")


def test_the_report_keeps_the_newest_line_and_skips_one_cut_by_a_kill(tmp_path):
    path = tmp_path / "report.jsonl"
    first, second = (Outcome("v.mp4", "v.pose", s) for s in (FAILED, OK))
    path.write_text(first.line() + "\n" + second.line()[:-9])  # killed while writing the second
    journal = Journal(path)
    journal.add(Outcome("w.mp4", "w.pose", OK))
    assert {k: o.status for k, o in read_report(path).items()} == {"v.pose": FAILED, "w.pose": OK}
    journal.close([second])
    assert [json.loads(line)["status"] for line in path.read_text().splitlines()] == [OK]


def test_partial_writes_of_the_outputs_are_removed_and_nothing_else(tmp_path):
    keep = [touch(tmp_path / n) for n in ("a.pose", ".b.pose.x1.tmp", ".other.tmp", "a.pose.tmp")]
    gone = touch(tmp_path / ".a.pose.k3j_9.tmp")
    assert remove_partial([tmp_path / "a.pose"]) == 1
    assert not gone.exists() and all(p.exists() for p in keep)


def test_ray_and_torch_stay_out_of_the_pose_command_and_the_runtime():
    import subprocess
    import sys

    code = ("import sys, signclip.runtime, signclip.corpus.pose_cli, signclip.corpus.job, "
            "signclip.corpus.local; print(sorted(m for m in ('ray', 'torch') if m in sys.modules))")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert run.stdout.strip() == "[]", run.stderr
