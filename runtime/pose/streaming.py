"""Normalization frame by frame, for live input: running shoulder statistics, constant work per
frame, and at the end the same model input as `normalize.preprocess` on the whole clip."""

from __future__ import annotations

import numba
import numpy as np

from .layouts import MODEL_203, Layout, conversion_plan
from .normalize import (  # the kernels are shared with the whole-clip path, so both agree exactly
    ModelInput,
    NormalizationConfig,
    _accumulate,
    _apply,
    finish,
    shoulder_indices,
    to_model_input,
)


@numba.njit(cache=True)
def _push(frame, mask, plan, a, b, sums, buf, buf_mask, t, out, out_mask):
    """Convert one frame to the target layout into row t, update the sums, normalize causally."""
    for j in range(plan.shape[0]):
        i = plan[j]
        if i >= 0 and mask[i]:
            buf_mask[t, j] = True
            for d in range(3):
                buf[t, j, d] = frame[i, d]
        else:
            buf_mask[t, j] = False
            for d in range(3):
                buf[t, j, d] = 0.0
    _accumulate(buf[t], buf_mask[t], a, b, sums)
    if sums[4] > 0:
        _apply(buf[t:t + 1], buf_mask[t:t + 1], sums, out)
        out_mask[:] = buf_mask[t:t + 1]
    else:
        out[:] = 0.0
        out_mask[:] = False


class StreamingNormalizer:
    """Frame-by-frame normalization with running shoulder statistics; constant work per frame.

    `push` returns the frame normalized with the statistics so far (causal); `model_input` returns
    all frames pushed since `reset`, normalized with the final statistics: equal to `preprocess`.
    """

    def __init__(self, source: Layout, config: NormalizationConfig = NormalizationConfig(),
                 capacity: int = 256):
        self.source = source
        self.config = config
        self.plan = conversion_plan(source, MODEL_203)
        self.a, self.b = shoulder_indices(MODEL_203)
        self._buf = np.zeros((capacity, MODEL_203.size, 3), np.float32)
        self._buf_mask = np.zeros((capacity, MODEL_203.size), bool)
        self._out = np.zeros((1, MODEL_203.size, 3), np.float32)
        self._out_mask = np.zeros((1, MODEL_203.size), bool)
        self.reset()

    def reset(self) -> None:
        self._sums = np.zeros(5)
        self.count = 0

    def push(self, frame: np.ndarray, mask: np.ndarray) -> tuple:
        """Add one frame [K, 3] + mask [K] of the source layout; returns its causal normalization."""
        if self.count == len(self._buf):  # amortized doubling keeps the cost per frame constant
            self._buf = np.concatenate([self._buf, np.zeros_like(self._buf)])
            self._buf_mask = np.concatenate([self._buf_mask, np.zeros_like(self._buf_mask)])
        _push(frame, mask, self.plan, self.a, self.b, self._sums, self._buf, self._buf_mask,
              self.count, self._out, self._out_mask)
        self.count += 1
        return self._out[0], self._out_mask[0]

    @property
    def has_shoulders(self) -> bool:
        return self._sums[4] > 0

    def raw(self, start: int = 0, end: int | None = None) -> tuple:
        """Model-layout frames and mask pushed so far, before normalization (copies)."""
        end = self.count if end is None else end
        return self._buf[start:end].copy(), self._buf_mask[start:end].copy()

    def model_input(self) -> ModelInput:
        frames, mask = self._buf[:self.count], self._buf_mask[:self.count]
        if not self.has_shoulders:
            return to_model_input(frames.copy(), mask.copy(), self.config)  # hands alone, or refused
        out = np.empty(frames.shape, np.float32)
        _apply(frames, mask, self._sums, out)
        return finish(out, mask.copy(), self.config)

