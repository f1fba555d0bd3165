"""Capture modes beside MediaPipe Holistic on the fixture videos, in one run: time per frame, the
landmarks' agreement with Holistic, the letters read, and a whole `signclip lookup` against Holistic.

    python bench/capture.py                      # every mode, 2 rounds, the fixture videos
    python bench/capture.py --rounds 3 --videos tests/data/videos/asl_letters_CAB.mp4
    python bench/capture.py --markdown docs/speed.md   # also writes its section of that page

Modes: MediaPipe's own Holistic solution (the baseline and the reference), and ours: the same
graph with and without its face, streamed with frames in flight (`holistic_graph.py`), and without
the face skipping the hand models of a hand resting unfound (the default bundle's capture).
Per frame: the video decoded to RGB once, beforehand; each mode runs over every frame after its
graph has started on the first, modes in turns over `--rounds` rounds (medians), so that they see
the same phases of a shared machine. Hands found: the share of the hands Holistic finds (frames x
sides) that the mode finds too. Agreement: for each frame where both find a hand, the largest
distance between a mode's hand points and Holistic's, in palm lengths (Holistic's wrist to middle
knuckle); pose points (the 25 upper-body ones) likewise, in the frame's palm length. Lookup: the
whole command on the C-A-B video (interpreter start and model loading included) against Holistic
alone on the same frames (decode, RGB, MediaPipe's solution; graph start-up excluded, as
bench/app.py), in turns over at least 3 rounds (medians).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("GLOG_minloglevel", "2")

from signclip.runtime.capture.holistic import (  # noqa: E402
    CaptureConfig,
    HolisticCapture,
    holistic_keypoints,
    open_video,
    quiet_native_stderr,
    video_frames,
)
from signclip.runtime.capture.holistic_graph import BODY_AND_HANDS  # noqa: E402
from signclip.runtime.model.int8_path import cpu_name  # noqa: E402
from signclip.runtime.pose.layouts import BODY, HOLISTIC_576, LEFT_HAND, RIGHT_HAND  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from report import add_markdown_option, holistic_alone, mediapipe_holistic, page_section  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
VIDEOS = ROOT / "tests" / "data" / "videos"
LETTERS = "ABCL"
DEFAULT_VIDEOS = [VIDEOS / "asl_letters_CAB.mp4", *(VIDEOS / f"asl_letter_{x}.mp4" for x in LETTERS),
                  VIDEOS / "webcam_one_hand.mp4"]
BASELINE = "MediaPipe's Holistic"
# mode -> our capture's config (frames streamed, a few in flight); the baseline is MediaPipe's own
# solution; the last mode is what the default bundle reads (capture_for)
MODES = {BASELINE: None, "holistic": CaptureConfig(), "without face": CaptureConfig(face=False),
         "without face, still hands skipped": CaptureConfig(face=False, skip_still_hands=True)}
UPPER_BODY = np.array([c == BODY for c, _ in HOLISTIC_576.points]) & \
    (np.arange(HOLISTIC_576.size) < 25)  # nose to hips: the points the model reads
HANDS = {side: np.array([c == side for c, _ in HOLISTIC_576.points]) for side in (LEFT_HAND, RIGHT_HAND)}
CLOSE = 0.05  # palm lengths


def decoded(path: Path) -> list:
    capture, _ = open_video(path)
    try:
        return list(video_frames(capture))
    finally:
        capture.release()


class SolutionCapture:
    """MediaPipe's own Holistic solution with our capture's `process` and `close`."""

    def __init__(self):
        self._open = contextlib.ExitStack()
        self._open.enter_context(quiet_native_stderr())
        self.solution = self._open.enter_context(mediapipe_holistic())

    def process(self, rgb) -> tuple:
        results = self.solution.process(rgb)
        names = (*BODY_AND_HANDS, "face_landmarks")
        return holistic_keypoints({n: getattr(results, n) for n in names}, rgb.shape[1], rgb.shape[0])

    def close(self) -> None:
        self._open.close()


def capture(frames: list, mode) -> tuple:
    """(points [T, K, 3], found [T, K], ms per frame) of one mode over the frames."""
    graph = SolutionCapture() if mode is None else HolisticCapture(mode)
    try:
        out = [graph.process(frames[0])]  # the graph's start-up is not per-frame cost
        began = time.perf_counter()
        if mode is None:
            out += [graph.process(rgb) for rgb in frames[1:]]
        else:
            out += [(f, c) for _, f, c in graph.stream(enumerate(frames[1:]))]
        ms = (time.perf_counter() - began) / max(1, len(frames) - 1) * 1e3
    finally:
        graph.close()
    points = np.stack([p for p, _ in out])
    return points, np.stack([c for _, c in out]) > 0, ms


def palm(points: np.ndarray) -> float:
    """A hand's palm length [21, 3]: wrist to middle knuckle, in pixels."""
    return float(np.linalg.norm(points[9, :2] - points[0, :2]))


