"""Streaming recognition speed: per-frame cost, end-of-sign latency, and both over a 10-minute stream.

    python bench/streaming.py [--minutes 10] [--bundle DIR] [--clips 60]

A stream at 30 fps is replayed from real lexicon clips (the installed spoken_to_signed lexicon, else
tests/data/lexicon) with rest frames (the clip's own body, hands in the lap) between signs. MediaPipe
is excluded: frames are keypoints. Streaming = `Recognizer.push` per frame (segmentation +
`StreamingNormalizer`) and, at each sign's end, model input + encoder + lookup. Offline baseline on
the same segments = `preprocess(clip.slice(start, end))` + the same encoder + lookup. The bundle is
--bundle, else the default bundle, else a tiny random-weight bundle built with the tests' helper
(then encoder times are not those of the real model: said in the output).
"""

from __future__ import annotations

import argparse
import csv
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from report import add_markdown_option, machine, page_section

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "data"
FPS = 30.0


def lexicon_rows(limit: int) -> list:
    """(folder, rows) of lexicon clips: the full installed lexicon if present, else the test copies."""
    try:
        from importlib import resources

        folder = Path(str(resources.files("spoken_to_signed") / "assets" / "fingerspelling_lexicon"))
        if not (folder / "data.csv").is_file():
            raise FileNotFoundError(folder)
    except (ImportError, FileNotFoundError):
        folder = DATA / "lexicon"
    with open(folder / "data.csv", newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    rows = [r for r in rows if r["signed_language"] == "ase"] or rows
    return folder, rows[:limit]


def rest_of(frame: np.ndarray, mask: np.ndarray, layout) -> tuple:
    """The same body with its hands resting: hand points masked, the body's arm points in the lap."""
    from signclip.runtime.pose.layouts import BODY, LEFT_HAND, RIGHT_HAND

    frame, mask = frame.copy(), mask.copy()
    r, left = layout.index[(BODY, "RIGHT_SHOULDER")], layout.index[(BODY, "LEFT_SHOULDER")]
    centre_y = (frame[r, 1] + frame[left, 1]) / 2
    width = float(np.linalg.norm(frame[r, :2] - frame[left, :2]))
    hands = [i for i, (c, _) in enumerate(layout.points) if c in (LEFT_HAND, RIGHT_HAND)]
    frame[hands], mask[hands] = 0, False
    for side in ("RIGHT", "LEFT"):
        for p in ("WRIST", "PINKY", "INDEX", "THUMB"):
            frame[layout.index[(BODY, f"{side}_{p}")], 1] = centre_y + 1.6 * width
    return frame, mask


def make_stream(minutes: float, clip_limit: int, seed: int = 0):
    """Frames [T, K, 3], mask [T, K] and layout of `minutes` at 30 fps: rest, sign, rest, sign, ..."""
    from signclip.runtime.pose.io import read_pose

    folder, rows = lexicon_rows(clip_limit)
    clips = [read_pose(folder / r["path"]) for r in rows]
    layout = clips[0].layout
    clips = [c for c in clips if c.layout == layout]
    rng = np.random.default_rng(seed)
    total = int(minutes * 60 * FPS)
    frames = np.zeros((total, layout.size, 3), np.float32)
    mask = np.zeros((total, layout.size), bool)
    t, signs = 0, 0
    while t < total:
        clip = clips[rng.integers(len(clips))]
        rest, rest_mask = rest_of(clip.frames[0], clip.mask[0], layout)
        n = min(int(rng.integers(15, 45)), total - t)
        frames[t:t + n], mask[t:t + n] = rest, rest_mask
        t += n
        n = min(clip.num_frames, total - t)
        frames[t:t + n], mask[t:t + n] = clip.frames[:n], clip.mask[:n]
        t += n
        signs += 1
    return frames, mask, layout, signs, folder


def open_bundle(path: str | None):
    """(Engine, description): --bundle, else the default bundle, else a tiny bundle from the tests."""
    from signclip.runtime.errors import SignclipError
    from signclip.runtime.model.bundle import default_bundle_path
    from signclip.runtime.recognition.engine import Engine

    if path:
        return Engine(path, personal=False), f"bundle {path}"
    try:
        return Engine(default_bundle_path(), personal=False), f"default bundle {default_bundle_path()}"
    except SignclipError as e:
        print(f"no default bundle ({e}); using the tests' tiny random-weight bundle: encoder times "
              "below are NOT the real model's", file=sys.stderr)
    sys.path.insert(0, str(ROOT / "tests" / "runtime"))
    from tiny_bundle import make_tiny_bundle

    folder = Path(tempfile.mkdtemp(prefix="signclip-bench-")) / "tiny"
    return Engine(make_tiny_bundle(folder), personal=False), "tiny test bundle (random weights, 1 layer)"


def percentile(values, q: float) -> float:
    return float(np.percentile(values, q)) if len(values) else float("nan")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--clips", type=int, default=60, help="distinct lexicon clips to replay")
    parser.add_argument("--bundle", default=None)
    add_markdown_option(parser)
    args = parser.parse_args(argv)
    with page_section(args.markdown, "bench/streaming.py"):
        return run_benchmark(args)


def run_benchmark(args) -> int:
    """Run the measurements and print their tables."""
    print(machine())
    from signclip.runtime.pose.clip import PoseClip
    from signclip.runtime.pose.normalize import preprocess
    from signclip.runtime.recognition.recognizer import Recognizer, run_lookup
    from signclip.runtime.recognition.segmentation import HandActivitySegmenter

    frames, mask, layout, planted, folder = make_stream(args.minutes, args.clips)
    engine, described = open_bundle(args.bundle)
    encode, search = engine.pose_encoder.embed_one, lambda e: engine.lookup_embedding(e, 5)
    normalization = engine.bundle.normalization

    # warm-up: JIT kernels and the ONNX session, on the first minute
    warm = Recognizer(layout, FPS, encode, search, normalization=normalization)
    warm.warm_up()
    for t in range(min(len(frames), int(60 * FPS))):
        warm.push(frames[t], mask[t])

    # segmentation alone, per frame
    segmenter = HandActivitySegmenter(layout, FPS)
    t0 = time.perf_counter_ns()
    for t in range(len(frames)):
        segmenter.step(frames[t], mask[t])
    segment_us = (time.perf_counter_ns() - t0) / len(frames) / 1e3

    # streaming: every frame pushed, signs recognized as they end
    recognizer = Recognizer(layout, FPS, encode, search, normalization=normalization)
    events, frame_ns = [], np.zeros(len(frames), np.int64)
    for t in range(len(frames)):
        t0 = time.perf_counter_ns()
        ended = recognizer.push(frames[t], mask[t])
        spent = time.perf_counter_ns() - t0
        if ended:  # a frame that ended a sign also ran its encoder: count only its frame work
            spent = max(spent - sum(int(e.timings.result_ms * 1e6) for e in ended), 0)
            events += ended
        frame_ns[t] = spent
    events += recognizer.finish()

    # offline on the same segments: preprocess the slice, then the same encoder and lookup
    clip = PoseClip(layout, frames, mask, FPS)
    offline_prep, offline_lat, same = [], [], 0
    for e in events:
        t0 = time.perf_counter_ns()
        x = preprocess(clip.slice(e.start_frame, e.end_frame), normalization)
        t1 = time.perf_counter_ns()
        results, enc_ns, look_ns = run_lookup(x, encode, search)
        offline_prep.append((t1 - t0) / 1e6)
        offline_lat.append((t1 - t0 + enc_ns + look_ns) / 1e6)
        same += results == e.results

    stream_lat = [e.timings.result_ms for e in events]
    minute = int(60 * FPS)
    first = [e for e in events if e.decided_frame < minute]
    last = [e for e in events if e.decided_frame >= len(frames) - minute]
    seg_frames = sum(e.end_frame - e.start_frame for e in events)
    offline_frame_us = sum(offline_prep) * 1e3 / max(seg_frames, 1)

    def row(name, value, unit, base=None):
        ratio = f"{value / base:.2f}x" if base else "-"
        print(f"| {name.strip()} | {value:.3f} {unit} | {ratio} |")

    print(f"stream: {args.minutes:g} min at {FPS:g} fps = {len(frames)} frames, {planted} planted signs "
          f"from {folder}; {described}; encoder provider {getattr(engine.pose_encoder, 'provider', '?')}")
    print(f"found {len(events)} signs; streaming results identical to offline: {same}/{len(events)}\n")
    print("| measure | value | ratio |")
    print("|---|---|---|")
    row("per frame: segmentation only (mean over stream)", segment_us, "us")
    row("per frame: segmentation + normalization, streaming mean", frame_ns.mean() / 1e3, "us")
    row("per frame: streaming median", float(np.median(frame_ns)) / 1e3, "us")
    row("per frame: streaming p99", percentile(frame_ns, 99) / 1e3, "us")
    row("per frame: offline preprocess of each segment (baseline)", offline_frame_us, "us")
    row("per frame: streaming mean / offline", frame_ns.mean() / 1e3, "us", offline_frame_us)
    row("end of sign -> result, offline median (baseline)", statistics.median(offline_lat), "ms")
    row("end of sign -> result, streaming median", statistics.median(stream_lat), "ms",
        statistics.median(offline_lat))
    row("end of sign -> result, streaming p95", percentile(stream_lat, 95), "ms",
        percentile(offline_lat, 95))
    row("  of which model input (median)", statistics.median(e.timings.model_input_ms for e in events), "ms")
    row("  of which encoder (median)", statistics.median(e.timings.encode_ms for e in events), "ms")
    row("  of which lookup (median)", statistics.median(e.timings.lookup_ms for e in events), "ms")
    if first and last:
        f_lat = statistics.median(e.timings.result_ms for e in first)
        l_lat = statistics.median(e.timings.result_ms for e in last)
        f_fr = frame_ns[:minute].mean() / 1e3
        l_fr = frame_ns[-minute:].mean() / 1e3
        row(f"first minute: end -> result median ({len(first)} signs)", f_lat, "ms")
        row(f"last minute: end -> result median ({len(last)} signs) / first", l_lat, "ms", f_lat)
        row("first minute: per frame mean", f_fr, "us")
        row("last minute: per frame mean / first", l_fr, "us", f_fr)
    hold = recognizer.segmenter.frames.end / FPS * 1e3
    print(f"\n(a sign's end is decided {hold:.0f} ms after its last active frame: the rest it must see, "
          f"SegmenterConfig.end_s; the latencies above start at that decision)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
