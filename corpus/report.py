"""The run report, `OUT/report.jsonl`: one line per input, which is also what a rerun resumes from.

While a job runs, each finished input's line is appended (and flushed to disk), so that a killed
job leaves what it finished on record; a line cut by the kill is ignored. A job that ends rewrites
the file atomically with exactly one line per input of that job. An input is done, and skipped by a
rerun, when its line says ok (or failed: the same bytes fail the same way), the input's size and
modification time and the capture settings are those of that line, and the output (written
atomically, so whole or absent) has the size the line gives.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

from signclip.runtime.atomic import atomic_write_bytes

from .inputs import Task

REPORT = "report.jsonl"
OK, FAILED = "ok", "failed"


@dataclass(frozen=True)
class Outcome:
    """One input's line in the report."""

    input: str
    output: str
    status: str                     # ok or failed
    reason: str | None = None       # why it failed, one line
    frames: int = 0
    rates: dict = field(default_factory=dict)   # component -> fraction of frames it was detected in
    seconds: float = 0.0            # spent on this input by its worker
    start: int = 0                  # the frames read, `end` not included (None: to the end)
    end: int | None = None
    input_size: int = -1
    input_mtime_ns: int = -1
    output_size: int = -1
    settings: str = ""              # fingerprint of the capture settings (`settings_fingerprint`)
    worker: str = ""                # host:pid that ran it
    reused: bool = False            # taken over from an earlier run, not run again

    def line(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)


def settings_fingerprint(config) -> str:
    """A short hash of what decides the keypoints: the capture config and MediaPipe's version."""
    from dataclasses import asdict as fields
    from importlib.metadata import PackageNotFoundError, version

    try:
        mediapipe = version("mediapipe")
    except PackageNotFoundError:
        mediapipe = "none"
    capture = {k: int(v) if isinstance(v, bool) else v for k, v in fields(config).items()}
    text = json.dumps({"capture": capture, "mediapipe": mediapipe}, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def read_report(path: Path) -> dict:
    """output -> its newest Outcome in a report (lines cut by a kill, or unknown, are skipped)."""
    found: dict = {}
    if not path.is_file():
        return found
    known = set(Outcome.__dataclass_fields__)
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        try:
            record = json.loads(line)
            outcome = Outcome(**{k: v for k, v in record.items() if k in known})
        except (json.JSONDecodeError, TypeError):
            continue
        found[outcome.output] = outcome
    return found


def input_stat(video: Path) -> tuple:
    """(size, mtime in ns) of an input; (-1, -1) where it cannot be read."""
    try:
        st = os.stat(video)
    except OSError:
        return -1, -1
    return st.st_size, st.st_mtime_ns


def is_done(task: Task, outcome: Outcome | None, settings: str, *, retry_failed: bool = False) -> bool:
    """Whether an earlier run's outcome still holds for `task` (see the module's docstring)."""
    if outcome is None or outcome.settings != settings or outcome.input != str(task.video):
        return False
    if (outcome.start, outcome.end) != (task.start, task.end):
        return False
    if (outcome.input_size, outcome.input_mtime_ns) != input_stat(task.video):
        return False
    if outcome.status == FAILED:
        return not retry_failed and outcome.input_size >= 0
    try:
        return outcome.status == OK and task.output.stat().st_size == outcome.output_size
    except OSError:
        return False


class Journal:
    """The report as a job writes it: lines appended as inputs finish, one line each at the end."""

    def __init__(self, path: Path):
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._file = open(path, "a", encoding="utf-8")  # noqa: SIM115 (closed by `close`)
        self._file.write("\n")  # a line a kill cut short stays a line of its own

    def add(self, outcome: Outcome) -> None:
        self._file.write(outcome.line() + "\n")
        self._file.flush()
        os.fsync(self._file.fileno())

    def close(self, outcomes: list) -> None:
        """Rewrite the report with exactly `outcomes`, atomically."""
        self._file.close()
        atomic_write_bytes(self.path, "".join(o.line() + "\n" for o in outcomes).encode())


def reused(outcome: Outcome) -> Outcome:
    return replace(outcome, reused=True)
