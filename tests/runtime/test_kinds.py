"""Kinds: a word signed by a stranger is answered with words, a letter with letters."""

from pathlib import Path

import numpy as np
import pytest

from signclip.runtime.errors import SignclipError
from signclip.runtime.pose.io import read_pose
from signclip.runtime.recognition.kinds import (
    DIGIT,
    LETTER,
    SIGN,
    KindHead,
    allowed_kinds,
    check_choice,
    entry_kind,
)

DATA = Path(__file__).parents[1] / "data"


@pytest.fixture(scope="module")
def engine(default_engine):
    return default_engine


def test_entry_kinds_follow_the_bundles_list_of_signs():
    signs = frozenset({("WHY", "ase"), ("10", "ase")})
    assert entry_kind("WHY", "ase", signs) == SIGN and entry_kind("10", "ase", signs) == SIGN
    assert entry_kind("7", "ase", signs) == DIGIT
    assert entry_kind("CH", "cse", signs) == LETTER and entry_kind("B", "ase", signs) == LETTER


def test_the_head_round_trips_and_decides_by_its_threshold():
    head = KindHead(np.array([1.0, -1.0], np.float32), 0.0)
    again = KindHead.from_meta({"kinds": head.to_meta()})
    assert again.kind(np.array([1.0, 0.0])) == "signs" and again.kind(np.array([0.0, 1.0])) == "letters"
    assert KindHead.from_meta({}) is None
    assert allowed_kinds("auto", None, np.zeros(2)) is None              # an older bundle: all kinds
    assert allowed_kinds("auto", head, np.array([1.0, 0.0])) == {SIGN}
    assert allowed_kinds("letters", head, np.array([1.0, 0.0])) == {LETTER, DIGIT}
    assert allowed_kinds("all", head, np.array([1.0, 0.0])) is None
    with pytest.raises(SignclipError, match="--kind 'words'"):
        check_choice("words")


def test_held_out_word_signers_are_never_answered_with_a_letter_or_digit(engine):
    """ISLR's five participants no training saw: HELLO and THANK-YOU, 161 phone clips."""
    from signclip.trainer.words import ISLR_HELD_OUT, word_clip, word_rows

    tests = [r for r in word_rows("islr", hold_out_signers=ISLR_HELD_OUT) if r.split == "test"]
    results = engine.lookup_clips([word_clip(r.pose, r.item) for r in tests], k=5, language="ase")
    kinds = engine.entry_kinds
    index = {(str(la), str(lg)): i for i, (la, lg) in
             enumerate(zip(engine.vocabulary.labels, engine.vocabulary.languages, strict=True))}
    lettered = sum(kinds[index[(found[0].label, found[0].language)]] != SIGN for found in results)
    top1 = sum(r.text == found[0].label for r, found in zip(tests, results, strict=True)) / len(tests)
    print(f"held-out word clips answered with a letter or digit first: {lettered} of {len(tests)}; "
          f"top-1 {top1:.3f}")
    assert lettered == 0
    assert top1 >= 0.90


def test_kind_overrides_what_the_clip_shows(engine):
    hello = read_pose(DATA / "words" / "islr_hello_53618.pose")
    assert engine.lookup_clips([hello], k=3, language="ase")[0][0].label == "HELLO"
    assert engine.lookup_clips([hello], k=3, language="ase", kind="signs")[0][0].label == "HELLO"
    as_letters = engine.lookup_clips([hello], k=3, language="ase", kind="letters")[0]
    assert all(entry_kind(m.label, m.language, engine.bundle.signs) != SIGN for m in as_letters)
    letter_a = read_pose(DATA / "lexicon" / "ase" / "fs-stse28e9ac023b0e29ca0a3acc12dc46540.pose")
    assert engine.lookup_clips([letter_a], k=3, language="ase")[0][0].label == "A"
    mixed = engine.lookup_clips([hello], k=10, language="ase", kind="all")[0]
    assert {len(m.label) > 1 for m in mixed} == {True, False}   # words and letters together


def test_a_language_without_lexical_signs_still_answers(engine):
    hello = read_pose(DATA / "words" / "islr_hello_53618.pose")
    assert engine.lookup_clips([hello], k=3, language="gss")[0]       # auto falls back to its letters


def test_both_hands_raised_make_a_sign_where_the_alphabet_is_one_handed(engine):
    """pose-format's clip raises both wrists throughout: in ASL (one-handed letters) it is answered with
    words whatever the embedding says; in Czech (a two-handed alphabet) two hands say nothing."""
    from signclip.runtime.recognition.kinds import raised_share, uses_both_hands

    clip = read_pose(DATA / "poses" / "holistic576_97f.pose")
    x = engine.model_input(clip)
    assert uses_both_hands(x) and raised_share(x) > 0.5
    e = engine.embed_inputs([x])[0]
    assert engine.kind_head.kind(e, True, "ase") == "signs"
    assert engine.kind_head.kind(e, True, "cse") == engine.kind_head.kind(e)
    top = engine.lookup_inputs([x], k=3, language="ase")[0]
    assert all(entry_kind(m.label, m.language, engine.bundle.signs) == SIGN for m in top)
    letter_a = read_pose(DATA / "lexicon" / "ase" / "fs-stse28e9ac023b0e29ca0a3acc12dc46540.pose")
    assert not uses_both_hands(engine.model_input(letter_a))
