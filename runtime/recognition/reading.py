"""The one reading pipeline: from an engine and a front end's choices (`ReadingOptions`) to the
reader that turns frames into signs (`Recognizer`) or letters (`SpellReader`). `signclip stream`,
`signclip spell`, the app and the page's settings all start here, so they read alike."""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import SignclipError
from ..model.index import check_top_k
from ..pose.layouts import Layout
from .kinds import check_choice
from .recognizer import Recognizer, SignSearch
from .segmentation import WindowConfig
from .spelling import MOVING_LETTERS, SpellConfig, SpellReader, alphabet


@dataclass(frozen=True)
class ReadingOptions:
    """What a front end chose: signs or letters, in which sign language (None: all), how many results
    a sign gets, fixed windows instead of hand activity (signs), and the spoken language whose word
    list corrects spelled letters (letters)."""

    spell: bool = False
    language: str | None = None
    top_k: int = 5
    windows: WindowConfig | None = None
    words: str | None = None
    kind: str = "auto"   # kinds.CHOICES: which entries a sign is answered with

    def __post_init__(self):
        if self.spell and self.windows is not None:
            raise SignclipError("--spell reads letters from the hand's holds; it does not combine with "
                                "--window")
        if not self.spell and self.words is not None:
            raise SignclipError("--words corrects spelled letters: use it with --spell")


def reader_options(engine, language: str | None, words: str | None = None, *, encode=None,
                   lookup=None) -> dict:
    """SpellReader's keyword arguments for an engine: the letters of `language` (every language's
    without one) and their moving ones, the candidates looked up, the normalization, and `correct`
    (the word prior of the spoken language `words`, or None). `encode` and `lookup` stand in for the
    engine's own (the app's go through its lock)."""
    config = SpellConfig()
    # twice the candidates: spare rows for taught signs that are not letters
    search = sign_search(engine, 2 * config.candidates, language, lookup, kind="letters")
    v = engine.vocabulary
    letters = alphabet(v.labels, v.languages, language, engine.bundle.signs)
    if not letters:
        raise SignclipError(f"the vocabulary has no letters{f' of {language}' if language else ''}: "
                            "nothing to spell with")
    moving = frozenset().union(*MOVING_LETTERS.values()) if language is None else \
        MOVING_LETTERS.get(language, frozenset())
    prior = None
    if words is not None:
        from .word_prior import WordPrior

        prior = WordPrior(words, letters)
    return {"encode": encode or engine.pose_encoder.embed_one, "search": search, "letters": letters,
            "moving": moving & letters, "config": config, "normalization": engine.bundle.normalization,
            "correct": prior.word if prior else None}


def sign_search(engine, k: int, language: str | None, lookup=None, kind: str = "auto"):
    """The search a sign's embedding goes through: the top `k` of `language` among entries of
    `kind` (kinds.CHOICES); checks all three."""
    check_top_k(k)
    engine.check_language(language)
    check_choice(kind)
    return SignSearch(lookup or engine.lookup_embedding, k, language, kind)


def open_reader(engine, layout: Layout, fps: float, options: ReadingOptions, *, encode=None,
                lookup=None) -> Recognizer | SpellReader:
    """The reader of a stream of `layout` frames at `fps` for these options. `encode` and `lookup`
    stand in for the engine's own (the app's go through its lock)."""
    if options.spell:
        return SpellReader(layout, fps, **reader_options(engine, options.language, options.words,
                                                         encode=encode, lookup=lookup))
    return Recognizer(layout, engine.bundle.fps, encode or engine.pose_encoder.embed_one,
                      sign_search(engine, options.top_k, options.language, lookup, options.kind),
                      windows=options.windows, normalization=engine.bundle.normalization, source_fps=fps)
