"""Shared fixtures: paths to the real test data copied into tests/data."""

from pathlib import Path

import pytest
from tiny_bundle import make_tiny_bundle

DATA = Path(__file__).parent / "data"
POSES = DATA / "poses"
VIDEOS = DATA / "videos"


@pytest.fixture(scope="session")
def data_dir() -> Path:
    return DATA


@pytest.fixture(scope="session")
def poses_dir() -> Path:
    return POSES


@pytest.fixture(scope="session")
def videos_dir() -> Path:
    return VIDEOS


@pytest.fixture(scope="session")
def tiny_bundle(tmp_path_factory):
    """Folder of a tiny bundle: random-weight towers in ONNX, letters of three languages."""
    pytest.importorskip("torch", reason="the tiny bundle is exported from torch (not in the runtime install)")
    return make_tiny_bundle(tmp_path_factory.mktemp("bundle") / "tiny")


@pytest.fixture
def signclip_home(tmp_path, monkeypatch):
    """A private user data folder for personal vocabularies."""
    home = tmp_path / "home"
    monkeypatch.setenv("SIGNCLIP_HOME", str(home))
    return home


@pytest.fixture(scope="module")
def default_engine(tmp_path_factory):
    """The shipped default bundle's engine, with a user data folder of its own (no taught signs)."""
    import os

    from signclip.runtime.recognition.engine import Engine

    os.environ["SIGNCLIP_HOME"] = str(tmp_path_factory.mktemp("home"))
    yield Engine()
    del os.environ["SIGNCLIP_HOME"]
