"""Embed pose files, videos or --text into one .npz (embeddings [N, D] float32, unit rows).

    signclip embed clips/*.pose -o clips.npz
    signclip embed --text house --text tree -o words.npz
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np

from ..atomic import atomic_write_bytes
from ..errors import SignclipError
from .engine_args import add_engine_arguments, open_engine


def add_arguments(parser) -> None:
    parser.add_argument("inputs", nargs="*", metavar="INPUT", help=".pose files, videos or photos")
    parser.add_argument("--text", action="append", default=[], metavar="TEXT",
                        help="a text to embed as given (no prompt added; repeatable)")
    parser.add_argument("-o", "--output", required=True, metavar="FILE", help="the .npz to write")
    add_engine_arguments(parser)


def run(args) -> int:
    if not args.inputs and not args.text:
        raise SignclipError("nothing to embed: give .pose files, videos or photos, or --text TEXT")
    out = Path(args.output)
    if out.suffix != ".npz":
        raise SignclipError(f"-o {out}: the output must be a .npz file")
    engine = open_engine(args, personal=False)
    arrays = {"model_hash": np.array(engine.bundle.model_hash)}
    if args.inputs:
        clips = [engine.read(p) for p in args.inputs]
        arrays.update(inputs=np.array([str(p) for p in args.inputs]), embeddings=engine.embed_clips(clips))
    if args.text:
        arrays.update(texts=np.array(args.text), text_embeddings=engine.embed_texts(args.text))
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    atomic_write_bytes(out, buf.getvalue())
    n = len(args.inputs) + len(args.text)
    print(f"{out}: {n} embedding{'s' if n != 1 else ''} of {engine.dim} dimensions")
    return 0
