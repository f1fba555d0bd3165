"""Shared fixtures: paths to the real test data copied into tests/data."""

from pathlib import Path

import pytest

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
