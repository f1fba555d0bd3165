"""AUTSL (Sincan and Keles 2020), Turkish Sign Language: a labels CSV, a class table and the videos.

The labels CSV has no header: `signer0_sample1,0` (the sample, its class id); the colour video is
`VIDEOS/<sample>_color.mp4` (the depth video beside it is not read). The class table
`SignList_ClassId_TR_EN.csv` has `ClassId`, `TR` and `EN`; the gloss is the English one. The split
is the labels file's name (train_labels.csv, validation_labels.csv or val, test_labels.csv).
"""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

from signclip.runtime.errors import SignclipError

from ..manifest import Entry, gloss_text
from .common import ReadOptions, read_csv, video_in

LICENSE = "LicenseRef-AUTSL"  # the ChaLearn challenge's terms: research use; read them
SAMPLE = re.compile(r"^(signer\d+)_sample\d+$")
SPLITS = (("train", "train"), ("val", "val"), ("test", "test"))


def split_of(path: Path) -> str | None:
    """train, val or test from a labels file's name (validation counts as val)."""
    name = path.stem.lower()
    return next((split for key, split in SPLITS if key in name), None)


def labels(path: Path) -> list:
    """(sample, class id) rows of a labels CSV; one line for a file in another layout."""
    try:
        rows = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8-sig"))))
    except (OSError, UnicodeDecodeError) as e:
        raise SignclipError(f"{path}: cannot be read as AUTSL labels ({type(e).__name__})") from None
    found = []
    for number, row in enumerate(rows, start=1):
        if not row:
            continue
        if len(row) != 2 or not SAMPLE.match(row[0].strip()) or not row[1].strip().isdigit():
            raise SignclipError(f"{path}:{number}: not AUTSL's labels layout (signerN_sampleM,class id; no "
                                f"header), found {','.join(row)[:60]!r}")
        found.append((row[0].strip(), int(row[1])))
    return found


def read_autsl(source: Path, options: ReadOptions) -> tuple:
    """(entries, the samples missing from VIDEOS) of a labels CSV with the class table."""
    if options.classes is None:
        raise SignclipError("AUTSL needs --classes SignList_ClassId_TR_EN.csv (the class table)")
    rows = read_csv(options.classes, ("ClassId", "EN"), "AUTSL's class table (ClassId, TR, EN)")
    bad = next((r["ClassId"] for r in rows if not r["ClassId"].isdigit()), None)
    if bad is not None:
        raise SignclipError(f"{options.classes}: class id {bad!r} is not a number")
    table = {int(r["ClassId"]): r["EN"] for r in rows}
    videos = options.videos or source.parent / (split_of(source) or "train")
    entries, missing = [], []
    for sample, class_id in labels(source):
        if class_id not in table:
            raise SignclipError(f"{source}: class {class_id} of {sample} is not in {options.classes}")
        video = video_in(videos, f"{sample}_color")
        if video is None:
            missing.append(sample)
            continue
        entries.append(Entry(video, gloss_text(table[class_id]), options.sign_language or "tsm",
                             options.spoken_language or "en", SAMPLE.match(sample).group(1), split_of(source),
                             f"autsl {sample}", options.license or LICENSE))
    return entries, missing
