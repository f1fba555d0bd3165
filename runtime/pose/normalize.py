"""The reference's pose normalization, exact, in Numba, per clip (frame by frame: `streaming.py`).

Centre = shoulder midpoint and scale = 3-D shoulder distance, both averaged over the frames where
both shoulders are observed (pose-format's `normalize(pose_normalization_info(header))`). Then the
legs are hidden (hips kept), as SignCLIP does, and with `hide_face` the face mesh too. A mask
travels through every step: masked points come out as zeros and never enter the statistics.

A clip in which no frame shows both shoulders (a photo of a hand, a hand-only `.pose` file) has
nothing to normalize the body by: with `hands_alone` its hands stand on their own, each in its
palm frame, and everything else is masked. Without it such a clip is refused, as before.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numba
import numpy as np

from ..errors import SignclipError
from .clip import PoseClip
from .layouts import (
    BODY,
    FACE,
    LEFT_HAND,
    LEG_POINTS,
    MODEL_203,
    RIGHT_HAND,
    Layout,
    conversion_plan,
    flip_permutation,
)


@dataclass(frozen=True)
class NormalizationConfig:
    """How a clip becomes model input; stored in checkpoints and bundles."""

    hide_legs: bool = True
    canonical_hand: bool = True  # mirror left-dominant clips so the dominant hand is the right one
    hand_3d: bool = False        # rotate and scale each hand into its own palm frame
    hands_alone: bool = False    # a clip without shoulders keeps its hands (palm frames), the rest masked
    photo_frames: int = 1        # a still photo is held for this many identical frames
    hide_face: bool = False      # mask the 128 face-mesh points: they say who signs more than what
    hand_view: float = 0.0       # also embed a clip by its hands alone, mixed in with this weight


@dataclass(frozen=True)
class ModelInput:
    """Normalized frames [T, 203, 3] (zeros where masked) and mask [T, 203] in the model layout."""

    frames: np.ndarray
    mask: np.ndarray
    flipped: bool = False
    # the frames before `hand_3d` turned each hand into its palm frame (None: `frames` are): sign
    # templates compare hands as the camera saw them, as 2D reference clips show them
    plain: np.ndarray | None = None

    @property
    def features(self) -> np.ndarray:
        return self.frames.reshape(self.frames.shape[0], -1)  # (T, 609), point-major


def shoulder_indices(layout: Layout) -> tuple:
    """(right, left) shoulder indices, the pair pose-format normalizes by."""
    try:
        return layout.index[(BODY, "RIGHT_SHOULDER")], layout.index[(BODY, "LEFT_SHOULDER")]
    except KeyError:
        raise SignclipError(f"layout {layout.name} has no shoulders to normalize by") from None


# ---------------------------------------------------------------- kernels


@numba.njit(cache=True)
def _accumulate(frame, mask, a, b, sums):
    """Add one frame's shoulder midpoint and distance to sums = [x, y, z, distance, count]."""
    if mask[a] and mask[b]:
        d2 = 0.0
        for d in range(3):
            sums[d] += (frame[a, d] + frame[b, d]) * 0.5
            diff = frame[a, d] - frame[b, d]
            d2 += diff * diff
        sums[3] += np.sqrt(d2)
        sums[4] += 1.0


@numba.njit(cache=True)
def _clip_sums(frames, mask, a, b):
    sums = np.zeros(5)
    for t in range(frames.shape[0]):
        _accumulate(frames[t], mask[t], a, b, sums)
    return sums


@numba.njit(cache=True)
def _apply(frames, mask, sums, out):
    """out = (frames - centre) / scale where observed, 0 elsewhere."""
    n = sums[4]
    cx, cy, cz = sums[0] / n, sums[1] / n, sums[2] / n
    inv = n / sums[3] if sums[3] > 0 else 1.0
    for t in range(frames.shape[0]):
        for k in range(frames.shape[1]):
            if mask[t, k]:
                out[t, k, 0] = (frames[t, k, 0] - cx) * inv
                out[t, k, 1] = (frames[t, k, 1] - cy) * inv
                out[t, k, 2] = (frames[t, k, 2] - cz) * inv
            else:
                out[t, k, 0] = 0.0
                out[t, k, 1] = 0.0
                out[t, k, 2] = 0.0


@numba.njit(cache=True)
def _gather(frames, mask, plan):
    """Frames and mask re-ordered by a conversion plan; absent points masked zeros."""
    t_len, k_len = frames.shape[0], plan.shape[0]
    out = np.zeros((t_len, k_len, 3), np.float32)
    out_mask = np.zeros((t_len, k_len), np.bool_)
    for t in range(t_len):
        for j in range(k_len):
            i = plan[j]
            if i >= 0 and mask[t, i]:
                out_mask[t, j] = True
                for d in range(3):
                    out[t, j, d] = frames[t, i, d]
    return out, out_mask


