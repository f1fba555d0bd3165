"""The packed cache: every clip of a manifest read once, stored as raw model-layout frames.

A cache folder holds, for one generation `<tag>` (the first 16 hex digits of the cache key):

    frames-<tag>.npy   float32 (or float16) [sum T, 203, 3]: RAW model-layout keypoints, masked = 0
    mask-<tag>.npy     uint8 [sum T, 26]: the point mask, bit-packed (np.packbits over 203 points)
    index-<tag>.npz    offsets, lengths, fps, text_ids, origins, scales, weights (one entry per clip)
    index.json         key, format version, dtype, texts, rows, normalization: written last, so a
                       cache is complete exactly when index.json names its tag

A sharded cache (`shard_clips=N`) writes the same three files per shard of at most N clips,
`frames-<tag>-<k>.npy`, `mask-<tag>-<k>.npy` and `index-<tag>-<k>.npz` (offsets within the shard,
the shard's manifest records as JSON), and index.json lists the shards' clip and frame counts. Each
shard is written, closed and its index saved before the next begins, so building keeps only the
current shard's index in memory however long the manifest; each shard opens alone
(`PackedCache.open(root, shards=[k])`: a rank reads only its own). The one-file cache is the
unsharded case, its files named as before.

A photo (a manifest row with an `item`) is stored as its one frame; the loader holds it for the
normalization's `photo_frames`, as the runtime holds a photo it looks up.
Frames are stored un-normalized so that the loader can augment first (speed change, dropped hands
change the shoulder statistics) and then normalize with the runtime's own functions, exactly as
serving does. Clips longer than the model's max_frames are stored whole; the loader resamples them.
float16 stores (raw - origin) / scale per clip (origin = mean shoulder midpoint, scale = mean
shoulder distance), so its rounding error is about 5e-4 in normalized units instead of in pixels.
The key is sha256 over the rows, each pose file's size and mtime, the normalization, the prompt
template, the dtype and FORMAT_VERSION: a changed input rebuilds the cache, anything else reuses it.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import struct
from dataclasses import asdict
from pathlib import Path

import numpy as np

from signclip.runtime.atomic import atomic_write_bytes
from signclip.runtime.errors import SignclipError
from signclip.runtime.pose.layouts import MODEL_203
from signclip.runtime.pose.normalize import NormalizationConfig, hand_points, shoulder_indices

from .clips import read_clip
from .data import DEFAULT_TEMPLATE, prompt

FORMAT_VERSION = 2
POINTS = MODEL_203.size                      # 203
MASK_BYTES = (POINTS + 7) // 8               # 26 bytes of mask bits per frame
HEADER_BYTES = 128                           # fixed .npy header, rewritten with the final shape
DTYPES = ("float32", "float16")
INDEX_FIELDS = ("offsets", "lengths", "fps", "text_ids", "origins", "scales", "weights")


# ---------------------------------------------------------------- .npy files written in a stream


def _npy_header(dtype, shape) -> bytes:
    """A .npy v1.0 header of exactly HEADER_BYTES bytes (numpy accepts space padding)."""
    d = {"descr": np.lib.format.dtype_to_descr(np.dtype(dtype)), "fortran_order": False,
         "shape": tuple(int(s) for s in shape)}
    body = repr(d).ljust(HEADER_BYTES - 10 - 1) + "\n"
    header = b"\x93NUMPY\x01\x00" + struct.pack("<H", len(body)) + body.encode("latin1")
    assert len(header) == HEADER_BYTES
    return header


class _StreamArray:
    """An .npy file written row block by row block, its header fixed up on close."""

    def __init__(self, path: Path, dtype, row_shape: tuple):
        self.path, self.dtype, self.row_shape = path, np.dtype(dtype), row_shape
        self.partial = path.with_name(path.name + ".partial")
        self.rows = 0
        self._f = open(self.partial, "wb", buffering=1 << 22)
        self._f.write(_npy_header(self.dtype, (0,) + row_shape))

    def write(self, block: np.ndarray) -> None:
        assert block.dtype == self.dtype and block.shape[1:] == self.row_shape
        self._f.write(np.ascontiguousarray(block).data)
        self.rows += block.shape[0]

    def close(self) -> None:
        self._f.seek(0)
        self._f.write(_npy_header(self.dtype, (self.rows,) + self.row_shape))
        self._f.flush()
        os.fsync(self._f.fileno())
        self._f.close()
        os.replace(self.partial, self.path)

    def abort(self) -> None:
        self._f.close()
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.partial)


def encoding(frames: np.ndarray, mask: np.ndarray) -> tuple:
    """(origin [3], scale) for float16 storage: the clip's mean shoulder midpoint and distance."""
    a, b = shoulder_indices(MODEL_203)
    both = mask[:, a] & mask[:, b]
    if both.any():
        fa, fb = frames[both, a].astype(np.float64), frames[both, b].astype(np.float64)
        scale = float(np.linalg.norm(fa - fb, axis=-1).mean())
        return (fa + fb).mean(axis=0) / 2, (scale if scale > 0 else 1.0)
    seen = frames[mask].astype(np.float64)
    return (seen.mean(axis=0) if len(seen) else np.zeros(3)), 1.0


