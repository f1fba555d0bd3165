"""A still photo to a pose clip: MediaPipe Holistic in static-image mode, and Hands where it sees no hand.

Holistic finds hands only next to a body it has found, so a close-up of a hand (the usual photo of
a handshape) comes back empty; MediaPipe's Hands solution then looks for hands alone. Hands labels
each hand as if the image were mirrored (a selfie): its "Left" is the signer's right hand. A photo
becomes a clip of `frames` identical frames, the way the trainer holds its handshape photos.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .errors import SignclipError
from .layouts import BODY, HOLISTIC_576, LEFT_HAND, RIGHT_HAND, Layout
from .pose import PoseClip

PHOTO_FPS = 30.0  # a held photo is timed like a phone video
HANDS_576 = np.array([c in (LEFT_HAND, RIGHT_HAND) for c, _ in HOLISTIC_576.points])  # (576,)


def hold(frame: np.ndarray, mask: np.ndarray, frames: int) -> tuple:
    """One frame [K, 3] + mask [K] held still: frames [T, K, 3] and mask [T, K], T = `frames`."""
    return np.repeat(frame[None], frames, axis=0), np.repeat(mask[None], frames, axis=0)


def hand_side(mediapipe_label: str) -> str:
    """The signer's hand (component name) for MediaPipe's handedness label of an unmirrored image."""
    return RIGHT_HAND if mediapipe_label == "Left" else LEFT_HAND


def place_hands(layout: Layout, hands: list) -> tuple:
    """Frame [K, 3] and mask [K] of `layout` holding `hands`: (label, points [21, 3]) pairs, best first.

    A second hand with the same label as the first goes to the other side: two hands are two sides.
    """
    frame = np.zeros((layout.size, 3), np.float32)
    mask = np.zeros(layout.size, bool)
    taken = set()
    for label, points in hands:
        side = hand_side(label)
        if side in taken:
            side = LEFT_HAND if side == RIGHT_HAND else RIGHT_HAND
        if side in taken:
            break
        taken.add(side)
        start = layout.index[(side, "WRIST")]
        frame[start:start + 21] = points
        mask[start:start + 21] = np.isfinite(points).all(axis=1)
    return np.where(mask[:, None], frame, 0.0).astype(np.float32), mask


def read_image(path) -> np.ndarray:
    """The RGB pixels [H, W, 3] uint8 of an image file, or one clear SignclipError."""
    import cv2

    path = Path(path)
    if not path.exists():
        raise SignclipError(f"{path}: no such file")
    if path.is_dir():
        raise SignclipError(f"{path}: is a folder, not a photo")
    data = np.fromfile(path, np.uint8)
    bgr = cv2.imdecode(data, cv2.IMREAD_COLOR) if data.size else None
    if bgr is None:
        why = "empty file" if not data.size else "corrupt, or not an image format OpenCV reads"
        raise SignclipError(f"{path}: not a readable image ({why})")
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def _hands_alone(rgb: np.ndarray) -> list:
    """(label, points [21, 3] in pixels) of every hand MediaPipe Hands finds, best first."""
    import mediapipe as mp

    from .capture import quiet_native_stderr

    height, width = rgb.shape[:2]
    with quiet_native_stderr(), mp.solutions.hands.Hands(
            static_image_mode=True, max_num_hands=2, model_complexity=1,
            min_detection_confidence=0.3) as hands:
        result = hands.process(rgb)
    if not result.multi_hand_landmarks:
        return []
    found = []
    for landmarks, handedness in zip(result.multi_hand_landmarks, result.multi_handedness):
        label = handedness.classification[0]
        points = np.array([[p.x * width, p.y * height, p.z] for p in landmarks.landmark], np.float32)
        found.append((label.score, label.label, points))
    return [(label, points) for _, label, points in sorted(found, key=lambda f: -f[0])]


SHOULDERS_576 = HOLISTIC_576.indices([(BODY, "RIGHT_SHOULDER"), (BODY, "LEFT_SHOULDER")])
MIN_SHOULDER_VISIBILITY = 0.5


def body_in_picture(frame: np.ndarray, confidence: np.ndarray, width: int, height: int) -> bool:
    """Whether both shoulders are in the picture. On a close-up of a hand Holistic still returns a
    body, guessed: its shoulders fall outside the image or come with a low visibility."""
    xy, seen = frame[SHOULDERS_576, :2], confidence[SHOULDERS_576]
    inside = (xy >= 0).all() and (xy[:, 0] < width).all() and (xy[:, 1] < height).all()
    return bool(inside and (seen >= MIN_SHOULDER_VISIBILITY).all())


def photo_keypoints(rgb: np.ndarray) -> tuple:
    """(frame [576, 3], mask [576]) of one photo: Holistic's body, face and hands, else Hands' hands.

    Without both shoulders in the picture only the hands are kept: the clip is a hand alone."""
    from .capture import CaptureConfig, HolisticCapture

    with HolisticCapture(CaptureConfig(), static_image_mode=True) as holistic:
        frame, confidence = holistic.process(rgb)
    mask = confidence > 0
    if not body_in_picture(frame, confidence, rgb.shape[1], rgb.shape[0]):
        mask &= HANDS_576
    if not mask[HANDS_576].any():
        hands = _hands_alone(rgb)
        if hands:
            hand_frame, hand_mask = place_hands(HOLISTIC_576, hands)
            frame = np.where(HANDS_576[:, None], hand_frame, frame)
            mask = np.where(HANDS_576, hand_mask, mask)
    return frame.astype(np.float32), mask


def photo_to_clip(path, frames: int = 1) -> PoseClip:
    """A photo as a clip of `frames` identical frames; SignclipError when it shows no hand."""
    return read_photo(path, frames)[1]


def read_photo(path, frames: int = 1) -> tuple:
    """(RGB pixels [H, W, 3], the photo as a clip of `frames` identical frames): for showing it too."""
    rgb = read_image(path)
    frame, mask = photo_keypoints(rgb)
    if not mask[HANDS_576].any():
        raise SignclipError(f"{path}: no hand found in the photo")
    height, width = rgb.shape[:2]
    frame = np.where(mask[:, None], frame, 0.0).astype(np.float32)
    return rgb, PoseClip(HOLISTIC_576, *hold(frame, mask, frames), PHOTO_FPS, width, height)
