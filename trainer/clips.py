"""A manifest row's clip: its `.pose` file, a handshape photo held as the model reads a photo, or
one clip of a converted word file."""

from __future__ import annotations

from signclip.runtime.pose.clip import PoseClip
from signclip.runtime.pose.io import read_pose

from .data import ManifestRow
from .handshapes import load_set, photo_clip


def item_clip(path, item: int, photo_frames: int) -> PoseClip:
    """Row `item` of an `.npz` of many clips: a word file's clip, or a photo held `photo_frames` frames."""
    from .words import is_word_file, word_clip

    if is_word_file(load_set(str(path))):
        return word_clip(path, item)
    return photo_clip(path, item, photo_frames)


def is_word_row(row: ManifestRow) -> bool:
    """Whether a row is a clip of a converted word file (not a photo, not a .pose file)."""
    from .words import is_word_file

    return row.item is not None and is_word_file(load_set(str(row.pose)))


def read_clip(row: ManifestRow, photo_frames: int) -> PoseClip:
    """A row's PoseClip: its `.pose` file, or its item of a photo or word file."""
    if row.item is None:
        return read_pose(row.pose)
    return item_clip(row.pose, row.item, photo_frames)


def credits(records) -> list:
    """The photo and word sets that manifest records draw on, with license and credit: checkpoints
    and bundles carry them (CC BY 4.0 requires it)."""
    from .handshapes import SETS
    from .handshapes import credits as set_credits
    from .words import WORD_SETS

    return set_credits(records, [*SETS.values(), *WORD_SETS.values()])
