"""Our Numba normalization against pose-format's, on real files; streaming against clip; flips."""

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from pose_format import Pose
from pose_format.utils.generic import pose_normalization_info
from pose_format.utils.holistic import mirror_horizontal

from signclip.runtime.errors import SignclipError
from signclip.runtime.pose.clip import PoseClip
from signclip.runtime.pose.io import read_pose
from signclip.runtime.pose.layouts import (
    BODY,
    FACE,
    LEFT_HAND,
    LEG_POINTS,
    MODEL_203,
    RIGHT_HAND,
    layout_from_points,
)
from signclip.runtime.pose.normalize import (
    RESTING_BELOW,
    ModelInput,
    NormalizationConfig,
    dominant_hand,
    flip,
    hand_points,
    hands_3d,
    hands_view,
    normalize_frames,
    preprocess,
)
from signclip.runtime.pose.streaming import StreamingNormalizer

LEXICON = sorted((Path(__file__).parents[1] / "data" / "lexicon").rglob("*.pose"))
FIXTURES = ["holistic576_97f.pose", "holistic576_121f.pose", "holistic586_5f.pose",
            "reduced178_170f.pose", "reduced178_278f.pose"]
ALL = [f"poses/{n}" for n in FIXTURES] + [str(p.relative_to(p.parents[2])) for p in LEXICON]
PLAIN = NormalizationConfig(hide_legs=False, canonical_hand=False)


def pose_format_normalized(path) -> np.ndarray:
    pose = Pose.read(Path(path).read_bytes())
    pose = pose.normalize(pose_normalization_info(pose.header))
    return np.asarray(pose.body.data.filled(0))[:, 0]


@pytest.mark.parametrize("name", ALL)
def test_equals_pose_format(data_dir, name):
    clip = read_pose(data_dir / name)
    ours = normalize_frames(clip.frames, clip.mask, clip.layout)
    ref = pose_format_normalized(data_dir / name)
    assert np.abs(ours - ref)[clip.mask].max() <= 1e-4
    assert (ours[~clip.mask] == 0).all()


@pytest.mark.parametrize("name", ALL)
def test_model_input_equals_pose_format_in_model_layout(data_dir, name):
    clip = read_pose(data_dir / name)
    model = clip.to_layout(MODEL_203)
    ref = normalize_frames(model.frames, model.mask, MODEL_203)
    out = preprocess(clip, PLAIN)
    np.testing.assert_allclose(out.frames, ref, atol=1e-6)
    assert out.features.shape == (clip.num_frames, 609)


def test_inputs_are_untouched(data_dir):
    clip = read_pose(data_dir / "poses/holistic576_97f.pose")
    before = clip.frames.copy(), clip.mask.copy()
    preprocess(clip)
    np.testing.assert_array_equal(clip.frames, before[0])
    np.testing.assert_array_equal(clip.mask, before[1])


@pytest.mark.parametrize("name", ALL)
@pytest.mark.parametrize("config", [NormalizationConfig(), PLAIN,
                                    NormalizationConfig(hand_3d=True)], ids=["default", "plain", "hand3d"])
def test_streaming_equals_clip_at_the_end(data_dir, name, config):
    clip = read_pose(data_dir / name)
    stream = StreamingNormalizer(clip.layout, config, capacity=16)  # forces buffer growth
    for t in range(clip.num_frames):
        stream.push(clip.frames[t], clip.mask[t])
    got, want = stream.model_input(), preprocess(clip, config)
    np.testing.assert_allclose(got.frames, want.frames, atol=1e-6)
    np.testing.assert_array_equal(got.mask, want.mask)
    assert got.flipped == want.flipped


def test_streaming_frames_are_causal(data_dir):
    clip = read_pose(data_dir / "poses/holistic576_97f.pose")
    stream = StreamingNormalizer(clip.layout)
    first, _ = stream.push(clip.frames[0], clip.mask[0])
    single = clip.slice(0, 1).to_layout(MODEL_203)
    alone = normalize_frames(single.frames, single.mask, MODEL_203)
    np.testing.assert_allclose(first, alone[0], atol=1e-6)


def test_flip_twice_is_identity(data_dir):
    out = preprocess(read_pose(data_dir / "poses/holistic576_97f.pose"), PLAIN)
    frames, mask = flip(*flip(out.frames, out.mask, MODEL_203), MODEL_203)
    np.testing.assert_array_equal(frames, out.frames)
    np.testing.assert_array_equal(mask, out.mask)


