"""WLASL (Li et al. 2020): `WLASL_v0.3.json`, a list of glosses, each with its instances.

    [{"gloss": "book", "instances": [{"video_id": "69241", "signer_id": 118, "split": "train",
      "frame_start": 1, "frame_end": -1, "fps": 25, ...}, ...]}, ...]

Videos are `VIDEOS/<video_id>.mp4`. Frames are counted from 1 and `frame_end` is the last frame
(-1: the video's end): the reader cuts the row to them, unless the videos were already cut (the
start kit's `preprocess.py` writes each YouTube instance as its own cut video).
"""

from __future__ import annotations

import json
from pathlib import Path

from signclip.runtime.errors import SignclipError

from ..manifest import Entry, gloss_text
from .common import ReadOptions, video_in

LICENSE = "C-UDA-1.0"  # WLASL's terms: the Computational Use of Data Agreement


def _instances(path: Path) -> list:
    """(gloss, instance) pairs of the JSON file; one line for a file in another layout."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise SignclipError(f"{path}: not WLASL's JSON ({type(e).__name__}: {e})") from None
    if not isinstance(data, list) or not all(isinstance(g, dict) and "gloss" in g and
                                              isinstance(g.get("instances"), list) for g in data):
        raise SignclipError(f"{path}: not WLASL's layout: expected a list of {{gloss, instances}} "
                            f"objects (WLASL_v0.3.json)")
    return [(g["gloss"], i) for g in data for i in g["instances"]]


def read_wlasl(source: Path, options: ReadOptions) -> tuple:
    """(entries, the video ids missing from VIDEOS: those instances are left out)."""
    videos = options.videos or source.parent / "videos"
    entries, missing = [], []
    for gloss, instance in _instances(source):
        try:
            video_id = str(instance["video_id"])
            first, last = int(instance.get("frame_start", 1)), int(instance.get("frame_end", -1))
        except (KeyError, TypeError, ValueError) as e:
            raise SignclipError(f"{source}: an instance of {gloss!r} lacks video_id or has bad frames "
                                f"({type(e).__name__}: {e})") from None
        video = video_in(videos, video_id)
        if video is None:
            missing.append(video_id)
            continue
        start, end = (0, None) if options.videos_are_cut else (max(first - 1, 0), None if last < 0 else last)
        signer = instance.get("signer_id")
        entries.append(Entry(video, gloss_text(gloss), options.sign_language or "ase",
                             options.spoken_language or "en", None if signer is None else str(signer),
                             instance.get("split"), f"wlasl {video_id}", options.license or LICENSE,
                             start, end))
    return entries, missing
