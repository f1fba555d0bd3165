"""Training augmentations: the paper's speed, rotation, shear, scale, noise and flip, plus dropout.

Pure functions of numpy arrays and a seeded np.random.Generator. Masked points stay masked and zero.
Order (the loader applies it; each step says why it sits where it does):

1. On RAW model-layout frames, before normalization, because they change what the shoulder
   statistics are computed from (the runtime recomputes them, as serving would for such a clip):
   - speed: re-interpolate in time with ratio ~ N(1, 0.2), clamped to [0.5, 1.5]; the result is
     also capped at max_frames (a longer clip is resampled uniformly, never truncated);
   - hand dropout: one hand missing for a run of frames (a missed detection), and point dropout;
     shoulders are never dropped so normalization stays defined;
   - flip (p = 0.2, left/right swapped): it commutes with shoulder normalization, and applying it
     first lets the runtime's canonical-hand step treat the mirrored clip as serving would (with
     `canonical_hand` on, a mirrored right-hander is mirrored back; only ties stay flipped).
2. On NORMALIZED frames (after `to_model_input`): rotation ~ N(0, 0.2) rad, x-shear ~ N(0, 0.2),
   y-scale 1 + N(0, 0.2), then Gaussian noise std 0.001, and on hand points a per-frame jitter in
   palm lengths (a held photo's frames are identical; a video's tracking never is). They must come
   after normalization, which would otherwise undo most of a rescaling; their distributions are
   mirror-symmetric, so applying them after the canonical-hand flip samples the same transforms.
   With `hand_3d` the hands are in palm frames and these also perturb hand shape: intended.
   Before them, off by default: each finger lengthened or shortened (`finger_length_std`), the
   hand of another person; the palm frames have already made hand size itself irrelevant.
"""

from __future__ import annotations

from dataclasses import dataclass

import numba
import numpy as np

from signclip.runtime.pose.layouts import BODY, LEFT_HAND, MODEL_203, RIGHT_HAND, flip_permutation
from signclip.runtime.pose.normalize import ModelInput, face_indices, flip, hand_points, shoulder_indices


@dataclass(frozen=True)
class AugmentConfig:
    """Probabilities and standard deviations; zero turns a step off."""

    speed_std: float = 0.2          # ratio ~ N(1, std): > 1 plays faster (fewer frames)
    speed_min: float = 0.5
    speed_max: float = 1.5
    rotation_std: float = 0.2       # radians
    shear_std: float = 0.2          # x-shear
    scale_std: float = 0.2          # y-scale = 1 + N(0, std)
    noise_std: float = 0.001        # in normalized units (shoulder widths)
    hand_jitter_std: float = 0.02   # extra noise on hand points, in palm lengths (palm frames)
    body_shape_std: float = 0.1     # per clip, a constant offset on each body point (shoulder widths)
    transplant_p: float = 0.5       # chance per photo that its hand is put into a signer's video clip
    flip_p: float = 0.2
    hand_dropout_p: float = 0.2     # chance per clip that one hand goes missing for a run of frames
    point_dropout: float = 0.01     # chance per point and frame to be missing
    face_dropout_p: float = 0.2     # chance per clip that the face is never detected
    crop_p: float = 0.5             # chance per clip of a late start / early stop ...
    crop_max: float = 0.2           # ... cutting up to this share of the frames at each end
    finger_length_std: float = 0.0  # per clip, each finger's bones scaled by 1 + N(0, std): other hands


HANDS = tuple(np.array([i for i, (c, _) in enumerate(MODEL_203.points) if c == hand], np.int64)
              for hand in (LEFT_HAND, RIGHT_HAND))
IS_HAND = hand_points()   # (203,) bool
BODY_POINTS = np.array([i for i, (c, _) in enumerate(MODEL_203.points) if c == BODY], np.int64)
FACE_POINTS = face_indices(MODEL_203)
SHOULDERS = np.array(shoulder_indices(MODEL_203), np.int64)


# ---------------------------------------------------------------- time


def resample(frames: np.ndarray, mask: np.ndarray, length: int) -> tuple:
    """The clip re-timed to `length` frames (same clip when the length does not change)."""
    if length == frames.shape[0]:
        return frames, mask
    length = max(1, int(length))
    keep = np.zeros((length, frames.shape[1]), np.bool_)  # nothing dropped, nothing mirrored
    return _apply_raw(frames, mask, length, keep, np.arange(frames.shape[1]), np.float32(1))


def speed_length(frames: int, rng: np.random.Generator, cfg: AugmentConfig, max_frames: int) -> int:
    """The new length after a random speed change, capped at max_frames."""
    ratio = 1.0
    if cfg.speed_std > 0:
        ratio = float(np.clip(rng.normal(1.0, cfg.speed_std), cfg.speed_min, cfg.speed_max))
    return int(min(max(1, round(frames / ratio)), max_frames))


