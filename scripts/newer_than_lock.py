"""Which installed packages differ from the lock's versions (for this Python): what `make test-latest` tried.

    python scripts/newer_than_lock.py requirements/constraints.txt
"""

from __future__ import annotations

import sys
from importlib import metadata

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name


def locked(path: str) -> dict:
    """Package name -> version pinned for this interpreter (markers evaluated here)."""
    pins = {}
    for line in open(path, encoding="utf-8"):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        req = Requirement(line)
        if req.marker is None or req.marker.evaluate():
            pins[canonicalize_name(req.name)] = next(iter(req.specifier)).version
    return pins


def main(path: str) -> int:
    pins = locked(path)
    installed = {canonicalize_name(d.metadata["Name"]): d.version for d in metadata.distributions()}
    moved = sorted((name, pins[name], version) for name, version in installed.items()
                   if name in pins and version.split("+")[0] != pins[name])
    print(f"{len(moved)} of {len(pins)} locked packages differ from {path} here:")
    for name, pin, version in moved:
        print(f"  {name:<28} {pin:>14} -> {version}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
