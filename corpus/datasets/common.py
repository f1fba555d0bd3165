"""What every dataset reader takes and gives back."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path

from signclip.runtime.errors import SignclipError

from ..inputs import VIDEO_SUFFIXES


@dataclass(frozen=True)
class ReadOptions:
    """A reader's options; None: the dataset's own (its languages, its license, its folders)."""

    videos: Path | None = None            # the folder of the dataset's videos
    classes: Path | None = None           # a class table (AUTSL's; LSA64's where the user has one)
    videos_are_cut: bool = False          # frame ranges already applied to the video files
    sign_language: str | None = None
    spoken_language: str | None = None
    license: str | None = None


def video_in(folder: Path, stem: str) -> Path | None:
    """`folder/<stem><a video suffix>`, or None."""
    for suffix in VIDEO_SUFFIXES:
        path = folder / f"{stem}{suffix}"
        if path.is_file():
            return path
    return None


def read_csv(path: Path, columns: tuple, layout: str) -> list:
    """The rows of a CSV with a header that has `columns`; one line naming the layout otherwise."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as e:
        raise SignclipError(f"{path}: cannot be read as {layout} ({type(e).__name__})") from None
    reader = csv.DictReader(io.StringIO(text))
    found = [c.strip() for c in reader.fieldnames or []]
    missing = [c for c in columns if c not in found]
    if missing:
        raise SignclipError(f"{path}: not {layout}: no column {', '.join(repr(c) for c in missing)} "
                            f"(found {', '.join(repr(c) for c in found) or 'none'})")
    return [{k.strip(): (v or "").strip() for k, v in row.items() if k} for row in reader]
