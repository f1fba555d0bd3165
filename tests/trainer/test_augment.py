"""Augmentations keep masks, the fused raw-frame pass equals the step-by-step reference."""

from pathlib import Path

import numpy as np
import pytest

from signclip.runtime.pose.io import read_pose
from signclip.runtime.pose.layouts import BODY, MODEL_203
from signclip.runtime.pose.normalize import flip, normalize_frames
from signclip.trainer.augment import (
    BODY_POINTS,
    HANDS,
    SHOULDERS,
    AugmentConfig,
    NoiseBank,
    RawDraw,
    affine_matrices,
    apply_raw,
    apply_raw_reference,
    augment_normalized,
    augment_raw,
    cap_length,
    draw_raw,
    resample,
    reshape_body,
    reshape_hands,
    speed_length,
)

LEXICON = Path(__file__).parents[1] / "data" / "lexicon"


@pytest.fixture(scope="module")
def clip():
    """The 21-frame ASL 'A' in the model layout: raw frames and mask (left hand mostly missing)."""
    c = read_pose(LEXICON / "ase" / "fs-stse28e9ac023b0e29ca0a3acc12dc46540.pose").to_layout(MODEL_203)
    return c.frames, c.mask


def test_flip_twice_is_identity(clip):
    frames, mask = clip
    once = flip(frames, mask, MODEL_203)
    twice = flip(*once, MODEL_203)
    np.testing.assert_array_equal(twice[0], frames)
    np.testing.assert_array_equal(twice[1], mask)
    np.testing.assert_array_equal(once[1][:, HANDS[0]], mask[:, HANDS[1]])  # hands swapped


def test_resample_keeps_masks_and_identity(clip):
    frames, mask = clip
    same = resample(frames, mask, len(frames))
    assert same[0] is frames
    slow, slow_mask = resample(frames, mask, 40)
    assert slow.shape == (40, 203, 3) and not slow[~slow_mask].any()
    # ends are the original ends; a point never seen stays unseen
    np.testing.assert_array_equal(slow[0][slow_mask[0]], frames[0][mask[0]])
    np.testing.assert_array_equal(slow_mask.any(0), mask.any(0))
    # a point observed at both neighbours is interpolated linearly
    t = 3
    pos = t * (len(frames) - 1) / 39
    lo, w = int(pos), pos - int(pos)
    k = 11  # a shoulder: always observed
    np.testing.assert_allclose(slow[t, k], frames[lo, k] * (1 - w) + frames[lo + 1, k] * w, rtol=1e-6)


def test_speed_length_clamped_and_capped():
    rng = np.random.default_rng(0)
    cfg = AugmentConfig(speed_std=10.0)
    lengths = [speed_length(100, rng, cfg, 256) for _ in range(200)]
    assert min(lengths) == round(100 / 1.5) and max(lengths) == 200
    assert speed_length(400, rng, AugmentConfig(speed_std=0), 256) == 256


def test_cap_length_resamples_long_clips(clip):
    frames, mask = clip
    long = np.concatenate([frames] * 15), np.concatenate([mask] * 15)   # 315 frames
    capped, capped_mask = cap_length(*long, 256)
    assert capped.shape[0] == 256 and not capped[~capped_mask].any()
    assert cap_length(frames, mask, 256)[0] is frames


@pytest.mark.parametrize("flipped", [False, True])
def test_fused_raw_pass_equals_reference(clip, flipped):
    frames, mask = clip
    rng = np.random.default_rng(3)
    for _ in range(5):
        draw = draw_raw(len(frames), rng, AugmentConfig(hand_dropout_p=1.0, point_dropout=0.05), 256)
        draw = RawDraw(draw.length, draw.drop, flipped)
        fused, fused_mask = apply_raw(frames, mask, draw)
        ref, ref_mask = apply_raw_reference(frames, mask, draw)
        np.testing.assert_array_equal(fused_mask, ref_mask)
        np.testing.assert_allclose(fused, ref, atol=1e-4, rtol=1e-6)
        assert not fused[~fused_mask].any()


def test_dropout_masks_points_but_never_shoulders(clip):
    frames, mask = clip
    rng = np.random.default_rng(0)
    cfg = AugmentConfig(speed_std=0, flip_p=0, hand_dropout_p=1.0, point_dropout=0.2)
    out, out_mask = augment_raw(frames, mask, rng, cfg, 256)
    assert out.shape == frames.shape
    assert not (out_mask & ~mask).any()                        # nothing appears
    assert (mask & ~out_mask).sum() > 0.15 * mask.sum()         # about 20% disappear
    assert out_mask[:, SHOULDERS].all()
    assert not out[~out_mask].any()
    # a whole hand goes missing for a run of frames
    draw = draw_raw(len(frames), np.random.default_rng(1), AugmentConfig(hand_dropout_p=1.0,
                                                                      point_dropout=0), 256)
    runs = [draw.drop[:, h].all(axis=1) for h in HANDS]
    assert any(r.any() for r in runs) and not draw.drop[:, SHOULDERS].any()


def test_augmentation_is_seeded(clip):
    frames, mask = clip
    a = augment_raw(frames, mask, np.random.default_rng(7), AugmentConfig(), 256)
    b = augment_raw(frames, mask, np.random.default_rng(7), AugmentConfig(), 256)
    np.testing.assert_array_equal(a[0], b[0])


