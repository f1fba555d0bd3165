"""Keypoint layouts, declared once as ordered (component, point) names, and conversion by name.

A layout is the list of named points of a pose array's second axis. Every conversion goes through
names: a point the source lacks comes out masked, never as a silent zero.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property, lru_cache

import numpy as np

Point = tuple  # (component, point) pair of str

BODY_POINTS = (
    "NOSE", "LEFT_EYE_INNER", "LEFT_EYE", "LEFT_EYE_OUTER", "RIGHT_EYE_INNER", "RIGHT_EYE",
    "RIGHT_EYE_OUTER", "LEFT_EAR", "RIGHT_EAR", "MOUTH_LEFT", "MOUTH_RIGHT", "LEFT_SHOULDER",
    "RIGHT_SHOULDER", "LEFT_ELBOW", "RIGHT_ELBOW", "LEFT_WRIST", "RIGHT_WRIST", "LEFT_PINKY",
    "RIGHT_PINKY", "LEFT_INDEX", "RIGHT_INDEX", "LEFT_THUMB", "RIGHT_THUMB", "LEFT_HIP", "RIGHT_HIP",
    "LEFT_KNEE", "RIGHT_KNEE", "LEFT_ANKLE", "RIGHT_ANKLE", "LEFT_HEEL", "RIGHT_HEEL",
    "LEFT_FOOT_INDEX", "RIGHT_FOOT_INDEX",
)  # MediaPipe PoseLandmark order
HAND_POINTS = (
    "WRIST", "THUMB_CMC", "THUMB_MCP", "THUMB_IP", "THUMB_TIP", "INDEX_FINGER_MCP",
    "INDEX_FINGER_PIP", "INDEX_FINGER_DIP", "INDEX_FINGER_TIP", "MIDDLE_FINGER_MCP",
    "MIDDLE_FINGER_PIP", "MIDDLE_FINGER_DIP", "MIDDLE_FINGER_TIP", "RING_FINGER_MCP",
    "RING_FINGER_PIP", "RING_FINGER_DIP", "RING_FINGER_TIP", "PINKY_MCP", "PINKY_PIP", "PINKY_DIP",
    "PINKY_TIP",
)  # MediaPipe HandLandmark order
# Sorted landmark ids of mediapipe's FACEMESH_CONTOURS (tests check this against mediapipe).
FACE_CONTOUR_IDS = (
    0, 7, 10, 13, 14, 17, 21, 33, 37, 39, 40, 46, 52, 53, 54, 55, 58, 61, 63, 65, 66, 67, 70, 78, 80,
    81, 82, 84, 87, 88, 91, 93, 95, 103, 105, 107, 109, 127, 132, 133, 136, 144, 145, 146, 148, 149,
    150, 152, 153, 154, 155, 157, 158, 159, 160, 161, 162, 163, 172, 173, 176, 178, 181, 185, 191,
    234, 246, 249, 251, 263, 267, 269, 270, 276, 282, 283, 284, 285, 288, 291, 293, 295, 296, 297,
    300, 308, 310, 311, 312, 314, 317, 318, 321, 323, 324, 332, 334, 336, 338, 356, 361, 362, 365,
    373, 374, 375, 377, 378, 379, 380, 381, 382, 384, 385, 386, 387, 388, 389, 390, 397, 398, 400,
    402, 405, 409, 415, 454, 466,
)
REDUCED_BODY_POINTS = (
    "LEFT_SHOULDER", "RIGHT_SHOULDER", "LEFT_ELBOW", "RIGHT_ELBOW", "LEFT_WRIST", "RIGHT_WRIST",
    "LEFT_HIP", "RIGHT_HIP",
)  # pose-format's reduce_holistic keeps these
LEG_POINTS = (
    "LEFT_KNEE", "RIGHT_KNEE", "LEFT_ANKLE", "RIGHT_ANKLE", "LEFT_HEEL", "RIGHT_HEEL",
    "LEFT_FOOT_INDEX", "RIGHT_FOOT_INDEX",
)  # SignCLIP hides these and keeps the hips

BODY, FACE, LEFT_HAND, RIGHT_HAND, BODY_WORLD = (
    "POSE_LANDMARKS", "FACE_LANDMARKS", "LEFT_HAND_LANDMARKS", "RIGHT_HAND_LANDMARKS",
    "POSE_WORLD_LANDMARKS",
)

# OpenPose BODY_25 names -> MediaPipe names (points without a counterpart stay unmapped).
OPENPOSE_BODY_ALIASES = {
    "Nose": "NOSE", "RShoulder": "RIGHT_SHOULDER", "RElbow": "RIGHT_ELBOW", "RWrist": "RIGHT_WRIST",
    "LShoulder": "LEFT_SHOULDER", "LElbow": "LEFT_ELBOW", "LWrist": "LEFT_WRIST", "RHip": "RIGHT_HIP",
    "RKnee": "RIGHT_KNEE", "RAnkle": "RIGHT_ANKLE", "LHip": "LEFT_HIP", "LKnee": "LEFT_KNEE",
    "LAnkle": "LEFT_ANKLE", "REye": "RIGHT_EYE", "LEye": "LEFT_EYE", "REar": "RIGHT_EAR",
    "LEar": "LEFT_EAR", "LBigToe": "LEFT_FOOT_INDEX", "LHeel": "LEFT_HEEL",
    "RBigToe": "RIGHT_FOOT_INDEX", "RHeel": "RIGHT_HEEL",
}
OPENPOSE_HAND_POINTS = (
    "BASE", "T_STT", "T_BCMC", "T_MCP", "T_IP", "I_CMC", "I_MCP", "I_PIP", "I_DIP", "M_CMC", "M_MCP",
    "M_PIP", "M_DIP", "R_CMC", "R_MCP", "R_PIP", "R_DIP", "P_CMC", "P_MCP", "P_PIP", "P_DIP",
)  # same joint order as MediaPipe's hand, other names
OPENPOSE_COMPONENTS = {
    "pose_keypoints_2d": BODY, "face_keypoints_2d": "OPENPOSE_FACE",
    "hand_left_keypoints_2d": LEFT_HAND, "hand_right_keypoints_2d": RIGHT_HAND,
}


@dataclass(frozen=True)
class Layout:
    """An ordered list of named keypoints."""

    name: str
    points: tuple = field(repr=False, hash=False)  # tuple of (component, point); hash by name

    @property
    def size(self) -> int:
        return len(self.points)

    @cached_property
    def index(self) -> dict:
        return {p: i for i, p in enumerate(self.points)}

    def components(self) -> list:
        """Component names in order of first appearance."""
        return list(dict.fromkeys(c for c, _ in self.points))

    def indices(self, points) -> np.ndarray:
        """Indices of the given (component, point) names; every one must exist."""
        return np.array([self.index[p] for p in points], dtype=np.int64)


def _component(component: str, names) -> tuple:
    return tuple((component, str(n)) for n in names)


def _holistic(face_points: int, world: bool) -> tuple:
    points = (_component(BODY, BODY_POINTS) + _component(FACE, range(face_points))
              + _component(LEFT_HAND, HAND_POINTS) + _component(RIGHT_HAND, HAND_POINTS))
    return points + (_component(BODY_WORLD, BODY_POINTS) if world else ())


HOLISTIC_543 = Layout("holistic543", _holistic(468, world=False))
HOLISTIC_576 = Layout("holistic576", _holistic(468, world=True))
HOLISTIC_586 = Layout("holistic586", _holistic(478, world=True))
REDUCED_178 = Layout("reduced178", _component(BODY, REDUCED_BODY_POINTS)
                     + _component(FACE, FACE_CONTOUR_IDS) + _component(LEFT_HAND, HAND_POINTS)
                     + _component(RIGHT_HAND, HAND_POINTS))
OPENPOSE_137 = Layout("openpose137", _component("pose_keypoints_2d", (
    "Nose", "Neck", "RShoulder", "RElbow", "RWrist", "LShoulder", "LElbow", "LWrist", "MidHip",
    "RHip", "RKnee", "RAnkle", "LHip", "LKnee", "LAnkle", "REye", "LEye", "REar", "LEar", "LBigToe",
    "LSmallToe", "LHeel", "RBigToe", "RSmallToe", "RHeel"))
    + _component("face_keypoints_2d", [f"F{i}" for i in range(70)])
    + _component("hand_left_keypoints_2d", OPENPOSE_HAND_POINTS)
    + _component("hand_right_keypoints_2d", OPENPOSE_HAND_POINTS))
MODEL_203 = Layout("model203", _component(BODY, BODY_POINTS) + _component(FACE, FACE_CONTOUR_IDS)
                   + _component(LEFT_HAND, HAND_POINTS) + _component(RIGHT_HAND, HAND_POINTS))
# The body and both hands, no face: lexical-sign sources converted for a model that hides the face
BODY_HANDS_75 = Layout("bodyhands75", _component(BODY, BODY_POINTS) + _component(LEFT_HAND, HAND_POINTS)
                       + _component(RIGHT_HAND, HAND_POINTS))

LAYOUTS = {lay.name: lay for lay in
           (HOLISTIC_543, HOLISTIC_576, HOLISTIC_586, REDUCED_178, OPENPOSE_137, MODEL_203, BODY_HANDS_75)}


def canonical_name(point: Point) -> Point:
    """The MediaPipe name of a point, translating OpenPose's names where they have one."""
    component, name = point
    if component not in OPENPOSE_COMPONENTS:
        return point
    target = OPENPOSE_COMPONENTS[component]
    if target == BODY:
        return (BODY, OPENPOSE_BODY_ALIASES.get(name, f"openpose:{name}"))
    if target in (LEFT_HAND, RIGHT_HAND) and name in OPENPOSE_HAND_POINTS:
        return (target, HAND_POINTS[OPENPOSE_HAND_POINTS.index(name)])
    return (target, name)


