"""Reading and writing `.pose` files through the pose-format library (v0.0, v0.1, v0.2)."""

from __future__ import annotations

import os
import struct
from pathlib import Path

import numpy as np

from ..atomic import atomic_write_bytes
from ..errors import SignclipError, UnsupportedLayout
from .clip import PoseClip
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

# Components the model can use; a file must hold at least one hand or the body.
USABLE = (BODY, LEFT_HAND, RIGHT_HAND)


KNOWN_VERSIONS = (0.0, 0.1, 0.2)
MAX_FPS = 1000.0          # a header's frame rate above this is damage, not a camera
DEFAULT_FPS = 25.0        # for files that store 0 (unknown)
# Beyond any camera's pixels or a room in millimetres: damage, masked like NaN (squared, such values
# would overflow float32 in normalization)
MAX_COORDINATE = 1e6


def _check_file(path: Path) -> None:
    if not path.exists():
        raise SignclipError(f"{path}: no such file")
    if path.is_dir():
        raise SignclipError(f"{path}: is a folder, not a .pose file")
    if path.stat().st_size == 0:
        raise SignclipError(f"{path}: empty file, not a .pose file")


def _refuse(path, what: str) -> SignclipError:
    return SignclipError(f"{path}: not a readable .pose file: {what}")


def _check_body_size(data: bytes, start: int, version: float, points: int, dims: int, path) -> None:
    """Compare the body's size with what its header and counts say, before pose-format reads it.
    v0.2 stores fps (float32), frames (uint32) and people (uint16); v0.1 three uint16 and lets the
    size decide the frames (its 16-bit count wraps); v0.0 counts people per frame (checked while read)."""
    body, per_person = len(data) - start, points * (dims + 1) * 4  # x, y(, z) and a confidence
    fields = {0.0: "<HH", 0.1: "<HHH", 0.2: "<fIH"}[version]
    counts = struct.calcsize(fields)
    if body < counts:
        after = f"{body} bytes" if body else "right"
        raise _refuse(path, f"body cut at byte {len(data)}: the file ends {after} after its {start}-byte "
                            f"header, before the frame and person counts")
    _, frames, *people = struct.unpack_from(fields, data, start)
    if frames == 0 and version != 0.1:
        raise _refuse(path, "the header says the file holds no frames")
    if version == 0.0:
        return
    people, have = people[0], body - counts
    if people == 0:
        raise _refuse(path, "the file holds no person")
    if version == 0.1:
        whole, rest = divmod(have, people * per_person)
        if not rest and whole % 65536 == frames:
            frames = whole
    need = frames * people * per_person
    if need == 0 and have == 0:
        raise _refuse(path, "the file holds no frames")
    if have < need:
        raise _refuse(path, f"body shorter than the header says: {frames:,} frames x {people} "
                            f"{'person' if people == 1 else 'people'} x {points} points need {need:,} "
                            f"bytes after byte {start + counts}, the file has {have:,}")
    if version == 0.1 and have != need:
        raise _refuse(path, f"body does not end at a frame: {have:,} bytes after byte {start + counts} "
                            f"for {people * per_person:,} per frame, the header says {frames} frames")


def parse_pose(data: bytes, path="input"):
    """(pose-format PoseHeader, NumPyPoseBody) of a file's bytes; a one-line SignclipError that
    says what is wrong and where (the byte offset) otherwise."""
    from pose_format.numpy.pose_body import NumPyPoseBody
    from pose_format.pose_header import PoseHeader
    from pose_format.utils.reader import BufferReader

    if len(data) < 4:
        raise _refuse(path, f"header cut at byte {len(data)}: the file is shorter than its 4-byte "
                            f"version number")
    raw = struct.unpack_from("<f", data)[0]
    version = next((v for v in KNOWN_VERSIONS if round(raw, 3) == v), None)  # as pose-format compares
    if version == 0.0 and raw != 0:  # pose-format takes v0.0 only when exactly 0
        version = None
    if version is None:
        raise _refuse(path, f"bytes 0-3 read as format version {raw:.6g}, not one of "
                            f"{', '.join(map(str, KNOWN_VERSIONS))}")
    reader = BufferReader(data)
    try:
        header = PoseHeader.read(reader)
    except UnicodeDecodeError as e:
        raise _refuse(path, f"header corrupt near byte {reader.read_offset}: a component or point "
                            f"name is not UTF-8 text") from e
    except (struct.error, TypeError, ValueError) as e:  # a field or a table past the end of the data
        raise _refuse(path, f"header cut at byte {len(data)}: the header goes on past the end of "
                            f"the file (a field at byte {reader.read_offset})") from e
    points = sum(len(c.points) for c in header.components)
    if points == 0:
        raise _refuse(path, f"the header lists no points ({len(header.components)} components)")
    dims = header.num_dims()
    if dims < 2:
        formats = ", ".join(sorted({repr(c.format) for c in header.components}))
        raise _refuse(path, f"the header's point format ({formats}) has {max(dims, 0)} coordinates; "
                            f"x and y at least are needed")
    if version == 0.0 and len({len(c.format) for c in header.components}) > 1:
        formats = ", ".join(sorted({repr(c.format) for c in header.components}))
        raise _refuse(path, f"its components' point formats ({formats}) differ in length, which a "
                            f"v0.0 body cannot hold")
    _check_body_size(data, reader.read_offset, version, points, dims, path)
    start = reader.read_offset
    try:
        body = NumPyPoseBody.read(header, reader)
    except (struct.error, TypeError) as e:  # a field past the end (v0.0: counts per frame)
        raise _refuse(path, f"body cut at byte {len(data)}: the file ends inside the body (a field "
                            f"at byte {reader.read_offset}; the body starts at byte {start})") from e
    except (ValueError, IndexError, ZeroDivisionError) as e:
        raise _refuse(path, f"body corrupt near byte {reader.read_offset} (the body starts at byte "
                            f"{start}): {type(e).__name__}") from e
    return header, body


