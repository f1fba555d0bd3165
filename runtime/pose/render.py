"""A clip as something to watch: an animated skeleton (GIF or MP4) drawn by pose-format's
PoseVisualizer, or the `.pose` file itself."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from ..errors import SignclipError
from .clip import PoseClip
from .io import to_pose_format, write_pose
from .layouts import HOLISTIC_576

SHOW_SUFFIXES = (".gif", ".mp4", ".pose")


def check_show_path(path) -> Path:
    path = Path(path)
    if path.suffix.lower() not in SHOW_SUFFIXES:
        raise SignclipError(f"{path}: write a {', '.join(SHOW_SUFFIXES)} file (by its suffix)")
    if not path.parent.is_dir():
        raise SignclipError(f"{path}: no such folder {path.parent}")
    return path


def write_animation(clip: PoseClip, path) -> Path:
    """Write `clip` to `path` by its suffix, atomically: .pose as is, .gif or .mp4 drawn as a
    skeleton (MediaPipe Holistic's limbs) on white."""
    path = check_show_path(path)
    if path.suffix.lower() == ".pose":
        write_pose(clip, path)
        return path
    drawer = visualizer(clip)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=path.suffix, dir=path.parent)
    os.close(fd)
    try:
        if path.suffix.lower() == ".gif":
            drawer.save_gif(tmp, drawer.draw())   # timed at the clip's rate
        else:
            _write_mp4(tmp, drawer.draw(), clip.fps)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    return path


def visualizer(clip: PoseClip):
    """pose-format's PoseVisualizer of the clip; its `draw()` yields BGR frames [H, W, 3] uint8."""
    from pose_format.pose_visualizer import PoseVisualizer

    # Holistic's header carries the limbs that the visualizer joins
    return PoseVisualizer(to_pose_format(clip.to_layout(HOLISTIC_576)), thickness=2)


def _write_mp4(path: str, frames, fps: float) -> None:
    """MP4 with OpenCV (pose-format's save_video needs vidgear and ffmpeg)."""
    import cv2

    writer = None
    for frame in frames:
        if writer is None:
            h, w = frame.shape[:2]
            writer = cv2.VideoWriter(path, cv2.VideoWriter_fourcc(*"mp4v"), fps, (w, h))
        writer.write(frame)
    if writer is not None:
        writer.release()
