"""Time each stage here: MediaPipe per frame, normalization, encoders, and lookup against the index targets.

    signclip bench
    signclip bench --video sign.mp4 --json      # MediaPipe on a real video instead of synthetic frames
    signclip bench --rows 100000 --dim 384      # the index targets' size (default)
"""

from __future__ import annotations

import json
import time

import numpy as np

from ..errors import SignclipError
from .engine_args import add_engine_arguments, encoder_options

# targets on 2 CPU cores (issue 12): exact top-5 over 100,000 x 384, and the compact index
EXACT_TARGET_MS, COMPACT_TARGET_MS, COMPACT_RECALL = 5.0, 1.5, 0.99


def add_arguments(parser) -> None:
    parser.add_argument("--video", metavar="FILE",
                        help="time MediaPipe on this video (default: synthetic frames)")
    parser.add_argument("--rows", type=int, default=100_000, help="index rows (default 100,000)")
    parser.add_argument("--dim", type=int, default=384, help="index dimensions (default 384)")
    parser.add_argument("--queries", type=int, default=200, help="index queries to time")
    parser.add_argument("--repeats", type=int, default=20, help="timed runs of the other stages")
    parser.add_argument("--json", action="store_true")
    add_engine_arguments(parser)


def timed(fn, repeats: int, warmup: int = 1) -> dict:
    for _ in range(warmup):
        fn()
    t = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        t.append(time.perf_counter() - t0)
    return {"median_ms": 1e3 * float(np.median(t)), "p90_ms": 1e3 * float(np.percentile(t, 90))}


def synthetic_clip(frames: int = 98, seed: int = 0):
    """A 576-point Holistic clip: every point observed, a person-sized spread in pixels."""
    from ..pose.clip import PoseClip
    from ..pose.layouts import HOLISTIC_576

    rng = np.random.default_rng(seed)
    xyz = rng.uniform(100, 500, (frames, HOLISTIC_576.size, 3)).astype(np.float32)
    return PoseClip(HOLISTIC_576, xyz, np.ones(xyz.shape[:2], bool), 25.0, 640, 480)


def stage_mediapipe(video, repeats: int) -> dict:
    try:
        from ..capture.holistic import HolisticCapture, open_video, video_frames
    except ImportError as e:
        return {"skipped": f"MediaPipe capture unavailable ({e})"}
    if video:
        capture, _ = open_video(video)
        frames = list(video_frames(capture))[:repeats + 1]
        capture.release()
        what = f"{video}, {len(frames)} frames"
    else:
        rng = np.random.default_rng(0)
        frames = [rng.integers(0, 255, (480, 640, 3), np.uint8) for _ in range(repeats + 1)]
        what = "synthetic 640x480 noise (no person: detection only; give --video for real frames)"
    with HolisticCapture() as holistic:
        holistic.process(frames[0])
        began = time.perf_counter()
        # frames stream through as a video's do (two in flight): the time from one out to the next
        out = [time.perf_counter() for _ in holistic.stream(enumerate(frames[1:]))]
    times = np.diff([began, *out])
    return {"median_ms": 1e3 * float(np.median(times)), "p90_ms": 1e3 * float(np.percentile(times, 90)),
            "per": "frame", "input": what}


def stage_index(rows: int, dim: int, queries: int, k: int = 5) -> dict:
    """Exact and compact top-k over random unit vectors (the hardest case for the compact index)."""
    from ..model.index import IndexKind, VectorIndex, brute_force, recall_at_k

    rng = np.random.default_rng(0)
    x = rng.standard_normal((rows, dim), np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    q = rng.standard_normal((queries, dim), np.float32)
    q /= np.linalg.norm(q, axis=1, keepdims=True)
    truth = [brute_force(x, qq, k).ids for qq in q]
    out = {}
    for name, kind, target in (("exact", IndexKind.EXACT, EXACT_TARGET_MS),
                               ("compact", IndexKind.INT8, COMPACT_TARGET_MS)):
        index = VectorIndex(x, kind=kind)
        index.search(q[0], k)
        times, recalls = [], []
        for qq, t in zip(q, truth, strict=True):
            t0 = time.perf_counter()
            ids = index.search(qq, k).ids
            times.append(time.perf_counter() - t0)
            recalls.append(recall_at_k(ids, t))
        med = 1e3 * float(np.median(times))
        recall = float(np.mean(recalls))
        ok = med <= target and (kind is IndexKind.EXACT or recall >= COMPACT_RECALL)
        out[name] = {"median_ms": med, "p90_ms": 1e3 * float(np.percentile(times, 90)), "recall_at_5": recall,
                     "target_ms": target, "meets_target": ok, "rows": rows, "dim": dim,
                     "kind": "4-bit PQ scan + float32 re-rank" if index.pq is not None else kind.value,
                     "mbytes": index.nbytes / 1e6}
    return out


def run(args) -> int:
    from ..model.bundle import load_bundle
    from ..pose.normalize import preprocess

    report = {"mediapipe": stage_mediapipe(args.video, args.repeats)}
    clip = synthetic_clip()
    report["normalization"] = {**timed(lambda: preprocess(clip), args.repeats), "per": "clip of 98 frames"}
    try:
        bundle = load_bundle(args.bundle)
    except SignclipError as e:
        bundle = None
        report["pose_encoder"] = report["text_encoder"] = report["vocabulary_lookup"] = {"skipped": str(e)}
    if bundle is not None:
        from ..recognition.engine import Engine

        engine = Engine(bundle, encoder_options(args), personal=False)
        x = engine.model_input(clip)
        enc = engine.pose_encoder
        report["pose_encoder"] = {**timed(lambda: enc.embed([x]), args.repeats), "per": "clip of 98 frames",
                                  "provider": enc.provider}
        prompt = bundle.prompt_template.format(spoken="en", signed="ase", text="house")
        if bundle.has_text_encoder:
            provider = engine.text_encoder.session.get_providers()[0]
            report["text_encoder"] = {**timed(lambda: engine.embed_texts([prompt]), args.repeats),
                                      "per": "prompt", "provider": provider}
        else:
            report["text_encoder"] = {"skipped": "this bundle has no text encoder (pose-only)"}
        e = enc.embed([x])[0]
        if len(engine.label_index):
            report["vocabulary_lookup"] = {**timed(lambda: engine.lookup_embedding(e, 5), args.repeats),
                                           "per": f"query over {len(engine.label_index)} entries"}
    report["index"] = stage_index(args.rows, args.dim, args.queries)
    if args.json:
        print(json.dumps(report, indent=1))
    else:
        print_report(report)
    return 0


def print_report(report: dict) -> None:
    print(f"{'stage':<20} {'median ms':>10} {'p90 ms':>8}  notes")
    for name, r in report.items():
        if name == "index":
            continue
        if "skipped" in r:
            print(f"{name:<20} {'-':>10} {'-':>8}  skipped: {r['skipped']}")
            continue
        notes = ", ".join(f"{k} {v}" for k, v in r.items() if k not in ("median_ms", "p90_ms"))
        print(f"{name:<20} {r['median_ms']:10.3f} {r['p90_ms']:8.3f}  {notes}")
    for name, r in report["index"].items():
        verdict = "meets" if r["meets_target"] else "MISSES"
        print(f"{'index ' + name:<20} {r['median_ms']:10.3f} {r['p90_ms']:8.3f}  top-5 over {r['rows']:,} x "
              f"{r['dim']} {r['kind']} ({r['mbytes']:.0f} MB scanned), recall@5 {r['recall_at_5']:.4f}, "
              f"{verdict} target <= {r['target_ms']} ms")