@numba.njit(cache=True)
def _gather_normalize(frames, mask, plan, a, b, keep):
    """One pass: re-order by plan, normalize by the source's shoulders a/b, hide points not `keep`."""
    sums = _clip_sums(frames, mask, a, b)
    t_len, k_len = frames.shape[0], plan.shape[0]
    out = np.zeros((t_len, k_len, 3), np.float32)
    out_mask = np.zeros((t_len, k_len), np.bool_)
    n = sums[4]
    if n == 0:
        return out, out_mask, n
    cx, cy, cz = sums[0] / n, sums[1] / n, sums[2] / n
    inv = n / sums[3] if sums[3] > 0 else 1.0
    for t in range(t_len):
        for j in range(k_len):
            i = plan[j]
            if i >= 0 and keep[j] and mask[t, i]:
                out_mask[t, j] = True
                out[t, j, 0] = (frames[t, i, 0] - cx) * inv
                out[t, j, 1] = (frames[t, i, 1] - cy) * inv
                out[t, j, 2] = (frames[t, i, 2] - cz) * inv
    return out, out_mask, n


@numba.njit(cache=True)
def _flip(frames, mask, perm):
    out = np.empty_like(frames)
    out_mask = np.empty_like(mask)
    for t in range(frames.shape[0]):
        for k in range(perm.shape[0]):
            j = perm[k]
            out_mask[t, k] = mask[t, j]
            out[t, k, 0] = -frames[t, j, 0] if mask[t, j] else 0.0
            out[t, k, 1] = frames[t, j, 1]
            out[t, k, 2] = frames[t, j, 2]
    return out, out_mask


HAND_LIMIT = 4.0  # palm lengths


@numba.njit(cache=True)
def _cross(ax, ay, az, bx, by, bz):
    return ay * bz - az * by, az * bx - ax * bz, ax * by - ay * bx


@numba.njit(cache=True)
def _hands_3d(frames, mask, starts):
    """Each hand in its palm frame: wrist at 0, wrist->middle MCP along +y, palm normal +z.

    The scale is the hand's median palm length over the clip: a hand is rigid, and one frame's
    length collapses when the palm points at the camera (z is not in pixel units). Scalar
    arithmetic only: no temporary arrays per frame.
    """
    out = frames.copy()
    t_len = frames.shape[0]
    lengths = np.zeros(t_len)
    for s in starts:
        w, i, m, p = s, s + 5, s + 9, s + 17  # wrist, index MCP, middle MCP, pinky MCP
        n = 0
        for t in range(t_len):
            lengths[t] = 0.0
            if mask[t, w] and mask[t, i] and mask[t, m] and mask[t, p]:
                dx = frames[t, m, 0] - frames[t, w, 0]
                dy = frames[t, m, 1] - frames[t, w, 1]
                dz = frames[t, m, 2] - frames[t, w, 2]
                lengths[t] = np.sqrt(dx * dx + dy * dy + dz * dz)
                n += lengths[t] > 0
        if n == 0:
            continue
        scale = np.median(lengths[lengths > 0])
        for t in range(t_len):
            length = lengths[t]
            if length <= 0:
                continue
            yx = (frames[t, m, 0] - frames[t, w, 0]) / length
            yy = (frames[t, m, 1] - frames[t, w, 1]) / length
            yz = (frames[t, m, 2] - frames[t, w, 2]) / length
            zx, zy, zz = _cross(frames[t, i, 0] - frames[t, p, 0], frames[t, i, 1] - frames[t, p, 1],
                                frames[t, i, 2] - frames[t, p, 2], yx, yy, yz)
            zn = np.sqrt(zx * zx + zy * zy + zz * zz)
            if zn == 0:
                continue
            zx, zy, zz = zx / zn, zy / zn, zz / zn
            xx, xy, xz = _cross(yx, yy, yz, zx, zy, zz)
            for k in range(s, s + 21):
                vx = (frames[t, k, 0] - frames[t, w, 0]) / scale
                vy = (frames[t, k, 1] - frames[t, w, 1]) / scale
                vz = (frames[t, k, 2] - frames[t, w, 2]) / scale
                # a fingertip lies within ~2.5 palm lengths of the wrist: beyond 4 is a detection error
                out[t, k, 0] = min(max(vx * xx + vy * xy + vz * xz, -HAND_LIMIT), HAND_LIMIT)
                out[t, k, 1] = min(max(vx * yx + vy * yy + vz * yz, -HAND_LIMIT), HAND_LIMIT)
                out[t, k, 2] = min(max(vx * zx + vy * zy + vz * zz, -HAND_LIMIT), HAND_LIMIT)
    return out


# ---------------------------------------------------------------- pure functions over arrays


