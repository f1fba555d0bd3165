"""A pose job on a Ray cluster: one actor per CPU asked for, each with one long-lived MediaPipe capture.

The job (inputs, report, resume) is the local one's; only the workers differ. Actors are spread
over the nodes and handed tasks a few at a time; each writes its `.pose` files itself, so inputs
and the output folder must be on storage every node sees, at the same paths (NFS, a shared disk).
An actor that dies fails the task it held (Ray restarts the actor for the rest). Ray is imported
here only: an optional extra (`pip install 'signclip-edge[corpus]'`), never the runtime's.

    ray start --head                                  # on one machine; `ray start --address ...` on others
    signclip pose /shared/videos -o /shared/poses --ray auto
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

from signclip.runtime.errors import SignclipError

from .extract import PoseWorker
from .local import crashed, remove_partial
from .report import Outcome

AHEAD = 2  # tasks handed to each actor at once: the next one waits there while the current one runs


def import_ray():
    try:
        import ray
    except ModuleNotFoundError:
        raise SignclipError("--ray needs Ray: pip install 'signclip-edge[corpus]'") from None
    return ray


class PoseActor:
    """A Ray actor around one PoseWorker (one MediaPipe capture for all its tasks)."""

    def __init__(self, config, settings: str):
        self._worker = PoseWorker(config, settings)

    def run(self, task) -> Outcome:
        return self._worker.run(task)


def check_reachable(address: str, timeout_s: float = 5.0) -> None:
    """One line where nothing listens at a HOST:PORT address (Ray would retry for minutes)."""
    import socket

    host, _, port = address.removeprefix("ray://").rpartition(":")
    if not host or not port.isdigit():
        return  # "auto", or a form Ray resolves itself
    try:
        socket.create_connection((host, int(port)), timeout=timeout_s).close()
    except OSError as e:
        why = e.strerror or type(e).__name__
        raise SignclipError(f"--ray {address}: no Ray cluster there ({why})") from None


def connect(ray, address: str) -> bool:
    """Join the cluster at `address` unless this process already has; whether it joined here."""
    if ray.is_initialized():
        return False
    check_reachable(address)
    try:
        ray.init(address=address, log_to_driver=False, logging_level=logging.WARNING)
    except (ConnectionError, ValueError, RuntimeError) as e:
        raise SignclipError(f"--ray {address}: no Ray cluster there ({type(e).__name__}: "
                            f"{str(e).splitlines()[0] if str(e) else 'no reply'})") from None
    return True


def run_ray(tasks: list, config, settings: str, workers: int | None, address: str) -> Iterator[Outcome]:
    """Outcomes of `tasks` as they finish, on `workers` actors (default: the cluster's CPUs)."""
    if not tasks:
        return
    ray = import_ray()
    joined = connect(ray, address)
    actors: list = []
    held: dict = {}  # object ref -> (task, actor)
    try:
        count = workers or max(1, int(ray.cluster_resources().get("CPU", 1)))
        remote = ray.remote(num_cpus=1, max_restarts=3)(PoseActor)
        actors = [remote.options(scheduling_strategy="SPREAD").remote(config, settings)
                  for _ in range(min(count, len(tasks)))]
        pending = list(reversed(tasks))
        load = {id(a): 0 for a in actors}
        while pending or held:
            for actor in actors:
                while pending and load[id(actor)] < AHEAD:
                    task = pending.pop()
                    held[actor.run.remote(task)] = (task, actor)
                    load[id(actor)] += 1
            done, _ = ray.wait(list(held), num_returns=1)
            for ref in done:
                task, actor = held.pop(ref)
                load[id(actor)] -= 1
                try:
                    yield ray.get(ref)
                except ray.exceptions.RayActorError:
                    yield crashed(task, settings)
    finally:
        for actor in actors:
            ray.kill(actor)
        remove_partial([task.output for task, _ in held.values()])
        if joined:
            ray.shutdown()
