"""The web tests: the page's JavaScript in Node and in headless Chromium. `make test` installs Node.js,
the page's npm packages (`make web`) and Chromium where they are missing."""

import sys
from pathlib import Path

import pytest
from page_driver import NODE

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "runtime"))  # streaming_data: the C-A-B clip


@pytest.fixture(scope="session", autouse=True)
def node_modules():
    """The page's npm packages, as the lockfile pins them (npm ci on first use)."""
    if NODE is None:
        pytest.skip("Node.js is not installed: the web tests need it (make web installs it with apt)")
    from signclip.runtime.cli.webpage import node_modules

    return node_modules(log=lambda _: None)


@pytest.fixture(scope="session")
def engine():
    """The Python side of every comparison: the shipped bundle, no personal signs."""
    from signclip.runtime.model.bundle import load_bundle
    from signclip.runtime.recognition.engine import Engine

    return Engine(load_bundle(), personal=False)
