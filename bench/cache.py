"""The packed cache at corpus scale: build rate, disk size and peak memory, one file vs shards.

    python bench/cache.py [--sizes 10000 100000] [--shard-clips 10000] [--markdown docs/speed.md]

Entries are real clips, the fingerspelling lexicon's (--clips of them, read once), repeated with
jitter: each entry moves, scales and shakes its clip's observed points, and carries a manifest
record like a corpus row's. Every build runs in a fresh process through the cache's own writer
(`CacheWriter.add`: float16 encoding, bit-packed mask, index, records) into --work, and is deleted
once measured; the rate times the writer alone (not making the jitter); peak memory is that
process's peak resident set (VmHWM, reset after reading the clips) less its resident set before
the first entry (the clips and libraries). The baseline is the one-file cache, the layout
every cache had before shards; ratios are against it at the same size, in the same run. 500k is
projected linearly from the two sizes measured (time and disk from the larger, memory's slope
through both).
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from report import add_markdown_option, machine, page_section

ROOT = Path(__file__).resolve().parents[1]
PROJECT = 500_000


def _status_mb(field: str) -> float:
    """VmRSS (resident now) or VmHWM (its peak) of this process, from /proc/self/status."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no {field} in /proc/self/status")


def real_clips(count: int) -> list:
    """(frames [T, 203, 3] float32, mask [T, 203], fps) of `count` lexicon clips, spread over it."""
    from signclip.runtime.pose.layouts import MODEL_203
    from signclip.trainer.clips import read_clip
    from signclip.trainer.lexicon import lexicon_rows

    rows = lexicon_rows()
    picked = rows[:: max(1, len(rows) // count)][:count]
    clips = [read_clip(r, 1).to_layout(MODEL_203) for r in picked]
    return [(c.frames.astype(np.float32), c.mask, float(c.fps)) for c in clips]


def entries(clips: list, n: int, seed: int = 0):
    """n jittered copies of the clips, in turn: (frames, mask, fps, text id, manifest record)."""
    rng = np.random.default_rng(seed)
    for i in range(n):
        frames, mask, fps = clips[i % len(clips)]
        shift = rng.normal(0, 20, 3) * (1.0, 1.0, 0.0)                  # signer position, px
        scale = rng.uniform(0.8, 1.25)                                  # distance to the camera
        shaken = frames * np.float32(scale) + shift.astype(np.float32)
        shaken += rng.normal(0, 0.5, frames.shape).astype(np.float32)  # (T, 203, 3) landmark noise
        shaken[~mask] = 0.0
        record = {"pose": f"/corpus/poses/{i // 1000:04d}/clip-{i:08d}.pose", "text": f"sign {i % 20000}",
                  "spoken_language": "en", "sign_language": "ase", "signer": f"signer-{i % 3000}",
                  "split": "train", "item": None, "weight": 1}
        yield shaken, mask, fps, i % 20000, record


def child(args) -> int:
    """One build, measured, in this process: prints a JSON line."""
    from signclip.trainer.cache import CacheWriter

    clips = real_clips(args.clips)
    shard = args.shard_clips or None
    Path("/proc/self/clear_refs").write_text("5")         # the peak so far (reading the clips) forgotten
    start_rss, seconds = _status_mb("VmRSS"), 0.0
    writer = CacheWriter(args.work, f"{args.child:016x}" + "0" * 48, args.dtype, shard_clips=shard)
    for frames, mask, fps, text_id, record in entries(clips, args.child):
        began = time.perf_counter()                        # the writer's time only, not the jitter's
        writer.add(frames, mask, fps=fps, text_id=text_id, record=record)
        seconds += time.perf_counter() - began
    began = time.perf_counter()
    cache = writer.commit(texts=[f"<en> <ase> sign {j}" for j in range(min(args.child, 20000))],
                          meta={"normalization": {}, "template": "<{spoken}> <{signed}> {text}"})
    seconds += time.perf_counter() - began
    peak = _status_mb("VmHWM")
    disk = sum(p.stat().st_size for p in Path(args.work).iterdir())
    print(json.dumps({"seconds": seconds, "start_mb": start_rss, "peak_mb": peak, "disk": disk,
                      "frames": cache.num_frames, "shards": len(cache.files)}))
    return 0


def measure(n: int, dtype: str, shard_clips: int, args) -> dict:
    work = args.work / f"{n}-{dtype}-{shard_clips}"
    shutil.rmtree(work, ignore_errors=True)
    command = [sys.executable, __file__, "--child", str(n), "--dtype", dtype, "--shard-clips",
               str(shard_clips), "--clips", str(args.clips), "--work", str(work)]
    try:
        out = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return json.loads(out.strip().splitlines()[-1])


def float16_errors(clips: list) -> np.ndarray:
    """Each clip's largest error in normalized units (shoulder widths) when stored in float16 and read
    back as the cache reads it; the gate the cache's tests hold: below 1e-3 (the noise augmentation)."""
    from signclip.runtime.pose.layouts import MODEL_203
    from signclip.runtime.pose.normalize import NormalizationConfig, finish, normalize_frames
    from signclip.trainer.cache import encoding

    errors = []
    for frames, mask, _ in clips:
        origin, scale = encoding(frames, mask)
        stored = np.where(mask[..., None], (frames - origin) / scale, 0.0).astype(np.float16)
        back = stored.astype(np.float32) * np.float32(scale)          # as PackedCache.read decodes
        back += origin.astype(np.float32)
        back[~mask] = 0.0
        a = finish(normalize_frames(frames, mask, MODEL_203), mask, NormalizationConfig())
        b = finish(normalize_frames(back, mask, MODEL_203), mask, NormalizationConfig())
        errors.append(float(np.abs(a.frames - b.frames)[a.mask].max()))
    return np.array(errors)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--shard-clips", type=int, default=10_000, help="clips a shard (0: one file)")
    parser.add_argument("--clips", type=int, default=120, help="real lexicon clips the entries repeat")
    parser.add_argument("--gate-clips", type=int, default=600, help="lexicon clips the float16 gate reads")
    parser.add_argument("--dtype", choices=("float16", "float32"), default="float16")
    parser.add_argument("--work", type=Path, default=ROOT / "runs" / "bench-cache")
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    add_markdown_option(parser)
    args = parser.parse_args(argv)
    if args.child:
        return child(args)
    if len(args.sizes) < 2 or sorted(args.sizes) != args.sizes:
        raise SystemExit(f"--sizes {args.sizes}: give two or more sizes, smallest first")
    need_gb = args.sizes[-1] * 26 * (609 * np.dtype(args.dtype).itemsize + 26) / 1e9
    args.work.mkdir(parents=True, exist_ok=True)
    free_gb = shutil.disk_usage(args.work).free / 1e9
    if need_gb > free_gb - 10:
        raise SystemExit(f"{args.sizes[-1]:,} entries need about {need_gb:.0f} GB; {args.work} has "
                         f"{free_gb:.0f} GB free (keeping 10 GB spare): pass smaller --sizes")
    with page_section(args.markdown, "bench/cache.py"):
        return run_benchmark(args)


def run_benchmark(args) -> int:
    print(machine())
    clips = real_clips(args.clips)
    mean_t = np.mean([len(c[0]) for c in clips])
    errors = float16_errors(real_clips(args.gate_clips))
    print(f"Entries: {args.clips} lexicon clips ({mean_t:.1f} frames on average) repeated with jitter; "
          f"{args.dtype}; shards of {args.shard_clips:,} clips.\nfloat16 storage over {len(errors)} lexicon "
          f"clips, each clip's largest error in shoulder widths: median {np.median(errors):.1e}, 99th "
          f"percentile {np.percentile(errors, 99):.1e}, largest {errors.max():.1e}; "
          f"{int((errors < 1e-3).sum())} of {len(errors)} clips within the gate (< 1e-3)\n")
    layouts = [("one file (baseline)", 0), (f"shards of {args.shard_clips:,}", args.shard_clips)]
    results = {}
    for n in args.sizes:
        for name, shard in layouts:
            results[name, n] = r = measure(n, args.dtype, shard, args)
            print(f"  measured {name} at {n:,}: {r['seconds']:.1f} s, "
                  f"peak +{r['peak_mb'] - r['start_mb']:.0f} MB", file=sys.stderr)
    header = ("layout", "entries", "build entries/s", "x", "disk GB", "KB/entry", "peak RSS growth MB", "x",
              "shards")
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    small, large = args.sizes[0], args.sizes[-1]
    flat = True
    for name, shard in layouts:
        for n in args.sizes:
            r, base = results[name, n], results[layouts[0][0], n]
            grow, base_grow = r["peak_mb"] - r["start_mb"], base["peak_mb"] - base["start_mb"]
            print(f"| {name} | {n:,} | {n / r['seconds']:,.0f} | {base['seconds'] / r['seconds']:.2f}x | "
                  f"{r['disk'] / 1e9:.2f} | {r['disk'] / n / 1024:.1f} | {grow:.0f} | "
                  f"{grow / max(base_grow, 1e-9):.2f}x | {r['shards']} |")
        a, b = results[name, small], results[name, large]
        slope = ((b["peak_mb"] - b["start_mb"]) - (a["peak_mb"] - a["start_mb"])) / (large - small)
        grow = b["peak_mb"] - b["start_mb"] + slope * (PROJECT - large)
        seconds, disk = b["seconds"] * PROJECT / large, b["disk"] * PROJECT / large
        print(f"| {name} | {PROJECT:,} (projected) | {PROJECT / seconds:,.0f} | | {disk / 1e9:.2f} | "
              f"{disk / PROJECT / 1024:.1f} | {grow:.0f} | | {-(-PROJECT // shard) if shard else 1} |")
        if shard:
            growths = [results[name, n]["peak_mb"] - results[name, n]["start_mb"] for n in args.sizes]
            flat = max(growths) - min(growths) <= max(16.0, 0.1 * min(growths))
    print(f"\nsharded build's peak memory flat from {small:,} to {large:,} entries (within 10% or 16 MB): "
          f"{'met' if flat else 'MISSED'}")
    return 0 if flat else 1


if __name__ == "__main__":
    sys.exit(main())
