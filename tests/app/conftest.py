"""Fixtures for the app tests: Qt offscreen (set before any Qt import), a tiny real bundle, a private
SIGNCLIP_HOME and an engine over both."""

from __future__ import annotations

import os
import sys
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("GLOG_minloglevel", "2")

import pytest  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "runtime"))  # tiny_bundle.py
from tiny_bundle import make_tiny_bundle  # noqa: E402

VIDEOS = Path(__file__).resolve().parents[1] / "data" / "videos"
SHORT_VIDEO = VIDEOS / "asl_soup.mp4"           # 41 frames, 320x240
CAB_VIDEO = VIDEOS / "asl_letters_CAB.mp4"      # 327 frames: C, A, B fingerspelled


@pytest.fixture(scope="session")
def tiny_bundle(tmp_path_factory):
    return make_tiny_bundle(tmp_path_factory.mktemp("bundle") / "tiny")


@pytest.fixture
def signclip_home(tmp_path, monkeypatch):
    home = tmp_path / "home"
    monkeypatch.setenv("SIGNCLIP_HOME", str(home))
    return home


@pytest.fixture
def engine(tiny_bundle, signclip_home):
    from signclip.app.pipeline import LockedEngine
    from signclip.runtime.engine import Engine

    return LockedEngine(Engine(tiny_bundle))
