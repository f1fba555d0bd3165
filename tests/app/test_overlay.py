"""The skeleton's edges equal MediaPipe's drawing sets, and only observed points are drawn."""

import numpy as np

from signclip.app.overlay import BODY_EDGES, FACE_CONTOUR_EDGES, HAND_EDGES, skeleton, visible_segments
from signclip.runtime.pose.io import read_pose
from signclip.runtime.pose.layouts import BODY_POINTS, HOLISTIC_576, MODEL_203


def test_edges_are_mediapipes_drawing_sets():
    from mediapipe.python.solutions import face_mesh_connections, hands_connections, pose_connections

    assert set(FACE_CONTOUR_EDGES) == set(face_mesh_connections.FACEMESH_CONTOURS)
    assert set(HAND_EDGES) == set(hands_connections.HAND_CONNECTIONS)
    upper = {(a, b) for a, b in pose_connections.POSE_CONNECTIONS if a < 25 and b < 25}
    assert {tuple(sorted((BODY_POINTS.index(a), BODY_POINTS.index(b)))) for a, b in BODY_EDGES} == upper


def test_skeleton_of_holistic_and_model_layouts():
    full = skeleton(HOLISTIC_576)
    assert {k: len(v) for k, v in full.parts.items()} == {"body": 25, "face": 124, "left_hand": 21,
                                                           "right_hand": 21}
    # the model layout keeps the face contour points, so the same edges exist there
    assert skeleton(MODEL_203).edge_count == full.edge_count


def test_visible_segments_skip_unobserved_points(poses_dir):
    clip = read_pose(poses_dir / "holistic576_97f.pose")
    parts = skeleton(clip.layout).parts
    t = int(np.argmax(clip.mask.sum(axis=1)))
    frame, mask = clip.frames[t], clip.mask[t]
    seg = visible_segments(frame, mask, parts["body"])
    assert seg.shape[1] == 4 and 0 < len(seg) <= 25
    edges = parts["body"]
    first = edges[mask[edges[:, 0]] & mask[edges[:, 1]]][0]
    assert np.allclose(seg[0], [*frame[first[0], :2], *frame[first[1], :2]])
    hidden = mask.copy()
    hidden[edges[:, 0]] = False
    assert len(visible_segments(frame, hidden, edges)) == 0
