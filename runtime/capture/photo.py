"""A still photo to a pose clip: MediaPipe Holistic in static-image mode, and Hands where it sees no hand.

Holistic finds hands only next to a body it has found, so a close-up of a hand (the usual photo of
a handshape) comes back empty; MediaPipe's Hands solution then looks for hands alone, in the photo
as it is, inside a border, mirrored and in tiles, until a view shows a hand. Hands labels
each hand as if the image were mirrored (a selfie): its "Left" is the signer's right hand. A photo
becomes a clip of `frames` identical frames, the way the trainer holds its handshape photos.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import SignclipError
from ..pose.clip import PoseClip
from ..pose.layouts import BODY, HOLISTIC_576, LEFT_HAND, RIGHT_HAND, Layout

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


@dataclass(frozen=True)
class View:
    """A part of a photo as MediaPipe Hands is shown it: a box of the photo, a border, a mirror."""

    box: tuple  # x0, y0, x1, y1 in the photo's pixels
    border: int = 0
    mirrored: bool = False


MIN_TILE = 256  # pixels: a smaller tile would be scaled up to the palm detector's 192, not down


def tiles(height: int, width: int) -> list:
    """Overlapping square boxes of a half and a quarter of the shorter side, for small hands in big
    pictures: the palm detector sees the whole picture at 192 pixels, where such a hand vanishes."""
    boxes = []
    for fraction in (2, 4):
        side = min(height, width) // fraction
        if side < MIN_TILE:
            break
        stride = side // 2
        for y0 in range(0, height - side + 1, stride):
            for x0 in range(0, width - side + 1, stride):
                boxes.append((x0, y0, x0 + side, y0 + side))
    return boxes


# Borders around a close-up, as fractions of its longer side: the palm detector sees the picture at
# 192 pixels and finds a given hand at some scales and not others (a C filling 90% of a crop: found
# with 0.15, 0.75 and 1.0, not with 0.25 or 0.5); the sample: 0.57 found as is, 0.99 at 0.5.
BORDERS = (0.5, 1.0, 0.25)


def views(height: int, width: int) -> list:
    """The views of a photo to look for hands in, in order, until one shows a hand.

    A hand that fills the picture is not found as it is: the palm detector needs context around it,
    so the photo comes again inside plain borders of several sizes, then mirrored (Hands finds some
    handshapes in one orientation only), then in tiles."""
    whole = (0, 0, width, height)
    borders = [int(max(height, width) * f) for f in BORDERS]
    return ([View(whole)] + [View(whole, b) for b in borders] + [View(whole, b, True) for b in borders]
            + [View(b) for b in tiles(height, width)])


def edge_colour(rgb: np.ndarray) -> list:
    """The median colour of a picture's outermost pixels: the border continues its background."""
    edges = np.concatenate([rgb[0], rgb[-1], rgb[:, 0], rgb[:, -1]])
    return [int(c) for c in np.median(edges, axis=0)]


def render(rgb: np.ndarray, view: View) -> np.ndarray:
    """The pixels [h, w, 3] of `view` of the photo `rgb`."""
    import cv2

    x0, y0, x1, y1 = view.box
    part = rgb[y0:y1, x0:x1]
    if view.border:
        b = view.border
        part = cv2.copyMakeBorder(part, b, b, b, b, cv2.BORDER_CONSTANT, value=edge_colour(part))
    return np.ascontiguousarray(part[:, ::-1] if view.mirrored else part)


def to_photo(points: np.ndarray, view: View, view_size: tuple, photo_width: int) -> np.ndarray:
    """Hands' normalized landmarks [21, 3] in `view` (of size (h, w)) as pixels [21, 3] of the photo;
    z stays in MediaPipe's units, relative to the photo's width."""
    height, width = view_size
    x = points[:, 0] * width
    if view.mirrored:
        x = width - x
    x = x - view.border + view.box[0]
    y = points[:, 1] * height - view.border + view.box[1]
    return np.stack([x, y, points[:, 2] * width / photo_width], axis=1).astype(np.float32)


def mirror_label(label: str, mirrored: bool) -> str:
    """MediaPipe's handedness label of a hand seen in a mirrored view, as the photo shows it."""
    return {"Left": "Right", "Right": "Left"}.get(label, label) if mirrored else label


def _hands_alone(rgb: np.ndarray) -> list:
    """(label, points [21, 3] in pixels) of every hand MediaPipe Hands finds, best first, in the first
    view of the photo that shows one (see `views`)."""
    from .holistic import quiet_native_stderr
    from .holistic_graph import import_mediapipe

    mp = import_mediapipe()

    height, width = rgb.shape[:2]
    with quiet_native_stderr(), mp.solutions.hands.Hands(
            static_image_mode=True, max_num_hands=2, model_complexity=1,
            min_detection_confidence=0.3) as hands:
        for view in views(height, width):
            pixels = render(rgb, view)
            result = hands.process(pixels)
            if result.multi_hand_landmarks:
                break
        else:
            return []
    found = []
    for landmarks, handedness in zip(result.multi_hand_landmarks, result.multi_handedness):
        label = handedness.classification[0]
        normalized = np.array([[p.x, p.y, p.z] for p in landmarks.landmark], np.float32)
        points = to_photo(normalized, view, pixels.shape[:2], width)
        found.append((label.score, mirror_label(label.label, view.mirrored), points))
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
    from .holistic import CaptureConfig, HolisticCapture

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
