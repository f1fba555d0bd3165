"""Pose extraction at corpus scale on the fixture videos, in one run: one process against N worker
processes and a two-node local Ray cluster (where Ray is installed), and what a killed and resumed run adds.

    python bench/corpus.py                         # 4 copies of each short fixture video, 2 workers
    python bench/corpus.py --copies 8 --workers 4 --rounds 2
    python bench/corpus.py --markdown docs/corpus.md   # also writes its section of that page

Each configuration is the whole command, `signclip pose FOLDER -o OUT --workers N --quiet`, on the
same folder (interpreter start, worker start-up and model loading included), into a fresh output
folder; configurations run in turns over `--rounds` rounds (medians). Frames/s: the frames put
through MediaPipe over the command's wall time. Memory: the peak resident memory of one worker
process (of the command itself with one process), sampled every 0.1 s. CPU seconds: user and system
time of the command and its worker processes; cores busy: that over the wall time. Killed and resumed: the
N-worker command killed with SIGKILL (its process group) once half the videos are done, then run
again: the time of both against the clean run's, and the frames put through MediaPipe twice.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from report import add_markdown_option, machine, page_section  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
VIDEOS = ROOT / "tests" / "data" / "videos"
SHORT = ("asl_soup.mp4", "asl_football.mp4", "webcam_one_hand.mp4", "signer_two_hands.mp4")
WORK_LOG = "SIGNCLIP_CORPUS_WORK_LOG"  # signclip.corpus.extract.WORK_LOG


def make_corpus(folder: Path, copies: int) -> Path:
    """`copies` of each short fixture video, one sub-folder per copy."""
    for i in range(copies):
        (folder / f"c{i:02d}").mkdir(parents=True)
        for name in SHORT:
            shutil.copy(VIDEOS / name, folder / f"c{i:02d}" / name)
    return folder


def rss_kb(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status") as f:
            return next(int(line.split()[1]) for line in f if line.startswith("VmRSS:"))
    except (OSError, StopIteration, ValueError):
        return 0


def children(pid: int) -> list:
    """The processes whose parent is `pid` (from /proc)."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    if int(f.read().rsplit(")", 1)[1].split()[1]) == pid:
                        found.append(int(entry))
            except (OSError, ValueError, IndexError):
                continue
    return found


class PeakMemory:
    """The peak resident memory (MB) of one process of a command: its workers where it has any."""

    def __init__(self, pid: int):
        self.pid, self.peaks, self._stop = pid, {}, threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()

    def _sample(self) -> None:
        while not self._stop.wait(0.1):
            for pid in [self.pid, *children(self.pid)]:
                self.peaks[pid] = max(self.peaks.get(pid, 0), rss_kb(pid))
                if self.pid == os.getpid():  # a Ray cluster of ours: its actors are grandchildren
                    for grandchild in children(pid) if pid != self.pid else ():
                        self.peaks[grandchild] = max(self.peaks.get(grandchild, 0), rss_kb(grandchild))

    def stop(self) -> float:
        self._stop.set()
        self._thread.join()
        workers = {p: kb for p, kb in self.peaks.items() if p != self.pid}
        return max((workers or self.peaks).values(), default=0) / 1024


def command(src: Path, out: Path, workers: int, ray: str | None = None) -> list:
    extra = ["--ray", ray] if ray else []
    return [sys.executable, "-m", "signclip.runtime.cli", "pose", str(src), "-o", str(out), "--workers",
            str(workers), "--quiet", *extra]


def frames_in(out: Path) -> int:
    lines = (out / "report.jsonl").read_text().splitlines()
    return sum(json.loads(line)["frames"] for line in lines if line.strip())


