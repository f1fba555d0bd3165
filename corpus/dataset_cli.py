"""A dataset in its own layout (WLASL, ASL Citizen, LSA64, AUTSL, a word per folder) to a training manifest.

    signclip dataset wlasl WLASL_v0.3.json --videos videos/ -o wlasl/manifest.csv
    signclip dataset asl-citizen ASL_Citizen/ -o asl_citizen/manifest.csv
    signclip dataset lsa64 all_cut/ --classes lsa64_classes.csv -o lsa64/manifest.csv
    signclip dataset autsl train_labels.csv --classes SignList_ClassId_TR_EN.csv -o autsl/train.csv
    signclip dataset folder my_class/ --sign-language ase -o my_class/manifest.csv
    signclip pose wlasl/manifest.csv -o wlasl/      # then: each row's video to its .pose file

Each row gets the dataset's gloss, signer, split, source and license, and the video's frame range
where the dataset gives one; the `.pose` paths go under --poses (default: `poses/` beside the manifest).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from signclip.runtime.errors import SignclipError

from .datasets import ELSEWHERE, READERS
from .datasets.common import ReadOptions


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("dataset", choices=sorted([*READERS, *ELSEWHERE]), help="the dataset's layout")
    parser.add_argument("source", type=Path, help="its metadata file or folder (see the examples)")
    parser.add_argument("-o", "--output", type=Path, required=True, help="the manifest to write (.csv)")
    parser.add_argument("--videos", type=Path, default=None,
                        help="the folder of its videos (default: where the dataset keeps them)")
    parser.add_argument("--poses", type=Path, default=None,
                        help="where `signclip pose MANIFEST` writes the .pose files (default: poses/ "
                             "beside the manifest)")
    parser.add_argument("--classes", type=Path, default=None, help="a class table (AUTSL; LSA64: id,gloss)")
    parser.add_argument("--videos-are-cut", action="store_true",
                        help="WLASL: the videos are already cut to each instance (the start kit's "
                             "preprocess.py): do not cut again")
    parser.add_argument("--sign-language", default=None, help="ISO 639-3 code (default: the dataset's)")
    parser.add_argument("--spoken-language", default=None, help="of the glosses (default: the dataset's)")
    parser.add_argument("--license", default=None, help="SPDX id for every row (default: the dataset's)")


def run(args: argparse.Namespace) -> int:
    from .manifest import write_manifest

    if args.dataset in ELSEWHERE:
        raise SignclipError(ELSEWHERE[args.dataset])
    if not args.source.exists():
        raise SignclipError(f"{args.source}: no such file or folder")
    if args.output.suffix.lower() != ".csv":
        raise SignclipError(f"{args.output}: the manifest is written as CSV: name it .csv")
    options = ReadOptions(videos=args.videos, classes=args.classes, videos_are_cut=args.videos_are_cut,
                          sign_language=args.sign_language, spoken_language=args.spoken_language,
                          license=args.license)
    entries, missing = READERS[args.dataset](args.source, options)
    videos = args.videos or common_folder([e.video for e in entries])
    poses = args.poses or args.output.parent / "poses"
    write_manifest(entries, args.output, videos, poses)
    signers = {e.signer for e in entries if e.signer}
    print(f"wrote {args.output}: {len(entries)} clips of {len({e.text for e in entries})} glosses by "
          f"{len(signers)} signers; poses to go under {poses}")
    if missing:
        print(f"signclip dataset: {len(missing)} clips listed without their video were left out "
              f"(e.g. {missing[0]})", file=sys.stderr)
    return 0


def common_folder(paths: list) -> Path:
    """The deepest folder that holds all `paths`."""
    import os

    return Path(os.path.commonpath([p.parent.absolute() for p in paths])) if paths else Path()