class _Columns:
    """The per-clip index of the shard being written, as growing numpy columns (about 60 bytes a clip)."""

    SPEC = (("offsets", np.int64, ()), ("lengths", np.int32, ()), ("fps", np.float32, ()),
            ("text_ids", np.int64, ()), ("origins", np.float64, (3,)), ("scales", np.float64, ()),
            ("weights", np.int64, ()))

    def __init__(self):
        self.n = 0
        self.data = {name: np.empty((1024,) + shape, dtype) for name, dtype, shape in self.SPEC}

    def append(self, **values) -> None:
        if self.n == len(self.data["offsets"]):
            self.data = {k: np.concatenate([v, np.empty_like(v)]) for k, v in self.data.items()}
        for name, value in values.items():
            self.data[name][self.n] = value
        self.n += 1

    def arrays(self) -> dict:
        return {name: column[:self.n].copy() for name, column in self.data.items()}


class CacheWriter:
    """Appends clips to a new cache generation; `commit` makes it the folder's cache atomically.

    `shard_clips` None writes one file pair (the clips' records go to index.json at commit); a
    number starts a new shard after that many clips, each closed with its own index and records as
    soon as it is full, so memory does not grow with the cache.
    """

    def __init__(self, root, key: str, dtype: str = "float32", *, shard_clips: int | None = None):
        if dtype not in DTYPES:
            raise SignclipError(f"cache dtype {dtype!r} is not supported; valid: {', '.join(DTYPES)}")
        if shard_clips is not None and shard_clips < 1:
            raise SignclipError(f"shard_clips {shard_clips} must be 1 or more (or None: one file)")
        self.root, self.key, self.dtype, self.shard_clips = Path(root), key, dtype, shard_clips
        self.root.mkdir(parents=True, exist_ok=True)
        self.tag = key[:16]
        self.shards: list = []                       # closed shards: {"clips", "frames"}
        self.records: list = []                      # the open shard's manifest records
        self.frames = self.mask = None
        self._open_shard()

    def _suffix(self) -> str:
        return "" if self.shard_clips is None else f"-{len(self.shards):05d}"

    def _open_shard(self) -> None:
        suffix = self._suffix()
        self.frames = _StreamArray(self.root / f"frames-{self.tag}{suffix}.npy", self.dtype, (POINTS, 3))
        self.mask = _StreamArray(self.root / f"mask-{self.tag}{suffix}.npy", np.uint8, (MASK_BYTES,))
        self.index = _Columns()

    def _close_shard(self) -> dict:
        """Close the open shard's files and, when sharded, save its index; its index arrays."""
        self.frames.close()
        self.mask.close()
        arrays = self.index.arrays()
        if self.shard_clips is not None:
            rows = np.frombuffer(json.dumps(self.records, ensure_ascii=False).encode(), np.uint8)
            with open(self.root / f"index-{self.tag}{self._suffix()}.npz", "wb") as f:
                np.savez(f, rows=rows, **arrays)
            self.shards.append({"clips": self.index.n, "frames": self.frames.rows})
            self.records = []
        return arrays

    @property
    def clips(self) -> int:
        return sum(s["clips"] for s in self.shards) + self.index.n

    def add_encoded(self, frames: np.ndarray, packed_mask: np.ndarray, *, fps: float, text_id: int,
                    origin=(0.0, 0.0, 0.0), scale: float = 1.0, weight: int = 1,
                    record: dict | None = None) -> None:
        """Append one clip already in storage form: frames [T, 203, 3] of the cache dtype."""
        if self.shard_clips is not None and self.index.n == self.shard_clips:
            self._close_shard()
            self._open_shard()
        self.index.append(offsets=self.frames.rows, lengths=frames.shape[0], fps=fps, text_ids=text_id,
                          origins=origin, scales=scale, weights=weight)
        if record is not None:
            self.records.append(record)
        self.frames.write(frames)
        self.mask.write(packed_mask)

    def add(self, frames: np.ndarray, mask: np.ndarray, *, fps: float, text_id: int, weight: int = 1,
            record: dict | None = None) -> None:
        """Append one clip of raw model-layout frames float32 [T, 203, 3] and mask bool [T, 203]."""
        packed = np.packbits(mask, axis=1)                        # (T, 26)
        if self.dtype == "float32":
            self.add_encoded(frames.astype(np.float32, copy=False), packed, fps=fps, text_id=text_id,
                             weight=weight, record=record)
            return
        origin, scale = encoding(frames, mask)
        stored = np.where(mask[..., None], (frames - origin) / scale, 0.0).astype(np.float16)
        self.add_encoded(stored, packed, fps=fps, text_id=text_id, origin=origin, scale=scale, weight=weight,
                         record=record)

    def commit(self, *, texts: list, rows: list | None = None, meta: dict) -> PackedCache:
        """Finish the files, write the index, then index.json (the commit point); drop old files.

        `rows` are the clips' manifest records when they were not given to `add` one by one."""
        records = self.records if rows is None else rows
        if self.shard_clips is not None and rows is not None:
            raise SignclipError("a sharded cache takes each clip's record in add(record=...), not rows")
        arrays = self._close_shard()
        if self.shard_clips is None:
            with open(self.root / f"index-{self.tag}.npz", "wb") as f:
                np.savez(f, **arrays)
            clips, frames, extra = len(arrays["lengths"]), self.frames.rows, {}
        else:
            clips = sum(shard["clips"] for shard in self.shards)
            frames, records = sum(shard["frames"] for shard in self.shards), []
            extra = {"shards": self.shards}
        document = dict(meta, key=self.key, tag=self.tag, format_version=FORMAT_VERSION, dtype=self.dtype,
                        clips=clips, frames=frames, texts=texts, rows=records, **extra)
        atomic_write_bytes(self.root / "index.json", json.dumps(document, ensure_ascii=False).encode())
        for stale in self.root.glob("*-*.np[yz]"):
            if self.tag not in stale.name:
                stale.unlink()
        return PackedCache.open(self.root)

    def abort(self) -> None:
        self.frames.abort()
        self.mask.abort()
        for name in ("frames", "mask", "index"):   # the shards already closed
            for path in self.root.glob(f"{name}-{self.tag}-*.np[yz]"):
                path.unlink()