def layout_from_points(points) -> Layout:
    """The known layout with exactly these points, or a custom one named after its components."""
    points = tuple((str(c), str(p)) for c, p in points)
    for layout in LAYOUTS.values():
        if layout.points == points:
            return layout
    sizes = "+".join(f"{c}:{sum(1 for cc, _ in points if cc == c)}"
                     for c in dict.fromkeys(c for c, _ in points))
    return Layout(f"custom({sizes})", points)


@lru_cache(maxsize=64)
def conversion_plan(source: Layout, target: Layout) -> np.ndarray:
    """For each target point, its index in the source, or -1 where the source lacks it."""
    by_name = {canonical_name(p): i for i, p in enumerate(source.points)}
    plan = np.array([by_name.get(p, -1) for p in target.points], dtype=np.int64)
    plan.flags.writeable = False  # shared by the cache
    return plan


def convert(frames: np.ndarray, mask: np.ndarray, plan: np.ndarray) -> tuple:
    """Re-order frames [T, K, D] and mask [T, K] by a plan; absent points come out masked zeros."""
    present = plan >= 0
    safe = np.where(present, plan, 0)
    out_mask = mask[:, safe] & present                      # (T, K_target)
    out = np.where(out_mask[..., None], frames[:, safe], 0.0).astype(frames.dtype)  # (T, K_target, D)
    return out, out_mask


