"""The one reading pipeline: front ends' choices (`ReadingOptions`) to a sign or letter reader."""

from __future__ import annotations

import numpy as np
import pytest

from signclip.runtime.errors import SignclipError
from signclip.runtime.pose.layouts import HOLISTIC_576
from signclip.runtime.recognition.reading import ReadingOptions, open_reader, reader_options
from signclip.runtime.recognition.recognizer import Recognizer
from signclip.runtime.recognition.segmentation import WindowConfig
from signclip.runtime.recognition.spelling import SpellReader


@pytest.fixture(scope="module")
def engine():
    from signclip.runtime.recognition.engine import Engine

    return Engine(personal=False)  # the default bundle: real letters and signs


@pytest.mark.parametrize("options, said", [
    (dict(spell=True, windows=WindowConfig(1.5, 0.5)), "does not combine with --window"),
    (dict(words="en"), "use it with --spell"),
])
def test_options_that_contradict_each_other_are_one_clear_error(options, said):
    with pytest.raises(SignclipError, match=said):
        ReadingOptions(**options)


def test_signs_get_a_recognizer_that_searches_the_chosen_language(engine):
    reader = open_reader(engine, HOLISTIC_576, 30.0, ReadingOptions(language="ase", top_k=3))
    assert isinstance(reader, Recognizer)
    assert reader.normalization == engine.bundle.normalization
    row = list(engine.vocabulary.languages).index("ase")
    matches = reader.search(engine.vocabulary.embeddings[row])
    assert len(matches) == 3 and all(m.language == "ase" for m in matches)


@pytest.mark.parametrize("options, said", [
    (ReadingOptions(top_k=0), "at least 1"),
    (ReadingOptions(language="xx"), "not in the vocabulary"),
    (ReadingOptions(spell=True, language="xx"), "not in the vocabulary"),
])
def test_a_bad_count_or_language_is_refused_before_any_frame(engine, options, said):
    with pytest.raises(SignclipError, match=said):
        open_reader(engine, HOLISTIC_576, 30.0, options)


@pytest.mark.parametrize("language", [None, "ase"])
def test_letters_get_a_spelling_reader_with_the_shared_options(engine, language):
    reader = open_reader(engine, HOLISTIC_576, 30.0, ReadingOptions(spell=True, language=language))
    options = reader_options(engine, language)
    assert isinstance(reader, SpellReader)
    assert reader.letters == options["letters"] and reader.moving == options["moving"] >= {"J", "Z"}
    assert reader.config == options["config"] and reader.correct is None
    embedding = np.asarray(engine.vocabulary.embeddings[0])
    assert reader.search(embedding) and all(m.language == language for m in reader.search(embedding)
                                            if language)