@pytest.mark.parametrize("name", ["poses/holistic576_97f.pose", "poses/holistic586_5f.pose"])
def test_flip_equals_normalizing_a_mirrored_video(data_dir, name):
    """Flipping normalized frames = normalizing pose-format's mirror image of the raw file."""
    pose = Pose.read((data_dir / name).read_bytes())
    mirrored = mirror_horizontal(pose)
    clip = read_pose(data_dir / name)
    ours = preprocess(clip, PLAIN)
    ours_flipped = flip(ours.frames, ours.mask, MODEL_203)[0]
    from signclip.runtime.pose.clip import PoseClip
    from signclip.runtime.pose.layouts import layout_from_points

    points = [(c.name, p) for c in mirrored.header.components for p in c.points]
    data = np.asarray(mirrored.body.data.filled(0))[:, 0].astype(np.float32)
    mask = mirrored.body.confidence[:, 0] > 0
    ref = preprocess(PoseClip(layout_from_points(points), np.where(mask[..., None], data, 0), mask,
                              25.0), PLAIN)
    np.testing.assert_allclose(ours_flipped, ref.frames, atol=1e-4)


def test_legs_hidden_hips_kept(data_dir):
    out = preprocess(read_pose(data_dir / "poses/holistic576_97f.pose"))
    legs = MODEL_203.indices([(BODY, p) for p in LEG_POINTS])
    hips = MODEL_203.indices([(BODY, "LEFT_HIP"), (BODY, "RIGHT_HIP")])
    assert not out.mask[:, legs].any() and (out.frames[:, legs] == 0).all()
    assert out.mask[:, hips].any()


def test_dominant_hand_and_canonical_mirroring(data_dir):
    clip = read_pose(data_dir / "poses/holistic576_97f.pose")
    plain = preprocess(clip, PLAIN)
    side = dominant_hand(plain.frames, plain.mask, MODEL_203)
    mirrored_frames, mirrored_mask = flip(plain.frames, plain.mask, MODEL_203)
    assert dominant_hand(mirrored_frames, mirrored_mask, MODEL_203) != side
    canonical = preprocess(clip, NormalizationConfig(hide_legs=False))
    assert canonical.flipped == (side == "left")
    assert dominant_hand(canonical.frames, canonical.mask, MODEL_203) == "right"


def test_hands_3d_puts_each_hand_in_its_palm_frame(data_dir):
    out = preprocess(read_pose(data_dir / "poses/holistic576_97f.pose"), PLAIN)
    hands = hands_3d(out.frames, out.mask, MODEL_203)
    for hand in (LEFT_HAND, RIGHT_HAND):
        w, m = MODEL_203.index[(hand, "WRIST")], MODEL_203.index[(hand, "MIDDLE_FINGER_MCP")]
        seen = out.mask[:, w] & out.mask[:, m]
        if seen.any():
            np.testing.assert_allclose(hands[seen, w], 0, atol=1e-5)
            middle = hands[seen, m]                     # along +y, at about one palm length
            np.testing.assert_allclose(middle[:, [0, 2]], 0, atol=1e-5)
            assert (middle[:, 1] > 0).all()
            assert abs(np.median(middle[:, 1]) - 1) < 1e-5
            assert np.abs(hands[seen]).max() <= 4     # bounded: no blow-up on a foreshortened palm


HANDS_ALONE = NormalizationConfig(hand_3d=True, hands_alone=True)


def test_no_shoulders_is_a_clear_error_unless_hands_alone(data_dir):
    clip = read_pose(data_dir / "poses/right_hand21_170f.pose")
    with pytest.raises(SignclipError, match="shoulders"):
        preprocess(clip)
    x = preprocess(clip, HANDS_ALONE)
    hands = np.array([c in (LEFT_HAND, RIGHT_HAND) for c, _ in MODEL_203.points])
    assert x.mask[:, hands].any() and not x.mask[:, ~hands].any()    # the hand stands alone
    assert not x.flipped and x.mask[:, MODEL_203.index[(RIGHT_HAND, "WRIST")]].sum() == 145
    seen = x.mask[:, MODEL_203.index[(RIGHT_HAND, "WRIST")]]
    wrist = MODEL_203.index[(RIGHT_HAND, "WRIST")]
    np.testing.assert_allclose(x.frames[seen, wrist], 0, atol=1e-6)  # palm frame: wrist at 0


def hands_only(clip: PoseClip) -> PoseClip:
    """The clip with everything but its hands unseen: what a photo of the hands gives."""
    hands = np.array([c in (LEFT_HAND, RIGHT_HAND) for c, _ in clip.layout.points])
    return PoseClip(clip.layout, np.where(hands[:, None], clip.frames, 0), clip.mask & hands,
                    clip.fps, clip.width, clip.height)


def test_hands_alone_equals_the_same_hands_filmed_with_a_body(data_dir):
    """Palm frames need no body: a clip's hands alone read exactly like the clip's hands (which hand
    leads is decided differently without a body, so compare unmirrored)."""
    clip = read_pose(data_dir / "poses/holistic576_97f.pose")
    config = replace(HANDS_ALONE, canonical_hand=False)
    full = preprocess(clip, config)
    alone = preprocess(hands_only(clip), config)
    keep = hand_points()
    np.testing.assert_array_equal(alone.mask, full.mask & keep)
    np.testing.assert_allclose(alone.frames[:, keep], full.frames[:, keep], atol=1e-4)


