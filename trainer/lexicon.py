"""Write a training manifest: the 600-clip fingerspelling lexicon that spoken-to-signed ships, with
--handshapes the photos of many signers' hands and with --words the lexical signs that the trainer
ships (`handshapes.py`, `words.py`).

    signclip lexicon -o lexicon.csv                      every clip, split "train"
    signclip lexicon -o lexicon.csv --hold-out ase,gsg   leave-languages-out: those are "test"
    signclip lexicon -o train.csv --handshapes asl-hg,digits --lexicon-weight 12   # the default model's
    signclip lexicon -o train.csv --handshapes asl-hg --hold-out-signers P1,P2   # photos of P1, P2: "test"
    signclip lexicon -o train.csv --words islr,asl-app       # ISLR's five held-out participants: "test"
    signclip lexicon -o train.csv --words islr --hold-out-word-signers none   # every participant trains
"""

from __future__ import annotations

import csv
from dataclasses import replace
from importlib import resources
from pathlib import Path

from signclip.runtime.errors import SignclipError

from .data import ManifestRow, write_manifest


def lexicon_root() -> Path:
    """The lexicon folder inside the installed spoken_to_signed package (has data.csv)."""
    try:
        root = resources.files("spoken_to_signed") / "assets" / "fingerspelling_lexicon"
    except ModuleNotFoundError:
        raise SignclipError("the fingerspelling lexicon needs spoken-to-signed: "
                            "pip install 'signclip-edge[train]'") from None
    return Path(str(root))


def lexicon_rows(root=None, hold_out=()) -> list:
    """Manifest rows for the lexicon: text = the letter; `hold_out` sign languages get split 'test'."""
    root = Path(root) if root is not None else lexicon_root()
    index = root / "data.csv"
    if not index.is_file():
        raise SignclipError(f"{root}: no data.csv: not a fingerspelling lexicon folder")
    with index.open(encoding="utf-8") as f:
        records = list(csv.DictReader(f))
    languages = sorted({r["signed_language"] for r in records})
    unknown = sorted(set(hold_out) - set(languages))
    if unknown:
        raise SignclipError(f"--hold-out: unknown sign language(s) {', '.join(unknown)}; "
                            f"the lexicon has {', '.join(languages)}")
    rows = []
    for r in records:
        split = "test" if r["signed_language"] in hold_out else "train"
        rows.append(ManifestRow((root / r["path"]).resolve(), r["words"], r["spoken_language"],
                                r["signed_language"], None, split, source=f"spoken-to-signed {r['path']}",
                                license="MIT"))
    return rows


# The default model's recipe (docs/training.md, "New signers"): the lexicon beside ASL-HG's photos,
# each lexicon clip drawn 12 times an epoch so that it fills about two thirds of every batch.
DEFAULT_HANDSHAPES = ("asl-hg", "digits")
DEFAULT_LEXICON_WEIGHT = 12


def import_lexicon(out_manifest, hold_out=(), *, root=None, handshapes=(), hold_out_signers=(),
                   lexicon_weight: int = 1, words=(), hold_out_word_signers=None) -> list:
    """Write the manifest (CSV or JSONL by suffix, absolute paths): the lexicon's clips, each drawn
    `lexicon_weight` times an epoch, the photos of the `handshapes` sets, then the clips of the
    `words` sets (`hold_out_word_signers`' as 'test'; None: ISLR_HELD_OUT where a set has them);
    returns its rows."""
    from .handshapes import handshape_rows, set_signers
    from .words import ISLR_HELD_OUT, word_rows

    named = {s for name in handshapes for s in set_signers(name)}
    unknown = sorted(set(hold_out_signers) - named)
    if unknown:
        raise SignclipError(f"--hold-out-signers: {', '.join(unknown)} not in {', '.join(handshapes)} "
                            f"(its signers: {', '.join(sorted(named)) or 'not named'})")
    rows = [replace(r, weight=lexicon_weight) for r in lexicon_rows(root, tuple(hold_out))]
    for name in handshapes:
        rows += handshape_rows(name, hold_out_signers=hold_out_signers)
    word_clips = [r for name in words for r in word_rows(name)]
    if hold_out_word_signers is None:
        hold_out_word_signers = tuple(s for s in ISLR_HELD_OUT if s in {r.signer for r in word_clips})
    unknown = sorted(set(hold_out_word_signers) - {r.signer for r in word_clips})
    if unknown:
        raise SignclipError(f"--hold-out-word-signers: {', '.join(unknown)} not in "
                            f"{', '.join(words) or 'no word set'}")
    rows += [replace(r, split="test") if r.signer in hold_out_word_signers else r for r in word_clips]
    write_manifest(rows, out_manifest)
    return rows


def _languages(value: str) -> tuple:
    return tuple(v.strip() for v in value.split(",") if v.strip())


def add_arguments(parser) -> None:
    parser.add_argument("-o", "--output", required=True, type=Path,
                        help="manifest to write (.csv or .jsonl)")
    parser.add_argument("--hold-out", type=_languages, default=(), metavar="LANG,...",
                        help="sign languages (ISO 639-3, e.g. ase,gsg) to mark as split 'test'")
    parser.add_argument("--handshapes", type=_languages, default=(), metavar="SET,...",
                        help="add the photos of these handshape sets (asl-hg, digits)")
    parser.add_argument("--hold-out-signers", type=_languages, default=(), metavar="P1,...",
                        help="photos of these signers get split 'test'")
    parser.add_argument("--words", type=_languages, default=(), metavar="SET,...",
                        help="add the lexical signs of these word sets (islr, asl-app)")
    parser.add_argument("--hold-out-word-signers", type=_languages, default=None, metavar="ID,...",
                        help="word clips of these signers (ISLR participant numbers) get split 'test' "
                             "(default: the five chosen before training, 4718,25571,29302,36257,53618; "
                             "none: every signer trains)")
    parser.add_argument("--lexicon-weight", type=int, default=1, metavar="N",
                        help="draw each lexicon clip N times an epoch (balances it against the photos)")


def run(args) -> int:
    if args.lexicon_weight < 1:
        raise SignclipError(f"--lexicon-weight {args.lexicon_weight}: must be at least 1")
    if args.hold_out_word_signers == ("none",):
        args.hold_out_word_signers = ()
    if args.hold_out_word_signers and not args.words:
        raise SignclipError("--hold-out-word-signers needs --words (the signers are in the word sets)")
    if args.hold_out_signers and not args.handshapes:
        raise SignclipError("--hold-out-signers needs --handshapes (the signers are in the photo sets)")
    rows = import_lexicon(args.output, args.hold_out, handshapes=args.handshapes,
                          hold_out_signers=args.hold_out_signers, lexicon_weight=args.lexicon_weight,
                          words=args.words, hold_out_word_signers=args.hold_out_word_signers)
    test = sum(r.split == "test" for r in rows)
    sets = [(r.source or "").split(" ")[0] for r in rows]
    photos = sum(s in args.handshapes for s in sets)
    word_clips = sum(s in args.words for s in sets)
    print(f"wrote {args.output}: {len(rows)} clips ({photos} photos, {word_clips} words), "
          f"{len(rows) - test} train, {test} test, "
          f"{len({r.sign_language for r in rows})} sign languages")
    return 0
