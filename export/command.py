"""Export a checkpoint to a model bundle (ONNX, INT8, FP16, ORT or TensorRT), gated on parity with torch.

    signclip export runs/edge-small/checkpoint --format onnx-int8 --out runtime/models/default
    signclip export CKPT --format onnx-int8 --data train.csv --out bundle     # your data's clips/texts
    signclip export CKPT --format onnx-int8 --static --calibration clips.csv --out bundle
    signclip export CKPT --format tensorrt --precision fp16 --out bundle       # on the target GPU
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .formats import FORMATS
from .precision import TENSORRT_DEFAULT, TENSORRT_PRECISIONS, Precision


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("checkpoint", type=Path, metavar="CHECKPOINT", help="a trainer checkpoint folder")
    formats = "; ".join(f"{f.name}: {f.help}" for f in FORMATS)
    # no argparse `choices`: our own check names the closest format
    parser.add_argument("--format", required=True, metavar="FORMAT", help=formats)
    parser.add_argument("--out", required=True, type=Path, metavar="DIR",
                        help="bundle folder to write (replaced atomically if it is a bundle)")
    parser.add_argument("--data", type=Path, metavar="MANIFEST",
                        help="CSV/JSONL pose,text,spoken_language,sign_language: real clips for the "
                             "parity gate, the vocabulary's texts (default: the fingerspelling lexicon)")
    parser.add_argument("--vocab", type=Path, metavar="FILE",
                        help="CSV text,spoken_language,sign_language: the vocabulary to embed")
    parser.add_argument("--clips", type=int, default=200, metavar="N",
                        help="data clips to measure parity on and ship as clip embeddings (default 200)")
    parser.add_argument("--threads", type=int, default=2, help="CPU threads (default 2)")
    parser.add_argument("--no-text-encoder", dest="text_encoder", action="store_false",
                        help="leave the text encoder out (a few MB instead of ~90): text queries are "
                             "then answered from the vocabulary's stored prompts only")
    group = parser.add_argument_group("format options (each format takes only some)")
    group.add_argument("--per-channel", action="store_true", help="onnx-int8/ort: per-channel weights")
    group.add_argument("--static", action="store_true",
                       help="onnx-int8/ort: static Q/DQ INT8 for the pose encoder, calibrated on real clips")
    group.add_argument("--calibration", type=Path, metavar="MANIFEST",
                       help="clips for --static (default: --data's clips)")
    # no argparse `choices` or `type`: a bad value is one error line (exit 2) from Precision.parse
    values = " or ".join(p.value + (" (default)" if p is TENSORRT_DEFAULT else "")
                         for p in TENSORRT_PRECISIONS)
    group.add_argument("--precision", metavar="P", help=f"tensorrt: {values}; int8 from the Q/DQ graph")


def run(args: argparse.Namespace) -> int:
    from .pipeline import ExportOptions, export_bundle

    # the user's string becomes a Precision here, once
    precision = None if args.precision is None else Precision.parse(args.precision, TENSORRT_PRECISIONS)
    options = ExportOptions(checkpoint=args.checkpoint, format=args.format, out=args.out, vocab=args.vocab,
                            data=args.data, per_channel=args.per_channel, static=args.static,
                            calibration=args.calibration, precision=precision, clips=args.clips,
                            threads=args.threads, text_encoder=args.text_encoder)
    export_bundle(options, log=lambda line: print(line, file=sys.stderr))
    return 0