def agreement(reference: tuple, other: tuple) -> dict:
    """Largest point distances, in palm lengths, of `other` from `reference` (points, found)."""
    (ref, ref_found), (got, got_found) = reference, other
    hands, pose, kept = [], [], []
    for t in range(len(ref)):
        palms = []
        for side in HANDS.values():
            if ref_found[t, side].all():
                kept.append(got_found[t, side].all())
            if ref_found[t, side].all() and got_found[t, side].all():
                length = palm(ref[t, side])
                palms.append(length)
                hands.append(np.linalg.norm(got[t, side, :2] - ref[t, side, :2], axis=1).max() / length)
        both = ref_found[t, UPPER_BODY] & got_found[t, UPPER_BODY]
        if palms and both.any():
            pose.append(np.linalg.norm(got[t, UPPER_BODY][both, :2] - ref[t, UPPER_BODY][both, :2],
                                       axis=1).max() / np.mean(palms))
    def share(distances: list) -> float:
        return float(np.mean(np.array(distances) <= CLOSE)) if distances else float("nan")

    return {"hand frames": len(hands), "hands close": share(hands), "pose close": share(pose),
            "hand worst": max(hands, default=float("nan")),
            "hands kept": float(np.mean(kept)) if kept else float("nan")}


def letters_read(config: CaptureConfig) -> str:
    """The top-1 letter of each fixture letter video (ASL), captured with `config` (frames in
    flight, as every video is read)."""
    from signclip.runtime.capture.holistic import video_to_clip
    from signclip.runtime.recognition.engine import Engine
    from signclip.runtime.recognition.segmentation import trim_rest

    engine = Engine()
    read = []
    for x in LETTERS:
        clip = trim_rest(video_to_clip(VIDEOS / f"asl_letter_{x}.mp4", config))
        read.append(engine.lookup_clips([clip], 1, "ase")[0][0].label)
    return " ".join(read)


def lookup_vs_holistic(video: Path, rounds: int) -> tuple:
    """(median seconds of the whole `signclip lookup --segments`, of Holistic alone, the signs read),
    the two in turns over `rounds` rounds."""
    command = [sys.executable, "-m", "signclip.runtime.cli", "lookup", str(video), "--segments",
               "--language", "ase", "--top-k", "1"]
    wholes, alones = [], []
    for _ in range(rounds):
        alones.append(holistic_alone(video)[1])
        began = time.perf_counter()
        out = subprocess.run(command, capture_output=True, text=True, check=True)
        wholes.append(time.perf_counter() - began)
    signs = " ".join(line.split("]")[1].split()[0] for line in out.stdout.splitlines() if "]" in line)
    return statistics.median(wholes), statistics.median(alones), signs


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--videos", nargs="+", type=Path, default=DEFAULT_VIDEOS)
    parser.add_argument("--rounds", type=int, default=2)
    add_markdown_option(parser)
    args = parser.parse_args(argv)
    with page_section(args.markdown, "bench/capture.py"):
        run_benchmark(args)


def run_benchmark(args) -> None:
    """Run the measurements and print their tables."""
    print(f"CPU: {cpu_name()}, {os.cpu_count()} cores; mediapipe 0.10.18 legacy graphs, model "
              f"complexity 1; {time.strftime('%Y-%m-%d')}; medians of {args.rounds} rounds")
    print()
    print("| video | frames | mode | ms/frame | x Holistic | Holistic's hands found | hand frames | "
              "hands within 0.05 | pose within 0.05 | hand worst (palm lengths) |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for video in args.videos:
        frames = decoded(video)
        times = {mode: [] for mode in MODES}
        results = {}
        for _ in range(args.rounds):
            for mode, config in MODES.items():
                points, found, ms = capture(frames, config)
                times[mode].append(ms)
                results[mode] = (points, found)
        base = statistics.median(times[BASELINE])
        for mode in MODES:
            ms = statistics.median(times[mode])
            a = agreement(results[BASELINE], results[mode])
            print(f"| {video.name} | {len(frames)} | {mode} | {ms:.1f} | {base / ms:.2f} | "
                      f"{a['hands kept']:.3f} | {a['hand frames']} | {a['hands close']:.3f} | "
                      f"{a['pose close']:.3f} | "
                      f"{a['hand worst']:.4f} |")
    print()
    print("Letters read (top-1, ase) on the letter videos " + " ".join(LETTERS) + ": " + "; ".join(
        f"{name} {letters_read(config)}" for name, config in MODES.items() if config is not None) + ".")
    whole, alone, signs = lookup_vs_holistic(VIDEOS / "asl_letters_CAB.mp4", max(3, args.rounds))
    print()
    print(f"`signclip lookup asl_letters_CAB.mp4 --segments` (the default bundle's capture, interpreter "
              f"start and model loading included): {whole:.2f} s, reads {signs}; Holistic alone on its "
              f"frames {alone:.2f} s: **{alone / whole:.2f}x** (medians of {max(3, args.rounds)} rounds, "
              f"in turns; target 1.5x: {'met' if alone / whole >= 1.5 else 'not met'}).")


if __name__ == "__main__":
    main()
