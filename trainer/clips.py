"""A manifest row's clip: its `.pose` file, or one handshape photo held as the model reads a photo."""

from __future__ import annotations

from signclip.runtime.pose import PoseClip
from signclip.runtime.pose_io import read_pose

from .data import ManifestRow
from .handshapes import photo_clip


def read_clip(row: ManifestRow, photo_frames: int) -> PoseClip:
    """A row's PoseClip: its `.pose` file, or one handshape photo held for `photo_frames` frames."""
    if row.item is None:
        return read_pose(row.pose)
    return photo_clip(row.pose, row.item, photo_frames)
