"""Estimate poses in videos, folders of videos or manifests with MediaPipe Holistic (or inspect .pose files).

    signclip pose VIDEO... -o DIR                      # OUT/<stem>.pose each
    signclip pose FOLDER -o DIR --workers 8            # OUT/<path inside FOLDER>.pose, 8 processes
    signclip pose manifest.csv -o DIR                  # each row's video to its row's pose (report in DIR)
    signclip pose FOLDER -o DIR --ray auto             # the same job on the Ray cluster this node is in
    signclip pose FILE.pose                            # summarize a .pose file

Every input gets a line in DIR/report.jsonl; a rerun skips what is done (a killed job resumes), a
video that fails is recorded and skipped. Exit 0: all posed; 1: some failed; 2: usage error.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from signclip.runtime.errors import SignclipError
from signclip.runtime.pose.layouts import BODY, FACE, LEFT_HAND, MODEL_203, RIGHT_HAND


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("inputs", nargs="+", metavar="VIDEO|FOLDER|MANIFEST|POSE",
                        help="videos, folders (searched for videos recursively), manifests (.csv with "
                             "video and pose columns); .pose files are read and summarized")
    parser.add_argument("-o", "--out", metavar="DIR",
                        help="folder for the .pose files written from videos and report.jsonl")
    parser.add_argument("--workers", type=int, default=None, metavar="N",
                        help="processes (or Ray actors), each with its own MediaPipe graph "
                             "(default: the cores here; with --ray, the cluster's CPUs)")
    parser.add_argument("--ray", metavar="ADDRESS", default=None,
                        help="run on a Ray cluster (its address, or 'auto'); inputs and DIR must be on "
                             "storage every node sees (needs the `corpus` extra: ray)")
    parser.add_argument("--retry-failed", action="store_true",
                        help="run again the inputs that failed in an earlier run though unchanged")
    parser.add_argument("--refine-face", action="store_true",
                        help="478-point face with irises (586 points in all instead of 576)")
    parser.add_argument("--model-complexity", type=int, choices=(0, 1, 2), default=1,
                        help="MediaPipe pose model; only 1 ships in the wheel (default: 1)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar or summary")


def pose_summary(path, clip) -> str:
    """One line about a clip: frames, fps, size, points, detection rates, the model's input shape."""
    rates = ", ".join(f"{name} {clip.detection_rate(c):.2f}" for name, c in
                      (("body", BODY), ("face", FACE), ("left hand", LEFT_HAND),
                       ("right hand", RIGHT_HAND)))
    return (f"{path}: {clip.num_frames} frames at {clip.fps:.2f} fps, {clip.width}x{clip.height}, "
            f"{clip.layout.size} points; detected {rates}; model input "
            f"({clip.num_frames}, {MODEL_203.size * 3})")


def run(args: argparse.Namespace) -> int:
    from signclip.runtime.capture.holistic import CaptureConfig, ModelComplexity
    from signclip.runtime.pose.io import is_pose_file, read_pose

    from .inputs import plan_tasks
    from .job import JobConfig, default_workers, failure_line, run_job, summary

    for path in args.inputs:
        if is_pose_file(path):
            print(pose_summary(path, read_pose(path)))
    others = [p for p in args.inputs if not is_pose_file(p)]
    if not others:
        return 0
    out = Path(args.out) if args.out else None
    if out is not None and out.exists() and not out.is_dir():
        raise SignclipError(f"{out}: exists and is not a folder")
    tasks = plan_tasks(others, out)
    if out is None:  # manifests alone: they name their outputs; the report still needs a folder
        raise SignclipError("give -o DIR: the folder for report.jsonl (and for .pose files of videos)")
    workers = args.workers if args.workers is not None or args.ray else default_workers()
    capture = CaptureConfig(model_complexity=ModelComplexity(args.model_complexity),
                            refine_face=args.refine_face)
    config = JobConfig(out, capture, workers=workers, ray=args.ray, retry_failed=args.retry_failed,
                       progress=not args.quiet)
    result = run_job(tasks, config)
    if not args.quiet:
        if len(tasks) == 1 and not result.failed:  # one video: its summary, as before corpora
            print(pose_summary(tasks[0].output, read_pose(tasks[0].output)))
        print(summary(result))
    if result.failed:
        print(f"signclip pose: error: {failure_line(result)}", file=sys.stderr)
        return 1
    return 0
