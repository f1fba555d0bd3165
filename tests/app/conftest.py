"""Fixtures for the app tests: Qt offscreen (set before any Qt import) and an engine over the tiny
bundle and private SIGNCLIP_HOME of tests/conftest.py."""

from __future__ import annotations

import os
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("GLOG_minloglevel", "2")

import pytest  # noqa: E402

VIDEOS = Path(__file__).resolve().parents[1] / "data" / "videos"
SHORT_VIDEO = VIDEOS / "asl_soup.mp4"           # 41 frames, 320x240
CAB_VIDEO = VIDEOS / "asl_letters_CAB.mp4"      # 327 frames: C, A, B fingerspelled


@pytest.fixture
def engine(tiny_bundle, signclip_home):
    from signclip.app.engine_service import LockedEngine
    from signclip.runtime.recognition.engine import Engine

    return LockedEngine(Engine(tiny_bundle))
