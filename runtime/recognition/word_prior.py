"""A spoken language's words as a prior on spelled letters: the likeliest word near what was read.

The word lists are `wordfreq`'s (an optional dependency: `pip install 'signclip-edge[words]'`); they
ship inside its wheel, so the prior works offline. A word's cost is a weighted edit distance to the
letters read, where putting another letter in a position is cheap if the lookup ranked that letter
close behind the one it chose there, plus a small cost for rarer words. The best word is taken only
if it is close enough; else the letters stand as read.
"""

from __future__ import annotations

from dataclasses import dataclass

import numba
import numpy as np

from ..errors import SignclipError

NO_CHAR = -1


@dataclass(frozen=True)
class WordPriorConfig:
    """`size` most frequent words; `max_edits` per letter read (a further word is not taken); `rarity`
    = cost of one Zipf unit (a factor of ten) of frequency; `gap` = the score gap (cosine) behind a
    position's best letter at which putting that candidate there costs a whole edit."""

    size: int = 50000
    min_length: int = 2
    max_edits: float = 0.34
    rarity: float = 0.1
    gap: float = 0.1


@dataclass(frozen=True)
class Correction:
    """The word chosen for some letters (`word` == `raw` when nothing near enough was found)."""

    raw: str
    word: str
    edits: float


@numba.njit(cache=True)
def _costs(words, lengths, sub):
    """Weighted edit distance from each word (rows of char codes) to the letters read: sub [L, C] is
    the cost of character c at position i; insertions and deletions cost 1."""
    n_pos = sub.shape[0]
    out = np.empty(words.shape[0])
    row = np.empty(n_pos + 1)
    prev = np.empty(n_pos + 1)
    for w in range(words.shape[0]):
        for i in range(n_pos + 1):
            prev[i] = i
        for j in range(lengths[w]):
            c = words[w, j]
            row[0] = j + 1
            for i in range(1, n_pos + 1):
                best = prev[i - 1] + sub[i - 1, c]
                if prev[i] + 1.0 < best:
                    best = prev[i] + 1.0
                if row[i - 1] + 1.0 < best:
                    best = row[i - 1] + 1.0
                row[i] = best
            for i in range(n_pos + 1):
                prev[i] = row[i]
        out[w] = prev[n_pos]
    return out


def word_list(language: str, config: WordPriorConfig = WordPriorConfig()) -> tuple:
    """(words, zipf): the `size` most frequent words of `language` upper-cased, alphabetic and at
    least `min_length` long, each with its Zipf frequency (what the prior ranks; the web page too)."""
    try:
        import wordfreq
    except ImportError as e:
        raise SignclipError("--words needs the wordfreq package: "
                            "pip install 'signclip-edge[words]'") from e
    if language not in wordfreq.available_languages(wordlist="best"):
        known = ", ".join(sorted(wordfreq.available_languages(wordlist="best")))
        raise SignclipError(f"--words {language!r}: no word list for it; known: {known}")
    words, zipf = [], []
    for w in wordfreq.top_n_list(language, config.size):
        w = w.upper()
        if len(w) >= config.min_length and w.isalpha():
            words.append(w)
            zipf.append(wordfreq.zipf_frequency(w.lower(), language))
    return words, zipf


class WordPrior:
    """The words of one spoken language (ISO 639-1, e.g. "en") written in `alphabet`'s characters."""

    def __init__(self, language: str, alphabet=None, config: WordPriorConfig = WordPriorConfig()):
        self.language, self.config = language, config
        chars = set("".join(alphabet).upper()) if alphabet is not None else None
        listed, frequency = word_list(language, config)
        kept = [i for i, w in enumerate(listed) if chars is None or set(w) <= chars]
        words = [listed[i] for i in kept]
        if not words:
            raise SignclipError(f"--words {language!r}: none of its words is written in the letters of "
                                "this sign language")
        self.chars = sorted(set("".join(words)) | (chars or set()))
        self.code = {c: i for i, c in enumerate(self.chars)}
        self.words = words
        longest = max(len(w) for w in words)
        self._codes = np.full((len(words), longest), NO_CHAR, np.int64)  # (N, longest)
        for i, w in enumerate(words):
            self._codes[i, :len(w)] = [self.code[c] for c in w]
        self._lengths = np.array([len(w) for w in words], np.int64)
        zipf = np.array([frequency[i] for i in kept])
        self._rarity = config.rarity * (zipf.max() - zipf)

    def _substitutions(self, letters) -> np.ndarray:
        """sub [positions, chars]: the cost of each character at each position of the letters read."""
        rows = []
        for letter in letters:
            top = letter.candidates[0][1] if letter.candidates else letter.score
            near = ({label.upper(): score for label, score in letter.candidates if len(label) == 1}
                    if len(letter.letter) == 1 else {})
            for ch in letter.letter.upper():
                row = np.ones(len(self.chars))
                for c, score in near.items():
                    if c in self.code:
                        row[self.code[c]] = min(1.0, max(0.0, (top - score) / self.config.gap))
                if ch in self.code:
                    row[self.code[ch]] = 0.0
                rows.append(row)
        return np.array(rows).reshape(len(rows), len(self.chars))

    def correct(self, letters) -> Correction:
        """The word for a sequence of `spelling.Letter`s (their candidates make near misses cheap)."""
        raw = "".join(x.letter for x in letters)
        if not letters:
            return Correction(raw, raw, 0.0)
        sub = self._substitutions(letters)
        n = sub.shape[0]
        near = np.abs(self._lengths - n) <= max(1, int(self.config.max_edits * n))
        if not near.any():
            return Correction(raw, raw, 0.0)
        edits = _costs(self._codes[near], self._lengths[near], sub)
        total = edits + self._rarity[near]
        best = int(np.argmin(total))
        if edits[best] > self.config.max_edits * n:
            return Correction(raw, raw, 0.0)
        return Correction(raw, self.words[int(np.flatnonzero(near)[best])], float(edits[best]))

    def word(self, letters) -> str:
        return self.correct(letters).word