def speed_lengths(lengths: np.ndarray, rng: np.random.Generator, cfg: AugmentConfig,
                  max_frames: int) -> np.ndarray:
    """`speed_length` for every clip at once: the sampler buckets by these, the loader uses them."""
    lengths = np.asarray(lengths, np.int64)
    ratio = np.ones(len(lengths))
    if cfg.speed_std > 0:
        ratio = np.clip(rng.normal(1.0, cfg.speed_std, len(lengths)), cfg.speed_min, cfg.speed_max)
    return np.minimum(np.maximum(1, np.rint(lengths / ratio)), max_frames).astype(np.int64)


# ---------------------------------------------------------------- step 1, drawn then applied


@dataclass(frozen=True)
class RawDraw:
    """The random choices of step 1 for one clip: new length, missing points, mirror or not."""

    length: int
    drop: np.ndarray          # bool [length, 203]: points missing (before the flip's re-ordering)
    flip: bool
    start: int = 0            # source frames kept: [start, stop) (a late start / early stop)
    stop: int | None = None


NOT_SHOULDER = np.ones(MODEL_203.size, bool)
NOT_SHOULDER[SHOULDERS] = False


def draw_raw(frames: int, rng: np.random.Generator, cfg: AugmentConfig, max_frames: int,
             length: int | None = None) -> RawDraw:
    """Draw speed (unless the new `length` is given), dropout and flip for a clip of `frames` frames."""
    length = speed_length(frames, rng, cfg, max_frames) if length is None else int(length)
    drop = np.zeros((length, MODEL_203.size), bool)
    if cfg.hand_dropout_p > 0 and rng.random() < cfg.hand_dropout_p:
        run = int(rng.integers(1, length + 1))
        start = int(rng.integers(0, length - run + 1))
        drop[start:start + run, HANDS[int(rng.integers(0, 2))]] = True
    count = int(rng.binomial(drop.size, cfg.point_dropout)) if cfg.point_dropout > 0 else 0
    if count:
        t, k = rng.integers(0, length, size=count), rng.integers(0, MODEL_203.size, size=count)
        keep = NOT_SHOULDER[k]
        drop[t[keep], k[keep]] = True
    if cfg.face_dropout_p > 0 and rng.random() < cfg.face_dropout_p:
        drop[:, FACE_POINTS] = True
    flipped = bool(cfg.flip_p > 0 and rng.random() < cfg.flip_p)
    first, stop = 0, None
    if cfg.crop_p > 0 and frames >= 5 and rng.random() < cfg.crop_p:
        cut = int(cfg.crop_max * frames)
        first, stop = int(rng.integers(0, cut + 1)), frames - int(rng.integers(0, cut + 1))
    return RawDraw(length, drop, flipped, first, stop)


@numba.njit(cache=True)
def _apply_raw(frames, mask, length, drop, perm, sign):
    """Resample + drop + permute/mirror in one pass: out[j, k] = source point perm[k] at time j.

    Linear interpolation in time; a point observed on one side only is held.
    """
    t_len, k_len = frames.shape[0], frames.shape[1]
    out = np.empty((length, k_len, 3), np.float32)
    out_mask = np.empty((length, k_len), np.bool_)
    step = (t_len - 1) / (length - 1) if length > 1 else 0.0
    for j in range(length):
        pos = j * step
        lo = min(int(pos), t_len - 1)
        hi = min(lo + 1, t_len - 1)
        w = pos - lo
        for k in range(k_len):
            s = perm[k]
            a = mask[lo, s] and w < 1.0 - 1e-6
            b = mask[hi, s] and w > 1e-6
            if drop[j, s] or not (a or b):
                out_mask[j, k] = False
                out[j, k, 0] = 0.0
                out[j, k, 1] = 0.0
                out[j, k, 2] = 0.0
                continue
            out_mask[j, k] = True
            if a and b:
                for d in range(3):
                    out[j, k, d] = frames[lo, s, d] * (1.0 - w) + frames[hi, s, d] * w
            else:
                src = lo if a else hi
                for d in range(3):
                    out[j, k, d] = frames[src, s, d]
            out[j, k, 0] *= sign
    return out, out_mask


IDENTITY = np.arange(MODEL_203.size, dtype=np.int64)


def apply_raw(frames: np.ndarray, mask: np.ndarray, draw: RawDraw) -> tuple:
    """Step 1 as drawn, fused into one pass (equal to `apply_raw_reference`)."""
    perm = flip_permutation(MODEL_203) if draw.flip else IDENTITY
    frames, mask = frames[draw.start:draw.stop], mask[draw.start:draw.stop]
    return _apply_raw(frames, mask, draw.length, draw.drop, perm, np.float32(-1 if draw.flip else 1))


