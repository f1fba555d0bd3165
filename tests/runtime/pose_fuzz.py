"""Damaged and odd `.pose` files as hypothesis strategies of file bytes, and the checks every
outcome must pass; shared by tests/runtime/test_fuzz.py (a fast profile in `make test`) and
bench/fuzz.py (the long run).

- `crafted`: files written field by field from drawn values (any of the three versions, real or
  made-up components and point formats, frame and person counts that may disagree with the body,
  fps, and coordinates laced with NaN, inf, huge and subnormal values);
- `truncated`: a real file cut at a drawn byte, mostly near the header/body boundaries;
- `fields`: a real file with a header field or a body count overwritten by an edge value;
- `mutated`: a real file with bit flips, set bytes, inserted and deleted runs.
"""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
from hypothesis import strategies as st

from signclip.runtime.errors import SignclipError
from signclip.runtime.pose.io import MAX_COORDINATE, MAX_FPS
from signclip.runtime.pose.layouts import BODY, BODY_POINTS, FACE, HAND_POINTS, LEFT_HAND, RIGHT_HAND

DATA = Path(__file__).resolve().parents[1] / "data"
SEEDS = [DATA / "poses" / "holistic586_5f.pose", DATA / "poses" / "openpose137_93f.pose",
         DATA / "poses" / "right_hand21_170f.pose", next((DATA / "lexicon" / "gss").glob("*.pose"))]
SEED_BYTES = [p.read_bytes() for p in SEEDS]
SPECIAL = (np.nan, np.inf, -np.inf, 1e30, -3e38, 1e-40, 0.0, 1e6, -1e7)


def _header_end(data: bytes) -> int:
    from pose_format.pose_header import PoseHeader
    from pose_format.utils.reader import BufferReader

    reader = BufferReader(data)
    PoseHeader.read(reader)
    return reader.read_offset


# (bytes, version, offset where the header ends) of every seed
SEED_LAYOUTS = [(data, struct.unpack_from("<f", data)[0], _header_end(data)) for data in SEED_BYTES]


# ---------------------------------------------------------------- writing any field

def _text(s: str | bytes) -> bytes:
    raw = s if isinstance(s, bytes) else s.encode("utf-8", "surrogatepass")
    return struct.pack("<H", len(raw)) + raw


def header_bytes(version: float, size: tuple, components: list) -> bytes:
    """The header as the format lays it out: version, width/height/depth, then per component its
    name, point format, point/limb/color counts, point names, limbs and colors."""
    out = struct.pack("<f", version) + struct.pack("<HHH", *size) + struct.pack("<H", len(components))
    for name, fmt, points, limbs, colors in components:
        out += _text(name) + _text(fmt) + struct.pack("<HHH", len(points), len(limbs), len(colors))
        out += b"".join(_text(p) for p in points)
        out += b"".join(struct.pack("<HH", *limb) for limb in limbs)
        out += b"".join(struct.pack("<HHH", *color) for color in colors)
    return out


def body_bytes(version: float, fps: float, frames: int, data: np.ndarray, confidence: np.ndarray) -> bytes:
    """The body: v0.2 fps float32 + frames uint32 + people uint16, then data and confidence;
    v0.1 the same counts as uint16; v0.0 frame by frame, person by person (id, XYZC per point)."""
    people = data.shape[1]
    fps16 = int(fps) % 65536 if np.isfinite(fps) else 65535  # older versions store an integer
    if version == 0.0:
        out = struct.pack("<HH", fps16, frames % 65536)
        stacked = np.concatenate([data, confidence[..., None]], axis=-1).astype("<f4")  # (T, P, K, D+1)
        for frame in stacked:
            out += struct.pack("<H", people)
            for i, person in enumerate(frame):
                out += struct.pack("<h", i) + person.tobytes()
        return out
    counts = (struct.pack("<fIH", fps, frames % 2**32, people) if version == 0.2
              else struct.pack("<HHH", fps16, frames % 65536, people))
    return counts + data.astype("<f4").tobytes() + confidence.astype("<f4").tobytes()


# ---------------------------------------------------------------- strategies