def test_hands_view_is_what_the_hands_alone_give(data_dir):
    """The second view `hand_view` embeds: a clip's input with its hands kept is the input its hands
    alone give; an input of hands alone, or with no hand seen, has no second view."""
    clip = read_pose(data_dir / "poses/holistic576_97f.pose")
    config = replace(HANDS_ALONE, canonical_hand=False)
    full, alone = preprocess(clip, config), preprocess(hands_only(clip), config)
    view = hands_view(full)
    np.testing.assert_array_equal(view.mask, alone.mask)
    np.testing.assert_allclose(view.frames, alone.frames, atol=1e-4)
    assert hands_view(alone) is None
    body = full.mask & ~hand_points()
    assert hands_view(ModelInput(np.where(body[..., None], full.frames, 0), body)) is None


def test_a_left_hand_alone_is_mirrored_into_the_right_one(data_dir):
    clip = read_pose(data_dir / "poses/right_hand21_170f.pose")
    left = PoseClip(layout_from_points([(LEFT_HAND, p) for _, p in clip.layout.points]), clip.frames,
                    clip.mask, clip.fps, clip.width, clip.height)
    a, b = preprocess(clip, HANDS_ALONE), preprocess(left, HANDS_ALONE)
    assert b.flipped and not a.flipped
    np.testing.assert_array_equal(a.mask, b.mask)
    np.testing.assert_allclose(a.frames[..., :2], b.frames[..., :2], atol=1e-4)  # mirroring flips z only


def test_streaming_hands_alone_equals_clip(data_dir):
    clip = read_pose(data_dir / "poses/right_hand21_170f.pose")
    normalizer = StreamingNormalizer(clip.layout, HANDS_ALONE)
    for t in range(clip.num_frames):
        normalizer.push(clip.frames[t], clip.mask[t])
    got, ref = normalizer.model_input(), preprocess(clip, HANDS_ALONE)
    np.testing.assert_array_equal(got.mask, ref.mask)
    np.testing.assert_allclose(got.frames, ref.frames, atol=1e-6)


def test_no_hand_and_no_shoulders_is_refused(data_dir):
    clip = read_pose(data_dir / "poses/right_hand21_170f.pose")
    empty = PoseClip(clip.layout, np.zeros_like(clip.frames), np.zeros_like(clip.mask), clip.fps)
    with pytest.raises(SignclipError, match="hand"):
        preprocess(empty, HANDS_ALONE)


def test_hide_face_masks_the_face_mesh_only(data_dir):
    clip = read_pose(data_dir / "poses/holistic576_97f.pose")
    shown = preprocess(clip)
    hidden = preprocess(clip, NormalizationConfig(hide_face=True))
    face = np.array([c == FACE for c, _ in MODEL_203.points])
    assert shown.mask[:, face].any()
    assert not hidden.mask[:, face].any() and (hidden.frames[:, face] == 0).all()
    np.testing.assert_array_equal(hidden.mask[:, ~face], shown.mask[:, ~face])
    np.testing.assert_allclose(hidden.frames[:, ~face], shown.frames[:, ~face], atol=1e-6)


def test_hands_view_leaves_out_a_hand_resting_in_the_lap(data_dir):
    """A wrist below the shoulders' rest line (in the lap while the other hand spells) takes its hand
    out of those frames of the hands-alone view; the whole clip keeps it."""
    full = preprocess(read_pose(data_dir / "poses/holistic576_97f.pose"), HANDS_ALONE)
    wrist = MODEL_203.index[(BODY, "LEFT_WRIST")]
    left = np.array([i for i, (c, _) in enumerate(MODEL_203.points) if c == LEFT_HAND])
    frames, mask = full.frames.copy(), full.mask.copy()
    mask[:, wrist], mask[:, left] = True, True
    frames[:, wrist, 1] = np.where(np.arange(len(frames)) % 2 == 0, RESTING_BELOW + 0.3, 0.2)
    view = hands_view(ModelInput(frames, mask, full.flipped))
    assert not view.mask[::2][:, left].any() and not view.frames[::2][:, left].any()  # resting
    assert view.mask[1::2][:, left].all()                                             # raised
    np.testing.assert_array_equal(view.mask[:, hand_points() & ~np.isin(np.arange(203), left)],
                                  mask[:, hand_points() & ~np.isin(np.arange(203), left)])
    # only a resting hand seen: nothing to add
    only = np.zeros_like(mask)
    only[:, left], only[:, wrist] = True, True
    frames[:, wrist, 1] = RESTING_BELOW + 0.3
    assert hands_view(ModelInput(frames, only, False)) is None
