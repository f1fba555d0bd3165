"""The shipped default bundle: found without arguments, pose-only, right on the training clips."""

from pathlib import Path

import pytest

from signclip.runtime.errors import SignclipError
from signclip.runtime.model.bundle import default_bundle_path, load_bundle
from signclip.runtime.pose.io import read_pose
from signclip.runtime.recognition.engine import Engine

LEXICON = Path(__file__).parents[1] / "data" / "lexicon"


@pytest.fixture(scope="module")
def engine(default_engine):
    return default_engine


def test_default_bundle_is_found_and_valid(monkeypatch):
    monkeypatch.delenv("SIGNCLIP_BUNDLE", raising=False)
    bundle = load_bundle()
    assert bundle.path == default_bundle_path()
    assert not bundle.has_text_encoder
    assert bundle.meta["normalization"]["hand_3d"] is True
    assert sum(f.stat().st_size for f in bundle.path.iterdir()) < 8_000_000  # reference clips included
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
        engine.lookup_text("castle", k=3, language="ase")


def lexical_signs(engine) -> list:
    return sorted(engine.bundle.signs)


def test_every_lexical_sign_is_found_by_its_name_however_written(engine):
    """The dictionary direction: a vocabulary word's own clip first, in lower case and as written."""
    signs = lexical_signs(engine)
    assert len(signs) >= 64  # ASL-App's 52 words and 12 months, ISLR's HELLO and THANK-YOU among them
    wrong = []
    for label, language in signs:
        for query in (label, label.lower(), label.replace("-", " ").title()):
            top = engine.lookup_text(query, k=5, language=language)[0]
            if (top.label, top.language, top.source) != (label, language, "clip"):
                wrong.append((query, top.label))
    assert not wrong, wrong


def test_thank_you_is_found_however_it_is_spelled(engine):
    for query in ("hello", "Hello!", "thank you", "Thank you", "thank-you", "THANK-YOU", "thankyou"):
        assert engine.lookup_text(query, k=3, language="ase")[0].label in ("HELLO", "THANK-YOU"), query
    assert engine.lookup_text("thank you", k=3)[0].label == "THANK-YOU"  # every language searched


def test_free_text_without_a_text_tower_names_the_nearest_words(engine):
    with pytest.raises(SignclipError, match=r"'helo' is not in the vocabulary \(nearest words: HELLO"):
        engine.lookup_text("helo", k=3, language="ase")
    with pytest.raises(SignclipError, match="no vocabulary word is spelled like it"):
        engine.lookup_text("qqqqqqqq", k=3, language="ase")


def test_taught_sign_does_not_win_unrelated_queries(engine, signclip_home):
    fresh = Engine()
    letter_a = read_pose(LEXICON / "ase" / "fs-stse28e9ac023b0e29ca0a3acc12dc46540.pose")
    other = read_pose(Path(__file__).parents[1] / "data" / "poses" / "holistic576_97f.pose")
    fresh.teach("SOUP", [other], ["holistic576_97f.pose"])
    assert fresh.lookup_clips([other], k=3)[0][0].label == "SOUP"
    top = fresh.lookup_clips([letter_a], k=3, language="ase")[0]
    assert top[0].label == "A" and top[0].source == "bundle"


def test_the_vocabulary_holds_lexical_signs_with_their_sources_credited(engine):
    v = engine.vocabulary
    ase = {str(label) for label, lang in zip(v.labels, v.languages, strict=True) if lang == "ase"}
    lexical = {w for w in ase if len(w) > 1 and not w.isdigit()}       # not a letter, not a number
    assert len(lexical) >= 50 and {"HELLO", "THANK-YOU", "MOTHER", "WATER"} <= lexical
    credited = " ".join(c["name"] for c in engine.bundle.meta["training_data"])
    assert "ISLR" in credited and "ASL-App" in credited
    credits_file = (engine.bundle.path / "CREDITS.md").read_text(encoding="utf-8")
    assert "CC-BY-4.0" in credits_file and "Isolated Sign Language Recognition" in credits_file
    matches = engine.lookup_text("HELLO", k=5, language="ase")
    assert matches[0].label == "HELLO"


def test_held_out_signers_words_come_in_the_top_5_of_the_whole_asl_vocabulary(engine):
    """The acceptance bound, on the participants the default model never trained on (ISLR)."""
    from signclip.trainer.words import ISLR_HELD_OUT, word_clip, word_rows

    rows = word_rows("islr", hold_out_signers=ISLR_HELD_OUT)
    tests = [r for r in rows if r.split == "test"]
    assert len(tests) == 161 and {r.signer for r in tests} == set(ISLR_HELD_OUT)
    results = engine.lookup_clips([word_clip(r.pose, r.item) for r in tests], k=5, language="ase")
    top5 = sum(r.text in [m.label for m in found] for r, found in zip(tests, results, strict=True))
    assert top5 / len(tests) >= 0.80, top5 / len(tests)
