"""Options shared by the commands that load a model bundle: --bundle, --provider, --threads, and
--top-k / --language for those that print lookup results."""

from __future__ import annotations

import argparse

# encoders.ALIASES plus the native runner; not imported, so that --help stays fast
PROVIDERS = ("auto", "cpu", "cuda", "tensorrt", "tensorrt-native")


def add_engine_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--bundle", metavar="DIR", default=None,
                        help="model bundle folder (default: $SIGNCLIP_BUNDLE, else the bundle shipped "
                             "with the package)")
    parser.add_argument("--provider", default="auto",
                        help=f"execution provider: {', '.join(PROVIDERS)} (auto: the best installed "
                             f"in ONNX Runtime; tensorrt-native: TensorRT's own runtime)")
    parser.add_argument("--threads", type=int, default=0, metavar="N",
                        help="CPU threads for the encoders (0: ONNX Runtime decides)")


def add_result_arguments(parser: argparse.ArgumentParser) -> None:
    """--top-k, --language and --kind, the same for every command that prints lookup results."""
    parser.add_argument("--top-k", "-k", type=int, default=5, metavar="K")
    parser.add_argument("--language", "-l", default=None, metavar="L",
                        help="only this sign language (ISO 639-3, e.g. ase)")
    parser.add_argument("--kind", default="auto", choices=("auto", "signs", "letters", "all"),
                        help="answer with lexical signs, letters and digits, or all entries (auto: "
                             "the kind the clip shows, as the bundle's kind head reads it)")


def encoder_options(args):
    from ..model.encoders import EncoderOptions

    return EncoderOptions(provider=args.provider, threads=args.threads)


def restore_command(args) -> str:
    """The command that restores this bundle's personal vocabulary, as the user would type it."""
    import shlex

    from ..vocabulary.personal_store import RESTORE_COMMAND

    return RESTORE_COMMAND + (f" --bundle {shlex.quote(str(args.bundle))}" if args.bundle else "")


def open_engine(args, personal: bool = True, warn: bool = True):
    """The engine of --bundle/--provider/--threads. With `warn`, a personal vocabulary that cannot
    be used is one warning line on stderr; lookups then go on with the bundle alone."""
    import sys

    from ..recognition.engine import Engine

    engine = Engine(args.bundle, encoder_options(args), personal=personal,
                    restore_command=restore_command(args))
    if warn and (message := engine.personal_warning()):
        print(f"signclip {args.command}: warning: {message}", file=sys.stderr)
    return engine
