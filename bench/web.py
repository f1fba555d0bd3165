"""The web page in headless Chromium against the Python pipeline on the same video, in one run.

    python bench/web.py                                        # the C-A-B video, the shipped bundle
    python bench/web.py --seconds 90 --repeats 3 --screenshot docs/web.png
    python bench/web.py --video tests/data/videos/asl_letter_C.mp4 --bundle my-bundle

Python: decode, MediaPipe Holistic (mediapipe 0.10.18, model complexity 1) and the streaming
recognizer (segmentation, normalization, and the encoder and lookup when a sign ends) on every frame,
as fast as they go. Page: the folder `signclip web` builds, served on 127.0.0.1; Chromium's fake
camera plays the same video in real time (looped); the page takes the newest frame whenever it is
free, so its rate is frames processed per second. For a bundle that hides the face, the page runs
MediaPipe's graph without its face mesh (`signclip web`), and the same page built to run the npm
package's Holistic whole is measured beside it. Python and the pages alternate per repeat; medians.
Also: what the page downloaded, and its times from navigation to models loaded, first keypoints
and first sign shown (the video's first sign ends about 3 s after it starts playing).
Needs `make web` (npm packages) and Chromium (`make test` installs Debian's).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

from report import add_markdown_option, machine, page_section

os.environ.setdefault("GLOG_minloglevel", "2")

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "web"))  # the browser test's page driver and fake camera

CAB = ROOT / "tests" / "data" / "videos" / "asl_letters_CAB.mp4"
WHOLE = "whole"  # the same page built to run the npm package's Holistic graph as it is
GROUPS = (("vendor/holistic/", "MediaPipe Holistic (web)"), ("vendor/onnxruntime-web/", "ONNX Runtime Web"),
          ("model/", "model and vocabulary"), ("", "page (HTML, CSS, modules, drawing)"))


def python_pipeline(video: Path, engine, language: str) -> tuple:
    """(frames, seconds, top-1 labels): every frame through MediaPipe and the recognizer."""
    from signclip.runtime.capture.holistic import HolisticCapture, open_video, video_frames
    from signclip.runtime.recognition.recognizer import Recognizer

    capture, info = open_video(video)
    frames = 0
    with HolisticCapture() as holistic:
        holistic.process(next(video_frames(capture)))  # graph start-up is not per-frame cost
        capture.release()
        capture, _ = open_video(video)
        recognizer = Recognizer(holistic.layout, info.fps, engine.pose_encoder.embed_one,
                                lambda e: engine.lookup_embedding(e, 5, language),
                                normalization=engine.bundle.normalization)
        recognizer.warm_up()
        began = time.perf_counter()
        events = []
        for _, frame, confidence in holistic.stream(enumerate(video_frames(capture))):
            events += recognizer.push(frame, confidence > 0)
            frames += 1
        events += recognizer.finish()
        spent = time.perf_counter() - began
    capture.release()
    return frames, spent, [e.results[0].label for e in events if e.results]


def page_run(site: Path, camera: Path, seconds: float, language: str, screenshot) -> dict:
    from page_driver import drive_page, served

    with served(site) as url, tempfile.TemporaryDirectory() as tmp:
        return drive_page(f"{url}?language={language}", camera, Path(tmp) / "page.json", expect=(),
                          timeout_s=seconds + 120, min_s=seconds, screenshot=screenshot)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--video", type=Path, default=CAB)
    parser.add_argument("--bundle", default=None)
    parser.add_argument("--language", default="ase")
    parser.add_argument("--seconds", type=float, default=60, help="how long the page runs per repeat")
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--screenshot", type=Path, default=None, help="save the page's last view here")
    add_markdown_option(parser)
    args = parser.parse_args()
    with page_section(args.markdown, "bench/web.py"):
        return run_benchmark(args)


def run_benchmark(args) -> None:
    """Run the measurements and print their tables."""
    print(machine())
    from fake_camera import write_y4m
    from page_driver import CHROMIUM, NODE

    from signclip.runtime.capture.holistic import capture_for
    from signclip.runtime.cli.webpage import build_site
    from signclip.runtime.recognition.engine import Engine

    if CHROMIUM is None or NODE is None:
        sys.exit("bench/web.py needs Node.js and Chromium (make web; make test installs Chromium)")
    engine = Engine(args.bundle, personal=False)
    with tempfile.TemporaryDirectory(prefix="signclip-bench-web-") as tmp:
        tmp = Path(tmp)
        sites = {"page": tmp / "site"}
        if not capture_for(engine.bundle.normalization).face:  # the page runs without the face mesh
            sites = {WHOLE: tmp / "whole", **sites}
        for name, site in sites.items():
            build_site(engine.bundle, site, log=lambda _: None, face=True if name == WHOLE else None)
        camera = tmp / "camera.y4m"
        video = write_y4m(args.video, camera)
        py, pages = [], {name: [] for name in sites}
        for r in range(args.repeats):
            py.append(python_pipeline(args.video, engine, args.language))
            last = r == args.repeats - 1
            for name, site in sites.items():
                shot = args.screenshot.absolute() if args.screenshot and last and name == "page" else None
                pages[name].append(page_run(site, camera, args.seconds, args.language, shot))
    report(args, video, py, pages)


def report(args, video: dict, py: list, pages: dict) -> None:
    py_fps = statistics.median(f / s for f, s, _ in py)
    frames, seconds, py_labels = py[len(py) // 2]
    print(f"{args.video.name}: {video['frames']} frames, {video['width']}x{video['height']}, "
          f"{video['fps']:g} fps; language {args.language}; {len(py)} repeat(s), medians\n")
    print("| pipeline | FPS | x Python | MediaPipe ms a frame | signs (top-1) |")
    print("|---|---|---|---|---|")
    print(f"| Python runtime: MediaPipe 0.10.18 + recognizer ({frames} frames in {seconds:.1f} s) | "
          f"{py_fps:.1f} | 1.00 | | {' '.join(py_labels)} |")
    for name, page in pages.items():
        page_fps = statistics.median(p["fps"] for p in page)
        p = page[len(page) // 2]
        if p["status"] != "running":
            print(f"the page ({name}) stopped: {p['status']} {p['error']}")
        tops = " ".join(s["top5"][0]["label"] for s in p["signs"])
        stats = p["stats"]
        graph = "Holistic whole" if name == WHOLE else stats.get("mediapipe_graph", "?")
        mediapipe_ms = statistics.median(q["stats"].get("mediapipe_ms_mean", 0) for q in page)
        print(f"| web page in Chromium: MediaPipe web ({graph}) + recognizer + ONNX Runtime Web "
              f"({stats.get('frames', 0)} frames in {p['wall_s']:.0f} s, camera at {video['fps']:g} fps) | "
              f"{page_fps:.1f} | {page_fps / py_fps:.2f} | {mediapipe_ms:.0f} | {tops} |")
    if WHOLE in pages:
        whole, faceless = (statistics.median(p["fps"] for p in pages[n]) for n in (WHOLE, "page"))
        print(f"\nThe page without the face mesh: {faceless / whole:.2f}x the frames per second of the "
              f"page running Holistic whole.")
    p = pages["page"][len(pages["page"]) // 2]
    sizes = defaultdict(int)
    for r in p["request_list"]:
        sizes[next(name for prefix, name in GROUPS if r["path"].lstrip("/").startswith(prefix))] += r["bytes"]
    marks = p["marks"]
    print("\n| page | value |")
    print("|---|---|")
    print(f"| downloaded, all ({p['requests']} requests; outside its origin: "
          f"{len(p['foreign_requests'])}) | {p['bytes'] / 1e6:.1f} MB |")
    for _, name in GROUPS:
        print(f"| - {name} | {sizes[name] / 1e6:.2f} MB |")
    for key, name in (("model_ms", "model and MediaPipe loaded"), ("camera_ms", "camera open"),
                      ("first_pose_ms", "first keypoints"), ("first_result_ms", "first sign shown")):
        value = f"{marks[key] / 1000:.1f} s" if key in marks else "never"
        print(f"| {name} (from navigation) | {value} |")
    print(f"| MediaPipe per frame / encoder per sign (the last of each) | "
          f"{stats.get('mediapipe_ms', 0):.0f} ms / {stats.get('encode_ms', 0):.1f} ms |")


if __name__ == "__main__":
    main()
