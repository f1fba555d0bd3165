"""Text to sign as a dictionary: a query that names a vocabulary entry finds that entry itself.

A user who types "thank you", "Thank-you" or "THANK-YOU" means the vocabulary's THANK-YOU; the
embedding search alone can rank another word's clip above it (BAD -> PLEASE), so a query that spells
an entry is answered with that entry's own clips first, and the encoder's neighbours after them.
"""

from __future__ import annotations

import difflib
import unicodedata
from dataclasses import dataclass, field

SUGGESTIONS = 5        # vocabulary words named when a query matches none
SPELLING_CUTOFF = 0.6  # difflib's similarity floor for those suggestions


def dictionary_key(text: str) -> str:
    """`text` folded for comparison: case, accents, spaces, hyphens and punctuation ignored."""
    decomposed = unicodedata.normalize("NFKD", str(text))
    return "".join(c for c in decomposed.casefold() if c.isalnum())


@dataclass
class Dictionary:
    """Folded spelling -> the (label, language) entries that spell it."""

    entries: dict = field(default_factory=dict)

    @classmethod
    def of(cls, labels, languages) -> Dictionary:
        entries: dict = {}
        for label, language in zip(labels, languages, strict=True):
            key = dictionary_key(label)
            if key and (str(label), str(language)) not in entries.get(key, []):
                entries.setdefault(key, []).append((str(label), str(language)))
        return cls(entries)

    def find(self, text: str, language: str | None = None) -> list:
        """The (label, language) entries `text` spells, in `language` where one is given."""
        return [(label, lang) for label, lang in self.entries.get(dictionary_key(text), [])
                if language is None or lang == language]

    def nearest(self, text: str, language: str | None = None, n: int = SUGGESTIONS) -> list:
        """Up to n vocabulary labels spelled most like `text` (difflib's ratio), best first."""
        labels: dict = {}
        for key, found in self.entries.items():
            for label, lang in found:
                if language is None or lang == language:
                    labels.setdefault(key, label)
        keys = difflib.get_close_matches(dictionary_key(text), list(labels), n=n, cutoff=SPELLING_CUTOFF)
        return [labels[k] for k in keys]