def normalize_frames(frames: np.ndarray, mask: np.ndarray, layout: Layout) -> np.ndarray:
    """Shoulder normalization of a whole clip, in any layout that has shoulders."""
    a, b = shoulder_indices(layout)
    sums = _clip_sums(frames, mask, a, b)
    if sums[4] == 0:
        raise SignclipError(NO_SHOULDERS)
    out = np.empty(frames.shape, np.float32)
    _apply(frames, mask, sums, out)
    return out


def hide(frames: np.ndarray, mask: np.ndarray, indices: np.ndarray) -> tuple:
    """The clip with the given points masked (and zeroed)."""
    frames, mask = frames.copy(), mask.copy()
    frames[:, indices] = 0.0
    mask[:, indices] = False
    return frames, mask


def flip(frames: np.ndarray, mask: np.ndarray, layout: Layout) -> tuple:
    """Mirror a normalized clip: x negated, left and right points swapped."""
    return _flip(frames, mask, flip_permutation(layout))


UNSEEN_HAND_HEIGHT = 3.0  # shoulder widths below the shoulders: an undetected hand counts as resting


def dominant_hand(frames: np.ndarray, mask: np.ndarray, layout: Layout) -> str:
    """'right' or 'left': the hand held higher over the clip (normalized frames, y down).

    A resting hand in the lap is often detected in every frame, so counting detections picks the
    wrong hand; height does not. Per frame a hand's height is its own wrist, else the body's wrist,
    else UNSEEN_HAND_HEIGHT.
    """
    i = layout.index
    left = _mean_height(frames, mask, i[(LEFT_HAND, "WRIST")], i[(BODY, "LEFT_WRIST")])
    right = _mean_height(frames, mask, i[(RIGHT_HAND, "WRIST")], i[(BODY, "RIGHT_WRIST")])
    return "left" if left < right else "right"


@numba.njit(cache=True)
def _mean_height(frames, mask, own, body):
    total = 0.0
    for t in range(frames.shape[0]):
        if mask[t, own]:
            total += frames[t, own, 1]
        elif mask[t, body]:
            total += frames[t, body, 1]
        else:
            total += UNSEEN_HAND_HEIGHT
    return total / max(frames.shape[0], 1)


def hands_3d(frames: np.ndarray, mask: np.ndarray, layout: Layout) -> np.ndarray:
    starts = np.array([layout.index[(h, "WRIST")] for h in (LEFT_HAND, RIGHT_HAND)], np.int64)
    return _hands_3d(frames, mask, starts)


@lru_cache(maxsize=8)
def leg_indices(layout: Layout) -> np.ndarray:
    return layout.indices([(BODY, p) for p in LEG_POINTS])


@lru_cache(maxsize=8)
def face_indices(layout: Layout) -> np.ndarray:
    return np.array([i for i, (c, _) in enumerate(layout.points) if c == FACE], np.int64)


def hidden_indices(config: NormalizationConfig) -> np.ndarray:
    """The model-layout points the config masks in every frame (legs, face)."""
    parts = [leg_indices(MODEL_203)] if config.hide_legs else []
    parts += [face_indices(MODEL_203)] if config.hide_face else []
    return np.concatenate(parts) if parts else np.zeros(0, np.int64)


def finish(frames: np.ndarray, mask: np.ndarray, config: NormalizationConfig,
           hidden: bool = False) -> ModelInput:
    """The steps after normalization, on model-layout frames: hidden points (legs, face), dominant
    hand, hand frames. `hidden` says the first step is already done."""
    if not hidden and (config.hide_legs or config.hide_face):
        frames, mask = hide(frames, mask, hidden_indices(config))
    flipped = False
    if config.canonical_hand and dominant_hand(frames, mask, MODEL_203) == "left":
        frames, mask = flip(frames, mask, MODEL_203)
        flipped = True
    plain = None
    if config.hand_3d:
        plain = frames.astype(np.float32, copy=False)
        frames = hands_3d(frames, mask, MODEL_203)
    return ModelInput(frames.astype(np.float32, copy=False), mask, flipped, plain)


NO_SHOULDERS = "no frame shows both shoulders: cannot normalize (is anybody there?)"


@lru_cache(maxsize=1)
def hand_points() -> np.ndarray:
    """Which model-layout points belong to a hand, bool [203]."""
    return np.array([c in (LEFT_HAND, RIGHT_HAND) for c, _ in MODEL_203.points])


def keep_hands(frames: np.ndarray, mask: np.ndarray) -> tuple:
    """(frames, mask) with every point that is not a hand's masked and zeroed."""
    mask = mask & hand_points()
    return np.where(mask[..., None], frames, 0.0).astype(np.float32), mask


