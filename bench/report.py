"""What a benchmark prints, kept so that `--markdown PAGE` writes the same text into a docs page,
between `<!-- bench/NAME.py -->` and `<!-- /bench/NAME.py -->`, instead of numbers copied by hand."""

from __future__ import annotations

import argparse
import contextlib
import io
import re
import sys
import time
from pathlib import Path

from signclip.runtime.atomic import atomic_write_bytes


def add_markdown_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--markdown", type=Path, metavar="PAGE",
                        help="also write what is printed into this page, between its markers")


class _Tee(io.TextIOBase):
    """A stream that writes to `terminal` and keeps a copy."""

    def __init__(self, terminal):
        self.terminal, self.kept = terminal, io.StringIO()

    def write(self, text: str) -> int:
        self.terminal.write(text)
        self.terminal.flush()  # a long benchmark shows its rows as they come
        return self.kept.write(text)


@contextlib.contextmanager
def page_section(page: Path | None, name: str):
    """Everything printed meanwhile goes to the terminal as usual and, when `page` is given, into
    its section `name` once the block ends without an error."""
    if page is None:
        yield
        return
    tee = _Tee(sys.stdout)
    with contextlib.redirect_stdout(tee):
        yield
    write_section(page, name, tee.kept.getvalue())


def write_section(page: Path, name: str, text: str) -> None:
    """Put `text` between the page's markers for `name` (added at the page's end the first time)."""
    page = Path(page)
    begin, end = f"<!-- {name} -->", f"<!-- /{name} -->"
    old = page.read_text() if page.exists() else ""
    section = f"{begin}\n{text.strip()}\n{end}"
    pattern = re.compile(re.escape(begin) + r".*?" + re.escape(end), re.S)
    if pattern.search(old):
        new = pattern.sub(lambda _: section, old)
    else:
        new = old.rstrip() + "\n\n" + section + "\n"
    atomic_write_bytes(page, new.encode())


def machine() -> str:
    """The line that says where and when a benchmark ran (CPU model, cores, date)."""
    import os

    from signclip.runtime.model.int8_path import cpu_name

    return f"CPU: {cpu_name()}, {os.cpu_count()} cores; {time.strftime('%Y-%m-%d')}"


def mediapipe_holistic():
    """MediaPipe's own Holistic solution (the wheel's `mp.solutions.holistic`, model complexity 1,
    one frame at a time), as its users run it: the capture benchmarks' baseline."""
    import mediapipe as mp

    return mp.solutions.holistic.Holistic(model_complexity=1)


def holistic_alone(path) -> tuple:
    """(frames, seconds): decode + RGB + MediaPipe's Holistic solution over a video, one frame after
    the other; the graph's start-up (on a first frame beforehand) is not timed."""
    from signclip.runtime.capture.holistic import open_video, quiet_native_stderr, video_frames

    with quiet_native_stderr(), mediapipe_holistic() as holistic:
        capture, _ = open_video(path)
        holistic.process(next(video_frames(capture)))
        capture.release()
        capture, _ = open_video(path)
        frames, began = 0, time.perf_counter()
        for rgb in video_frames(capture):
            holistic.process(rgb)
            frames += 1
        spent = time.perf_counter() - began
        capture.release()
    return frames, spent
