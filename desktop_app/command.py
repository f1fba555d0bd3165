"""Open the desktop app: live camera or video, skeleton, recognized signs, teach and text search.

    signclip app                                   # camera 0
    signclip app --source signing.mp4 --stop-at-end
    signclip app --source 1 --bundle path/to/bundle --language ase

Needs the `app` extra (PySide6) and a display (under a headless server: xvfb-run signclip app ...).
"""

from __future__ import annotations

import argparse

from signclip.runtime.cli.engine_args import add_engine_arguments


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--source", default="0", metavar="0|VIDEO",
                        help="camera index or video file (default: camera 0)")
    end = parser.add_mutually_exclusive_group()
    end.add_argument("--loop", dest="loop", action="store_true", default=True,
                     help="a video starts again at its end (default)")
    end.add_argument("--stop-at-end", dest="loop", action="store_false",
                     help="a video stops at its end")
    parser.add_argument("--language", "-l", default=None, metavar="L",
                        help="start with this sign language selected (ISO 639-3, e.g. ase)")
    parser.add_argument("--top-k", "-k", type=int, default=5, metavar="K")
    add_engine_arguments(parser)


def run(args) -> int:
    from signclip.app.main import AppOptions, run_app

    return run_app(AppOptions(source=args.source, bundle=args.bundle, loop=args.loop, language=args.language,
                              k=args.top_k, provider=args.provider, threads=args.threads))