@contextlib.contextmanager
def _writing(root, key: str, dtype: str, shard_clips: int | None = None):
    """A CacheWriter whose partial files are removed when building fails or is interrupted."""
    writer = CacheWriter(root, key, dtype, shard_clips=shard_clips)
    try:
        yield writer
    except BaseException:
        writer.abort()
        raise


# ---------------------------------------------------------------- reading


class PackedCache:
    """A built cache: per-clip index arrays, the text table, and raw frame reads by clip number.

    A sharded cache opened with `shards` holds those shards' clips only, numbered from 0 in shard
    order; the text table is always the whole cache's."""

    def __init__(self, root: Path, document: dict, arrays: dict, files: list, starts: np.ndarray,
                 rows: list | None, indexes: list):
        self.root = root
        self.key = document["key"]
        self.tag = document["tag"]
        self.dtype = document["dtype"]
        self.texts = list(document["texts"])            # unique prompts; text_ids index this list
        self._rows = rows                               # None: in the shards' indexes, read when used
        self._indexes = indexes
        self.template = document.get("template", DEFAULT_TEMPLATE)
        self.normalization = NormalizationConfig(**document["normalization"])
        self.offsets = arrays["offsets"]                # within the clip's shard
        self.lengths = arrays["lengths"]
        self.fps = arrays["fps"]
        self.text_ids = arrays["text_ids"]
        self.origins = arrays["origins"]
        self.scales = arrays["scales"]
        self.weights = arrays["weights"]                # draws per epoch
        self.files = files                              # [(frames path, mask path)] per shard held
        self.starts = starts                            # first clip number of each shard held
        self._photos = None
        self.built = False                             # True when this call built it
        self._itemsize = np.dtype(self.dtype).itemsize
        self._fds = None

    @classmethod
    def open(cls, root, *, shards=None) -> PackedCache:
        """The cache in `root`; of a sharded cache, only the shards numbered in `shards` when given."""
        root = Path(root)
        try:
            document = json.loads((root / "index.json").read_text())
        except FileNotFoundError:
            raise SignclipError(f"{root}: no packed cache here (index.json missing)") from None
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise SignclipError(f"{root}/index.json: corrupt cache index; delete the folder") from None
        if document.get("format_version") != FORMAT_VERSION:
            raise SignclipError(f"{root}: cache format {document.get('format_version')} is not "
                                f"{FORMAT_VERSION}; rebuild it")
        tag, count = document["tag"], len(document.get("shards", [None]))
        chosen = list(range(count)) if shards is None else [int(k) for k in shards]
        bad = [k for k in chosen if not 0 <= k < count]
        if bad or not chosen:
            raise SignclipError(f"{root}: shards {bad or chosen} do not exist; the cache has {count} "
                                f"(0 to {count - 1})")
        suffixes = [""] if "shards" not in document else [f"-{k:05d}" for k in chosen]
        for suffix in suffixes:
            for name in (f"frames-{tag}{suffix}.npy", f"mask-{tag}{suffix}.npy", f"index-{tag}{suffix}.npz"):
                if not (root / name).is_file():
                    raise SignclipError(f"{root}: cache file {name} is missing; rebuild the cache")
        parts, indexes = [], [root / f"index-{tag}{suffix}.npz" for suffix in suffixes]
        for path in indexes:
            with np.load(path, allow_pickle=False) as z:
                parts.append({name: z[name] for name in INDEX_FIELDS})
        arrays = {name: np.concatenate([p[name] for p in parts]) for name in INDEX_FIELDS}
        starts = np.cumsum([0] + [len(p["lengths"]) for p in parts[:-1]])
        files = [(root / f"frames-{tag}{s}.npy", root / f"mask-{tag}{s}.npy") for s in suffixes]
        rows = None if "shards" in document else list(document["rows"])
        return cls(root, document, arrays, files, starts, rows, indexes)

    @property
    def rows(self) -> list:
        """The clips' manifest records (empty for synthetic); a sharded cache's are read when first used."""
        if self._rows is None:
            self._rows = []
            for path in self._indexes:
                with np.load(path, allow_pickle=False) as z:
                    self._rows.extend(json.loads(z["rows"].tobytes()))
        return self._rows

    @property
    def photos(self) -> np.ndarray:
        """bool [clips]: photos (a row with an `item`), one stored frame each, held when loaded."""
        if self._photos is None:
            photos = [r.get("item") is not None for r in self.rows] or [False] * len(self.lengths)
            self._photos = np.array(photos, bool)
        return self._photos

    @staticmethod
    def shard_count(root) -> int:
        """How many shards the cache in `root` has (1 for a one-file cache)."""
        return len(json.loads((Path(root) / "index.json").read_text()).get("shards", [None]))

    def __len__(self) -> int:
        return len(self.lengths)

    def __getstate__(self):  # worker processes reopen the files themselves
        state = self.__dict__.copy()
        state["_fds"] = None
        return state

    @property
    def num_frames(self) -> int:
        return int(self.lengths.sum())

    def _one_file(self, what: int) -> Path:
        if len(self.files) != 1:
            raise SignclipError(f"{self.root}: the cache holds {len(self.files)} shards; map one at a time "
                                f"(PackedCache.open(root, shards=[k])) or read clips with read()")
        return self.files[0][what]

    @property
    def frames(self) -> np.ndarray:
        """All stored frames as a read-only memory map [sum T, 203, 3] (storage dtype); one shard only."""
        return np.load(self._one_file(0), mmap_mode="r")

    @property
    def mask(self) -> np.ndarray:
        """All masks as a read-only memory map, bit-packed [sum T, 26]; one shard only."""
        return np.load(self._one_file(1), mmap_mode="r")

    def _open_files(self, shard: int) -> tuple:
        if self._fds is None:
            self._fds = {}
        if shard not in self._fds:
            self._fds[shard] = tuple(os.open(path, os.O_RDONLY) for path in self.files[shard])
        return self._fds[shard]

    def read_stored(self, i: int) -> tuple:
        """Clip i as stored: frames [T, 203, 3] in the cache dtype and the bit-packed mask [T, 26]."""
        shard = int(np.searchsorted(self.starts, i, side="right")) - 1
        fd_frames, fd_mask = self._open_files(shard)
        start, length = int(self.offsets[i]), int(self.lengths[i])
        stored = np.empty((length, POINTS, 3), self.dtype)
        packed = np.empty((length, MASK_BYTES), np.uint8)
        n1 = os.preadv(fd_frames, [stored], HEADER_BYTES + start * POINTS * 3 * self._itemsize)
        n2 = os.preadv(fd_mask, [packed], HEADER_BYTES + start * MASK_BYTES)
        if n1 != stored.nbytes or n2 != packed.nbytes:
            raise SignclipError(f"{self.root}: cache files are truncated; delete and rebuild")
        return stored, packed

    def read(self, i: int) -> tuple:
        """Clip i's raw frames float32 [T, 203, 3] (masked = 0) and mask bool [T, 203].

        Reads with pread into fresh arrays rather than through a memory map, so iterating over a
        cache larger than memory keeps this process's resident memory at the size of a batch.
        """
        stored, packed = self.read_stored(i)
        mask = np.unpackbits(packed, axis=1, count=POINTS).view(bool)   # (T, 203)
        if self.dtype == "float32":
            return stored, mask
        frames = stored.astype(np.float32) * np.float32(self.scales[i])
        frames += self.origins[i].astype(np.float32)
        frames[~mask] = 0.0
        return frames, mask

    def close(self) -> None:
        if self._fds is not None:
            for fds in self._fds.values():
                for fd in fds:
                    os.close(fd)
            self._fds = None


