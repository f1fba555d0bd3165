"""The shipped default bundle: found without arguments, pose-only, right on the training clips."""

from pathlib import Path

import pytest

from signclip.runtime.bundle import default_bundle_path, load_bundle
from signclip.runtime.engine import Engine
from signclip.runtime.errors import SignclipError
from signclip.runtime.pose_io import read_pose

LEXICON = Path(__file__).parents[1] / "data" / "lexicon"


@pytest.fixture(scope="module")
def engine(tmp_path_factory):
    import os

    os.environ["SIGNCLIP_HOME"] = str(tmp_path_factory.mktemp("home"))
    yield Engine()
    del os.environ["SIGNCLIP_HOME"]


def test_default_bundle_is_found_and_valid(monkeypatch):
    monkeypatch.delenv("SIGNCLIP_BUNDLE", raising=False)
    bundle = load_bundle()
    assert bundle.path == default_bundle_path()
    assert not bundle.has_text_encoder
    assert bundle.meta["normalization"]["hand_3d"] is True
    assert sum(f.stat().st_size for f in bundle.path.iterdir()) < 5_000_000  # a few MB
    assert bundle.parity  # the gate's numbers travel with the bundle


def test_training_clips_find_their_letter(engine):
    rows = [line.split(",") for line in (LEXICON / "data.csv").read_text().splitlines()[1:]]
    for path, _, signed, *_, word, _gloss, _priority in rows:
        results = engine.lookup_clips([read_pose(LEXICON / path)], k=5, language=signed)[0]
        assert word in [m.label for m in results], (path, [m.label for m in results])


def test_text_queries_come_from_the_stored_vocabulary(engine):
    matches = engine.lookup_text("B", k=3, language="ase")
    assert matches[0].label == "B" and matches[0].language == "ase"
    with pytest.raises(SignclipError, match="has no text encoder"):
        engine.lookup_text("house", k=3, language="ase")


def test_taught_sign_does_not_win_unrelated_queries(engine, signclip_home):
    fresh = Engine()
    letter_a = read_pose(LEXICON / "ase" / "fs-stse28e9ac023b0e29ca0a3acc12dc46540.pose")
    other = read_pose(Path(__file__).parents[1] / "data" / "poses" / "holistic576_97f.pose")
    fresh.teach("SOUP", [other], ["holistic576_97f.pose"])
    assert fresh.lookup_clips([other], k=3)[0][0].label == "SOUP"
    top = fresh.lookup_clips([letter_a], k=3, language="ase")[0]
    assert top[0].label == "A" and top[0].source == "bundle"
