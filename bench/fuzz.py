"""The long fuzz run: thousands of damaged and odd `.pose` files through the reader and lookup.

    python bench/fuzz.py                      # 5,000 cases: 1,250 of each kind, the default bundle
    python bench/fuzz.py --cases 20000 --seed 7

The strategies are tests/runtime/pose_fuzz.py's (the fast profile of tests/runtime/test_fuzz.py runs
them too): crafted files, real files cut short, real files with header fields and counts
overwritten, and real files with random byte damage. Each case is read with `read_pose` and, when
read, looked up in the bundle. A case passes when it gives a clip that keeps the reader's promises
and finite scores, or a refusal of one line; it fails on a traceback (any other exception), a
broken promise, a refusal of several lines, or noise (anything a library printed to stdout/stderr,
or a warning). Prints a table per kind and the most common refusals; exit 1 on any failure.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import os
import re
import sys
import tempfile
import time
import traceback
import warnings
from pathlib import Path

from report import add_markdown_option, page_section

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "runtime"))


@contextlib.contextmanager
def terminal_to(file):
    """Send file descriptors 1 and 2 (what C libraries print too) to `file` meanwhile."""
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    try:
        os.dup2(file.fileno(), 1)
        os.dup2(file.fileno(), 2)
        yield
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        for fd in saved:
            os.close(fd)


def reason(message: str, path: Path) -> str:
    """A refusal with the file name and numbers taken out, to count refusals by kind."""
    text = message.replace(f"{path}: ", "").replace("not a readable .pose file: ", "")
    return re.sub(r"(?<![\w-])-?\d+(?:[.,]\d+)*(?:e[+-]?\d+)?", "N", text.split(" (")[0])[:90]


COUNTS = ("cases", "read", "refused", "looked_up", "lookup_refused", "tracebacks", "broken", "multiline",
          "noise")


class Tally:
    """Outcomes of one kind of case."""

    def __init__(self):
        self.cases = self.read = self.refused = self.looked_up = self.lookup_refused = 0
        self.tracebacks = self.broken = self.multiline = self.noise = 0
        self.reasons = collections.Counter()
        self.first_failure: str | None = None

    def fail(self, what: str, detail: str) -> None:
        if self.first_failure is None:
            self.first_failure = f"{what}: {detail}"

    @property
    def failures(self) -> int:
        return self.tracebacks + self.broken + self.multiline + self.noise


def attempt(step, tally: Tally):
    """(result, None) of `step()`, (None, message) for a refusal, (None, None) after a failure."""
    from signclip.runtime.errors import SignclipError

    try:
        return step(), None
    except SignclipError as e:
        message = str(e)
        if "\n" in message or "\r" in message:
            tally.multiline += 1
            tally.fail("refusal of several lines", repr(message))
        return None, message
    except AssertionError as e:
        tally.broken += 1
        tally.fail("broken promise", f"{e}\n{traceback.format_exc()}")
    except Exception:
        tally.tracebacks += 1
        tally.fail("traceback", traceback.format_exc())
    return None, None


def one_case(data: bytes, path: Path, engine, tally: Tally, sink) -> None:
    """Read one file and, when read, look it up; count what happened."""
    from pose_fuzz import check_clip, check_matches

    from signclip.runtime.pose.io import read_pose

    def read():
        clip = read_pose(path)
        check_clip(clip)
        return clip

    def look_up():
        check_matches(engine.lookup_clips([clip], k=3))
        return True

    path.write_bytes(data)
    tally.cases += 1
    before = sink.tell()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        clip, refusal = attempt(read, tally)
        tally.read += clip is not None
        tally.refused += refusal is not None
        if clip is not None:
            done, refusal = attempt(look_up, tally)
            tally.looked_up += bool(done)
            tally.lookup_refused += refusal is not None
        if refusal is not None:
            tally.reasons[reason(refusal, path)] += 1
    sys.stdout.flush()
    sys.stderr.flush()
    sink.seek(0, 2)
    printed = sink.tell() - before
    if printed or caught:
        tally.noise += 1
        sink.seek(before)
        text = sink.read(300) if printed else ""
        tally.fail("noise", text or "; ".join(str(w.message) for w in caught))


def run_kind(kind: str, cases: int, seed: int, engine, path: Path, sink) -> Tally:
    from hypothesis import HealthCheck, Phase, given, settings
    from hypothesis import seed as with_seed
    from pose_fuzz import KINDS

    tally = Tally()

    @with_seed(seed)
    @settings(max_examples=cases, deadline=None, database=None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck))
    @given(data=KINDS[kind])
    def every(data):
        one_case(data, path, engine, tally, sink)  # counts failures instead of stopping at one

    every()
    return tally


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=5000, help="cases in all, shared by the kinds")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--bundle", default=None, help="bundle for the lookups (default: the shipped one)")
    add_markdown_option(parser)
    args = parser.parse_args(argv)
    with page_section(args.markdown, "bench/fuzz.py"):
        return run_benchmark(args)


def run_benchmark(args) -> int:
    """Run the measurements and print their tables."""
    from pose_fuzz import KINDS

    from signclip.runtime.recognition.engine import Engine

    engine = Engine(args.bundle, personal=False)
    per_kind = max(1, args.cases // len(KINDS))
    rows, total, reasons, failures = [], Tally(), collections.Counter(), []
    with tempfile.TemporaryDirectory(prefix="fuzz-") as folder, \
            tempfile.TemporaryFile("w+", encoding="utf-8", errors="replace") as sink:
        path = Path(folder) / "case.pose"
        for kind in KINDS:
            t0 = time.perf_counter()
            with terminal_to(sink):
                tally = run_kind(kind, per_kind, args.seed, engine, path, sink)
            seconds = time.perf_counter() - t0
            rows.append((kind, *(getattr(tally, name) for name in COUNTS), f"{seconds:.1f}"))
            for name in COUNTS:
                setattr(total, name, getattr(total, name) + getattr(tally, name))
            reasons.update(tally.reasons)
            if tally.first_failure:
                failures.append(f"{kind}: {tally.first_failure}")
    rows.append(("all", *(getattr(total, name) for name in COUNTS), ""))

    print(f"### Fuzzing read_pose and lookup: {total.cases:,} cases, seed {args.seed}, bundle "
          f"{engine.bundle.path.name}\n")
    header = ("kind", "cases", "read", "refused by the reader", "looked up", "refused by lookup",
              "tracebacks", "broken promises", "multi-line refusals", "noise", "s")
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for row in rows:
        print("| " + " | ".join(f"{v:,}" if isinstance(v, int) else str(v) for v in row) + " |")
    print("\n### Most common refusals (file name and numbers replaced)\n")
    print("| refusals | message |\n|---|---|")
    for text, count in reasons.most_common(12):
        print(f"| {count:,} | {text} |")
    for failure in failures:
        print(f"\nFIRST FAILURE {failure}")
    return 1 if total.failures else 0


if __name__ == "__main__":
    sys.exit(main())