@lru_cache(maxsize=1)
def flipped_face_points() -> tuple:
    """pose-format's mirror table of the 478 face-mesh points (FLIPPED_FACE_POINTS), read from its
    source: importing `pose_format.utils.holistic` imports mediapipe, which training machines lack
    (mediapipe 0.10.18 needs numpy < 2), and the flip augmentation needs the table there."""
    import ast
    import importlib.util

    spec = importlib.util.find_spec("pose_format.utils.holistic")
    with open(spec.origin, encoding="utf-8") as f:
        tree = ast.parse(f.read())
    for node in tree.body:
        if isinstance(node, ast.Assign) and [getattr(t, "id", None) for t in node.targets] == [
                "FLIPPED_FACE_POINTS"]:
            return tuple(ast.literal_eval(node.value))
    raise ImportError(f"{spec.origin} has no FLIPPED_FACE_POINTS list: unsupported pose-format version")


@lru_cache(maxsize=16)
def flip_permutation(layout: Layout) -> np.ndarray:
    """Index of each point's mirror image: left/right body points and hands swap, face mirrored."""
    flipped_face = flipped_face_points()

    def mirror(point: Point) -> Point:
        component, name = point
        if component == FACE:
            return (FACE, str(flipped_face[int(name)]))
        if component in (LEFT_HAND, RIGHT_HAND):
            return (RIGHT_HAND if component == LEFT_HAND else LEFT_HAND, name)
        swapped = name.replace("LEFT", "\0").replace("RIGHT", "LEFT").replace("\0", "RIGHT")
        return (component, swapped)

    perm = np.array([layout.index.get(mirror(p), i) for i, p in enumerate(layout.points)],
                    dtype=np.int64)
    perm.flags.writeable = False  # shared by the cache
    return perm
