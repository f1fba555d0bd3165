"""A packed cache in one compact file, and back: for a transfer with a size limit (bench/gpu_data.py
writes one for the GPU machine, which takes 64 MiB; bench/gpu_run.py unpacks it there).

The archive is an .npz of byte arrays, each deflated (zlib) but the small `meta`:

    meta            JSON: archive version, the cache's tag, dtype and frame count
    index.json      the cache's own index.json, index-<tag>.npz and mask-<tag>.npy, whole
    index.npz
    mask.npy
    frames.header   the first HEADER_BYTES of frames-<tag>.npy (its fixed .npy header)
    observed        the frames' values at observed points only, in the mask's order: a masked point
                    is stored as 0 (checked when packing), so it needs no bytes. The values' bytes
                    go in planes (every value's low byte, then every high byte), which deflate
                    far better than interleaved: a float16 cache takes about a fifth of its size.

Unpacking writes the cache's files again byte for byte, index.json last (the cache's commit point),
so the unpacked folder is the very cache that was packed: same key, same frames, same reads.
"""

from __future__ import annotations

import io
import json
import zlib
from pathlib import Path

import numpy as np

from signclip.runtime.atomic import atomic_write_bytes
from signclip.runtime.errors import SignclipError

from .cache import HEADER_BYTES, POINTS, PackedCache

ARCHIVE_VERSION = 1


def _deflate(data: bytes) -> np.ndarray:
    return np.frombuffer(zlib.compress(data, 9), np.uint8)


def _inflate(array: np.ndarray) -> bytes:
    return zlib.decompress(array.tobytes())


def _observed(mask_bits: np.ndarray) -> np.ndarray:
    """bool [frames * 203]: each point's mask bit, from the bit-packed mask [frames, 26]."""
    return np.unpackbits(mask_bits, axis=1, count=POINTS).view(bool).reshape(-1)


def write_archive(cache: PackedCache, path) -> Path:
    """Pack `cache` into the one file `path` (written atomically); returns the path."""
    path, root, tag = Path(path), cache.root, cache.tag
    frames = np.asarray(cache.frames)                               # [frames, 203, 3], storage dtype
    raw = frames.view(f"u{frames.dtype.itemsize}").reshape(-1, 3)   # bit patterns: -0.0 is not 0
    observed = _observed(np.asarray(cache.mask))
    if raw[~observed].any():
        raise SignclipError(f"{root}: a masked point holds a value; the archive stores only observed ones")
    values = raw[observed].reshape(-1)                              # [observed points * 3]
    planes = np.ascontiguousarray(values.view(np.uint8).reshape(-1, values.itemsize).T)
    meta = {"version": ARCHIVE_VERSION, "tag": tag, "dtype": cache.dtype, "frames": int(len(frames))}
    arrays = {
        "meta": np.frombuffer(json.dumps(meta).encode(), np.uint8),
        "index.json": _deflate((root / "index.json").read_bytes()),
        "index.npz": _deflate((root / f"index-{tag}.npz").read_bytes()),
        "mask.npy": _deflate((root / f"mask-{tag}.npy").read_bytes()),
        "frames.header": _deflate((root / f"frames-{tag}.npy").read_bytes()[:HEADER_BYTES]),
        "observed": _deflate(planes.tobytes()),
    }
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(path, buffer.getvalue())
    return path


def read_archive(path, out_dir) -> PackedCache:
    """Unpack the archive `path` into the cache folder `out_dir` (its earlier cache files replaced)."""
    path, out_dir = Path(path), Path(out_dir)
    with np.load(path, allow_pickle=False) as z:
        arrays = {name: z[name] for name in z.files}
    meta = json.loads(arrays["meta"].tobytes())
    if meta.get("version") != ARCHIVE_VERSION:
        raise SignclipError(f"{path}: cache archive version {meta.get('version')} is not {ARCHIVE_VERSION}")
    tag, dtype = meta["tag"], np.dtype(meta["dtype"])
    bits = np.lib.format.read_array(io.BytesIO(_inflate(arrays["mask.npy"])))
    if len(bits) != meta["frames"]:
        raise SignclipError(f"{path}: the mask holds {len(bits)} frames, not {meta['frames']}")
    planes = np.frombuffer(_inflate(arrays["observed"]), np.uint8).reshape(dtype.itemsize, -1)
    raw = np.zeros((meta["frames"] * POINTS, 3), f"u{dtype.itemsize}")
    observed = _observed(bits)
    if planes.shape[1] != 3 * int(observed.sum()):
        raise SignclipError(f"{path}: {planes.shape[1]} stored values for {int(observed.sum())} observed "
                            "points")
    raw[observed] = np.ascontiguousarray(planes.T).view(raw.dtype).reshape(-1, 3)

    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "index.json").unlink(missing_ok=True)                 # incomplete until written again
    for stale in out_dir.glob("*-*.np[yz]"):
        stale.unlink()
    with open(out_dir / f"frames-{tag}.npy", "wb") as f:
        f.write(_inflate(arrays["frames.header"]))
        f.write(raw.tobytes())
    (out_dir / f"mask-{tag}.npy").write_bytes(_inflate(arrays["mask.npy"]))
    (out_dir / f"index-{tag}.npz").write_bytes(_inflate(arrays["index.npz"]))
    atomic_write_bytes(out_dir / "index.json", _inflate(arrays["index.json"]))
    return PackedCache.open(out_dir)
