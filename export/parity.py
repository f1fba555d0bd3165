"""The parity gate: an exported encoder against torch on real clips and real texts.

Each input runs at batch 1 (as the runtime does: dynamic INT8 scales depend on what shares a
batch). Cosine is per input, torch vs export; top-1 agreement compares the vocabulary entry each
side finds nearest.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import onnxruntime as ort

from signclip.runtime.model.selfcheck import embed_each as run_pose  # the runtime's self-check runs the same

from .precision import Precision

__all__ = ["COSINE_FLOOR", "COSINE_MIN", "TOP1_MIN", "Parity", "compare", "run_pose", "run_text", "session",
           "unit"]

# Mean cosine over the real inputs, by precision (the figures, e.g. MiniLM per-channel INT8
# "0.992", are means); no single input may fall below COSINE_FLOOR; top-1 agreement for all.
# (Precision members hash and compare as their strings, so COSINE_MIN["int8"] still works.)
COSINE_MIN = {Precision.FP32: 0.9999, Precision.INT8: 0.99, Precision.FP16: 0.99}
COSINE_FLOOR = {Precision.FP32: 0.9999, Precision.INT8: 0.98, Precision.FP16: 0.98}
TOP1_MIN = 0.99


@dataclass(frozen=True)
class Parity:
    """Numbers for one exported encoder; `passed` applies the gate for its precision."""

    file: str
    tower: str
    precision: Precision
    variant: str
    inputs: int
    cosine_min: float
    cosine_mean: float
    top1_agreement: float
    passed: bool
    int8: dict | None = None         # the INT8 scheme (int8_scheme.describe), where there is one

    def as_json(self) -> dict:
        out = {k: (round(v, 6) if isinstance(v, float) else v) for k, v in asdict(self).items()}
        return {**out, "precision": Precision(self.precision).value}  # the plain string, as bundles carry

    def line(self) -> str:
        verdict = "pass" if self.passed else "FAIL"
        if self.int8 is not None and not self.int8["saturation_free"]:
            weights = self.int8["max_abs_weight"]
            verdict += (f" (INT8 weights up to {weights} could saturate on CPUs without VNNI)" if weights
                        else f" ({self.int8['scheme']}: its kernels differ between CPUs)")
        return (f"{self.file}: cosine min {self.cosine_min:.5f} mean {self.cosine_mean:.5f}, top-1 "
                f"agreement {self.top1_agreement:.2%} over {self.inputs} {self.tower} inputs "
                f"(gate: mean {COSINE_MIN[self.precision]}, min {COSINE_FLOOR[self.precision]}, "
                f"top-1 {TOP1_MIN:.0%}): {verdict}")


def session(path, threads: int = 2) -> ort.InferenceSession:
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.log_severity_level = 3
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def run_text(sess: ort.InferenceSession, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Embeddings [N, D] of padded tokens [N, L], one text per run (its padding cut off)."""
    out = []
    for row_ids, row_mask in zip(ids, mask):
        n = int(row_mask.sum())
        feed = {"input_ids": row_ids[None, :n], "attention_mask": row_mask[None, :n]}
        out.append(sess.run(None, feed)[0][0])
    return np.stack(out).astype(np.float32)


def unit(x: np.ndarray) -> np.ndarray:
    return x / np.maximum(np.linalg.norm(x, axis=-1, keepdims=True), 1e-12)


def compare(reference: np.ndarray, exported: np.ndarray, vocabulary: np.ndarray, *, file: str,
            tower: str, precision: Precision, variant: str, int8: dict | None = None) -> Parity:
    """Cosine per row and top-1 vocabulary agreement of `exported` against `reference` [N, D]; an
    INT8 graph passes only if no CPU's kernel can saturate it (`int8`: int8_scheme.describe)."""
    cos = np.sum(unit(reference) * unit(exported), axis=-1)
    top_ref = np.argmax(reference @ vocabulary.T, axis=1)
    top_exp = np.argmax(exported @ vocabulary.T, axis=1)
    agreement = float(np.mean(top_ref == top_exp))
    passed = bool(np.all(np.isfinite(exported)) and cos.mean() >= COSINE_MIN[precision]
                  and cos.min() >= COSINE_FLOOR[precision] and agreement >= TOP1_MIN
                  and (int8 is None or int8["saturation_free"]))
    return Parity(file, tower, Precision(precision), variant, len(cos), float(cos.min()), float(cos.mean()),
                  agreement, passed, int8)
