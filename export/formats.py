"""The export formats, declared once: name, file suffix, the options each takes, its builder.

Options are checked here, before any work: an unknown format or an option the format does not
take is one SignclipError with a suggestion.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable
from dataclasses import dataclass

from signclip.runtime.errors import SignclipError

from . import builders


@dataclass(frozen=True)
class Format:
    name: str
    suffix: str                  # of the encoder files it ships
    options: frozenset           # format-specific options it accepts (ExportOptions field names)
    build: Callable              # (Work) -> {tower: Parity}
    help: str


_INT8_OPTIONS = frozenset({"per_channel", "static", "calibration"})

FORMATS = (
    Format("onnx", ".onnx", frozenset(), builders.build_onnx, "FP32 ONNX, both encoders"),
    Format("onnx-int8", ".int8.onnx", _INT8_OPTIONS, builders.build_int8,
           "INT8 ONNX (dynamic per-tensor/per-channel, or --static Q/DQ), chosen per encoder by the gate"),
    Format("onnx-fp16", ".fp16.onnx", frozenset(), builders.build_fp16,
           "FP16 ONNX with LayerNorm/Softmax/reductions kept FP32"),
    Format("ort", ".ort", _INT8_OPTIONS, builders.build_ort,
           "ONNX Runtime's mobile format (Android/iOS), converted from the INT8 graphs"),
    Format("tensorrt", ".engine", frozenset({"precision", "calibration"}), builders.build_tensorrt,
           "TensorRT engines for this GPU (FP16, or INT8 from Q/DQ) beside the FP32 ONNX"),
)
BY_NAME = {f.name: f for f in FORMATS}

# option field -> its command-line flag, for messages
FLAGS = {"per_channel": "--per-channel", "static": "--static", "calibration": "--calibration",
         "precision": "--precision"}


def get_format(name: str) -> Format:
    if name in BY_NAME:
        return BY_NAME[name]
    close = difflib.get_close_matches(name, list(BY_NAME), n=1, cutoff=0.4)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    raise SignclipError(f"unknown format {name!r}; valid: {', '.join(BY_NAME)}{hint}")


def check_options(name: str, given: set) -> Format:
    """The format, after refusing options it does not take (`given`: option fields that were set)."""
    fmt = get_format(name)
    for option in sorted(given - fmt.options):
        takers = [f.name for f in FORMATS if option in f.options]
        accepted = ", ".join(FLAGS[o] for o in sorted(fmt.options)) or "no format options"
        raise SignclipError(f"{FLAGS[option]} does not apply to --format {name} (it takes "
                            f"{accepted}); {FLAGS[option]} is for --format {' or '.join(takers)}")
    return fmt
