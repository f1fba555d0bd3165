"""A folder per word, the layout of a class's own recordings: `ROOT/<word>/<video>`, or with a
folder per signer, `ROOT/<word>/<signer>/<video>` (the signer ids the held-out protocols need)."""

from __future__ import annotations

from pathlib import Path

from signclip.runtime.errors import SignclipError

from ..inputs import folder_videos
from ..manifest import Entry, gloss_text
from .common import ReadOptions


def read_folder(source: Path, options: ReadOptions) -> tuple:
    """(entries, []) for every video two or three levels down; one line for videos elsewhere."""
    if not options.sign_language:
        raise SignclipError("a folder of words needs --sign-language CODE (ISO 639-3, e.g. ase, bfi, gsg)")
    videos = folder_videos(source)
    if not videos:
        raise SignclipError(f"{source}: no videos in it (a folder per word: ROOT/<word>/<video>)")
    entries = []
    for video in videos:
        parts = video.relative_to(source).parts
        if len(parts) not in (2, 3):
            raise SignclipError(f"{video}: not in a folder per word: expected ROOT/<word>/<video> or "
                                f"ROOT/<word>/<signer>/<video>")
        signer = parts[1] if len(parts) == 3 else None
        entries.append(Entry(video, gloss_text(parts[0]), options.sign_language,
                             options.spoken_language or "en", signer, None,
                             f"folder {Path(*parts).as_posix()}", options.license or "unknown"))
    return entries, []
