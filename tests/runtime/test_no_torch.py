"""The runtime works where torch cannot be imported: every runtime module imports, and a lookup runs."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

RUNTIME = Path(__file__).resolve().parents[2] / "runtime"
BLOCKER = textwrap.dedent("""
    import sys
    class _NoTorch:
        def find_spec(self, name, path=None, target=None):
            if name == "torch" or name.startswith("torch.") or name in ("transformers", "onnx"):
                raise ImportError(f"blocked for this test: {name}")
            return None
    sys.meta_path.insert(0, _NoTorch())
""")


def runtime_modules() -> list:
    names = [f"signclip.runtime.{p.stem}" for p in sorted(RUNTIME.glob("*.py")) if p.stem != "__init__"]
    names += [f"signclip.runtime.cli.{p.stem}" for p in sorted((RUNTIME / "commands").glob("*.py"))
              if p.stem != "__init__"]
    return ["signclip.runtime", *names]


def run_without_torch(tmp_path, code: str, env=None) -> subprocess.CompletedProcess:
    (tmp_path / "sitecustomize.py").write_text(BLOCKER)
    env = {**os.environ, **(env or {}), "PYTHONPATH": str(tmp_path)}
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300)


def test_blocker_blocks(tmp_path):
    r = run_without_torch(tmp_path, "import torch")
    assert r.returncode != 0 and "blocked for this test: torch" in r.stderr


@pytest.mark.slow
def test_every_runtime_module_imports_without_torch(tmp_path):
    code = textwrap.dedent(f"""
        import importlib, sys
        for name in {runtime_modules()!r}:
            importlib.import_module(name)
        from signclip.runtime.cli.main import build_parser
        build_parser()
        assert "torch" not in sys.modules
        print("ok")
    """)
    r = run_without_torch(tmp_path, code)
    assert r.returncode == 0, r.stderr[-2000:]


@pytest.mark.slow
def test_lookup_runs_without_torch(tmp_path, tiny_bundle):
    pose = Path(__file__).resolve().parents[1] / "data" / "poses" / "holistic576_97f.pose"
    code = ("import sys; from signclip.runtime.cli.main import main; "
            f"rc = main(['lookup', {str(pose)!r}, '--text', 'A', '--json']); "
            "assert 'torch' not in sys.modules; sys.exit(rc)")
    r = run_without_torch(tmp_path, code, {"SIGNCLIP_BUNDLE": str(tiny_bundle),
                                           "SIGNCLIP_HOME": str(tmp_path / "home")})
    assert r.returncode == 0, r.stderr[-2000:]
    assert r.stdout.count('"results"') == 2