# ---------------------------------------------------------------- building


def cache_key(rows, normalization: NormalizationConfig, *, template: str, dtype: str,
              shard_clips: int | None = None) -> str:
    """sha256 over the rows, their files' sizes and mtimes, and every setting the cache depends on."""
    h = hashlib.sha256()
    settings = {"format": FORMAT_VERSION, "normalization": asdict(normalization), "template": template,
                "dtype": dtype}
    if shard_clips is not None:  # one-file caches keep the keys they had
        settings["shard_clips"] = shard_clips
    h.update(json.dumps(settings, sort_keys=True).encode())
    for row in rows:
        try:
            st = os.stat(row.pose)
        except FileNotFoundError:
            raise SignclipError(f"pose file {row.pose} does not exist") from None
        h.update(json.dumps([row.to_record(), st.st_size, st.st_mtime_ns], ensure_ascii=False).encode())
    return h.hexdigest()


def _reuse(out_dir: Path, key: str) -> PackedCache | None:
    try:
        cache = PackedCache.open(out_dir)
    except SignclipError:
        return None
    return cache if cache.key == key else None


def text_table(rows, template: str) -> tuple:
    """(unique prompts in first-seen order, text id per row)."""
    ids: dict = {}
    text_ids = [ids.setdefault(prompt(row, template), len(ids)) for row in rows]
    return list(ids), text_ids


