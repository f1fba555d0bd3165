"""Atomic writes leave files with the permissions a plain write would."""

from __future__ import annotations

import os
import stat
import sys

import pytest

from signclip.runtime.atomic import NEW_FILE_MODE, atomic_write_bytes

POSIX = pytest.mark.skipif(sys.platform == "win32", reason="POSIX file modes")


@POSIX
def test_a_new_file_gets_the_mode_open_would_give_it(tmp_path):
    atomic_write_bytes(tmp_path / "plot.png", b"png")
    with open(tmp_path / "plain.png", "wb") as f:
        f.write(b"png")
    mode = stat.S_IMODE(os.stat(tmp_path / "plot.png").st_mode)
    assert mode == stat.S_IMODE(os.stat(tmp_path / "plain.png").st_mode) == NEW_FILE_MODE
    assert (tmp_path / "plot.png").read_bytes() == b"png"


@POSIX
def test_a_replaced_file_keeps_its_mode(tmp_path):
    path = tmp_path / "personal.json"
    path.write_bytes(b"old")
    os.chmod(path, 0o600)  # a user's private choice survives the rewrite
    atomic_write_bytes(path, b"new")
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600 and path.read_bytes() == b"new"
    assert [p.name for p in tmp_path.iterdir()] == ["personal.json"]  # no temporary left behind
