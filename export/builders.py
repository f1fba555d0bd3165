"""One function per export format: which encoder files it builds, each chosen by the parity gate.

Every candidate graph is built in a scratch folder and measured against torch; the first that
passes its gate moves into the bundle. A format whose candidates all fail stops the export.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from signclip.runtime.errors import SignclipError

from . import quantize as q
from .attention import fuse_attention
from .int8_scheme import describe
from .parity import Parity, compare, run_pose, run_text, session
from .precision import Precision


@dataclass(frozen=True)
class Candidate:
    tower: str                       # "pose" | "text"
    precision: Precision
    variant: str                     # how it was made, e.g. "dynamic per-channel"
    suffix: str                      # file name after "<tower>_encoder"
    make: Callable[[Path, Path], Path] | None  # (fp32 graph, destination); None = the fp32 graph

    @property
    def file(self) -> str:
        return f"{self.tower}_encoder{self.suffix}"


@dataclass
class Work:
    """Everything one export measures against: reference embeddings from torch, real inputs."""

    folder: Path                     # the bundle being written (temporary until the end)
    scratch: Path                    # graphs that are built and measured but not shipped
    fp32: dict                       # tower -> fp32 ONNX path in scratch
    clips: list                      # parity clips [T, F] float32
    calibration: list                # calibration clips for static Q/DQ
    pose_reference: np.ndarray       # torch embeddings of `clips` [N, D]
    ids: np.ndarray                  # vocabulary tokens [V, L]
    attention: np.ndarray
    text_reference: np.ndarray       # torch embeddings of the vocabulary [V, D]
    options: object                  # ExportOptions
    threads: int = 2
    tried: list = field(default_factory=list)    # Parity of every candidate measured
    log: Callable[[str], None] = print

    def measure(self, candidate: Candidate, path: Path) -> Parity:
        sess = session(path, self.threads)
        if candidate.tower == "pose":
            got = run_pose(sess, self.clips)
            ref, vocabulary = self.pose_reference, self.text_reference
        else:
            got = run_text(sess, self.ids, self.attention)
            ref, vocabulary = self.text_reference, self.text_reference
        return compare(ref, got, vocabulary, file=path.name, tower=candidate.tower,
                       precision=candidate.precision, variant=candidate.variant,
                       int8=describe(path) if candidate.precision is Precision.INT8 else None)


def choose(work: Work, candidates: list) -> Parity:
    """Build and measure candidates in order; move the first that passes into the bundle."""
    for candidate in candidates:
        src = work.fp32[candidate.tower]
        path = src if candidate.make is None else candidate.make(src, work.scratch / candidate.file)
        result = work.measure(candidate, path)
        work.tried.append(result)
        work.log(f"  {candidate.variant:>20}  {result.line()}")
        if result.passed:
            shutil.copy(path, work.folder / candidate.file)
            return result
    lines = "; ".join(r.line() for r in work.tried if r.tower == candidates[0].tower)
    raise SignclipError(f"parity gate failed for the {candidates[0].tower} encoder, nothing "
                        f"written: {lines}")


# ------------------------------------------------------------------ candidates


def fp32(tower: str) -> Candidate:
    return Candidate(tower, Precision.FP32, "fp32", ".onnx", None)


def dynamic_int8(tower: str, per_channel: bool, input_layer_fp32: bool = False) -> Candidate:
    """Dynamic INT8 with ONNX Runtime's kernels; the pose tower's attention fused first (QAttention)."""
    kind = "per-channel" if per_channel else "per-tensor"
    suffix = f".int8{'-pc' if per_channel else ''}{'-in32' if input_layer_fp32 else ''}.onnx"

    def make(src: Path, dst: Path) -> Path:
        if tower == "pose":
            fused = dst.with_name(f"{dst.stem}.fused.onnx")
            fuse_attention(src, fused)
            src = fused
        return q.quantize_dynamic_int8(src, dst, per_channel=per_channel,
                                       input_layer_fp32=input_layer_fp32)

    variant = f"dynamic {kind}{', input fp32' if input_layer_fp32 else ''}"
    return Candidate(tower, Precision.INT8, variant, suffix, make)


def blockwise_int8(tower: str) -> Candidate:
    return Candidate(tower, Precision.INT8, "blockwise (NBits)", ".int8-block.onnx",
                     q.quantize_blockwise_int8)


def folded_int8(tower: str) -> Candidate:
    """INT8 weights that ONNX Runtime folds back to FP32 at load (quantize_weights_int8), the
    attention fused first: the text tower's small file at FP32's speed and precision."""
    def make(src: Path, dst: Path) -> Path:
        fused = dst.with_name(dst.stem + ".fused.onnx")
        fuse_attention(src, fused, mask_input="attention_mask" if tower == "text" else "mask")
        return q.quantize_weights_int8(fused, dst)

    return Candidate(tower, Precision.INT8, "int8 weights, fp32 at load", ".int8-w.onnx", make)


def static_int8(work: Work) -> Candidate:
    def make(src, dst):
        return q.quantize_static_int8(src, dst, q.PoseCalibrationReader(work.calibration))

    return Candidate("pose", Precision.INT8, "static qdq", ".qdq.onnx", make)


def fp16(tower: str) -> Candidate:
    return Candidate(tower, Precision.FP16, "fp16", ".fp16.onnx", q.convert_fp16)


def int8_candidates(work: Work, tower: str) -> list:
    """The INT8 variants to try, in order of speed, then FP32 if none keeps the gate."""
    opts = work.options
    # the pose tower's first layer reads the keypoints: in FP32 it costs little and keeps near ties
    keypoints_fp32 = [dynamic_int8(tower, True, input_layer_fp32=True)] if tower == "pose" else []
    # MiniLM's outlier channels fail dynamic INT8 (cosine 0.97); its weights stored in INT8 and
    # folded to FP32 at load keep the gate at FP32's speed in a quarter of its file. The pose
    # tower's matrices are small: FP32 comes next there.
    weights = [folded_int8(tower)] if tower == "text" else []
    if tower == "pose" and opts.static:
        chosen = [static_int8(work)] + keypoints_fp32
    elif opts.per_channel:
        chosen = [dynamic_int8(tower, True)] + keypoints_fp32 + weights
    else:
        chosen = [dynamic_int8(tower, False), dynamic_int8(tower, True)] + keypoints_fp32 + weights
    return chosen + [fp32(tower)]


# ------------------------------------------------------------------ formats


def build_onnx(work: Work) -> dict:
    return {t: choose(work, [fp32(t)]) for t in work.fp32}


def build_int8(work: Work) -> dict:
    return {t: choose(work, int8_candidates(work, t)) for t in work.fp32}


def build_fp16(work: Work) -> dict:
    return {t: choose(work, [fp16(t), fp32(t)]) for t in work.fp32}


def build_ort(work: Work) -> dict:
    """The INT8 bundle, its encoders converted to ONNX Runtime's .ort format and measured again."""
    chosen = build_int8(work)
    result = {}
    for tower, parity in chosen.items():
        onnx_file = work.folder / parity.file
        ort_file = q.convert_ort(onnx_file, work.folder)
        onnx_file.unlink()  # the phone bundle ships the .ort only: half the size
        candidate = Candidate(tower, parity.precision, f"{parity.variant} (ort)", ".ort", None)
        measured = replace(work.measure(candidate, ort_file), int8=parity.int8)  # checked on its .onnx
        work.tried.append(measured)
        work.log(f"  {candidate.variant:>20}  {measured.line()}")
        if not measured.passed:
            raise SignclipError(f"parity gate failed after the .ort conversion: {measured.line()}")
        result[tower] = measured
    return result


def build_tensorrt(work: Work) -> dict:
    """FP32 ONNX encoders (gated) plus TensorRT engines built from them on this GPU."""
    from .tensorrt import build_bundle_engines

    chosen = build_onnx(work)
    build_bundle_engines(work, chosen)
    return chosen