def cpu_seconds() -> float:
    """User and system CPU time of this process's waited-for children and their descendants."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed(src: Path, out: Path, workers: int, ray=None) -> tuple:
    """(seconds, frames, peak MB of a worker, CPU seconds or NaN) of one whole command into a fresh
    `out`; with `ray` (a local Cluster), its workers are the cluster's raylets' children, whose CPU
    time this process cannot see."""
    shutil.rmtree(out, ignore_errors=True)
    cpu = cpu_seconds()
    began = time.perf_counter()
    address = ray.address if ray else None
    job = subprocess.Popen(command(src, out, workers, address), stdout=subprocess.DEVNULL)
    memory = PeakMemory(os.getpid()) if ray else PeakMemory(job.pid)
    code = job.wait()
    seconds, peak = time.perf_counter() - began, memory.stop()
    if code not in (0, 1):
        raise SystemExit(f"signclip pose exited {code}")
    return seconds, frames_in(out), peak, float("nan") if ray else cpu_seconds() - cpu


def done(report: Path) -> int:
    """Lines in a report so far (a running job appends one per finished video)."""
    return report.read_text().count('"status"') if report.exists() else 0


def killed_and_resumed(src: Path, out: Path, workers: int, videos: int) -> tuple:
    """(seconds of the killed run plus the resumed one, frames put through MediaPipe in both)."""
    shutil.rmtree(out, ignore_errors=True)
    with tempfile.TemporaryDirectory() as tmp:
        log = Path(tmp) / "work.log"
        env = {**os.environ, WORK_LOG: str(log)}
        began = time.perf_counter()
        job = subprocess.Popen(command(src, out, workers), env=env, start_new_session=True,
                               stdout=subprocess.DEVNULL)
        report = out / "report.jsonl"
        while job.poll() is None and done(report) < videos // 2:
            time.sleep(0.02)
        os.killpg(job.pid, signal.SIGKILL)
        job.wait()
        subprocess.run(command(src, out, workers), env=env, stdout=subprocess.DEVNULL, check=False)
        return time.perf_counter() - began, log.stat().st_size


def same_landmarks(a: Path, b: Path) -> bool:
    """Whether two output folders hold the same .pose files with equal keypoints and masks."""
    import numpy as np

    from signclip.runtime.pose.io import read_pose

    names = sorted(p.relative_to(a) for p in a.rglob("*.pose"))
    if names != sorted(p.relative_to(b) for p in b.rglob("*.pose")):
        return False
    return all(np.array_equal(x.frames, y.frames) and np.array_equal(x.mask, y.mask)
               for x, y in ((read_pose(a / n), read_pose(b / n)) for n in names))


@contextlib.contextmanager
def two_ray_nodes():
    """A local Ray cluster of two nodes of one CPU each, or None where Ray is not installed."""
    try:
        from ray.cluster_utils import Cluster
    except ModuleNotFoundError:
        yield None
        return
    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 1, "include_dashboard": False})
    try:
        cluster.add_node(num_cpus=1)
        cluster.wait_for_nodes()
        yield cluster
    finally:
        cluster.shutdown()


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--copies", type=int, default=4, help="copies of each short fixture video")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=1)
    add_markdown_option(parser)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp, page_section(args.markdown, "bench/corpus.py"):
        load_before = os.getloadavg()[0]
        src = make_corpus(Path(tmp) / "videos", args.copies)
        videos = args.copies * len(SHORT)
        configs = {"1 process": (1, None), f"{args.workers} workers": (args.workers, None)}
        with two_ray_nodes() as cluster:
            if cluster is not None:
                configs["Ray, 2 local nodes x 1 CPU"] = (2, cluster)
            runs: dict = {name: [] for name in configs}
            for _ in range(args.rounds):
                for i, (name, (workers, ray)) in enumerate(configs.items()):
                    runs[name].append(timed(src, Path(tmp) / f"out{i}", workers, ray))
            same = cluster is not None and same_landmarks(Path(tmp) / "out1", Path(tmp) / "out2")
        frames = runs["1 process"][0][1]
        print(machine() + f"; load average before / after: {load_before:.1f} / {os.getloadavg()[0]:.1f} "
              f"(after: with this benchmark's own threads; a high one before: others' work)")
        print(f"{videos} videos ({args.copies} copies each of {', '.join(SHORT)}), {frames} frames; whole "
              f"`signclip pose` commands, median of {args.rounds} round(s)")
        print()
        print("| run | seconds | videos/s | frames/s | x 1 process | peak memory per worker (MB) "
              "| CPU seconds | cores busy |")
        print("|---|---|---|---|---|---|---|---|")
        base = statistics.median(r[0] for r in runs["1 process"])
        cores = os.cpu_count() or 1
        for name, results in runs.items():
            seconds = statistics.median(r[0] for r in results)
            memory = max(r[2] for r in results)
            cpu = statistics.median(r[3] for r in results)
            busy = "-" if cpu != cpu else f"{cpu / seconds:.2f} of {cores}"
            print(f"| {name} | {seconds:.1f} | {videos / seconds:.2f} | {frames / seconds:.1f} | "
                  f"{base / seconds:.2f} | {memory:.0f} | {'-' if cpu != cpu else f'{cpu:.1f}'} | {busy} |")
        one = statistics.median(r[3] / r[0] for r in runs["1 process"])
        print(f"\nOne process already keeps {one:.2f} of the {cores} cores busy (MediaPipe's pose and hand "
              f"branches on threads of their own): with the same CPU work per frame, more processes "
              f"can gain at most {cores / one:.2f}x here.")
        if "Ray, 2 local nodes x 1 CPU" in runs:
            print()
            print(f"The two Ray nodes wrote {'the same' if same else 'NOT the same'} landmarks as the local "
                  f"{args.workers}-worker run (every .pose file's keypoints and masks compared). Ray's "
                  f"row: cluster already started, the command's connection and actor start-up included.")
        else:
            print("\n(Ray not installed: no cluster row; pip install 'signclip-edge[corpus]')")
        clean = statistics.median(r[0] for r in runs[f"{args.workers} workers"])
        seconds, work = killed_and_resumed(src, Path(tmp) / "out", args.workers, videos)
        print()
        print(f"Killed with SIGKILL at half the videos and run again ({args.workers} workers): "
              f"{seconds:.1f} s in all against {clean:.1f} s clean ({seconds / clean:.2f}x); "
              f"{work} frames through MediaPipe against {frames} ({work / frames:.2f}x)")


if __name__ == "__main__":
    main()
