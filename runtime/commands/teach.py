"""Teach a sign from example clips (a personal vocabulary searched by every lookup); --list, --remove.

    signclip teach SOUP soup1.mp4 soup2.pose [--language ase]
    signclip teach --list
    signclip teach --remove SOUP
"""

from __future__ import annotations

from pathlib import Path

from ..errors import SignclipError
from .engine_args import add_engine_arguments, open_engine


def add_arguments(parser) -> None:
    parser.add_argument("label", nargs="?", help="the sign's label (a word, a name)")
    parser.add_argument("clips", nargs="*", metavar="CLIP", help=".pose files, videos or photos of the sign")
    parser.add_argument("--language", "-l", default=None, metavar="L",
                        help="the sign language (ISO 639-3); default: matches every language filter")
    parser.add_argument("--list", action="store_true", help="list the taught signs")
    parser.add_argument("--remove", metavar="LABEL", help="forget a taught sign")
    add_engine_arguments(parser)


def print_signs(engine) -> None:
    signs = engine.personal.signs()
    print(f"{engine.personal_path}: {len(signs)} taught sign{'s' if len(signs) != 1 else ''}")
    for label, language, count in signs:
        print(f"  {label:<20} {language or 'any':<6} {count} example{'s' if count != 1 else ''}")


def run(args) -> int:
    actions = sum([bool(args.list), args.remove is not None, args.label is not None])
    if actions != 1:
        raise SignclipError("give either LABEL CLIP..., --list or --remove LABEL")
    engine = open_engine(args)
    if args.list:
        print_signs(engine)
    elif args.remove is not None:
        engine.forget(args.remove, args.language)
        print(f"forgot {args.remove}")
    else:
        if not args.clips:
            raise SignclipError(f"teach {args.label}: give at least one example (.pose, video or photo)")
        clips = [engine.read(p) for p in args.clips]
        engine.teach(args.label, clips, [Path(p).name for p in args.clips], args.language)
        counts = {(la, lg): c for la, lg, c in engine.personal.signs()}
        count = counts[(args.label, args.language or "")]
        print(f"taught {args.label} ({count} example{'s' if count != 1 else ''}) -> {engine.personal_path}")
    return 0
