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
from ..pose.layouts import BODY, MODEL_203
from ..pose.normalize import RESTING_BELOW, ModelInput

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


# A clip whose two wrists are both raised above the rest line in this share of its frames uses both
# hands: in a sign language whose manual alphabet is one-handed (ASL's), it is a lexical sign.
BOTH_HANDS_SHARE = 0.5


def raised_share(x: ModelInput) -> float:
    """The share of frames in which the less raised of the two wrists is above the rest line (0 for a
    clip without a body, such as a photo of a hand)."""
    shares = []
    for wrist in (MODEL_203.index[(BODY, "LEFT_WRIST")], MODEL_203.index[(BODY, "RIGHT_WRIST")]):
        up = x.mask[:, wrist] & (x.frames[:, wrist, 1] < RESTING_BELOW)
        shares.append(float(up.mean()) if len(up) else 0.0)
    return min(shares)


def uses_both_hands(x: ModelInput) -> bool:
    return raised_share(x) > BOTH_HANDS_SHARE


@dataclass(frozen=True)
class KindHead:
    """p(lexical sign | embedding) = sigmoid(weights . embedding + bias), a sign above `threshold`;
    and the sign languages whose manual alphabet uses both hands (`two_handed`), where two raised
    hands say nothing about the kind."""

    weights: np.ndarray
    bias: float
    threshold: float = 0.5
    two_handed: frozenset = frozenset()

    @classmethod
    def from_meta(cls, meta: dict) -> KindHead | None:
        """The head a bundle's signclip.json carries under "kinds", or None (an older bundle)."""
        head = meta.get("kinds")
        if not isinstance(head, dict) or "weights" not in head:
            return None
        return cls(np.asarray(head["weights"], np.float32), float(head["bias"]),
                   float(head.get("threshold", 0.5)), frozenset(head.get("two_handed_alphabets", [])))

    def to_meta(self) -> dict:
        return {"weights": [round(float(w), 6) for w in self.weights], "bias": round(self.bias, 6),
                "threshold": self.threshold, "two_handed_alphabets": sorted(self.two_handed)}

    def probability(self, embedding: np.ndarray) -> float:
        z = float(np.asarray(embedding, np.float32) @ self.weights) + self.bias
        return float(1.0 / (1.0 + np.exp(-np.clip(z, -60.0, 60.0))))

    def kind(self, embedding: np.ndarray, both_hands: bool = False, language: str | None = None) -> str:
        """'signs' or 'letters': what this clip shows. Both hands raised in a language whose letters
        use one hand (a language given, and not `two_handed`) is a sign, whatever the embedding says."""
        if both_hands and language is not None and language not in self.two_handed:
            return "signs"
        return "signs" if self.probability(embedding) > self.threshold else "letters"


def allowed_kinds(choice: str, head: KindHead | None, embedding: np.ndarray, both_hands: bool = False,
                  language: str | None = None) -> frozenset | None:
    """The entry kinds a lookup answers with (None: every kind): the user's choice, or with 'auto'
    what the head reads in the clip (every kind where the bundle has no head)."""
    if choice == "auto":
        if head is None:
            return None
        choice = head.kind(embedding, both_hands, language)
    return ENTRY_KINDS[check_choice(choice)]
