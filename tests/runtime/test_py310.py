"""Python 3.10 (JetPack 6): every runtime/, corpus/ and desktop_app/ file compiles under Python 3.10."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CANDIDATES = ["python3.10", str(Path.home() / ".pyenv" / "versions" / "3.10.13" / "bin" / "python")]


def python310() -> str | None:
    for c in CANDIDATES:
        exe = shutil.which(c) or (c if Path(c).is_file() else None)
        if exe:
            out = subprocess.run([exe, "-c", "import sys; print(sys.version_info[:2])"],
                                 capture_output=True, text=True)
            if out.stdout.strip() == "(3, 10)":
                return exe
    return None


PY310 = python310()


@pytest.mark.skipif(PY310 is None, reason="no Python 3.10 interpreter here (python3.10 or pyenv 3.10.13)")
def test_compiles_with_python310(tmp_path):
    folders = ("runtime", "corpus", "desktop_app")
    files = sorted(str(p) for folder in folders for p in (ROOT / folder).rglob("*.py"))
    assert files
    code = ("import py_compile, sys\n"
            "bad = []\n"
            "for f in sys.argv[1:]:\n"
            "    try:\n"
            "        py_compile.compile(f, cfile=f'{sys.argv[0]}.pyc', doraise=True)\n"
            "    except py_compile.PyCompileError as e:\n"
            "        bad.append(str(e))\n"
            "print('\\n'.join(bad)); sys.exit(1 if bad else 0)\n")
    script = tmp_path / "check"
    script.write_text(code)
    r = subprocess.run([PY310, str(script), *files], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
