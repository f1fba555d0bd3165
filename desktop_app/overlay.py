"""The skeleton drawn over the video: edges between Holistic keypoints, chosen by point name.

Edges follow MediaPipe's drawing sets (upper-body pose connections, hand connections, face-mesh
contours); `tests/app/test_overlay.py` checks them against the mediapipe package.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from signclip.runtime.pose.layouts import BODY, FACE, HAND_POINTS, LEFT_HAND, RIGHT_HAND, Layout

# MediaPipe POSE_CONNECTIONS without the legs (signers are seen from the hips up).
BODY_EDGES = (
    ("NOSE", "LEFT_EYE_INNER"), ("LEFT_EYE_INNER", "LEFT_EYE"), ("LEFT_EYE", "LEFT_EYE_OUTER"),
    ("LEFT_EYE_OUTER", "LEFT_EAR"), ("NOSE", "RIGHT_EYE_INNER"), ("RIGHT_EYE_INNER", "RIGHT_EYE"),
    ("RIGHT_EYE", "RIGHT_EYE_OUTER"), ("RIGHT_EYE_OUTER", "RIGHT_EAR"), ("MOUTH_LEFT", "MOUTH_RIGHT"),
    ("LEFT_SHOULDER", "RIGHT_SHOULDER"), ("LEFT_SHOULDER", "LEFT_ELBOW"), ("RIGHT_SHOULDER", "RIGHT_ELBOW"),
    ("LEFT_ELBOW", "LEFT_WRIST"), ("RIGHT_ELBOW", "RIGHT_WRIST"), ("LEFT_WRIST", "LEFT_PINKY"),
    ("LEFT_WRIST", "LEFT_INDEX"), ("LEFT_WRIST", "LEFT_THUMB"), ("LEFT_PINKY", "LEFT_INDEX"),
    ("RIGHT_WRIST", "RIGHT_PINKY"), ("RIGHT_WRIST", "RIGHT_INDEX"), ("RIGHT_WRIST", "RIGHT_THUMB"),
    ("RIGHT_PINKY", "RIGHT_INDEX"), ("LEFT_SHOULDER", "LEFT_HIP"), ("RIGHT_SHOULDER", "RIGHT_HIP"),
    ("LEFT_HIP", "RIGHT_HIP"),
)
HAND_EDGES = (
    (0, 1), (0, 5), (0, 17), (1, 2), (2, 3), (3, 4), (5, 6), (5, 9), (6, 7), (7, 8), (9, 10), (9, 13),
    (10, 11), (11, 12), (13, 14), (13, 17), (14, 15), (15, 16), (17, 18), (18, 19), (19, 20),
)  # MediaPipe HAND_CONNECTIONS, as indices of HAND_POINTS
FACE_CONTOUR_EDGES = (
    (0, 267), (7, 163), (10, 338), (13, 312), (14, 317), (17, 314), (21, 54), (33, 7), (33, 246),
    (37, 0), (39, 37), (40, 39), (46, 53), (52, 65), (53, 52), (54, 103), (58, 132), (61, 146),
    (61, 185), (63, 105), (65, 55), (66, 107), (67, 109), (70, 63), (78, 95), (78, 191), (80, 81),
    (81, 82), (82, 13), (84, 17), (87, 14), (88, 178), (91, 181), (93, 234), (95, 88), (103, 67),
    (105, 66), (109, 10), (127, 162), (132, 93), (136, 172), (144, 145), (145, 153), (146, 91),
    (148, 176), (149, 150), (150, 136), (152, 148), (153, 154), (154, 155), (155, 133), (157, 173),
    (158, 157), (159, 158), (160, 159), (161, 160), (162, 21), (163, 144), (172, 58), (173, 133),
    (176, 149), (178, 87), (181, 84), (185, 40), (191, 80), (234, 127), (246, 161), (249, 390),
    (251, 389), (263, 249), (263, 466), (267, 269), (269, 270), (270, 409), (276, 283), (282, 295),
    (283, 282), (284, 251), (288, 397), (293, 334), (295, 285), (296, 336), (297, 332), (300, 293),
    (310, 415), (311, 310), (312, 311), (314, 405), (317, 402), (318, 324), (321, 375), (323, 361),
    (324, 308), (332, 284), (334, 296), (338, 297), (356, 454), (361, 288), (365, 379), (373, 374),
    (374, 380), (375, 291), (377, 152), (378, 400), (379, 378), (380, 381), (381, 382), (382, 362),
    (384, 398), (385, 384), (386, 385), (387, 386), (388, 387), (389, 356), (390, 373), (397, 365),
    (398, 362), (400, 377), (402, 318), (405, 321), (409, 291), (415, 308), (454, 323), (466, 388),
)  # MediaPipe FACEMESH_CONTOURS, as face landmark ids

# Part name -> RGB colour of its lines.
COLORS = {"body": (255, 255, 255), "face": (200, 200, 200), "left_hand": (80, 200, 255),
          "right_hand": (255, 120, 80)}


@dataclass(frozen=True)
class Skeleton:
    """Edges of one layout by part: {part: int array [E, 2] of point indices into the layout}."""

    parts: dict

    @property
    def edge_count(self) -> int:
        return sum(len(e) for e in self.parts.values())


def skeleton(layout: Layout) -> Skeleton:
    """The drawable edges of `layout`; edges whose points the layout lacks are left out."""
    index = layout.index

    def edges(pairs) -> np.ndarray:
        found = [(index[a], index[b]) for a, b in pairs if a in index and b in index]
        return np.array(found, np.int64).reshape(-1, 2)  # (E, 2)

    return Skeleton({
        "body": edges(((BODY, a), (BODY, b)) for a, b in BODY_EDGES),
        "face": edges(((FACE, str(a)), (FACE, str(b))) for a, b in FACE_CONTOUR_EDGES),
        "left_hand": edges(((LEFT_HAND, HAND_POINTS[a]), (LEFT_HAND, HAND_POINTS[b])) for a, b in HAND_EDGES),
        "right_hand": edges(((RIGHT_HAND, HAND_POINTS[a]), (RIGHT_HAND, HAND_POINTS[b]))
                            for a, b in HAND_EDGES),
    })


def visible_segments(keypoints: np.ndarray, mask: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Line segments [S, 4] (x1, y1, x2, y2 in pixels) of the edges whose two points are observed."""
    keep = mask[edges[:, 0]] & mask[edges[:, 1]]
    ends = edges[keep]
    return np.concatenate([keypoints[ends[:, 0], :2], keypoints[ends[:, 1], :2]], axis=1)  # (S, 4)
