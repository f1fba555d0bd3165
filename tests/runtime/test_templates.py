"""Sign templates: subsequence DTW against the bundle's reference clips re-ranks word candidates."""

from pathlib import Path

import numpy as np
import pytest

from signclip.runtime.pose.io import read_pose
from signclip.runtime.pose.layouts import MODEL_203
from signclip.runtime.pose.normalize import ModelInput, flip
from signclip.runtime.pose.timing import at_rate
from signclip.runtime.recognition.templates import (
    FEATURES,
    TemplateConfig,
    distance,
    mirrored,
    nearest,
    rerank,
    subsequence_distance,
    template_features,
)

DATA = Path(__file__).parents[1] / "data"
ISLR_HELLO = DATA / "words" / "islr_hello_53618.pose"  # a participant no model here was trained on


@pytest.fixture(scope="module")
def engine(default_engine):
    return default_engine


def features_of(engine, clip):
    return template_features(engine.model_input(at_rate(clip, engine.bundle.fps)), engine.bundle.fps)


@pytest.fixture(scope="module")
def hello(engine):
    return features_of(engine, read_pose(ISLR_HELLO))


def test_features_are_wrists_and_hands_at_15_fps(engine, hello):
    clip = at_rate(read_pose(ISLR_HELLO), engine.bundle.fps)
    assert hello.shape[1] == FEATURES and abs(len(hello) - clip.num_frames * 15 / 25) <= 1
    assert np.isfinite(hello).all()
    hands = hello[:, 4:].reshape(len(hello), 2, 21, 2)
    seen = np.abs(hands).sum(axis=(2, 3)) > 0
    assert seen.any()
    # relative to its wrist in palm lengths, weighted 0.35: the wrist at 0, the middle MCP 0.35 away
    h = hands[seen]
    assert np.allclose(h[:, 0], 0.0) and np.allclose(np.linalg.norm(h[:, 9], axis=1), 0.35)


def test_subsequence_cost_equals_dtaidistance(engine, hello):
    """Our Numba DTW against dtaidistance's subsequence alignment (its pure-Python path), on the
    bundle's reference clips of three words and a held-out participant's HELLO."""
    sub = pytest.importorskip("dtaidistance.subsequence.dtw")
    for word in ("HELLO", "WATER", "MOTHER"):
        reference = engine.templates.features(word, "ase")[0]
        n = len(reference)
        match = sub.subsequence_alignment(reference, hello, use_c=False).best_match()
        theirs = (match.value * n) ** 2  # dtaidistance reports sqrt(cost) / n
        ours = subsequence_distance(reference, hello, 0.1) ** 2 * n  # ours sqrt(cost / n)
        assert ours == pytest.approx(theirs, rel=1e-9)


def test_a_reference_costs_nothing_wherever_it_lies_in_the_input():
    rng = np.random.default_rng(0)
    reference = rng.normal(size=(12, FEATURES))
    rest = np.repeat(rng.normal(size=(1, FEATURES)), 20, axis=0)
    padded = np.concatenate([rest, reference, rest[:7]])
    assert subsequence_distance(reference, padded, 0.1) == pytest.approx(0.0, abs=1e-12)
    slower = np.repeat(reference, 2, axis=0)  # the same sign at half speed costs only the penalties
    assert 0 < subsequence_distance(reference, slower, 0.1) < 0.2
    assert subsequence_distance(reference, rng.normal(size=(30, FEATURES)), 0.1) > 1.0


def test_the_mirror_image_is_the_flipped_clip(engine):
    x = engine.model_input(at_rate(read_pose(ISLR_HELLO), engine.bundle.fps))
    plain = x.plain if x.plain is not None else x.frames
    frames, mask = flip(plain, x.mask, MODEL_203)
    seen_in_mirror = template_features(ModelInput(frames, mask), engine.bundle.fps)
    np.testing.assert_allclose(seen_in_mirror, mirrored(template_features(x, engine.bundle.fps)), atol=1e-6)
    f = template_features(x, engine.bundle.fps)
    np.testing.assert_array_equal(mirrored(mirrored(f)), f)
    assert distance(f, mirrored(f)) == pytest.approx(0.0, abs=1e-12)  # the input is tried mirrored


def test_rerank_adds_the_alignment_on_the_scores_scale():
    scores = np.array([0.9, 0.8, 0.7, 0.6])
    distances = np.array([0.9, 0.1, 0.8, np.nan])  # the second aligns best; the last has no reference
    out = rerank(scores, distances, weight=1.0)
    assert np.argmax(out) == 1
    assert out.mean() == pytest.approx(scores.mean())           # still on the cosines' scale
    np.testing.assert_allclose(rerank(scores, distances, 0.0), scores)
    np.testing.assert_array_equal(rerank(scores, np.full(4, np.nan), 1.0), scores)  # nothing to align


