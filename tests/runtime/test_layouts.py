import numpy as np
import pytest

from signclip.runtime.pose.layouts import (
    FACE,
    FACE_CONTOUR_IDS,
    HOLISTIC_543,
    HOLISTIC_576,
    HOLISTIC_586,
    LAYOUTS,
    MODEL_203,
    OPENPOSE_137,
    REDUCED_178,
    conversion_plan,
    convert,
    flip_permutation,
    flipped_face_points,
)


def test_sizes():
    assert (HOLISTIC_543.size, HOLISTIC_576.size, HOLISTIC_586.size) == (543, 576, 586)
    assert (REDUCED_178.size, OPENPOSE_137.size, MODEL_203.size) == (178, 137, 203)
    assert MODEL_203.size * 3 == 609


def test_face_contours_match_mediapipe():
    from mediapipe.python.solutions.face_mesh_connections import FACEMESH_CONTOURS

    assert FACE_CONTOUR_IDS == tuple(sorted({p for edge in FACEMESH_CONTOURS for p in edge}))


def test_model_layout_order():
    comps = [c for c, _ in MODEL_203.points]
    assert comps[:33] == ["POSE_LANDMARKS"] * 33
    assert comps[33:161] == [FACE] * 128
    assert comps[161:182] == ["LEFT_HAND_LANDMARKS"] * 21
    assert comps[182:] == ["RIGHT_HAND_LANDMARKS"] * 21


WRITABLE = [lay for lay in LAYOUTS.values() if lay is not OPENPOSE_137]  # OpenPose is read only


@pytest.mark.parametrize("source", WRITABLE, ids=[lay.name for lay in WRITABLE])
def test_round_trip_through_model_layout(source):
    """Points the model layout keeps survive source -> model -> source; the rest come back masked."""
    rng = np.random.default_rng(0)
    frames = rng.normal(size=(4, source.size, 3)).astype(np.float32)
    mask = rng.random((4, source.size)) > 0.2
    model, model_mask = convert(frames, mask, conversion_plan(source, MODEL_203))
    back, back_mask = convert(model, model_mask, conversion_plan(MODEL_203, source))
    kept = conversion_plan(source, MODEL_203)
    kept_source = np.zeros(source.size, bool)
    kept_source[kept[kept >= 0]] = True
    np.testing.assert_array_equal(back[:, kept_source], np.where(mask[..., None], frames, 0)[:, kept_source])
    np.testing.assert_array_equal(back_mask[:, kept_source], mask[:, kept_source])
    assert not back_mask[:, ~kept_source].any()
    assert (back[:, ~kept_source] == 0).all()


def test_missing_points_come_out_masked():
    frames = np.ones((2, REDUCED_178.size, 3), np.float32)
    mask = np.ones((2, REDUCED_178.size), bool)
    out, out_mask = convert(frames, mask, conversion_plan(REDUCED_178, MODEL_203))
    nose = MODEL_203.index[("POSE_LANDMARKS", "NOSE")]
    shoulder = MODEL_203.index[("POSE_LANDMARKS", "LEFT_SHOULDER")]
    assert not out_mask[:, nose].any() and (out[:, nose] == 0).all()
    assert out_mask[:, shoulder].all()
    assert out_mask[:, 33:161].all()  # the reduced face is exactly the contour


def test_openpose_maps_body_and_hands_by_name():
    plan = conversion_plan(OPENPOSE_137, MODEL_203)
    assert plan[MODEL_203.index[("POSE_LANDMARKS", "RIGHT_SHOULDER")]] == OPENPOSE_137.index[
        ("pose_keypoints_2d", "RShoulder")]
    assert plan[MODEL_203.index[("RIGHT_HAND_LANDMARKS", "PINKY_TIP")]] == OPENPOSE_137.index[
        ("hand_right_keypoints_2d", "P_DIP")]
    assert (plan[33:161] == -1).all()  # OpenPose's 70-point face has no MediaPipe counterpart


def test_face_mirror_table_is_pose_formats_read_without_importing_mediapipe():
    from pose_format.utils.holistic import FLIPPED_FACE_POINTS

    assert flipped_face_points() == tuple(FLIPPED_FACE_POINTS) and len(FLIPPED_FACE_POINTS) == 478


def test_flip_permutation_is_an_involution_that_swaps_sides():
    perm = flip_permutation(MODEL_203)
    np.testing.assert_array_equal(perm[perm], np.arange(MODEL_203.size))
    left = MODEL_203.index[("POSE_LANDMARKS", "LEFT_WRIST")]
    assert MODEL_203.points[perm[left]] == ("POSE_LANDMARKS", "RIGHT_WRIST")
    lh = MODEL_203.index[("LEFT_HAND_LANDMARKS", "THUMB_TIP")]
    assert MODEL_203.points[perm[lh]] == ("RIGHT_HAND_LANDMARKS", "THUMB_TIP")
    # every face contour point has its mirror image inside the contour
    assert all(MODEL_203.points[perm[i]][0] == FACE for i in range(33, 161))
    assert (perm[33:161] != np.arange(33, 161)).sum() > 100