def dominant_hand_alone(frames: np.ndarray, mask: np.ndarray) -> str:
    """'right' or 'left' without a body: the hand seen in more frames; on a tie, the higher one."""
    seen, height = [], []
    for side in (LEFT_HAND, RIGHT_HAND):
        idx = np.array([i for i, (c, _) in enumerate(MODEL_203.points) if c == side])
        observed = mask[:, idx]                                               # (T, 21)
        seen.append(int(observed.any(axis=1).sum()))
        height.append(float(frames[:, idx, 1][observed].mean()) if observed.any() else np.inf)
    if seen[0] != seen[1]:
        return "left" if seen[0] > seen[1] else "right"
    return "left" if height[0] < height[1] else "right"  # image y grows downwards


def hands_alone(frames: np.ndarray, mask: np.ndarray, config: NormalizationConfig) -> ModelInput:
    """A clip without shoulders, raw model-layout frames: each hand in its palm frame, the rest masked.

    The palm frame needs no body: it is centred on the wrist and scaled by the palm, so a hand
    photographed alone reads like the same hand filmed with its signer.
    """
    frames, mask = keep_hands(frames, mask)
    if not mask.any():
        raise SignclipError("no frame shows both shoulders or a hand: nothing to look up")
    flipped = config.canonical_hand and dominant_hand_alone(frames, mask) == "left"
    if flipped:
        frames, mask = flip(frames, mask, MODEL_203)
    return ModelInput(hands_3d(frames, mask, MODEL_203).astype(np.float32, copy=False), mask, flipped)


# A wrist this far below the shoulder line (shoulder widths) rests: the hands-alone view leaves its
# hand out, and the segmenter ends a sign there (its default rest_line).
RESTING_BELOW = 1.2


@lru_cache(maxsize=1)
def _hands_and_wrists() -> tuple:
    """((body wrist index, that side's hand points), ...) for the left and the right hand."""
    return tuple((MODEL_203.index[(BODY, f"{name}_WRIST")],
                  np.array([i for i, (c, _) in enumerate(MODEL_203.points) if c == side]))
                 for name, side in (("LEFT", LEFT_HAND), ("RIGHT", RIGHT_HAND)))


def hands_view(x: ModelInput) -> ModelInput | None:
    """The clip seen by its hands alone, as a photo is (`hand_view`); None where that adds nothing:
    no hand seen, or nothing else seen. Its hands are already in palm frames, so masking is enough.

    A hand whose wrist rests below the shoulders' `RESTING_BELOW` in a frame (in the lap while the
    other spells) is left out of that frame: it is not part of the sign, and a photo never shows it."""
    hands = hand_points()
    if not (x.mask & hands).any() or not (x.mask & ~hands).any():
        return None
    frames, mask = keep_hands(x.frames, x.mask)
    for wrist, side in _hands_and_wrists():
        resting = x.mask[:, wrist] & (x.frames[:, wrist, 1].astype(np.float64) > RESTING_BELOW)
        mask[np.ix_(resting, side)] = False
    if not mask.any():
        return None
    return ModelInput(np.where(mask[..., None], frames, 0.0).astype(np.float32), mask, x.flipped)


def to_model_input(frames: np.ndarray, mask: np.ndarray, config: NormalizationConfig) -> ModelInput:
    """Raw model-layout frames [T, 203, 3] to model input: by the shoulders where any frame shows
    both, else (with `config.hands_alone`) the hands alone. The trainer's loader calls this too."""
    a, b = shoulder_indices(MODEL_203)
    if (mask[:, a] & mask[:, b]).any():
        return finish(normalize_frames(frames, mask, MODEL_203), mask, config)
    if config.hands_alone:
        return hands_alone(frames, mask, config)
    raise SignclipError(NO_SHOULDERS)


def preprocess(clip: PoseClip, config: NormalizationConfig = NormalizationConfig()) -> ModelInput:
    """A clip of any layout to normalized model input (203 points)."""
    a, b = shoulder_indices(clip.layout) if (BODY, "RIGHT_SHOULDER") in clip.layout.index else (-1, -1)
    plan = conversion_plan(clip.layout, MODEL_203)
    if a < 0:  # no shoulders, or under other names (OpenPose): convert first, then normalize
        frames, mask = _gather(clip.frames, clip.mask, plan)
        return to_model_input(frames, mask, config)
    keep = _kept(config.hide_legs, config.hide_face)
    frames, mask, seen = _gather_normalize(clip.frames, clip.mask, plan, a, b, keep)
    if seen == 0:
        if config.hands_alone:
            return hands_alone(*_gather(clip.frames, clip.mask, plan), config)
        raise SignclipError(NO_SHOULDERS)
    return finish(frames, mask, config, hidden=True)


@lru_cache(maxsize=4)
def _kept(hide_legs: bool, hide_face: bool) -> np.ndarray:
    keep = np.ones(MODEL_203.size, np.bool_)
    keep[hidden_indices(NormalizationConfig(hide_legs=hide_legs, hide_face=hide_face))] = False
    return keep