def test_a_held_out_participants_hello_is_still_hello(engine):
    found = engine.lookup_clips([read_pose(ISLR_HELLO)], k=3, language="ase", kind="signs")[0]
    assert found[0].label == "HELLO"


def test_a_reference_clip_signed_between_rests_finds_its_word(engine):
    """Each word's own reference clip, with a second of rest before and after: the templates never
    lose a word that the whole clip's embedding (what signs are read from) puts first, and find many
    that it misses."""
    v = engine.vocabulary
    rows = [i for i, (lg, kind) in enumerate(zip(v.languages, engine.entry_kinds, strict=True))
            if lg == "ase" and kind == "sign"]
    words = [str(v.labels[i]) for i in rows]
    alone_right = both_right = 0
    for word in words:
        clip = engine.reference(word, "ase")
        idx = np.r_[np.zeros(25, int), np.arange(clip.num_frames), np.full(25, clip.num_frames - 1)]
        padded = type(clip)(clip.layout, clip.frames[idx], clip.mask[idx], clip.fps, clip.width, clip.height)
        x = engine.model_input(padded)
        whole = engine.pose_encoder.embed_whole([x])[0]
        alone = words[int(np.argmax(v.embeddings[rows] @ whole))]
        embedding = engine.embed_inputs([x])[0]
        both = engine.lookup_embedding(embedding, 1, "ase", kind="signs", model_input=x)[0].label
        assert both == word or alone != word, word
        alone_right, both_right = alone_right + (alone == word), both_right + (both == word)
    # measured on the shipped bundle: 20 of 65 by the embedding alone, 41 with the templates
    assert both_right >= alone_right + 15, (alone_right, both_right)


def test_letters_are_not_reranked(engine):
    x = engine.model_input(at_rate(read_pose(ISLR_HELLO), engine.bundle.fps))
    embedding = engine.embed_inputs([x])[0]
    with_clip = engine.lookup_embedding(embedding, 5, "ase", kind="letters", model_input=x)
    without = engine.lookup_embedding(embedding, 5, "ase", kind="letters")
    assert [(m.label, m.score) for m in with_clip] == [(m.label, m.score) for m in without]


def test_config_defaults_are_the_issues_anchor():
    """The features are the issue's anchor (the weight was chosen on three seeds: templates.py)."""
    c = TemplateConfig()
    assert (c.fps, c.hand_weight) == (15.0, 0.35)


def test_a_word_is_as_near_as_the_nearest_of_its_references():
    rng = np.random.default_rng(1)
    a, b = rng.normal(size=(8, FEATURES)), rng.normal(size=(10, FEATURES))
    series = np.concatenate([rng.normal(size=(5, FEATURES)), b, rng.normal(size=(5, FEATURES))])
    found = nearest([[a, b], [a], []], series)
    assert found[0] == pytest.approx(0.0, abs=1e-12) and found[1] > 0.5 and np.isnan(found[2])
    alone = distance(a, series)
    np.testing.assert_allclose(found[:2], [min(alone, distance(b, series)), alone])


def test_a_taught_word_the_bundle_has_adds_its_takes_to_the_words_templates(signclip_home):
    """Teaching HELLO (any spelling) keeps the take and makes it a template of the bundle's HELLO, read
    among the signs through it; a taught word stands beside the bundle's only where they are read as
    letters (the mixed prototype confused one person's HELLO with others' THANK-YOU)."""
    from signclip.runtime.recognition.dictionary import dictionary_key
    from signclip.runtime.recognition.engine import Engine

    engine = Engine()
    clip = at_rate(read_pose(ISLR_HELLO), engine.bundle.fps)
    x = engine.model_input(clip)
    embedding = engine.embed_inputs([x])[0]
    before = engine.lookup_embedding(embedding, 5, "ase", "signs", x)
    engine.teach("hello", [read_pose(ISLR_HELLO)], ["hello.pose"], "ase")
    take = engine.personal.takes_of(0)
    assert len(take) == 1 and take[0].shape == (clip.num_frames, 75, 2) and take[0].dtype == np.float16
    assert len(engine.taught_templates()[(dictionary_key("HELLO"), "ase")]) == 1
    signs = engine.lookup_embedding(embedding, 5, "ase", "signs", x)
    assert [m.source for m in signs] == ["bundle"] * 5 and signs[0].label == "HELLO"
    assert signs[0].score > next(m.score for m in before if m.label == "HELLO")  # its own take aligns
    letters = engine.lookup_embedding(embedding, 30, "ase", "letters", x)
    assert ("hello", "personal") in [(m.label, m.source) for m in letters]
