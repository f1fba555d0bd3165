"""ASL Citizen (Desai et al. 2023): `splits/{train,val,test}.csv` and `videos/`.

Each split CSV has the columns `Participant ID`, `Video file`, `Gloss` (and `ASL-LEX Code`); the
split is the file's name. Its 52 participants are the signer ids the signer-held-out protocols need.
"""

from __future__ import annotations

from pathlib import Path

from signclip.runtime.errors import SignclipError

from ..manifest import Entry, gloss_text
from .common import ReadOptions, read_csv

LICENSE = "LicenseRef-ASL-Citizen"  # Microsoft Research's own terms for the dataset: read them
COLUMNS = ("Participant ID", "Video file", "Gloss")
LAYOUT = "ASL Citizen's layout (a split CSV with Participant ID, Video file, Gloss)"


def split_files(source: Path) -> list:
    """The split CSVs: `source` itself, or those in `source/splits/` (or `source`, a folder)."""
    if source.is_file():
        return [source]
    folder = source / "splits" if (source / "splits").is_dir() else source
    files = sorted(folder.glob("*.csv"))
    if not files:
        raise SignclipError(f"{source}: no split CSV in it (ASL Citizen: splits/train.csv, val.csv, "
                            f"test.csv)")
    return files


def read_asl_citizen(source: Path, options: ReadOptions) -> tuple:
    """(entries, the video files missing from VIDEOS) of the split CSVs."""
    files = split_files(source)
    root = source.parent.parent if source.is_file() else source
    videos = options.videos or root / "videos"
    entries, missing = [], []
    for path in files:
        for row in read_csv(path, COLUMNS, LAYOUT):
            video = videos / row["Video file"]
            if not video.is_file():
                missing.append(row["Video file"])
                continue
            entries.append(Entry(video, gloss_text(row["Gloss"]), options.sign_language or "ase",
                                 options.spoken_language or "en", row["Participant ID"] or None, path.stem,
                                 f"asl-citizen {row['Video file']}", options.license or LICENSE))
    return entries, missing
