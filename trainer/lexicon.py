"""Write a training manifest for the 600-clip fingerspelling lexicon that spoken-to-signed ships.

    signclip lexicon -o lexicon.csv                      every clip, split "train"
    signclip lexicon -o lexicon.csv --hold-out ase,gsg   leave-languages-out: those are "test"
"""

from __future__ import annotations

import csv
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
                                r["signed_language"], None, split))
    return rows


def import_lexicon(out_manifest, hold_out=(), *, root=None) -> list:
    """Write the lexicon's manifest (CSV or JSONL by suffix, absolute pose paths); returns its rows."""
    rows = lexicon_rows(root, tuple(hold_out))
    write_manifest(rows, out_manifest)
    return rows


def _languages(value: str) -> tuple:
    return tuple(v.strip() for v in value.split(",") if v.strip())


def add_arguments(parser) -> None:
    parser.add_argument("-o", "--output", required=True, type=Path,
                        help="manifest to write (.csv or .jsonl)")
    parser.add_argument("--hold-out", type=_languages, default=(), metavar="LANG,...",
                        help="sign languages (ISO 639-3, e.g. ase,gsg) to mark as split 'test'")


def run(args) -> int:
    rows = import_lexicon(args.output, args.hold_out)
    test = sum(r.split == "test" for r in rows)
    print(f"wrote {args.output}: {len(rows)} clips, {len(rows) - test} train, {test} test, "
          f"{len({r.sign_language for r in rows})} sign languages")
    return 0