def apply_raw_reference(frames: np.ndarray, mask: np.ndarray, draw: RawDraw) -> tuple:
    """Step 1 as drawn, one pure step at a time: crop, resample, drop, flip."""
    frames, mask = frames[draw.start:draw.stop], mask[draw.start:draw.stop]
    frames, mask = resample(frames, mask, draw.length)
    frames, mask = np.where(draw.drop[..., None], 0.0, frames).astype(np.float32), mask & ~draw.drop
    return flip(frames, mask, MODEL_203) if draw.flip else (frames, mask)


def augment_raw(frames: np.ndarray, mask: np.ndarray, rng: np.random.Generator, cfg: AugmentConfig,
                max_frames: int, length: int | None = None) -> tuple:
    """Step 1 of the module docstring on raw frames: speed (and length cap), dropout, flip."""
    return apply_raw(frames, mask, draw_raw(frames.shape[0], rng, cfg, max_frames, length))


def cap_length(frames: np.ndarray, mask: np.ndarray, max_frames: int) -> tuple:
    """Without augmentation: clips over max_frames resampled uniformly to max_frames."""
    if frames.shape[0] <= max_frames:
        return frames, mask
    return resample(frames, mask, max_frames)


# ---------------------------------------------------------------- space (normalized frames)


def affine_matrices(n: int, rng: np.random.Generator, cfg: AugmentConfig) -> np.ndarray:
    """n 2x2 matrices y-scale @ x-shear @ rotation, float32 [n, 2, 2]."""
    theta = rng.normal(0.0, cfg.rotation_std, n) if cfg.rotation_std > 0 else np.zeros(n)
    shear = rng.normal(0.0, cfg.shear_std, n) if cfg.shear_std > 0 else np.zeros(n)
    scale = 1.0 + (rng.normal(0.0, cfg.scale_std, n) if cfg.scale_std > 0 else np.zeros(n))
    c, s = np.cos(theta), np.sin(theta)
    # [[1, sh], [0, 1]] @ [[c, -s], [s, c]] = [[c + sh s, -s + sh c], [s, c]]; then rows *= (1, sy)
    m = np.empty((n, 2, 2))
    m[:, 0, 0], m[:, 0, 1] = c + shear * s, -s + shear * c
    m[:, 1, 0], m[:, 1, 1] = scale * s, scale * c
    return m.astype(np.float32)


@numba.njit(cache=True)
def _geometry(out, mask, lengths, mats, stds, bank, offsets):
    """In place on a padded batch out [B, T, K, 3]: x,y <- M (x,y); + noise of std stds[k];
    observed points only."""
    nb = bank.shape[0]
    for b in range(out.shape[0]):
        m00, m01, m10, m11 = mats[b, 0, 0], mats[b, 0, 1], mats[b, 1, 0], mats[b, 1, 1]
        j = offsets[b]
        for t in range(lengths[b]):
            for k in range(out.shape[2]):
                if not mask[b, t, k]:
                    continue
                if j + 3 > nb:
                    j = 0
                std = stds[k]
                x, y = out[b, t, k, 0], out[b, t, k, 1]
                out[b, t, k, 0] = m00 * x + m01 * y + std * bank[j]
                out[b, t, k, 1] = m10 * x + m11 * y + std * bank[j + 1]
                out[b, t, k, 2] += std * bank[j + 2]
                j += 3


class NoiseBank:
    """A fixed block of standard normals read at random offsets: noise at memory speed.

    Drawing B x T x 609 fresh normals per batch would cost more than all other loading work; a
    clip reads a contiguous stretch from a random offset, so no clip repeats its own noise.
    """

    def __init__(self, seed: int = 0, size: int = 1 << 21):
        self.values = np.random.default_rng(seed).standard_normal(size, dtype=np.float32)

    def offsets(self, n: int, rng: np.random.Generator) -> np.ndarray:
        return rng.integers(0, len(self.values), size=n)


def augment_normalized(frames: np.ndarray, mask: np.ndarray, lengths: np.ndarray,
                       rng: np.random.Generator, cfg: AugmentConfig, bank: NoiseBank) -> np.ndarray:
    """Step 2 on a padded batch [B, T, K, 3] (or one clip [T, K, 3]): affine + noise, new array."""
    single = frames.ndim == 3
    out = (frames[None] if single else frames).copy()
    batch_mask = mask[None] if single else mask
    lengths = np.asarray([frames.shape[0]] if single else lengths, np.int64)
    augment_normalized_(out, batch_mask, lengths, rng, cfg, bank)
    return out[0] if single else out


