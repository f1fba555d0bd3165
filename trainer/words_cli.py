"""Convert lexical-sign sources to word files, or list the shipped ones (`signclip words convert|list`).

    signclip words convert islr ISLR_FOLDER -o islr.npz      # train.csv + train_landmark_files/
    signclip words convert islr islr_hello_thankyou.npz -o islr.npz
    signclip words convert asl-app ASL-App/public/sign-data/signs -o asl_app.npz
    signclip words list
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from signclip.runtime.cli.teach import plural
from signclip.runtime.errors import SignclipError

from . import words


def add_arguments(parser) -> None:
    sub = parser.add_subparsers(dest="action", required=True)
    convert = sub.add_parser("convert", help="one source, in its own layout, to a word file (.npz)")
    convert.add_argument("source", choices=sorted(words.WORD_SETS), help="which source the input is")
    convert.add_argument("input", type=Path, help="the source's folder (or, for islr, its converted .npz)")
    convert.add_argument("-o", "--output", required=True, type=Path, help="the word file to write (.npz)")
    sub.add_parser("list", help="the shipped word files: words, clips, signers, license")


def convert(source: str, path: Path) -> list:
    if not path.exists():
        raise SignclipError(f"{path}: no such file or folder")
    if source == "islr":
        return words.read_islr_npz(path) if path.is_file() else words.read_islr(path)
    return words.read_asl_app(path)


def run(args) -> int:
    if args.action == "convert":
        clips = convert(args.source, args.input)
        meta = {**words.set_meta(args.source), "converted_from": args.input.name}
        words.write_word_set(clips, args.output, meta)
        labels, signers = {c.label for c in clips}, {c.signer for c in clips}
        print(f"wrote {args.output}: {plural(len(clips), 'clip')} of {plural(len(labels), 'word')} by "
              f"{plural(len(signers), 'signer')} ({words.WORD_SETS[args.source].license})")
        return 0
    for name, s in words.WORD_SETS.items():
        rows = words.word_rows(name, lexical_only=False)
        counts = Counter(r.text for r in rows)
        lexical = sum(words.is_lexical(r.text) for r in rows)
        print(f"{name}: {s.title} ({s.license}); {plural(len(rows), 'clip')}, "
              f"{plural(len({r.signer for r in rows}), 'signer')}; a manifest takes the {lexical} of "
              f"lexical signs")
        print("  " + ", ".join(f"{w} x{n}" if n > 1 else w for w, n in sorted(counts.items())))
    return 0
