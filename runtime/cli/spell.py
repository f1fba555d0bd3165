"""Read fingerspelling in videos and .pose files: the letters, each with its time and score.

    signclip spell word.mp4 --language ase
    signclip spell word.pose --json       # {"input", "text", "letters": [{"letter", "start_s", ...}]}
    signclip spell word.mp4 --words en    # also the likeliest English word near the letters read
    signclip stream --spell               # live: letters as they are read, the word when the hand drops

Each input is read as one word, letter by letter from the hand's holds, without pauses between
letters (runtime/recognition/spelling.py). Letters are the chosen sign language's (all languages' without
--language); taught signs with a letter's name count too.
"""

from __future__ import annotations

import json
import sys

from ..errors import SignclipError
from ..recognition.reading import reader_options
from .engine_args import add_engine_arguments, open_engine


def add_arguments(parser) -> None:
    parser.add_argument("inputs", nargs="+", metavar="INPUT", help="videos or .pose files, one word each")
    add_spell_arguments(parser)
    parser.add_argument("--json", action="store_true",
                        help='one line per input: {"input", "text", "letters": [{"letter", "start_s", '
                             '"end_s", "score"}, ...]} (and "raw", the letters as read, with --words)')
    add_engine_arguments(parser)


def add_spell_arguments(parser, *, language: bool = True) -> None:
    """--language and --words, shared with `signclip stream --spell`."""
    if language:
        parser.add_argument("--language", "-l", default=None, metavar="L",
                            help="the sign language spelled (ISO 639-3, e.g. ase; default: any)")
    parser.add_argument("--words", default=None, metavar="LANG",
                        help="correct the letters with the word list of this spoken language (ISO 639-1, "
                             "e.g. en; needs the wordfreq package)")


def record(name: str, letters: list, text: str, raw: str | None) -> dict:
    out = {"input": name, "text": text, "letters": [x.to_json() for x in letters]}
    if raw is not None:
        out["raw"] = raw
    return out


def format_reading(name: str, letters: list, text: str, raw: str | None) -> str:
    read = f" (read {raw})" if raw is not None and raw != text else ""
    lines = [f"{name}: {text or '(no letters)'}{read}"]
    lines += [f"  {x.letter:<3} {x.start_s:6.2f}-{x.end_s:6.2f} s  {x.score:.3f}" for x in letters]
    return "\n".join(lines)


def run(args) -> int:
    from ..recognition.engine import read_clip
    from ..recognition.spelling import letters_of
    from ..recognition.spelling import read_clip as read_spelling

    engine = open_engine(args)
    options = reader_options(engine, args.language, args.words)
    correct = options.pop("correct")
    failed = 0
    for path in args.inputs:
        try:
            clip = read_clip(path, capture=engine.capture_config)
            letters = letters_of(read_spelling(clip, **options))
        except SignclipError as e:
            failed += 1
            if args.json:
                print(json.dumps({"input": path, "error": str(e)}, ensure_ascii=False), flush=True)
            else:
                print(f"{path}: error: {e}", file=sys.stderr, flush=True)
            continue
        raw = "".join(x.letter for x in letters)
        text = correct(tuple(letters)) if correct is not None and letters else raw
        shown_raw = raw if correct is not None else None
        if args.json:
            print(json.dumps(record(path, letters, text, shown_raw), ensure_ascii=False), flush=True)
        else:
            print(format_reading(path, letters, text, shown_raw), flush=True)
    return 2 if failed else 0
