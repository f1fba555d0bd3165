"""Kinds of vocabulary entries (letters, digits, lexical signs) and which kind an input shows.

A word signed by a stranger used to come back as the letter that shares its handshape (HELLO -> B):
hundreds of letter clips crowd out a few dozen words. The bundle's kind head, a logistic regression
on the pose embedding fitted at export on the training clips (`signclip kinds fit`), says whether a
clip is a lexical sign or a letter/digit; the lookup then answers among entries of that kind.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import SignclipError

SIGN, LETTER, DIGIT = "sign", "letter", "digit"
CHOICES = ("auto", "signs", "letters", "all")   # --kind; auto: the bundle's head decides
ENTRY_KINDS = {"signs": frozenset({SIGN}), "letters": frozenset({LETTER, DIGIT}), "all": None}


def entry_kind(label: str, language: str, signs: frozenset) -> str:
    """A vocabulary entry's kind: a lexical sign where the bundle lists it (ASL's WHY, 10), a digit
    for a number, else a letter of a manual alphabet (CH and LL are letters too)."""
    if (label, language) in signs:
        return SIGN
    return DIGIT if label.isdigit() else LETTER


def entry_kinds(labels, languages, signs: frozenset) -> np.ndarray:
    return np.array([entry_kind(str(la), str(lg), signs) for la, lg in zip(labels, languages, strict=True)])


def check_choice(choice: str) -> str:
    if choice not in CHOICES:
        raise SignclipError(f"--kind {choice!r}: choose one of {', '.join(CHOICES)}")
    return choice


@dataclass(frozen=True)
class KindHead:
    """p(lexical sign | embedding) = sigmoid(weights . embedding + bias); a sign above `threshold`."""

    weights: np.ndarray
    bias: float
    threshold: float = 0.5

    @classmethod
    def from_meta(cls, meta: dict) -> KindHead | None:
        """The head a bundle's signclip.json carries under "kinds", or None (an older bundle)."""
        head = meta.get("kinds")
        if not isinstance(head, dict) or "weights" not in head:
            return None
        return cls(np.asarray(head["weights"], np.float32), float(head["bias"]),
                   float(head.get("threshold", 0.5)))

    def to_meta(self) -> dict:
        return {"weights": [round(float(w), 6) for w in self.weights], "bias": round(self.bias, 6),
                "threshold": self.threshold}

    def probability(self, embedding: np.ndarray) -> float:
        z = float(np.asarray(embedding, np.float32) @ self.weights) + self.bias
        return float(1.0 / (1.0 + np.exp(-np.clip(z, -60.0, 60.0))))

    def kind(self, embedding: np.ndarray) -> str:
        """'signs' or 'letters': what this embedding's clip shows."""
        return "signs" if self.probability(embedding) > self.threshold else "letters"


def allowed_kinds(choice: str, head: KindHead | None, embedding: np.ndarray) -> frozenset | None:
    """The entry kinds a lookup answers with (None: every kind): the user's choice, or with 'auto'
    what the head reads in the embedding (every kind where the bundle has no head)."""
    if choice == "auto":
        if head is None:
            return None
        choice = head.kind(embedding)
    return ENTRY_KINDS[check_choice(choice)]
