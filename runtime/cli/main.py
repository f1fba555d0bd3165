"""The `signclip` command: one subcommand per module, registered only where its dependencies exist.

    signclip pose VIDEO|FOLDER... -o DIR   videos to .pose through MediaPipe Holistic (N workers, resumable)
    signclip dataset NAME SOURCE -o M.csv  a dataset in its own layout to the trainer's manifest
    signclip lookup INPUT... [--json]      sign (pose/video) or --text to the vocabulary
    signclip spell INPUT... [--json]       fingerspelled letters of a pose/video
    signclip train CONFIG --data MANIFEST  (needs the `train` extra: torch)
    signclip export CHECKPOINT --format F  (needs the `export` extra)
"""

from __future__ import annotations

import argparse
import gc
import importlib
import importlib.util
import os
import sys

from ..errors import SignclipError

# The registry of commands: (name, module, packages it needs). Each module defines
# `add_arguments(parser)`, `run(args) -> int` and a one-line docstring used as the help text; heavy
# imports stay inside `run`. Commands of the parts above the runtime (the app, export, the trainer)
# are named here and imported only where their packages are installed: the runtime never imports them.
COMMANDS = [
    ("pose", "signclip.corpus.pose_cli", ("mediapipe",)),
    ("dataset", "signclip.corpus.dataset_cli", ()),
    ("lookup", "signclip.runtime.cli.lookup", ("onnxruntime", "tokenizers")),
    ("stream", "signclip.runtime.cli.stream", ("onnxruntime", "tokenizers")),
    ("spell", "signclip.runtime.cli.spell", ("onnxruntime", "tokenizers")),
    ("embed", "signclip.runtime.cli.embed", ("onnxruntime", "tokenizers")),
    ("teach", "signclip.runtime.cli.teach", ("onnxruntime", "tokenizers")),
    ("pack", "signclip.runtime.cli.pack", ("onnxruntime", "tokenizers")),
    ("bench", "signclip.runtime.cli.bench", ("onnxruntime", "tokenizers")),
    ("doctor", "signclip.runtime.cli.doctor", ()),
    ("app", "signclip.app.command", ("PySide6", "onnxruntime", "tokenizers")),
    ("web", "signclip.runtime.cli.web", ("pose_format",)),
    ("export", "signclip.export.command", ("torch", "onnx")),
    ("lexicon", "signclip.trainer.lexicon", ("torch", "spoken_to_signed")),
    ("words", "signclip.trainer.words_cli", ("torch",)),
    ("kinds", "signclip.trainer.kinds", ("torch",)),
    ("evaluate", "signclip.trainer.evaluate_cli", ("torch",)),
    ("train", "signclip.trainer.train_cli", ("torch",)),
]


def _available(requirements) -> bool:
    try:  # find_spec raises for a dotted name whose parent is missing, or a package that fails to load
        return all(importlib.util.find_spec(r) is not None for r in requirements)
    except (ImportError, ValueError):
        return False


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The `signclip` parser; with `only`, just that command's (the others' modules are not imported,
    which a run of one command does not need: each costs start-up time)."""
    parser = argparse.ArgumentParser(prog="signclip", description="SignCLIP on the edge.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, module_name, requirements in COMMANDS:
        if (only is not None and name != only) or not _available(requirements):
            continue
        module = importlib.import_module(module_name)
        doc = (module.__doc__ or "").strip().splitlines()[0]
        command = sub.add_parser(name, help=doc, description=doc)
        module.add_arguments(command)
        command.set_defaults(_run=module.run)
    if only is not None and not sub.choices:  # its packages are missing: argparse lists what can run
        return build_parser()
    return parser


def main(argv=None) -> int:
    os.environ.setdefault("GLOG_minloglevel", "2")  # MediaPipe's C++ logging
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    argv = sys.argv[1:] if argv is None else list(argv)
    named = argv[0] if argv and argv[0] in {name for name, _, _ in COMMANDS} else None
    args = build_parser(only=named).parse_args(argv)
    try:
        return int(args._run(args) or 0)
    except SignclipError as e:
        print(f"signclip {args.command}: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"signclip {args.command}: interrupted", file=sys.stderr)
        return 130


def command() -> None:
    """The `signclip` program: `main`, then exit without the interpreter's last collections walking
    every object of the libraries loaded (MediaPipe, Numba, ONNX Runtime: 0.15 s of a lookup)."""
    code = main()
    gc.freeze()
    sys.exit(code)


if __name__ == "__main__":
    command()
