"""Fingerspelling: holds found in real letter clips, words joined from them read letter by letter with
the shipped model, double and moving letters, a hand leaving the frame, and the word prior."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from spelling_data import DATA, held_part, join_word, lexicon_letters

from signclip.runtime.pose.clip import PoseClip
from signclip.runtime.pose.layouts import LEFT_HAND, RIGHT_HAND
from signclip.runtime.recognition.engine import Engine
from signclip.runtime.recognition.holds import HoldConfig, HoldTracker
from signclip.runtime.recognition.segmentation import HandActivitySegmenter
from signclip.runtime.recognition.spelling import (
    MOVING_LETTERS,
    Letter,
    SpellConfig,
    SpellReader,
    WordEnd,
    alphabet,
    letters_of,
    read_clip,
    still_letter,
    traces_a_shape,
)

SPELLING = DATA / "spelling"


@pytest.fixture(scope="module")
def letters() -> dict:
    return lexicon_letters("ase", SPELLING)


@pytest.fixture(scope="module")
def engine(tmp_path_factory):
    return Engine(None, personal=False)  # the shipped default bundle


def options(engine, **extra) -> dict:
    v = engine.vocabulary
    return {"letters": alphabet(v.labels, v.languages, "ase"), "moving": MOVING_LETTERS["ase"],
            "normalization": engine.bundle.normalization, **extra}


def spell(engine, clip: PoseClip, **extra) -> list:
    return read_clip(clip, engine.pose_encoder.embed_one, lambda e: engine.lookup_embedding(e, 10, "ase"),
                     **options(engine, **extra))


def holds_of(clip: PoseClip, config: HoldConfig = HoldConfig()) -> list:
    words = HandActivitySegmenter(clip.layout, clip.fps)
    tracker = HoldTracker(clip.layout, clip.fps, config)
    found = []
    for t in range(clip.num_frames):
        words.step(clip.frames[t], clip.mask[t])
        ended = tracker.step(clip.frames[t], clip.mask[t], words.shoulders).ended
        if ended:
            found.append(ended)
    return found + ([tracker.finish().ended] if tracker.in_hold else [])


def without_hands(clip: PoseClip, frames: slice) -> PoseClip:
    mask = clip.mask.copy()
    hands = [i for i, (c, _) in enumerate(clip.layout.points) if c in (LEFT_HAND, RIGHT_HAND)]
    mask[frames, np.array(hands)[:, None]] = False
    return PoseClip(clip.layout, clip.frames, mask, clip.fps, clip.width, clip.height)


# ---------------------------------------------------------------- holds


@pytest.mark.parametrize("letter", list("ABCEKLO"))
def test_a_static_letter_is_one_hold_inside_its_held_part(letters, letter):
    clip = letters[letter]
    start, end = held_part(clip, None)
    (hold,) = holds_of(clip)
    assert start <= hold[0] < hold[1] <= end + 1
    assert hold[1] - hold[0] >= 0.4 * clip.fps  # most of the letter is held


def test_holds_of_a_joined_word_match_its_letters(letters):
    spelled = join_word("CLOCK", letters)
    found = holds_of(spelled.clip)
    assert len(found) == 5
    for (start, end), (_, first, last) in zip(found, spelled.truth, strict=True):
        assert 0 <= start - first <= 0.2 * spelled.clip.fps  # the hand settles ...
        assert abs(end - last) <= 1                            # ... and the hold ends with its letter


def test_missed_detections_do_not_end_a_hold_but_a_hand_that_leaves_does(letters):
    clip = letters["B"]
    (whole,) = holds_of(clip)
    middle = (whole[0] + whole[1]) // 2
    assert holds_of(without_hands(clip, slice(middle, middle + 2))) == [whole]
    (cut,) = holds_of(without_hands(clip, slice(middle, None)))
    assert cut == (whole[0], middle)  # ends after the last frame the hand was seen


def test_hold_config_is_checked():
    from signclip.runtime.errors import SignclipError

    with pytest.raises(SignclipError, match="still"):
        HoldConfig(shape_still=1.0, shape_break=0.5).check()


@settings(deadline=None, max_examples=25, derandomize=True, database=None,
          suppress_health_check=list(HealthCheck))
@given(st.integers(0, 2**32 - 1))
def test_holds_are_ordered_and_disjoint_on_any_noise(letters, seed):
    """Random jitter, dropouts and jumps on a real word: holds stay ordered, disjoint and in range."""
    clip = join_word("BLOCK", letters).clip
    rng = np.random.default_rng(seed)
    frames = clip.frames + rng.normal(0, rng.uniform(0, 8), clip.frames.shape).astype(np.float32)
    mask = clip.mask & (rng.random(clip.mask.shape[0]) > rng.uniform(0, 0.3))[:, None]
    found = holds_of(PoseClip(clip.layout, frames, mask, clip.fps))
    ends = [0] + [x for hold in found for x in hold]
    assert ends == sorted(ends) and all(a < b for a, b in found) and ends[-1] <= clip.num_frames


# ---------------------------------------------------------------- letters with the shipped model


@pytest.mark.parametrize("word", ["CAB", "JOKE", "BLAZE", "BOOK", "CLOCK", "CAJOLE", "HIKE", "CHIC"])
def test_words_joined_without_rest_are_read_letter_by_letter(engine, letters, word):
    spelled = join_word(word, letters)
    read = letters_of(spell(engine, spelled.clip))
    assert "".join(x.letter for x in read) == word
    for x, (_, _, end) in zip(read, spelled.truth, strict=True):
        if x.kind == "hold":  # decided by the first frame after the hold, or the next
            assert x.decided_frame - end <= 1, (x, end)
    assert [x.kind for x in read if x.letter == "Z"] == ["movement"] * word.count("Z")


def test_a_repeated_shape_without_travel_is_one_letter(engine, letters):
    """Two holds of one shape with no bounce or slide between them are one letter (a tremor split it)."""
    spelled = join_word("BOOK", letters, slide=0.0)
    read = "".join(x.letter for x in letters_of(spell(engine, spelled.clip)))
    assert read == "BOK"


def test_a_word_ends_when_the_hand_leaves(engine, letters):
    spelled = join_word("CAB", letters)
    clip = spelled.clip
    rest = int(clip.fps)  # a second without hands, then the same word again
    frames = np.concatenate([clip.frames, np.repeat(clip.frames[-1:], rest, 0), clip.frames])
    mask = np.concatenate([clip.mask, np.zeros((rest, clip.layout.size), bool), clip.mask])
    events = spell(engine, PoseClip(clip.layout, frames, mask, clip.fps))
    words = [e for e in events if isinstance(e, WordEnd)]
    assert [w.raw for w in words] == ["CAB", "CAB"]
    first_end = next(i for i, e in enumerate(events) if isinstance(e, WordEnd))
    assert events[first_end].decided_frame < clip.num_frames + rest  # before the second word began


def test_streaming_frame_by_frame_equals_the_whole_clip(engine, letters):
    clip = join_word("JOKE", letters).clip
    reader = SpellReader(clip.layout, clip.fps, engine.pose_encoder.embed_one,
                         lambda e: engine.lookup_embedding(e, 10, "ase"), **options(engine))
    streamed = []
    for t in range(clip.num_frames):
        streamed += reader.push(clip.frames[t], clip.mask[t])
    streamed += reader.finish()
    offline = spell(engine, clip)
    assert [(x.letter, x.start_frame, x.end_frame) for x in letters_of(streamed)] == \
           [(x.letter, x.start_frame, x.end_frame) for x in letters_of(offline)]
    assert reader.ring.size < 2 * clip.fps  # the history kept is bounded, whatever the stream's length


def test_the_letters_are_the_chosen_languages(engine, letters):
    v = engine.vocabulary
    ase = alphabet(v.labels, v.languages, "ase")
    assert set("ABCXYZ") <= ase and "ẞ" not in ase
    assert "7" in v.labels and not set("0123456789") & ase  # ASL's digits are signs, not letters
    assert "SCH" in alphabet(v.labels, v.languages, None)


# ---------------------------------------------------------------- the word prior


def letter(ch: str, *candidates) -> Letter:
    cands = ((ch, 0.7), *candidates)
    return Letter(ch, 0, 1, 0.0, 0.1, 0.7, cands, 1, 0.0)


def test_the_word_prior_fixes_a_near_miss_and_keeps_what_is_far():
    pytest.importorskip("wordfreq")
    from signclip.runtime.recognition.word_prior import WordPrior

    prior = WordPrior("en", frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ"))
    # P was read where the lookup ranked O a close second
    hellp = [letter("H"), letter("E"), letter("L"), letter("L"), letter("P", ("O", 0.69))]
    fixed = prior.correct(hellp)
    assert (fixed.raw, fixed.word) == ("HELLP", "HELLO") and fixed.edits < 0.5
    assert prior.word([letter(c) for c in "HOUSE"]) == "HOUSE"  # a word stays itself
    assert prior.word([letter(c) for c in "XQZJV"]) == "XQZJV"  # nothing near: the letters stand


def test_the_word_prior_refuses_unknown_languages():
    pytest.importorskip("wordfreq")
    from signclip.runtime.errors import SignclipError
    from signclip.runtime.recognition.word_prior import WordPrior

    with pytest.raises(SignclipError, match="no word list"):
        WordPrior("xx")


def test_spell_config_defaults_read_on_the_lexicon_fps(letters):
    reader_config = SpellConfig()
    assert reader_config.context_s < reader_config.moving_s < reader_config.approach_s


# ---------------------------------------------------------------- moving letters only where the hand moves


def tip_path(points: np.ndarray) -> tuple:
    """Model-layout frames [T, 203, 3] and mask whose shoulders are 100 pixels apart and whose right
    index fingertip follows `points` [T, 2] (in shoulder widths); nothing else seen."""
    from signclip.runtime.pose.layouts import BODY, MODEL_203

    frames = np.zeros((len(points), MODEL_203.size, 3), np.float32)
    mask = np.zeros((len(points), MODEL_203.size), bool)
    for name, x in (("RIGHT_SHOULDER", 0.0), ("LEFT_SHOULDER", 100.0)):
        frames[:, MODEL_203.index[(BODY, name)], 0] = x
        mask[:, MODEL_203.index[(BODY, name)]] = True
    tip = MODEL_203.index[(RIGHT_HAND, "INDEX_FINGER_TIP")]
    frames[:, tip, :2] = 100.0 * np.asarray(points)
    mask[:, tip] = True
    return frames, mask


def test_a_traced_shape_is_a_movement_and_a_slide_is_not():
    config = SpellConfig()
    t = np.linspace(0, 1, 12)[:, None]
    slide = np.hstack([0.5 * t, 0.1 * t])                                  # 0.5 widths, straight
    zigzag = np.array([[0, 0], [0.3, 0], [0, 0.3], [0.3, 0.3]] * 3, float)  # 2.7 widths, back and forth
    tremor = np.array([[0, 0], [0.01, 0.01]] * 6, float)                   # a long path ratio, tiny
    assert traces_a_shape(*tip_path(zigzag), config)
    assert not traces_a_shape(*tip_path(slide), config)
    assert not traces_a_shape(*tip_path(tremor), config)
    frames, mask = tip_path(zigzag)
    mask[:, :33] = False  # no body: no shoulder width to measure by
    assert not traces_a_shape(frames, mask, config)


def test_a_hold_read_as_a_moving_letter_takes_its_best_still_letter():
    read = Letter("J", 0, 5, 0.0, 0.2, 0.61, (("J", 0.61), ("I", 0.6), ("Y", 0.5)), 5, 1.0)
    still = still_letter(read, frozenset("JZ"))
    assert (still.letter, still.score, still.candidates) == ("I", 0.6, (("I", 0.6), ("Y", 0.5)))
    assert still_letter(Letter("Z", 0, 5, 0.0, 0.2, 0.6, (("Z", 0.6), ("J", 0.5)), 5, 1.0),
                        frozenset("JZ")) is None
