"""Recognize signs as they happen, from a camera, a video or a .pose file: one line per sign.

    signclip stream                                   # camera 0; Ctrl-C stops
    signclip stream --source signing.mp4 --json       # one JSON object per sign, to the end
    signclip stream --source long.pose --window 1.5 --hop 0.5   # fixed sliding windows
    signclip lookup long.mp4 --segments --json        # the same segmentation, offline (lookup.py)
    signclip stream --spell --language ase [--words en]   # fingerspelling: letters as they are read

While waiting for a sign, a terminal shows a status line with the frame rate (only on a TTY).
"""

from __future__ import annotations

import argparse
import json
import sys
import time

from .engine_args import add_engine_arguments, add_result_arguments, open_engine
from .lookup import format_results
from .spell import add_spell_arguments


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--source", default="0", metavar="0|VIDEO|POSE",
                        help="camera index, video file or .pose file (default: camera 0)")
    add_result_arguments(parser)
    parser.add_argument("--json", action="store_true",
                        help='one line per sign: {"start_frame", "end_frame", "start_s", "end_s", '
                             '"results": [...], "timings": {...}}')
    parser.add_argument("--window", type=float, default=None, metavar="S",
                        help="fixed sliding windows of S seconds instead of hand-activity segmentation")
    parser.add_argument("--hop", type=float, default=0.5, metavar="S",
                        help="seconds between sliding windows (with --window; default 0.5)")
    parser.add_argument("--spell", action="store_true",
                        help="read fingerspelling: each letter as it is read, the word when the hand "
                             'drops (with --json: {"letter", ...} and {"word", "raw"} lines)')
    add_spell_arguments(parser, language=False)
    parser.add_argument("--realtime", action="store_true",
                        help="pace a file source at its frame rate, dropping frames when behind "
                             "(a camera always is)")
    add_engine_arguments(parser)


# ---------------------------------------------------------------- stream


class StatusLine:
    """One self-overwriting terminal line (frames, FPS, dropped), at most ten updates a second."""

    def __init__(self, stream=None):
        self.stream = stream if stream is not None else sys.stdout  # the current one, not import time's
        self.enabled = self.stream.isatty()
        self._last = 0.0
        self._shown = False
        self._fps = 0.0
        self._t = None

    def tick(self, frame, dropped: int, signing: bool) -> None:
        now = time.perf_counter()
        if self._t is not None:
            instant = 1.0 / max(now - self._t, 1e-6)
            self._fps = instant if self._fps == 0 else 0.9 * self._fps + 0.1 * instant
        self._t = now
        if not self.enabled or now - self._last < 0.1:
            return
        self._last = now
        state = "signing..." if signing else "waiting for a sign"
        self.stream.write(f"\r\x1b[2K{frame.time_s:7.1f} s  frame {frame.index}  {self._fps:5.1f} FPS  "
                          f"dropped {dropped}  {state}")
        self.stream.flush()
        self._shown = True

    def clear(self) -> None:
        if self._shown:
            self.stream.write("\r\x1b[2K")
            self.stream.flush()
            self._shown = False


def emit(event, as_json: bool, status: StatusLine) -> None:
    status.clear()
    if as_json:
        print(json.dumps(event.to_json(), ensure_ascii=False), flush=True)
        return
    t = event.timings
    print(f"[{event.start_s:7.2f}-{event.end_s:7.2f} s]  {format_results(event.results)}   "
          f"(encoder {t.encode_ms:.1f} ms, lookup {t.lookup_ms:.2f} ms)", flush=True)


def emit_spelling(event, as_json: bool, status: StatusLine) -> None:
    """A letter as it is read, or the word when the hand dropped."""
    from ..recognition.spelling import Letter

    status.clear()
    if isinstance(event, Letter):
        line = (json.dumps(event.to_json(), ensure_ascii=False) if as_json else
                f"[{event.start_s:7.2f}-{event.end_s:7.2f} s]  {event.letter}  {event.score:.3f}")
    elif as_json:
        line = json.dumps({"word": event.word, "raw": event.raw}, ensure_ascii=False)
    else:
        line = f"word: {event.word}" + (f"  (read {event.raw})" if event.raw != event.word else "")
    print(line, flush=True)


def follow(source, reader, busy, show) -> None:
    """Every frame of `source` into `reader` (a Recognizer or a SpellReader), each event it decides
    shown as it comes (`show(event, status)`), a status line while `busy()` is false or true."""
    reader.warm_up()
    status = StatusLine()
    try:
        for frame in source:
            for event in reader.feed(frame):
                show(event, status)
            status.tick(frame, source.dropped, busy())
    finally:
        for event in reader.finish():
            show(event, status)
        status.clear()


def run(args) -> int:
    from ..capture.sources import open_source
    from ..recognition.reading import ReadingOptions, open_reader
    from ..recognition.segmentation import WindowConfig

    options = ReadingOptions(spell=args.spell, language=args.language, top_k=args.top_k, words=args.words,
                             kind=args.kind,
                             windows=WindowConfig(args.window, args.hop) if args.window is not None else None)
    engine = open_engine(args)
    with open_source(args.source, realtime=args.realtime, capture_config=engine.capture_config) as source:
        reader = open_reader(engine, source.layout, source.fps, options)
        busy = (lambda: reader.in_word) if options.spell else (lambda: reader.in_sign)
        show = emit_spelling if options.spell else emit
        follow(source, reader, busy, lambda event, status: show(event, args.json, status))
    return 0
