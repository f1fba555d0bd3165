"""The import graph of the four parts: no circle anywhere, and no arrow up the architecture's table
(the runtime imports none of the others; the trainer and the app only the runtime; export the
trainer and the runtime), nor up the runtime's stages (pose, capture, model, vocabulary,
recognition, cli). Every import statement counts, those inside functions too."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PARTS = {"runtime": "signclip.runtime", "corpus": "signclip.corpus", "trainer": "signclip.trainer",
         "export": "signclip.export", "desktop_app": "signclip.app"}
MAY_IMPORT = {"signclip.runtime": set(), "signclip.corpus": {"signclip.runtime"},
              "signclip.trainer": {"signclip.runtime", "signclip.corpus"},
              "signclip.app": {"signclip.runtime"},
              "signclip.export": {"signclip.trainer", "signclip.runtime", "signclip.corpus"}}


def modules() -> dict:
    """Module name -> its file, for every module of the four parts."""
    found = {}
    for folder, package in PARTS.items():
        for path in (ROOT / folder).rglob("*.py"):
            parts = [p for p in path.relative_to(ROOT / folder).with_suffix("").parts if p != "__init__"]
            found[".".join([package, *parts])] = path
    return found


def imported(name: str, path: Path, known: dict) -> set:
    """The project's modules that `name` imports anywhere in its file."""
    out = set()
    package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package[:len(package) - node.level + 1] + ([base] if base else []))
            targets = [base] + [f"{base}.{a.name}" for a in node.names]
        else:
            continue
        out.update(t for t in targets if t in known and t != name)
    return out


def graph() -> dict:
    known = modules()
    return {name: imported(name, path, known) for name, path in known.items()}


def circles(edges: dict) -> list:
    """The strongly connected groups of more than one module (Tarjan)."""
    index, low, stack, on, found = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in edges.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                on.discard(w)
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for v in list(edges):
        if v not in index:
            visit(v)
    return found


# The runtime's stages and the stages each may import (docs/layout.md); its root modules (errors,
# atomic, home) and the bundled models are below every stage.
STAGES = {"pose": set(), "capture": {"pose"}, "model": {"pose"}, "vocabulary": {"model"},
          "recognition": {"pose", "capture", "model", "vocabulary"},
          "cli": {"pose", "capture", "model", "vocabulary", "recognition"}}


def stage(name: str) -> str | None:
    """The runtime stage a runtime module belongs to; None for the root modules."""
    parts = name.split(".")
    return parts[2] if len(parts) > 3 and parts[2] in STAGES else None


def part(name: str) -> str:
    return next(p for p in MAY_IMPORT if name == p or name.startswith(p + "."))


def test_the_circle_finder_finds_circles():
    assert circles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert circles({"a": {"b"}, "b": set()}) == []


def test_no_import_circle():
    assert circles(graph()) == []


def test_no_import_up_the_architecture():
    edges = graph()
    assert len(edges) > 50  # the walk found the parts
    upward = sorted((m, d) for m, deps in edges.items() for d in deps
                    if part(d) != part(m) and part(d) not in MAY_IMPORT[part(m)])
    assert upward == []


def test_no_import_up_the_runtime_stages():
    edges = graph()
    runtime = {m: deps for m, deps in edges.items() if part(m) == "signclip.runtime"}
    assert {stage(m) for m in runtime} >= set(STAGES)  # every stage has modules
    upward = sorted((m, d) for m, deps in runtime.items() for d in deps
                    if stage(m) and stage(d) and stage(d) != stage(m) and stage(d) not in STAGES[stage(m)])
    assert upward == []
    root_up = sorted((m, d) for m, deps in runtime.items() for d in deps if stage(m) is None and stage(d))
    assert root_up == []  # errors, atomic and home import no stage
