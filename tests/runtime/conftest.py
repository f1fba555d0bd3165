"""Fixtures for runtime tests: a tiny real bundle (built once per session), an isolated SIGNCLIP_HOME."""

from __future__ import annotations

import pytest
from tiny_bundle import make_tiny_bundle


@pytest.fixture(scope="session")
def tiny_bundle(tmp_path_factory):
    """Folder of a tiny bundle: random-weight towers in ONNX, letters of three languages."""
    return make_tiny_bundle(tmp_path_factory.mktemp("bundle") / "tiny")


@pytest.fixture
def signclip_home(tmp_path, monkeypatch):
    """A private user data folder for personal vocabularies."""
    home = tmp_path / "home"
    monkeypatch.setenv("SIGNCLIP_HOME", str(home))
    return home