def _check_clip(frames: np.ndarray, mask: np.ndarray, path, normalization: NormalizationConfig) -> None:
    if frames.shape[0] == 0:
        raise SignclipError(f"{path}: the clip has no frames")
    a, b = shoulder_indices(MODEL_203)
    if (mask[:, a] & mask[:, b]).any():
        return
    if not normalization.hands_alone:
        raise SignclipError(f"{path}: no frame shows both shoulders: cannot be normalized (a model "
                            f"config with normalization.hands_alone takes clips of hands alone); "
                            f"remove it from the manifest")
    if not (mask & hand_points()).any():
        raise SignclipError(f"{path}: no frame shows both shoulders or a hand; remove it from the manifest")


def build_cache(manifest_rows, out_dir, normalization: NormalizationConfig = NormalizationConfig(), *,
                template: str = DEFAULT_TEMPLATE, dtype: str = "float32", shard_clips: int | None = None,
                progress: bool = True) -> PackedCache:
    """The packed cache of these rows in out_dir: reused when its key matches, built otherwise.

    The rows are read twice in a stream (the key, then the clips), so any re-iterable works, a list
    or a manifest read lazily; with `shard_clips` the build's memory does not grow with their number.
    """
    if iter(manifest_rows) is manifest_rows:  # a one-pass iterator: keep it for the second pass
        manifest_rows = list(manifest_rows)
    rows, out_dir = manifest_rows, Path(out_dir)
    if next(iter(rows), None) is None:
        raise SignclipError("cannot build a cache from an empty manifest")
    key = cache_key(rows, normalization, template=template, dtype=dtype, shard_clips=shard_clips)
    cached = _reuse(out_dir, key)
    if cached is not None:
        return cached
    texts: dict = {}                                        # prompt -> id, in first-seen order
    from tqdm import tqdm

    total = len(rows) if hasattr(rows, "__len__") else None
    with _writing(out_dir, key, dtype, shard_clips) as writer:
        for row in tqdm(rows, desc="packing poses", unit="clip", total=total, disable=not progress):
            clip = read_clip(row, 1).to_layout(MODEL_203)     # read once, model layout, raw
            where = row.pose if row.item is None else f"{row.pose} row {row.item}"
            _check_clip(clip.frames, clip.mask, where, normalization)
            text_id = texts.setdefault(prompt(row, template), len(texts))
            writer.add(clip.frames, clip.mask, fps=clip.fps, text_id=text_id, weight=row.weight,
                       record=row.to_record())
        cache = writer.commit(texts=list(texts),
                              meta={"normalization": asdict(normalization), "template": template})
    cache.built = True
    return cache


