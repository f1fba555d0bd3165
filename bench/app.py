"""The desktop app's pipeline against MediaPipe Holistic alone, on the fixture videos, in one run.

    python bench/app.py                                # default videos, 3 repeats, medians
    python bench/app.py --repeats 5 --bundle path/to/bundle
    python bench/app.py --videos tests/data/videos/asl_letters_CAB.mp4

Baseline: one thread decodes each frame, converts it to RGB and runs MediaPipe's own Holistic
solution (model complexity 1) on it. App: the app's own worker objects (capture, MediaPipe,
recognition on QThreads, `signclip.app.pipeline`) with the window's `VideoView` painting offscreen;
the video is read unpaced, so every frame goes through MediaPipe and recognition (none dropped) and
FPS is frames over the time until recognition has seen the last one. Overlay lag: frames between the
image painted and the keypoints painted over it; display lag: frames between the newest frame
through MediaPipe and the one painted. Baseline and app alternate per repeat; medians are reported.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
from pathlib import Path

from report import add_markdown_option, holistic_alone, machine, page_section

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("GLOG_minloglevel", "2")

ROOT = Path(__file__).resolve().parents[1]
VIDEOS = ROOT / "tests" / "data" / "videos"
DEFAULT_VIDEOS = ("asl_letters_CAB.mp4", "webcam_one_hand.mp4", "asl_letter_C.mp4")
TARGET_RATIO = 1.4  # app frames per second over MediaPipe Holistic alone's: real time on a laptop CPU


def app_pipeline(path: Path, engine, app) -> dict:
    """Frames, seconds and lags of the app's workers over the whole video, painted offscreen."""
    from PySide6.QtCore import QEventLoop, QTimer

    from signclip.app.frames import SourceSpec
    from signclip.app.pipeline import Pipeline
    from signclip.app.window import VideoView

    pipeline = Pipeline(engine)
    pipeline.open(SourceSpec(str(path), loop=False, paced=False))
    lags = {"overlay": [], "display": []}

    class MeasuredView(VideoView):
        def paintEvent(self, event):  # noqa: N802
            super().paintEvent(event)
            if self.frame is not None:
                lags["overlay"].append(self.painted_index - self.overlay_index)
                lags["display"].append(pipeline.pose.frames - 1 - self.painted_index)

    view = MeasuredView()
    view.resize(640, 480)
    view.show()

    def posed(frame):
        view.set_frame(frame)
        pipeline.gate.done()

    loop = QEventLoop()
    events = []
    pipeline.pose.posed.connect(posed)
    pipeline.recognition.recognized.connect(events.append)
    pipeline.recognition.stopped.connect(loop.quit)
    QTimer.singleShot(600_000, loop.quit)
    pipeline.start()
    loop.exec()
    # timed from the first frame out of MediaPipe (the graph starts inside the worker, as the
    # baseline's warm-up frame) to the last frame fed to the recognizer (its last sign included)
    rec, pose = pipeline.recognition, pipeline.pose
    frames = rec.frames
    spent = (rec.last_frame_ns - pose.first_done_ns) / 1e9
    pipeline.stop()
    view.close()
    app.processEvents()
    return {"frames": frames, "timed_frames": frames - 1, "seconds": spent, "signs": len(events),
            "paints": len(lags["overlay"]),
            "overlay_lag": max(lags["overlay"], default=0),
            "display_lag": statistics.median(lags["display"] or [0]),
            "dropped_display": pipeline.gate.dropped}


def open_bundle(bundle: str | None):
    """The engine of `bundle` (or the default one); without any, the tests' tiny bundle (needs torch)."""
    from signclip.app.engine_service import LockedEngine
    from signclip.runtime.errors import SignclipError
    from signclip.runtime.recognition.engine import Engine

    try:
        return LockedEngine(Engine(bundle, personal=False)), bundle or "default"
    except SignclipError as e:
        if bundle is not None:
            raise
        print(f"no default bundle ({e}); using the tests' tiny random-weight bundle", file=sys.stderr)
    sys.path.insert(0, str(ROOT / "tests" / "runtime"))
    from tiny_bundle import make_tiny_bundle

    folder = make_tiny_bundle(Path(tempfile.mkdtemp(prefix="signclip-bench-")) / "tiny")
    return LockedEngine(Engine(folder, personal=False)), "tiny (tests/runtime/tiny_bundle.py)"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    parser.add_argument("--videos", nargs="*", default=[str(VIDEOS / v) for v in DEFAULT_VIDEOS])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--bundle", default=None)
    add_markdown_option(parser)
    args = parser.parse_args(argv)
    with page_section(args.markdown, "bench/app.py"):
        return run_benchmark(args)


def run_benchmark(args) -> int:
    """Run the measurements and print their tables."""
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication(["bench"])
    engine, bundle_name = open_bundle(args.bundle)
    print(f"{machine()}; bundle: {bundle_name}; {args.repeats} repeats, medians; "
          f"load average before: {os.getloadavg()[0]:.1f}\n")
    print("| video | frames | MediaPipe alone FPS | app FPS | app/MP | overhead | overlay lag | display lag "
          "| signs |")
    print("|---|---|---|---|---|---|---|---|---|")
    all_ratios, worst_overlay = [], 0
    for video in map(Path, args.videos):
        base, runs = [], []
        for _ in range(args.repeats):
            frames, seconds = holistic_alone(video)
            base.append(frames / seconds)
            r = app_pipeline(video, engine, app)
            if r["frames"] != frames:
                raise SystemExit(f"{video.name}: the app saw {r['frames']} of {frames} frames")
            runs.append(r)
        mp_fps = statistics.median(base)
        app_fps = statistics.median(r["timed_frames"] / r["seconds"] for r in runs)
        ratio = app_fps / mp_fps
        all_ratios.append(ratio)
        overlay = max(r["overlay_lag"] for r in runs)
        worst_overlay = max(worst_overlay, overlay)
        display = statistics.median(r["display_lag"] for r in runs)
        print(f"| {video.name} | {frames} | {mp_fps:.1f} | {app_fps:.1f} | {ratio:.2f} | {1 - ratio:.1%} | "
              f"{overlay} | {display:.1f} | {runs[0]['signs']} |")
    median = statistics.median(all_ratios)
    met = median >= TARGET_RATIO and worst_overlay <= 1
    print(f"\nload average after: {os.getloadavg()[0]:.1f}; targets: median app/MP >= {TARGET_RATIO:.2f}, "
          f"overlay lag <= 1 frame: {'met' if met else 'not met'} (median app/MP over videos {median:.2f}, "
          f"overlay lag at most {worst_overlay})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
