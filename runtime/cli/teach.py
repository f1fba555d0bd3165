"""Teach a sign from example clips (searched by every lookup); --list, --remove, --restore.

    signclip teach SOUP soup1.mp4 soup2.pose [--language ase]
    signclip teach --list
    signclip teach --remove SOUP
    signclip teach --restore            # bring back the last good copy of an unreadable vocabulary

Any number of `signclip teach` and the app may change one vocabulary at once: each change is a
locked read-modify-write (runtime/vocabulary/personal_store.py). A label is at most 64 characters without
control characters, stored in Unicode NFC.
"""

from __future__ import annotations

from pathlib import Path

from ..errors import SignclipError
from .engine_args import add_engine_arguments, open_engine
from .lookup import LABEL_COLUMN, cut


def add_arguments(parser) -> None:
    parser.add_argument("label", nargs="?", help="the sign's label (a word, a name; at most 64 characters)")
    parser.add_argument("clips", nargs="*", metavar="CLIP", help=".pose files, videos or photos of the sign")
    parser.add_argument("--language", "-l", default=None, metavar="L",
                        help="the sign language (ISO 639-3); default: matches every language filter")
    parser.add_argument("--list", action="store_true", help="list the taught signs")
    parser.add_argument("--remove", metavar="LABEL", help="forget a taught sign")
    parser.add_argument("--restore", action="store_true",
                        help="replace an unreadable personal vocabulary by its last good copy (the "
                             "damaged file is kept beside it)")
    add_engine_arguments(parser)


def plural(n: int, word: str) -> str:
    return f"{n} {word}{'s' if n != 1 else ''}"


def print_signs(engine) -> None:
    signs = engine.personal.signs()
    print(f"{engine.personal_path}: {plural(len(signs), 'taught sign')}")
    for label, language, count in signs:
        label = cut(label, LABEL_COLUMN)
        print(f"  {label:<{LABEL_COLUMN}} {language or 'any':<6} {plural(count, 'example')}")


def run(args) -> int:
    from ..vocabulary.personal import clean_label, clean_language

    actions = sum([bool(args.list), args.remove is not None, bool(args.restore), args.label is not None])
    if actions != 1:
        raise SignclipError("give either LABEL CLIP..., --list, --remove LABEL or --restore")
    if args.label is not None:  # checked before a video goes through MediaPipe
        label, language = clean_label(args.label), clean_language(args.language)
        if not args.clips:
            raise SignclipError(f"teach {label}: give at least one example (.pose, video or photo)")
    engine = open_engine(args, warn=args.list)
    if args.list:
        print_signs(engine)
    elif args.restore:
        vocab, kept = engine.restore_personal()
        print(f"restored {plural(len(vocab), 'taught sign')} -> {engine.personal_path}"
              + (f"; the damaged file is kept as {kept}" if kept else ""))
    elif args.remove is not None:
        engine.forget(args.remove, args.language)
        print(f"forgot {args.remove}")
    else:
        clips = [engine.read(p) for p in args.clips]
        vocab = engine.teach(label, clips, [Path(p).name for p in args.clips], language)
        count = {(la, lg): c for la, lg, c in vocab.signs()}[(label, language)]
        print(f"taught {label} ({plural(count, 'example')}) -> {engine.personal_path}")
    return 0