def read_pose(path) -> PoseClip:
    """Read the first person of a `.pose` file; masked where confidence is 0 or data not finite
    (or beyond MAX_COORDINATE)."""
    path = Path(path)
    _check_file(path)
    header, body = parse_pose(path.read_bytes(), path)
    data = np.asarray(body.data.filled(0) if np.ma.isMaskedArray(body.data) else body.data, np.float32)
    confidence = np.asarray(body.confidence, dtype=np.float32)
    points = [(c.name, p) for c in header.components for p in c.points]
    fps = float(body.fps)
    if not 0 <= fps <= MAX_FPS:  # also NaN
        raise _refuse(path, f"its header gives {fps:g} frames per second (expected 0 to {MAX_FPS:g})")
    width, height = int(header.dimensions.width), int(header.dimensions.height)
    if data.ndim != 4 or data.shape[2] != len(points) or confidence.shape != data.shape[:3]:
        raise _refuse(path, f"body shape {data.shape} does not match its header's {len(points)} points")
    if data.shape[1] == 0:
        raise SignclipError(f"{path}: the file holds no person")
    if data.shape[0] == 0:
        raise SignclipError(f"{path}: the file holds no frames")
    frames = data[:, 0]                                     # (T, K, D): first person
    if frames.shape[-1] < 3:                                # 2-D formats (OpenPose): z = 0
        frames = np.concatenate([frames, np.zeros(frames.shape[:2] + (3 - frames.shape[-1],),
                                                  np.float32)], axis=-1)
    frames = frames[..., :3]
    with np.errstate(invalid="ignore"):  # NaN compares False: masked
        mask = (confidence[:, 0] > 0) & (np.abs(frames) <= MAX_COORDINATE).all(axis=-1)
    frames = np.where(mask[..., None], frames, 0.0).astype(np.float32)
    layout = layout_from_points(points)
    check_usable(layout, path)
    return PoseClip(layout, frames, mask, fps if fps > 0 else DEFAULT_FPS, width, height)


def check_usable(layout: Layout, path="input") -> None:
    """Raise `UnsupportedLayout` when no body or hand point maps onto the model's layout."""
    plan = conversion_plan(layout, MODEL_203)
    found = {MODEL_203.points[i][0] for i in np.flatnonzero(plan >= 0)}
    if not found & set(USABLE):
        names = [c if c.isprintable() else ascii(c) for c in layout.components()]  # names from the file
        raise UnsupportedLayout(f"{path}: unsupported layout: found components "
                                f"{', '.join(names) or 'none'}; need at least one of {', '.join(USABLE)}")


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


def to_pose_format(clip: PoseClip):
    """The clip as pose-format's `Pose` (its visualizer and tools take it)."""
    from pose_format import Pose
    from pose_format.numpy.pose_body import NumPyPoseBody

    if clip.frames.shape != clip.mask.shape + (3,) or clip.mask.shape[1] != clip.layout.size:
        raise ValueError(f"cannot write frames {clip.frames.shape} with mask {clip.mask.shape} "
                         f"for layout {clip.layout.name} ({clip.layout.size} points)")
    data = clip.frames[:, None].astype(np.float32)              # (T, 1, K, 3)
    confidence = clip.mask[:, None].astype(np.float32)          # (T, 1, K)
    return Pose(_header(clip), NumPyPoseBody(fps=clip.fps, data=data, confidence=confidence))


def write_pose(clip: PoseClip, path) -> None:
    """Write a `.pose` file (v0.2) that pose-format reads back; atomic: never a half-written file."""
    import io

    buffer = io.BytesIO()
    to_pose_format(clip).write(buffer)
    atomic_write_bytes(Path(path), buffer.getvalue())


def is_pose_file(path) -> bool:
    return os.fspath(path).lower().endswith(".pose")



