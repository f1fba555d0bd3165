"""A pose job on local worker processes, each with its own long-lived MediaPipe graph.

pose-format's `videos_to_poses` hands its videos to tqdm's `process_map`, which returns when all are
done: nothing is on record before the end, and a worker that crashes ends the run. Here the same
kind of pool (`concurrent.futures`, spawned processes) hands each outcome back as it finishes, so
the job writes it to the report at once; a worker that dies (a crash in a native library) fails the
inputs it held and a new pool takes the rest; Ctrl-C stops the workers at once and removes the
temporary files they were writing.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import signal
import threading
import time
from collections import defaultdict
from collections.abc import Iterator
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool

from .extract import PoseWorker, worker_name
from .inputs import Task
from .report import FAILED, Outcome

_worker: PoseWorker | None = None
PARENT_CHECK_S = 1.0  # how often a worker looks whether the job that started it is still alive


def _start_worker(config, settings: str, parent: int) -> None:
    """A pool process's start: its graph, no Ctrl-C of its own (the job stops it), and an end
    when the job is gone (a job killed with SIGKILL leaves no worker running on)."""
    global _worker
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    threading.Thread(target=_exit_with_parent, args=(parent,), daemon=True).start()
    _worker = PoseWorker(config, settings)


def _exit_with_parent(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(PARENT_CHECK_S)
    os._exit(1)


def _run_task(task: Task) -> Outcome:
    return _worker.run(task)


def crashed(task: Task, settings: str) -> Outcome:
    """The outcome of a task whose worker process died while it was held."""
    # no input size on record: a rerun tries it again (the crash may have been another input's)
    return Outcome(str(task.video), str(task.output), FAILED, start=task.start, end=task.end,
                   reason=f"{task.video}: the worker process died while reading it (a crash in a native "
                          f"library); run it alone to see the error", settings=settings, worker=worker_name())


def remove_partial(outputs) -> int:
    """Remove what interrupted atomic writes of `outputs` left (`.<name>.*.tmp` beside each; each
    folder listed once); how many were removed."""
    by_folder: dict = defaultdict(set)
    for output in outputs:
        by_folder[output.parent].add(output.name)
    removed = 0
    for folder, names in by_folder.items():
        try:
            found = os.listdir(folder)
        except OSError:
            continue
        for name in found:
            if name.startswith(".") and name.endswith(".tmp") and name[1:].rsplit(".", 2)[0] in names:
                with contextlib.suppress(OSError):
                    os.unlink(folder / name)
                    removed += 1
    return removed


def run_in_process(tasks: list, config, settings: str) -> Iterator[Outcome]:
    """The tasks one after the other in this process (one worker: no pool to start)."""
    worker = PoseWorker(config, settings)
    try:
        for task in tasks:
            yield worker.run(task)
    finally:
        worker.close()


def run_local(tasks: list, config, settings: str, workers: int) -> Iterator[Outcome]:
    """Outcomes of `tasks` as they finish, on `workers` processes."""
    if workers <= 1 or len(tasks) <= 1:
        yield from run_in_process(tasks, config, settings)
        return
    pending = list(reversed(tasks))  # popped from the end: the given order
    # workers killed on Ctrl-C leave the pool's semaphores to multiprocessing's resource tracker (a
    # process started with this environment), which would warn of them after our one line
    os.environ.setdefault("PYTHONWARNINGS", "ignore::UserWarning:multiprocessing.resource_tracker")
    context = multiprocessing.get_context("spawn")  # MediaPipe's threads do not survive a fork
    while pending:
        pool = ProcessPoolExecutor(max_workers=min(workers, len(pending)), mp_context=context,
                                   initializer=_start_worker, initargs=(config, settings, os.getpid()))
        held: dict = {}
        try:
            # a few tasks ahead per worker: the rest stay here, so that a broken pool loses none
            while pending or held:
                while pending and len(held) < 2 * workers:
                    task = pending.pop()
                    held[pool.submit(_run_task, task)] = task
                done, _ = wait(held, return_when=FIRST_COMPLETED)
                for future in done:
                    task = held.pop(future)
                    try:
                        yield future.result()
                    except BrokenProcessPool:
                        yield crashed(task, settings)
                if any(isinstance(f.exception(), BrokenProcessPool) for f in done if not f.cancelled()):
                    break
            if held:  # the pool broke: what it still held goes to a new pool
                pending.extend(reversed(list(held.values())))
                held.clear()
        finally:
            _stop(pool, held)


def _stop(pool: ProcessPoolExecutor, held: dict) -> None:
    """Stop the pool now; what its workers were writing is removed."""
    if held:
        # killed, not waited for: a video can take minutes (concurrent.futures has no public kill
        # before Python 3.14's terminate_workers)
        for process in list(getattr(pool, "_processes", {}).values()):
            process.kill()
    pool.shutdown(wait=True, cancel_futures=True)
    remove_partial([task.output for task in held.values()])