# ---------------------------------------------------------------- synthetic data at scale

# Spreadthesign pose lengths (REFERENCE.md): median 89, p95 172 frames; a lognormal through both
# (sigma = ln(172/89) / 1.645) has mean 96, close to the measured 98.
LENGTH_MEDIAN, LENGTH_P95 = 89.0, 172.0
LENGTH_SIGMA = float(np.log(LENGTH_P95 / LENGTH_MEDIAN) / 1.6449)


def synthetic_lengths(n: int, rng: np.random.Generator, max_len: int = 512) -> np.ndarray:
    """Clip lengths drawn from the lognormal fitted to Spreadthesign's length distribution."""
    lengths = rng.lognormal(np.log(LENGTH_MEDIAN), LENGTH_SIGMA, size=n)
    return np.clip(np.rint(lengths), 2, max_len).astype(np.int64)


def _synthetic_bank(rng: np.random.Generator, frames: int = 4096) -> tuple:
    """A long random-walk 'signer' in pixels (shoulders 100 px apart) with hands missing in runs."""
    base = rng.normal(0, 60, size=(POINTS, 3)) + np.array([250.0, 250.0, 0.0])
    a, b = shoulder_indices(MODEL_203)
    base[a], base[b] = (200.0, 200.0, 0.0), (300.0, 200.0, 0.0)
    walk = np.cumsum(rng.normal(0, 1.0, size=(frames, POINTS, 3)), axis=0) * 0.5
    bank = (base + walk).astype(np.float32)
    mask = np.ones((frames, POINTS), bool)
    hands = {"LEFT_HAND_LANDMARKS": 0.2, "RIGHT_HAND_LANDMARKS": 0.9}  # detection rates (lexicon)
    for component, rate in hands.items():
        idx = [i for i, (c, _) in enumerate(MODEL_203.points) if c == component]
        seen = np.repeat(rng.random(frames // 16 + 1) < rate, 16)[:frames]   # runs of 16 frames
        mask[:, idx] = seen[:, None]
    bank[~mask] = 0.0
    return bank, mask


def build_synthetic_cache(n: int, out_dir, seed: int = 0, *, dtype: str = "float32",
                          texts: int | None = None, progress: bool = True) -> PackedCache:
    """A cache of n synthetic clips with Spreadthesign-like lengths, written by the same writer."""
    out_dir = Path(out_dir)
    key = hashlib.sha256(json.dumps({"synthetic": n, "seed": seed, "dtype": dtype, "texts": texts,
                                     "format": FORMAT_VERSION}).encode()).hexdigest()
    cached = _reuse(out_dir, key)
    if cached is not None:
        return cached
    rng = np.random.default_rng(seed)
    lengths = synthetic_lengths(n, rng)
    n_texts = texts or max(1, n // 4)
    text_ids = rng.integers(0, n_texts, size=n)
    bank, bank_mask = _synthetic_bank(rng)
    packed_bank = np.packbits(bank_mask, axis=1)
    origin0, scale = encoding(bank, bank_mask)
    stored_bank = bank if dtype == "float32" else np.where(
        bank_mask[..., None], (bank - origin0) / scale, 0.0).astype(np.float16)
    starts = rng.integers(0, len(bank) - lengths + 1)
    shifts = rng.normal(0, 20, size=(n, 3)) * np.array([1.0, 1.0, 0.0])   # signer position
    from tqdm import tqdm

    with _writing(out_dir, key, dtype) as writer:
        for i in tqdm(range(n), desc="synthetic cache", unit="clip", disable=not progress):
            s, t = starts[i], lengths[i]
            window, packed = stored_bank[s:s + t], packed_bank[s:s + t]
            if dtype == "float32":  # shift observed points only: masked points stay zero
                frames = window + np.where(bank_mask[s:s + t, :, None], shifts[i], 0.0).astype(np.float32)
                writer.add_encoded(frames, packed, fps=25.0, text_id=int(text_ids[i]))
            else:
                writer.add_encoded(window, packed, fps=25.0, text_id=int(text_ids[i]),
                                   origin=origin0 + shifts[i], scale=scale)
        cache = writer.commit(texts=[f"<en> <sgn> word {j}" for j in range(n_texts)], rows=[],
                              meta={"normalization": asdict(NormalizationConfig()),
                                    "template": DEFAULT_TEMPLATE, "synthetic": True})
    cache.built = True
    return cache
