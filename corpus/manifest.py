"""The trainer's manifest as the dataset readers write it: one row per clip, with the video it comes from.

The columns are the trainer's (`trainer/data.py`: pose, text, languages, signer, split, item,
weight, source, license) plus `video`, `frame_start` and `frame_end` (0-based, the end not
included; empty: the whole video), which `signclip pose MANIFEST -o DIR` reads to write each row's
`.pose` file; the trainer reads the manifest's own columns and leaves these. Paths are relative to
the manifest's folder, so that a corpus folder can move (or be mounted elsewhere on a cluster's nodes).
"""

from __future__ import annotations

import csv
import io
import os
from dataclasses import dataclass
from pathlib import Path

from signclip.runtime.atomic import atomic_write_bytes
from signclip.runtime.errors import SignclipError

from .inputs import pose_names

COLUMNS = ("pose", "text", "spoken_language", "sign_language", "signer", "split", "item", "weight", "source",
           "license", "video", "frame_start", "frame_end")


@dataclass(frozen=True)
class Entry:
    """One clip of a dataset: its video (frames `start` to `end`), gloss, languages, who, which split."""

    video: Path
    text: str
    sign_language: str
    spoken_language: str
    signer: str | None
    split: str | None
    source: str
    license: str
    start: int = 0
    end: int | None = None


def gloss_text(word: str) -> str:
    """A dataset's gloss as the vocabulary writes glosses: `thank you`, `thank_you` -> THANK-YOU."""
    return "-".join(word.strip().replace("_", " ").split()).upper()


def pose_paths(entries: list, videos: Path, poses: Path) -> list:
    """Each entry's `.pose` path: `POSES/<path inside VIDEOS>.pose` (the suffix kept where two
    videos share a stem), `.<start>-<end>` before `.pose` where the entry is a cut."""
    videos_seen = sorted({e.video for e in entries})
    names = pose_names(videos_seen)
    paths = []
    for e in entries:
        try:
            folder = e.video.parent.relative_to(videos)
        except ValueError:
            folder = Path()
        name = names[e.video]
        if (e.start, e.end) != (0, None):
            name = f"{name[:-len('.pose')]}.{e.start}-{'end' if e.end is None else e.end}.pose"
        paths.append(poses / folder / name)
    return paths


def _relative(path: Path, folder: Path) -> str:
    return Path(os.path.relpath(path.absolute(), folder.absolute())).as_posix()


def write_manifest(entries: list, path: Path, videos: Path, poses: Path) -> None:
    """The manifest (CSV), atomically; rows in the entries' order."""
    if not entries:
        raise SignclipError(f"{path}: no clips to write (no video of the dataset was found)")
    folder = path.parent
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(COLUMNS)
    for e, pose in zip(entries, pose_paths(entries, videos, poses)):
        writer.writerow([_relative(pose, folder), e.text, e.spoken_language, e.sign_language, e.signer or "",
                         e.split or "", "", 1, e.source, e.license, _relative(e.video, folder),
                         e.start if (e.start, e.end) != (0, None) else "", "" if e.end is None else e.end])
    atomic_write_bytes(path, buffer.getvalue().encode("utf-8"))