def test_geometry_keeps_masked_points_zero_and_matches_affine(clip):
    frames, mask = clip
    norm = normalize_frames(frames, mask, MODEL_203)
    cfg = AugmentConfig(noise_std=0.0, hand_jitter_std=0.0, body_shape_std=0.0)
    out = augment_normalized(norm, mask, None, np.random.default_rng(5), cfg, NoiseBank(0))
    m = affine_matrices(1, np.random.default_rng(5), cfg)[0]
    np.testing.assert_allclose(out[..., :2], norm[..., :2] @ m.T, atol=1e-6)
    np.testing.assert_array_equal(out[..., 2], norm[..., 2])
    still = dict(rotation_std=0, shear_std=0, scale_std=0, body_shape_std=0.0)
    noisy = augment_normalized(norm, mask, None, np.random.default_rng(5), AugmentConfig(
        **still, hand_jitter_std=0.0), NoiseBank(0))
    assert not noisy[~mask].any()
    diff = (noisy - norm)[mask]
    assert 0.0008 < diff.std() < 0.0012 and abs(diff.mean()) < 1e-4


def test_hand_jitter_moves_hand_points_only(clip):
    frames, mask = clip
    norm = normalize_frames(frames, mask, MODEL_203)
    out = augment_normalized(norm, mask, None, np.random.default_rng(5), AugmentConfig(
        rotation_std=0, shear_std=0, scale_std=0, noise_std=0.0, hand_jitter_std=0.02, body_shape_std=0.0),
        NoiseBank(0))
    hand = np.zeros(mask.shape[1], bool)
    hand[np.concatenate(HANDS)] = True
    diff = out - norm
    assert not diff[:, ~hand].any()
    assert 0.015 < diff[:, hand][mask[:, hand]].std() < 0.025


def test_body_shape_moves_each_body_point_by_one_offset_for_the_whole_clip(clip):
    frames, mask = clip
    norm = normalize_frames(frames, mask, MODEL_203)[None]
    out = norm.copy()
    reshape_body(out, mask[None], np.random.default_rng(3), 0.05)
    body = np.zeros(MODEL_203.size, bool)
    body[BODY_POINTS] = True
    moved = (out - norm)[0]
    assert not moved[:, ~body].any() and not out[0][~mask].any()
    offsets = np.array([moved[mask[:, k], k][0] for k in BODY_POINTS if mask[:, k].sum() > 1])
    assert len(offsets) > 20 and 0.03 < offsets.std() < 0.07
    for k in BODY_POINTS:
        np.testing.assert_allclose(moved[mask[:, k], k], moved[mask[:, k], k][:1].repeat(mask[:, k].sum(), 0),
                                   atol=1e-5)
    checked = 0
    for side in ("LEFT", "RIGHT"):  # the pose model's points on a hand move with its wrist: a rigid hand
        wrist = MODEL_203.index[(BODY, f"{side}_WRIST")]
        for point in ("PINKY", "INDEX", "THUMB"):
            k = MODEL_203.index[(BODY, f"{side}_{point}")]
            both = mask[:, k] & mask[:, wrist]
            np.testing.assert_allclose(moved[both, k], moved[both, wrist], atol=1e-6)
            checked += both.any()
    assert checked >= 3  # the right hand's three at least (the left is missing from this clip)


def test_finger_lengths_change_bone_lengths_not_directions_nor_the_palm(clip):
    frames, mask = clip
    norm = normalize_frames(frames, mask, MODEL_203)[None]
    out = norm.copy()
    reshape_hands(out, mask[None], np.random.default_rng(5), 0.15)
    right = HANDS[1]
    whole = mask[:, right].all(axis=1)
    assert whole.sum() > 10 and not out[0][~mask].any()
    np.testing.assert_array_equal(np.delete(out, right, axis=2), np.delete(norm, right, axis=2))
    palm = right[[0, 1, 5, 9, 13, 17]]                          # wrist, thumb's CMC, the knuckles
    np.testing.assert_array_equal(out[0][:, palm], norm[0][:, palm])
    ratios = []
    for base in (1, 5, 9, 13, 17):                              # each finger: one factor, all frames
        for parent in range(base, base + 3):
            before = norm[0][whole][:, right[parent + 1]] - norm[0][whole][:, right[parent]]
            after = out[0][whole][:, right[parent + 1]] - out[0][whole][:, right[parent]]
            ratio = np.linalg.norm(after, axis=-1) / np.linalg.norm(before, axis=-1)
            np.testing.assert_allclose(ratio, ratio[0], rtol=1e-4)
            np.testing.assert_allclose(after, before * ratio[:, None], rtol=1e-4, atol=1e-6)
            ratios.append(ratio[0])
    ratios = np.array(ratios).reshape(5, 3)
    np.testing.assert_allclose(ratios, ratios[:, :1].repeat(3, 1), rtol=1e-4)
    assert np.ptp(ratios[:, 0]) > 0.05 and ((ratios > 0.59) & (ratios < 1.41)).all()


def test_finger_lengths_are_off_by_default_and_leave_the_random_stream_alone(clip):
    frames, mask = clip
    norm = normalize_frames(frames, mask, MODEL_203)
    bank = NoiseBank(seed=0, size=1 << 12)
    plain = augment_normalized(norm, mask, None, np.random.default_rng(1), AugmentConfig(), bank)
    zero = augment_normalized(norm, mask, None, np.random.default_rng(1),
                              AugmentConfig(finger_length_std=0.0), bank)
    np.testing.assert_array_equal(plain, zero)
    other = augment_normalized(norm, mask, None, np.random.default_rng(1),
                               AugmentConfig(finger_length_std=0.1), bank)
    assert not np.array_equal(plain[:, HANDS[1]], other[:, HANDS[1]])
