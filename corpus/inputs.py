"""What a pose job reads and writes: files, folders (walked for videos) and manifests to tasks.

Output names keep what pose-format's `videos_to_poses` loses: a folder's videos go to
`OUT/<path inside the folder>.pose`, so that `a/foo.mp4` and `b/foo.mp4` stay apart, and where one
folder holds two videos of one stem (`foo.mp4`, `foo.webm`) both keep their suffix
(`foo.mp4.pose`, `foo.webm.pose`) instead of overwriting each other. A file named on the command
line goes to `OUT/<stem>.pose` (as `signclip pose FILE -o OUT` always did). A manifest names each
row's video, frame range and `.pose` path itself (`signclip dataset` writes one).
"""

from __future__ import annotations

import csv
import io
import os
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from signclip.runtime.errors import SignclipError

VIDEO_SUFFIXES = (".mp4", ".mov", ".avi", ".mkv", ".webm", ".m4v", ".flv", ".wmv", ".mpg", ".mpeg")
MANIFEST_SUFFIXES = (".csv",)


@dataclass(frozen=True)
class Task:
    """One video (or its frames `start` to `end`, `end` not included) to one `.pose` file."""

    video: Path
    output: Path
    start: int = 0
    end: int | None = None

    @property
    def key(self) -> str:
        """What names the task in the report: its output (one output, one task)."""
        return str(self.output)


def is_video(path: Path) -> bool:
    return path.suffix.lower() in VIDEO_SUFFIXES


def is_manifest(path: Path) -> bool:
    return path.suffix.lower() in MANIFEST_SUFFIXES and path.is_file()


def folder_videos(folder: Path) -> list:
    """The videos under `folder`, recursively, sorted; hidden files and folders left out."""
    found = []
    for root, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        found.extend(Path(root) / f for f in sorted(files) if not f.startswith(".") and is_video(Path(f)))
    return found


def pose_names(videos: list) -> dict:
    """video -> its output name: the name less its suffix plus `.pose`, or the whole name plus
    `.pose` where another video in the same folder has the same stem."""
    stems: dict = defaultdict(int)
    for v in videos:
        stems[(v.parent, v.stem)] += 1
    return {v: (v.stem if stems[(v.parent, v.stem)] == 1 else v.name) + ".pose" for v in videos}


def folder_tasks(folder: Path, out: Path) -> list:
    """A folder's videos to `OUT/<path inside the folder>.pose`."""
    videos = folder_videos(folder)
    if not videos:
        raise SignclipError(f"{folder}: is a folder with no video in it (looked for "
                            f"{', '.join(VIDEO_SUFFIXES)})")
    names = pose_names(videos)
    return [Task(v, out / v.relative_to(folder).parent / names[v]) for v in videos]


def file_tasks(files: list, out: Path) -> list:
    """Files named on the command line to `OUT/<stem>.pose` (any suffix: a file named is read)."""
    names = pose_names(files)
    return [Task(f, out / names[f]) for f in files]


def _frame(value, where: str) -> int | None:
    if value in (None, ""):
        return None
    try:
        number = int(float(value))
    except ValueError:
        raise SignclipError(f"{where}: {value!r} is not a frame number") from None
    if number < 0:
        raise SignclipError(f"{where}: frame {number} is negative")
    return number


def manifest_records(path: Path) -> list:
    """(line, record) pairs of a CSV manifest (what `signclip dataset` writes)."""
    reader = csv.DictReader(io.StringIO(path.read_text(encoding="utf-8-sig")))
    return [(reader.line_num, {k.strip(): (v or "").strip() for k, v in r.items() if k}) for r in reader]


def manifest_tasks(path: Path) -> list:
    """A manifest's rows (`video`, `pose`, optional `frame_start`, `frame_end`; paths relative to
    its folder) to tasks; rows that share a `pose` and a video are one task."""
    records = manifest_records(path)
    if not records:
        raise SignclipError(f"{path}: the manifest has no rows")
    missing = [c for c in ("video", "pose") if c not in records[0][1]]
    if missing:
        raise SignclipError(f"{path}: a manifest to pose needs the columns video and pose (missing: "
                            f"{', '.join(missing)}); `signclip dataset` writes such a manifest")
    tasks = []
    for number, record in records:
        where = f"{path}:{number}"
        if not record["video"] or not record["pose"]:
            raise SignclipError(f"{where}: empty video or pose")
        start = _frame(record.get("frame_start"), where) or 0
        end = _frame(record.get("frame_end"), where)
        if end is not None and end <= start:
            raise SignclipError(f"{where}: frame_end {end} is not after frame_start {start}")
        video, pose = (Path(record[c]).expanduser() for c in ("video", "pose"))
        tasks.append(Task(video if video.is_absolute() else path.parent / video,
                          pose if pose.is_absolute() else path.parent / pose, start, end))
    return tasks


def unique(tasks: list) -> list:
    """The tasks, each once; two different tasks that would write one file are a usage error."""
    by_output: dict = {}
    for task in tasks:
        other = by_output.setdefault(task.output, task)
        if other != task:
            raise SignclipError(f"{other.video} and {task.video} would both be written to {task.output}; "
                                f"pass their folder instead, whose sub-folders keep them apart")
    return list(by_output.values())


def plan_tasks(inputs: list, out: Path | None) -> list:
    """Every input (a video file, a folder of videos, a manifest) as tasks, in the given order."""
    tasks, files = [], []
    for raw in inputs:
        path = Path(raw)
        if path.is_dir():
            tasks += folder_tasks(path, _need_out(out))
        elif is_manifest(path):
            tasks += manifest_tasks(path)
        else:  # missing or unreadable files are the job's to report, one line each
            files.append(path)
    tasks += file_tasks(files, _need_out(out)) if files else []
    return unique([Task(t.video.absolute(), t.output.absolute(), t.start, t.end) for t in tasks])


def _need_out(out: Path | None) -> Path:
    if out is None:
        raise SignclipError("videos need -o DIR, the folder to write their .pose files to")
    return out