def augment_normalized_(out: np.ndarray, mask: np.ndarray, lengths: np.ndarray,
                        rng: np.random.Generator, cfg: AugmentConfig, bank: NoiseBank) -> None:
    """In-place form for the loader's own fresh batch buffer (saves one copy of the batch)."""
    if cfg.finger_length_std > 0:  # first: on the hand as normalized, before its noise
        reshape_hands(out, mask, rng, cfg.finger_length_std)
    mats = affine_matrices(out.shape[0], rng, cfg)
    stds = np.where(IS_HAND, np.hypot(cfg.noise_std, cfg.hand_jitter_std), cfg.noise_std)   # (K,)
    _geometry(out, mask, lengths, mats, stds.astype(np.float32), bank.values,
              bank.offsets(out.shape[0], rng))
    if cfg.body_shape_std > 0:
        reshape_body(out, mask, rng, cfg.body_shape_std)


def _rigid_hand_points() -> tuple:
    """(positions in BODY_POINTS of the pose model's pinky, index and thumb points, of their wrists)."""
    at = {int(k): j for j, k in enumerate(BODY_POINTS)}
    pairs = [(at[MODEL_203.index[(BODY, f"{side}_{p}")]], at[MODEL_203.index[(BODY, f"{side}_WRIST")]])
             for side in ("LEFT", "RIGHT") for p in ("PINKY", "INDEX", "THUMB")]
    return tuple(np.array(x, np.int64) for x in zip(*pairs))


HAND_ENDS, THEIR_WRISTS = _rigid_hand_points()


def reshape_body(out: np.ndarray, mask: np.ndarray, rng: np.random.Generator, std: float) -> None:
    """In place, per clip of [B, T, K, 3], one constant offset on each body point: other proportions
    and another pose estimator's bias, so that a signer is not recognised by the shape of the body.
    The pose model's points on a hand move with its wrist: they say how the hand is turned, which
    the palm frames leave to them, and a hand's shape does not change with the body's."""
    offsets = rng.normal(0.0, std, (out.shape[0], 1, BODY_POINTS.size, 3)).astype(np.float32)
    offsets[:, :, HAND_ENDS] = offsets[:, :, THEIR_WRISTS]
    seen = mask[:, :, BODY_POINTS, None]
    out[:, :, BODY_POINTS] = np.where(seen, out[:, :, BODY_POINTS] + offsets, 0.0)


# (parent, child, finger) of each finger bone in MediaPipe's 21 hand points, parents first; finger
# 0 is the thumb (its CMC joint on), 4 the little finger. The palm's own points never move.
FINGER_BONES = tuple((parent, parent + 1, f) for f, base in enumerate((1, 5, 9, 13, 17))
                     for parent in range(base, base + 3))


def reshape_hands(out: np.ndarray, mask: np.ndarray, rng: np.random.Generator, std: float) -> None:
    """In place, per clip of [B, T, K, 3], each finger's bones scaled by its own 1 + N(0, std), the
    same on both hands: another person's hand (longer fingers, a shorter thumb) making the same shape,
    so that a handshape is not learned as the proportions of the few hands the data holds."""
    factors = np.clip(1.0 + rng.normal(0.0, std, (out.shape[0], 5)), 0.6, 1.4).astype(np.float32)
    for hand in HANDS:
        before = out[:, :, hand]                                                # (B, T, 21, 3)
        after = before.copy()
        for parent, child, finger in FINGER_BONES:
            bone = before[:, :, child] - before[:, :, parent]
            after[:, :, child] = after[:, :, parent] + factors[:, None, finger, None] * bone
        whole = mask[:, :, hand].all(axis=2)[..., None, None]                   # a hand seen whole
        out[:, :, hand] = np.where(whole, after, before)


RIGHT_HAND_POINTS = HANDS[1]


def transplant_hand(host, hand):
    """A video clip (ModelInput) of one signer with its right hand, wherever it shows one, replaced by
    the right hand of `hand` (a held photo of another signer; frame t takes photo frame t mod its
    length). Both are canonical (dominant hand = right) and in palm frames, so the swap is exact:
    the result is that body signing with this new hand, which teaches the model to read the hand
    over the body it memorized."""
    shown = host.mask[:, RIGHT_HAND_POINTS].any(axis=1)                      # (T,)
    source = np.arange(len(host.frames)) % len(hand.frames)
    frames, mask = host.frames.copy(), host.mask.copy()
    rows = np.flatnonzero(shown)
    frames[np.ix_(rows, RIGHT_HAND_POINTS)] = hand.frames[source[rows]][:, RIGHT_HAND_POINTS]
    mask[np.ix_(rows, RIGHT_HAND_POINTS)] = hand.mask[source[rows]][:, RIGHT_HAND_POINTS]
    return ModelInput(frames, mask, host.flipped)