_COMPONENTS = [(BODY, BODY_POINTS), (LEFT_HAND, HAND_POINTS), (RIGHT_HAND, HAND_POINTS),
               (FACE, tuple(str(i) for i in range(12)))]


ODDITIES = ("version", "size", "names", "format", "layout", "fps", "counts", "cut")


def _sometimes(draw, odd: str, oddity: str, usual, unusual):
    """`unusual` when this file's one oddity is `oddity`, else `usual` (both strategies)."""
    return draw(unusual if odd == oddity else usual)


@st.composite
def component(draw, name: str, odd: str = ""):
    """Component `name` with all its points; when this file's oddity is its layout or its names,
    some, shuffled or repeated points, or made-up names."""
    points = list(dict(_COMPONENTS)[name])
    if odd == "names":
        name = draw(st.text(max_size=12))
        points = draw(st.lists(st.text(max_size=6), max_size=8))
    elif odd == "layout":
        how = draw(st.sampled_from(["some", "shuffled", "duplicated"]))
        if how == "some":
            points = draw(st.lists(st.sampled_from(points), max_size=len(points), unique=True))
        elif how == "shuffled":
            points = list(draw(st.permutations(points)))
        else:
            points = points + points[:3]
    fmt = _sometimes(draw, odd, "format", st.sampled_from(["XYZC", "XYZC", "XYC"]),
                     st.sampled_from(["XC", "C", "", "XYZWC"]) | st.text(max_size=5))
    limbs = draw(st.lists(st.tuples(st.integers(0, 65535), st.integers(0, 65535)), max_size=3))
    colors = draw(st.lists(st.tuples(*[st.integers(0, 65535)] * 3), max_size=3))
    return name, fmt, points, limbs, colors


