"""Real streams for the streaming tests: the joined C-A-B video through MediaPipe (once per session),
and long sequences made of real lexicon clips with rest frames built from a real body in between."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from signclip.runtime.pose.clip import PoseClip
from signclip.runtime.pose.io import read_pose
from signclip.runtime.pose.layouts import BODY, LEFT_HAND, RIGHT_HAND

DATA = Path(__file__).resolve().parents[1] / "data"
CAB_VIDEO = DATA / "videos" / "asl_letters_CAB.mp4"
LEXICON = DATA / "lexicon"
# From tests/data/make_cab_video.py: the frame where each letter's right hand leaves the lap, and the
# frame where its drop is back in the lap (blocks of 102, 105 and 120 frames; 327 in all).
CAB_TRUTH = (("C", 18, 96), ("A", 102 + 15, 207 - 6), ("B", 207 + 42, 327 - 6))
# body points that move with the hands (lowered at rest)
ARM_POINTS = ("WRIST", "PINKY", "INDEX", "THUMB")


@lru_cache(maxsize=1)
def cab_clip() -> PoseClip:
    """MediaPipe Holistic over the C-A-B video: ~330 frames, 5-45 s on a shared 2-core CPU."""
    from signclip.runtime.capture.holistic import video_to_clip

    return video_to_clip(CAB_VIDEO)


def lexicon_clips() -> list:
    """(letter, PoseClip) of the real lexicon clips copied into tests/data/lexicon."""
    with open(LEXICON / "data.csv", newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    return [(r["words"], read_pose(LEXICON / r["path"])) for r in rows]


def arm_indices(layout, sides=("RIGHT", "LEFT")) -> list:
    hands = {"RIGHT": RIGHT_HAND, "LEFT": LEFT_HAND}
    out = []
    for side in sides:
        out += [i for i, (c, _) in enumerate(layout.points) if c == hands[side]]
        out += [layout.index[(BODY, f"{side}_{p}")] for p in ARM_POINTS]
    return out


def shoulder_frame(frame: np.ndarray, layout) -> tuple:
    """(shoulder midpoint y, shoulder width) of one frame."""
    r, left = layout.index[(BODY, "RIGHT_SHOULDER")], layout.index[(BODY, "LEFT_SHOULDER")]
    return (frame[r, 1] + frame[left, 1]) / 2, float(np.linalg.norm(frame[r, :2] - frame[left, :2]))


def rest_frame(frame: np.ndarray, mask: np.ndarray, layout, *, away: bool = False) -> tuple:
    """The same real body with its hands resting: hand points masked and the body's wrists lowered to
    1.6 shoulder widths below the shoulders (the lap), or, `away`, masked too (out of the frame)."""
    frame, mask = frame.copy(), mask.copy()
    centre_y, width = shoulder_frame(frame, layout)
    for i, (c, _) in enumerate(layout.points):
        if c in (LEFT_HAND, RIGHT_HAND):
            mask[i] = False
            frame[i] = 0
    for side in ("RIGHT", "LEFT"):
        for p in ARM_POINTS:
            i = layout.index[(BODY, f"{side}_{p}")]
            if away:
                mask[i], frame[i] = False, 0
            else:
                frame[i, 1] = centre_y + 1.6 * width
    return frame, mask


def hand_at(frame: np.ndarray, mask: np.ndarray, layout, height: float, side: str = "RIGHT") -> tuple:
    """The frame with one hand (its 21 points and the body's arm points) moved so that the body wrist
    is `height` shoulder widths below the shoulders; the other hand rests in the lap."""
    other = "LEFT" if side == "RIGHT" else "RIGHT"
    frame, mask = frame.copy(), mask.copy()
    centre_y, width = shoulder_frame(frame, layout)
    wrist = layout.index[(BODY, f"{side}_WRIST")]
    shift = centre_y + height * width - frame[wrist, 1]
    moved = arm_indices(layout, (side,))
    frame[moved, 1] += shift
    rest, rest_mask = rest_frame(frame, mask, layout)
    for i in arm_indices(layout, (other,)):
        frame[i], mask[i] = rest[i], rest_mask[i]
    return frame, mask


@dataclass(frozen=True)
class Stream:
    clip: PoseClip
    truth: list  # (label, first frame, end frame exclusive) of each sign


def lexicon_stream(repeats: int = 3, rests=(20, 30, 15, 40, 25), gap_at: int | None = 4) -> Stream:
    """Lexicon clips one after another (at the first clip's fps), each preceded by rest frames made
    from that clip's own first frame; rests alternate between hands in the lap and hands out of the
    frame. In sign `gap_at`, three frames lose every hand point (missed detections)."""
    clips = lexicon_clips()
    layout, fps = clips[0][1].layout, clips[0][1].fps
    frames, masks, truth = [], [], []
    n = 0
    for r in range(repeats):
        for j, (label, clip) in enumerate(clips):
            k = r * len(clips) + j
            rest, rest_mask = rest_frame(clip.frames[0], clip.mask[0], layout, away=k % 2 == 1)
            length = rests[k % len(rests)]
            frames += [rest] * length
            masks += [rest_mask] * length
            n += length
            f, m = clip.frames.copy(), clip.mask.copy()
            if k == gap_at and clip.num_frames > 10:
                middle = clip.num_frames // 2
                m[middle - 1:middle + 2][:, arm_indices(layout)] = False
            frames += list(f)
            masks += list(m)
            truth.append((label, n, n + clip.num_frames))
            n += clip.num_frames
    tail, tail_mask = rest_frame(clips[0][1].frames[0], clips[0][1].mask[0], layout)
    frames += [tail] * 30
    masks += [tail_mask] * 30
    return Stream(PoseClip(layout, np.stack(frames), np.stack(masks), fps, 500, 500), truth)
