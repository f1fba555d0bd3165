"""A pose job: tasks to `.pose` files on local workers or a Ray cluster, with a report and resume.

    from signclip.corpus.inputs import plan_tasks
    from signclip.corpus.job import JobConfig, run_job
    result = run_job(plan_tasks(["videos/"], Path("poses")), JobConfig(Path("poses"), workers=4))

The job holds a lock on its output folder (one job writes there at a time), removes what a killed
job's writes left, skips the inputs an earlier run finished (`report.is_done`), runs the rest and
writes each outcome to the report as it comes.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path

from signclip.runtime.capture.holistic import CaptureConfig
from signclip.runtime.errors import SignclipError

from .report import FAILED, OK, REPORT, Journal, is_done, read_report, reused, settings_fingerprint

LOCK = ".signclip-pose.lock"


def default_workers() -> int:
    """The cores this process may run on."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


@dataclass(frozen=True)
class JobConfig:
    """Where the report goes, how videos are read, and on what."""

    out: Path
    capture: CaptureConfig = field(default_factory=CaptureConfig)
    workers: int | None = 1         # local processes, or Ray actors (None with Ray: its CPUs)
    ray: str | None = None          # a Ray cluster's address ("auto": the one this node belongs to)
    retry_failed: bool = False      # run inputs again that failed in an earlier run, though unchanged
    progress: bool = True


@dataclass(frozen=True)
class JobResult:
    """Every task's outcome (in the tasks' order) and what this run did."""

    outcomes: list
    ran: int
    report: Path
    seconds: float

    @property
    def failed(self) -> list:
        return [o for o in self.outcomes if o.status == FAILED]

    @property
    def reused(self) -> int:
        return sum(o.reused for o in self.outcomes)


def check_job(config: JobConfig) -> None:
    """Refuse bad option values before any work."""
    if config.workers is not None and config.workers < 1:
        raise SignclipError(f"--workers {config.workers}: must be 1 or more")
    if config.out.exists() and not config.out.is_dir():
        raise SignclipError(f"{config.out}: exists and is not a folder")


def runner(config: JobConfig):
    """The function that turns tasks into outcomes: local processes, or Ray actors."""
    if config.ray is not None:
        from .ray_runner import run_ray

        return lambda tasks, capture, settings: run_ray(tasks, capture, settings, config.workers, config.ray)
    from .local import run_local

    return lambda tasks, capture, settings: run_local(tasks, capture, settings, config.workers or 1)


def run_job(tasks: list, config: JobConfig) -> JobResult:
    """Run `tasks`, skipping those an earlier run finished; the report ends with one line each."""
    from filelock import FileLock, Timeout

    from .local import remove_partial

    check_job(config)
    config.out.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(config.out / LOCK))
    try:
        lock.acquire(timeout=0)
    except Timeout:
        raise SignclipError(f"{config.out}: another signclip pose is writing here (its lock: "
                            f"{config.out / LOCK})") from None
    try:
        return _run_locked(tasks, config, remove_partial)
    finally:
        lock.release()


def _run_locked(tasks: list, config: JobConfig, remove_partial) -> JobResult:
    from tqdm import tqdm

    began = time.perf_counter()
    settings = settings_fingerprint(config.capture)
    path = config.out / REPORT
    earlier = read_report(path)
    remove_partial([t.output for t in tasks])  # a killed job's temporary files
    outcomes: dict = {}
    todo = []
    for task in tasks:
        if is_done(task, earlier.get(task.key), settings, retry_failed=config.retry_failed):
            outcomes[task.key] = reused(earlier[task.key])
        else:
            todo.append(task)
    journal = Journal(path)
    failed = 0
    bar = tqdm(total=len(todo), unit="video", disable=not config.progress or not todo, smoothing=0.1,
               desc="pose", dynamic_ncols=True)
    try:
        for outcome in runner(config)(todo, config.capture, settings):
            journal.add(outcome)
            outcomes[outcome.output] = outcome
            failed += outcome.status != OK
            bar.set_postfix(failed=failed, refresh=False)
            bar.update()
    finally:
        bar.close()
        journal.close([outcomes[t.key] for t in tasks if t.key in outcomes])
    return JobResult([outcomes[t.key] for t in tasks], len(todo), path, time.perf_counter() - began)


def summary(result: JobResult) -> str:
    """One line: how many were posed, reused, failed, in how long, and where the report is."""
    done = len(result.outcomes) - len(result.failed)
    reused = f" ({result.reused} outcomes kept from an earlier run)" if result.reused else ""
    return (f"posed {done} of {len(result.outcomes)} videos in {result.seconds:.1f} s{reused}; "
            f"report: {result.report}")


def failure_line(result: JobResult) -> str:
    """What a job with failed inputs says on stderr: the reason where one failed, else the count."""
    failed = result.failed
    if len(failed) == 1:
        return f"{failed[0].reason} (1 of {len(result.outcomes)} failed; report: {result.report})"
    return (f"{len(failed)} of {len(result.outcomes)} videos failed, e.g. {failed[0].reason}; each "
            f"one's reason is in {result.report}")
