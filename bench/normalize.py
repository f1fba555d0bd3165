"""Normalization speed: pose-format's normalize vs ours per clip vs ours per streamed frame.

    python bench/normalize.py [--repeat 200]

Per clip, ours = layout conversion to the model's 203 points + normalization + leg hiding + dominant-
hand check (the whole `preprocess`), against pose-format's `normalize` alone. Per frame = one
`StreamingNormalizer.push` including the conversion to the model layout.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
from report import add_markdown_option, machine, page_section

from signclip.runtime.cli.bench import timed

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "data"
CLIPS = [DATA / "poses" / "holistic576_97f.pose", DATA / "poses" / "holistic576_121f.pose",
         next((DATA / "lexicon").rglob("*.pose"))]


def median_seconds(fn, repeat: int) -> float:
    return timed(fn, repeat)["median_ms"] / 1e3  # signclip bench's timer


def bench_clip(path: Path, repeat: int) -> dict:
    from pose_format import Pose
    from pose_format.utils.generic import pose_normalization_info

    from signclip.runtime.pose.io import read_pose
    from signclip.runtime.pose.normalize import normalize_frames, preprocess
    from signclip.runtime.pose.streaming import StreamingNormalizer

    raw = path.read_bytes()
    pose = Pose.read(raw)
    info = pose_normalization_info(pose.header)

    def pose_format_normalize():
        Pose(pose.header, pose.body.copy()).normalize(info)

    clip = read_pose(path)
    stream = StreamingNormalizer(clip.layout, capacity=clip.num_frames * (repeat + 2))

    def stream_clip():
        stream.reset()
        for t in range(clip.num_frames):
            stream.push(clip.frames[t], clip.mask[t])

    baseline = median_seconds(pose_format_normalize, repeat)
    normalize_only = median_seconds(lambda: normalize_frames(clip.frames, clip.mask, clip.layout), repeat)
    full = median_seconds(lambda: preprocess(clip), repeat)
    per_frame = median_seconds(stream_clip, max(repeat // 4, 5)) / clip.num_frames
    return {"clip": f"{path.name} ({clip.num_frames}f, {clip.layout.size}p)", "pose-format": baseline,
            "ours normalize": normalize_only, "ours preprocess": full, "ours per frame": per_frame}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=200)
    add_markdown_option(parser)
    args = parser.parse_args(argv)
    with page_section(args.markdown, "bench/normalize.py"):
        return run_benchmark(args)


def run_benchmark(args) -> int:
    """Run the measurements and print their tables."""
    print(machine())
    t0 = time.perf_counter()
    from signclip.runtime.pose import normalize  # noqa: F401  (compiles or loads the Numba cache)
    from signclip.runtime.pose.io import read_pose
    from signclip.runtime.pose.normalize import preprocess

    preprocess(read_pose(CLIPS[0]))
    jit = time.perf_counter() - t0

    rows = [bench_clip(p, args.repeat) for p in CLIPS]
    print(f"JIT compile / cache load + first call: {jit * 1e3:.0f} ms (not in the table)\n")
    header = ("clip", "pose-format ms", "ours normalize us", "x", "ours preprocess us", "x",
              "per streamed frame us")
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    ok = True
    for r in rows:
        base = r["pose-format"]
        x_norm, x_full = base / r["ours normalize"], base / r["ours preprocess"]
        ok &= x_full >= 20 and r["ours per frame"] <= 20e-6
        print(f"| {r['clip']} | {base * 1e3:.3f} | {r['ours normalize'] * 1e6:.1f} | {x_norm:.0f}x | "
              f"{r['ours preprocess'] * 1e6:.1f} | {x_full:.0f}x | {r['ours per frame'] * 1e6:.2f} |")
    print(f"\ntargets (>= 20x per clip for the whole preprocess, <= 20 us per frame): "
          f"{'met' if ok else 'MISSED'}")
    return 0 if ok else 1


if __name__ == "__main__":
    np.seterr(all="ignore")
    sys.exit(main())