@st.composite
def crafted(draw):
    """A whole file from drawn fields: most are well formed (any version, real components, values
    laced with NaN, inf, huge and subnormal numbers); the rest have one oddity: a strange version,
    size, names, point format, layout or fps, counts that disagree with the body, or a cut."""
    odd = draw(st.sampled_from(("",) * 6 + ODDITIES))
    version = _sometimes(draw, odd, "version", st.sampled_from([0.2, 0.2, 0.1, 0.0]), st.floats(width=32))
    names = draw(st.sampled_from([[BODY], [BODY, RIGHT_HAND], [BODY, LEFT_HAND, RIGHT_HAND, FACE],
                                  [RIGHT_HAND], [LEFT_HAND, BODY]]))
    components = [draw(component(name, odd if i == 0 else "")) for i, name in enumerate(names)]
    size = _sometimes(draw, odd, "size", st.just((640, 480, 0)), st.tuples(*[st.integers(0, 65535)] * 3))
    points = sum(len(c[2]) for c in components)
    dims = max([len(c[1]) for c in components], default=1) - 1
    frames = draw(st.integers(1, 24))
    people = draw(st.integers(1, 2))
    fps = _sometimes(draw, odd, "fps", st.sampled_from([25.0, 29.97, 24.0, 0.0]), st.floats(width=32))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    shape = (frames, people, points, max(dims, 0))
    data = (rng.standard_normal(shape) * draw(st.sampled_from([1.0, 300.0, 1e5]))).astype(np.float32)
    for value in draw(st.lists(st.sampled_from(SPECIAL), max_size=3)):  # NaN, inf, huge ... at places
        if data.size:
            data.flat[rng.integers(0, data.size, size=1 + data.size // 16)] = value
    confidence = draw(st.sampled_from(["ones", "ones", "random", "zeros", "nan", "negative"]))
    conf = {"ones": np.ones, "zeros": np.zeros}.get(confidence, lambda s: rng.random(s))(shape[:3])
    if confidence == "nan":
        conf[rng.random(shape[:3]) < 0.3] = np.nan
    elif confidence == "negative":
        conf = -conf
    declared = _sometimes(draw, odd, "counts", st.just(frames), st.integers(0, 2**32 - 1))
    out = header_bytes(version, size, components) + body_bytes(
        version if version in (0.0, 0.1) else 0.2, fps, declared, data, conf.astype(np.float32))
    if odd == "cut":
        out = out[:draw(st.integers(0, len(out) - 1))]
    return out


def _near(boundary: int):
    return st.integers(-12, 12).map(lambda d: max(0, boundary + d))


@st.composite
def truncated(draw):
    """A real file cut short: around the header's end, the body's counts, the last byte, anywhere."""
    data, _, end = draw(st.sampled_from(SEED_LAYOUTS))
    cut = draw(st.one_of(_near(end), _near(end + 10), _near(len(data) - 1), st.integers(0, 64),
                         st.integers(0, len(data) - 1)))
    return data[:min(cut, len(data) - 1)]


@st.composite
def fields(draw):
    """A real file with one to three header fields or body counts overwritten by edge values."""
    data, _, end = draw(st.sampled_from(SEED_LAYOUTS))
    data = bytearray(data)
    places = [0, 4, 6, 8, 10, 12, 14, end, end + 2, end + 4, end + 6, end + 8]
    for _ in range(draw(st.integers(1, 3))):
        offset = draw(st.sampled_from(places) | st.integers(0, end + 10))
        fmt, value = draw(st.one_of(
            st.tuples(st.just("<H"), st.sampled_from([0, 1, 2, 255, 0x7FFF, 0xFFFF])),
            st.tuples(st.just("<I"), st.sampled_from([0, 1, 0x7FFFFFFF, 0xFFFFFFFF])),
            st.tuples(st.just("<f"), st.sampled_from([0.0, 0.1, 0.2, -1.0, 1e30, np.nan, np.inf, -np.inf]))))
        if offset + struct.calcsize(fmt) <= len(data):
            struct.pack_into(fmt, data, offset, value)
    return bytes(data)


@st.composite
def mutated(draw, seeds: list = SEED_BYTES, header_bias: int = 2048):
    """A seed file with byte flips (mostly in the header, where the parser decides), a truncation,
    or inserted/removed runs."""
    data = bytearray(draw(st.sampled_from(seeds)))
    for _ in range(draw(st.integers(1, 6))):
        op = draw(st.sampled_from(["flip", "truncate", "insert", "delete", "set"]))
        limit = min(len(data), header_bias) if draw(st.booleans()) else len(data)
        if not data:
            break
        i = draw(st.integers(0, max(0, limit - 1)))
        if op == "flip":
            data[i] ^= 1 << draw(st.integers(0, 7))
        elif op == "set":
            data[i] = draw(st.sampled_from([0, 0xFF, 0x7F, 0x80]))
        elif op == "truncate":
            del data[i:]
        elif op == "insert":
            data[i:i] = draw(st.binary(min_size=1, max_size=16))
        else:
            del data[i:i + draw(st.integers(1, 64))]
    return bytes(data)


KINDS = {"crafted": crafted(), "truncated": truncated(), "fields": fields(), "mutated": mutated()}


# ---------------------------------------------------------------- what every outcome must satisfy

def check_refusal(error: SignclipError, path=None) -> str:
    """A refusal is one line (naming the input, when `path` is given: the reader's); returns it."""
    message = str(error)
    assert "\n" not in message and "\r" not in message, f"refusal of more than one line: {message!r}"
    assert path is None or message.startswith(f"{path}:"), f"refusal names no input: {message}"
    return message


def check_clip(clip) -> None:
    """What read_pose promises of any clip it returns."""
    assert clip.frames.dtype == np.float32 and clip.mask.dtype == bool
    assert clip.num_frames > 0 and clip.frames.shape == clip.mask.shape + (3,)
    assert np.isfinite(clip.frames).all() and (np.abs(clip.frames) <= MAX_COORDINATE).all()
    assert not clip.frames[~clip.mask].any()  # a missing point is masked, never a silent value
    assert 0 < clip.fps <= MAX_FPS


def check_matches(results: list) -> None:
    """Every lookup answers with finite scores, best first."""
    for matches in results:
        scores = [m.score for m in matches]
        assert matches and all(np.isfinite(s) and -1.01 <= s <= 1.01 for s in scores), scores
        assert scores == sorted(scores, reverse=True)
