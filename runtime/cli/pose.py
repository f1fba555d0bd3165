"""Estimate poses in videos with MediaPipe Holistic and write .pose files (or inspect .pose files)."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..errors import SignclipError
from ..pose.layouts import BODY, FACE, LEFT_HAND, MODEL_203, RIGHT_HAND


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("inputs", nargs="+", metavar="VIDEO|POSE",
                        help="videos to estimate poses in; .pose files are read and summarized")
    parser.add_argument("-o", "--out", metavar="DIR",
                        help="folder for the .pose files written from videos (created if needed)")
    parser.add_argument("--refine-face", action="store_true",
                        help="478-point face with irises (586 points in all instead of 576)")
    parser.add_argument("--model-complexity", type=int, choices=(0, 1, 2), default=1,
                        help="MediaPipe pose model; only 1 ships in the wheel (default: 1)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar or summary")


def summary(path, clip) -> str:
    rates = ", ".join(f"{name} {clip.detection_rate(c):.2f}" for name, c in
                      (("body", BODY), ("face", FACE), ("left hand", LEFT_HAND),
                       ("right hand", RIGHT_HAND)))
    return (f"{path}: {clip.num_frames} frames at {clip.fps:.2f} fps, {clip.width}x{clip.height}, "
            f"{clip.layout.size} points; detected {rates}; model input "
            f"({clip.num_frames}, {MODEL_203.size * 3})")


def run(args: argparse.Namespace) -> int:
    from ..capture.holistic import CaptureConfig, ModelComplexity, video_to_clip
    from ..pose.io import is_pose_file, read_pose, write_pose

    videos = [p for p in args.inputs if not is_pose_file(p)]
    out = Path(args.out) if args.out else None
    if videos and out is None:
        raise SignclipError("videos need -o DIR, the folder to write their .pose files to")
    if out is not None and out.exists() and not out.is_dir():
        raise SignclipError(f"{out}: exists and is not a folder")
    config = CaptureConfig(model_complexity=ModelComplexity(args.model_complexity),
                           refine_face=args.refine_face)
    for path in args.inputs:
        if is_pose_file(path):
            print(summary(path, read_pose(path)))
            continue
        clip = video_to_clip(path, config, progress=not args.quiet)
        target = out / (Path(path).stem + ".pose")
        write_pose(clip, target)
        if not args.quiet:
            print(summary(target, clip))
    return 0
