"""LSA64 (Ronchetti et al. 2016), Argentinian Sign Language: videos named `SSS_PPP_RRR.mp4`.

SSS is the sign (001-064), PPP the signer (001-010), RRR the repetition (001-005). The glosses
come from a class table the user gives (`--classes`: a CSV with `id` and `gloss`); without one a
sign is named by its number (LSA64-001).
"""

from __future__ import annotations

import re
from pathlib import Path

from signclip.runtime.errors import SignclipError

from ..inputs import folder_videos
from ..manifest import Entry, gloss_text
from .common import ReadOptions, read_csv

LICENSE = "CC-BY-NC-SA-4.0"
NAME = re.compile(r"^(\d{3})_(\d{3})_(\d{3})$")


def class_table(path: Path | None) -> dict:
    """sign number -> gloss, from a CSV with `id` and `gloss`."""
    if path is None:
        return {}
    rows = read_csv(path, ("id", "gloss"), "a class table (id, gloss)")
    bad = next((r["id"] for r in rows if not r["id"].isdigit()), None)
    if bad is not None:
        raise SignclipError(f"{path}: class id {bad!r} is not a number")
    return {int(row["id"]): row["gloss"] for row in rows}


def read_lsa64(source: Path, options: ReadOptions) -> tuple:
    """(entries, []) for every video of the folder; a name not in the SSS_PPP_RRR layout is one line."""
    videos = folder_videos(source)
    if not videos:
        raise SignclipError(f"{source}: no videos in it (LSA64: SSS_PPP_RRR.mp4)")
    glosses = class_table(options.classes)
    entries = []
    for video in videos:
        match = NAME.match(video.stem)
        if match is None:
            raise SignclipError(f"{video}: not LSA64's layout: its name is not SSS_PPP_RRR (sign, signer, "
                                f"repetition, e.g. 001_003_002.mp4)")
        sign, signer, repetition = match.groups()
        text = gloss_text(glosses[int(sign)]) if int(sign) in glosses else f"LSA64-{sign}"
        entries.append(Entry(video, text, options.sign_language or "aed", options.spoken_language or "es",
                             signer, None, f"lsa64 {sign}_{signer}_{repetition}", options.license or LICENSE))
    return entries, []
