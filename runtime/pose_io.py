"""Reading and writing `.pose` files through the pose-format library (v0.0, v0.1, v0.2)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from .atomic import atomic_write_bytes
from .errors import SignclipError, UnsupportedLayout
from .layouts import (
    BODY,
    HOLISTIC_576,
    HOLISTIC_586,
    LEFT_HAND,
    MODEL_203,
    RIGHT_HAND,
    Layout,
    conversion_plan,
    layout_from_points,
)
from .pose import PoseClip

# Components the model can use; a file must hold at least one hand or the body.
USABLE = (BODY, LEFT_HAND, RIGHT_HAND)


def _check_file(path: Path) -> None:
    if not path.exists():
        raise SignclipError(f"{path}: no such file")
    if path.is_dir():
        raise SignclipError(f"{path}: is a folder, not a .pose file")
    if path.stat().st_size == 0:
        raise SignclipError(f"{path}: empty file, not a .pose file")


def read_pose(path) -> PoseClip:
    """Read the first person of a `.pose` file; masked where confidence is 0 or data not finite."""
    from pose_format import Pose

    path = Path(path)
    _check_file(path)
    try:
        pose = Pose.read(path.read_bytes())
        data = np.asarray(pose.body.data.filled(0) if np.ma.isMaskedArray(pose.body.data)
                          else pose.body.data, dtype=np.float32)
        confidence = np.asarray(pose.body.confidence, dtype=np.float32)
        points = [(c.name, p) for c in pose.header.components for p in c.points]
        fps = float(pose.body.fps)
        width, height = int(pose.header.dimensions.width), int(pose.header.dimensions.height)
    except SignclipError:
        raise
    except Exception as e:  # pose-format raises many kinds on corrupt bytes
        raise SignclipError(f"{path}: not a readable .pose file (truncated or corrupt: "
                            f"{type(e).__name__})") from e
    if data.ndim != 4 or data.shape[2] != len(points) or confidence.shape != data.shape[:3]:
        raise SignclipError(f"{path}: not a readable .pose file (body shape {data.shape} does "
                            f"not match its header's {len(points)} points)")
    if data.shape[1] == 0:
        raise SignclipError(f"{path}: the file holds no person")
    frames = data[:, 0]                                     # (T, K, D): first person
    if frames.shape[-1] < 3:                                # 2-D formats (OpenPose): z = 0
        frames = np.concatenate([frames, np.zeros(frames.shape[:2] + (3 - frames.shape[-1],),
                                                  np.float32)], axis=-1)
    frames = frames[..., :3]
    mask = (confidence[:, 0] > 0) & np.isfinite(frames).all(axis=-1)
    frames = np.where(mask[..., None], frames, 0.0).astype(np.float32)
    layout = layout_from_points(points)
    check_usable(layout, path)
    return PoseClip(layout, frames, mask, fps if fps > 0 else 25.0, width, height)


def check_usable(layout: Layout, path="input") -> None:
    """Raise `UnsupportedLayout` when no body or hand point maps onto the model's layout."""
    plan = conversion_plan(layout, MODEL_203)
    found = {MODEL_203.points[i][0] for i in np.flatnonzero(plan >= 0)}
    if not found & set(USABLE):
        raise UnsupportedLayout(f"{path}: unsupported layout: found components "
                                f"{', '.join(layout.components()) or 'none'}; need at least one "
                                f"of {', '.join(USABLE)}")


def _header(clip: PoseClip):
    from pose_format.pose_header import PoseHeader, PoseHeaderComponent, PoseHeaderDimensions

    components = []
    if clip.layout in (HOLISTIC_576, HOLISTIC_586):
        from pose_format.utils.holistic import holistic_components  # imports mediapipe

        extra = 10 if clip.layout is HOLISTIC_586 else 0
        components = holistic_components("XYZC", additional_face_points=extra)
    else:
        for name in clip.layout.components():
            points = [p for c, p in clip.layout.points if c == name]
            components.append(PoseHeaderComponent(name=name, points=points, limbs=[],
                                                  colors=[(255, 0, 0)], point_format="XYZC"))
    dims = PoseHeaderDimensions(width=clip.width or 1, height=clip.height or 1, depth=0)
    return PoseHeader(version=0.2, dimensions=dims, components=components)


def write_pose(clip: PoseClip, path) -> None:
    """Write a `.pose` file (v0.2) that pose-format reads back; atomic: never a half-written file."""
    import io

    from pose_format import Pose
    from pose_format.numpy.pose_body import NumPyPoseBody

    if clip.frames.shape != clip.mask.shape + (3,) or clip.mask.shape[1] != clip.layout.size:
        raise ValueError(f"cannot write frames {clip.frames.shape} with mask {clip.mask.shape} "
                         f"for layout {clip.layout.name} ({clip.layout.size} points)")
    data = clip.frames[:, None].astype(np.float32)              # (T, 1, K, 3)
    confidence = clip.mask[:, None].astype(np.float32)          # (T, 1, K)
    body = NumPyPoseBody(fps=clip.fps, data=data, confidence=confidence)
    buffer = io.BytesIO()
    Pose(_header(clip), body).write(buffer)
    atomic_write_bytes(Path(path), buffer.getvalue())


def is_pose_file(path) -> bool:
    return os.fspath(path).lower().endswith(".pose")



