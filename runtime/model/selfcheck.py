"""The bundle's self-check: a few of its example clips re-embedded on this machine and compared with
the embeddings stored at export, so that a user sees whether this CPU gives the exporting CPU's
answers (an INT8 kernel that saturates here would not)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .encoders import unit

SELFCHECK_FILE = "selfcheck.npz"
# cosine between two CPUs' runs of one graph: exact integer products leave float rounding only
# (measured 1 - 2e-7 between AVX2 and AVX-512 VNNI); a saturating kernel falls to 0.995
SAME_AS_EXPORT = 0.9999


@dataclass(frozen=True)
class SelfCheck:
    """Cosines of this machine's embeddings of the self-check clips (the worst clip of each)."""

    clips: int
    to_export: float          # vs the same graph on the exporting machine
    to_reference: float       # vs the FP32 model (torch) the graph was exported from
    reference_at_export: float  # the exporting machine's own cosine to the FP32 model
    floor: float | None       # the parity gate's floor for this graph's precision

    @property
    def passed(self) -> bool:
        return self.to_export >= SAME_AS_EXPORT and (self.floor is None or self.to_reference >= self.floor)

    def line(self) -> str:
        verdict = ("the same answers as the exporting machine" if self.passed else
                   f"DIFFERENT from the exporting machine beyond the gate (same-graph cosine must be "
                   f">= {SAME_AS_EXPORT})")
        return (f"{self.clips} example clips re-embedded here: cosine to the export's own embeddings "
                f"min {self.to_export:.6f}, to the FP32 model min {self.to_reference:.5f} (at export "
                f"{self.reference_at_export:.5f}): {verdict}")


def split_clips(poses: np.ndarray, lengths: np.ndarray) -> list:
    """The stored clips [T_i, F] float32 from their concatenation [sum T, F] (float16 on disk)."""
    ends = np.cumsum(lengths)
    return [poses[e - n:e].astype(np.float32) for n, e in zip(lengths, ends)]


def embed_each(session, clips: list) -> np.ndarray:
    """Embeddings [N, D] of clips [T_i, F], one run each (batch 1): how the export's gate runs them
    (export/parity.py uses this one) and how the self-check must run them again."""
    out = [session.run(None, {"poses": c[None], "mask": np.ones((1, len(c)), bool)})[0][0] for c in clips]
    return np.stack(out).astype(np.float32)


def run_selfcheck(path, session, floor: float | None = None) -> SelfCheck:
    """Re-embed the self-check clips of the file `path` with an ONNX Runtime `session` of the pose
    graph; `floor`: the gate's cosine floor for the graph's precision."""
    with np.load(path) as f:
        clips = split_clips(f["poses"], f["lengths"])
        reference, exported = f["reference"], f["exported"]
    here = unit(embed_each(session, clips))
    return SelfCheck(len(clips), float(np.sum(here * unit(exported), axis=1).min()),
                     float(np.sum(here * unit(reference), axis=1).min()),
                     float(np.sum(unit(exported) * unit(reference), axis=1).min()), floor)
