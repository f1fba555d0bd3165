"""Fit a bundle's kind head: does a clip show a lexical sign or a letter/digit? (`signclip kinds`)

    signclip kinds runtime/models/default --data runs/edge-small/manifest.csv

The head is a logistic regression on the bundle's own pose embeddings of the manifest's training
clips (word files' clips are signs; lexicon letters, handshape photos and digits are not), so it
reads what the served encoder sees. Before writing it into signclip.json the command prints its
errors both ways, cross-validated by group (a fold never holds a language, word or signer it
trained on), and on the manifest's held-out rows.
"""

from __future__ import annotations

import argparse
import json
from collections import defaultdict
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from signclip.runtime.atomic import atomic_write_bytes
from signclip.runtime.errors import SignclipError
from signclip.runtime.model.bundle import META_FILE
from signclip.runtime.recognition.kinds import KindHead, uses_both_hands

from .clips import is_word_row, read_clip
from .data import ManifestRow, read_manifest

L2 = 0.01  # the best of 0.01, 0.1 and 1 in the grouped cross-validation (letters, words both ways)
FOLDS = 5
TWO_HANDED_SHARE = 0.2  # of a language's letter recordings with both hands raised: its alphabet uses both
NEWTON_STEPS = 30


def is_sign_row(row: ManifestRow) -> bool:
    """A training target: a word file's clip of a lexical sign (not one letter, not one digit)."""
    from .words import is_lexical

    return is_word_row(row) and is_lexical(row.text)


def row_group(row: ManifestRow) -> str:
    """What a cross-validation fold holds out whole: a word's clip by its word (one signer says
    nothing about others), a signer's clips by signer, a lexicon clip by its sign language."""
    if is_word_row(row):
        one_signer = not row.signer or (row.source or "").startswith("asl-app")
        return f"word {row.text}" if one_signer else f"signer {row.signer}"
    return f"signer {row.signer}" if row.signer else f"language {row.sign_language}"


def row_source(row: ManifestRow) -> str:
    name = (row.source or "").split(" ")[0] or "lexicon"
    return "lexicon" if name == "spoken-to-signed" else name


def fit_logistic(x: np.ndarray, y: np.ndarray, weight: np.ndarray, l2: float = L2) -> tuple:
    """(weights, bias) of an L2-regularized logistic regression by Newton's method: 257 unknowns,
    exact and deterministic without an optimizer's settings (torch's LBFGS would need a tolerance
    and learning rate for the same answer)."""
    x1 = np.hstack([x.astype(np.float64), np.ones((len(x), 1))])
    penalty = np.full(x1.shape[1], l2)
    penalty[-1] = 0.0  # the bias is not shrunk
    beta = np.zeros(x1.shape[1])
    for _ in range(NEWTON_STEPS):
        p = 1.0 / (1.0 + np.exp(-np.clip(x1 @ beta, -60, 60)))
        gradient = x1.T @ (weight * (p - y)) + penalty * beta
        hessian = (x1 * (weight * p * (1 - p))[:, None]).T @ x1 + np.diag(penalty)
        beta -= np.linalg.solve(hessian, gradient)
    return beta[:-1], float(beta[-1])


def balanced_weights(y: np.ndarray) -> np.ndarray:
    """Each class weighs as much as the other in all (800 word clips against 6,000 letters and photos)."""
    n = len(y)
    return np.where(y, n / (2 * max(int(y.sum()), 1)), n / (2 * max(int((~y).sum()), 1)))


def fit_head(embeddings: np.ndarray, is_sign: np.ndarray, l2: float = L2) -> KindHead:
    w, b = fit_logistic(embeddings, is_sign.astype(np.float64), balanced_weights(is_sign), l2)
    return KindHead(w.astype(np.float32), b)


def two_handed_alphabets(rows: list, both_hands: np.ndarray) -> frozenset:
    """Sign languages whose letter recordings (not photos) show both hands raised in more than
    TWO_HANDED_SHARE of clips: there, two hands say nothing about the kind (Czech, Croatian, Turkish
    here; ASL's alphabet is one-handed)."""
    shares: dict = defaultdict(list)
    for row, both in zip(rows, both_hands, strict=True):
        if row.item is None and not is_sign_row(row):
            shares[row.sign_language].append(bool(both))
    return frozenset(lang for lang, seen in shares.items() if np.mean(seen) > TWO_HANDED_SHARE)


def cross_validated(embeddings: np.ndarray, is_sign: np.ndarray, groups: list, l2: float = L2,
                    folds: int = FOLDS, seed: int = 0, both_hands=None, languages=None,
                    two_handed: frozenset = frozenset()) -> np.ndarray:
    """Each clip's 'sign' call by a head fitted without its group (and the two-hands rule, where
    `both_hands` and the clips' `languages` are given)."""
    names = sorted(set(groups))
    fold_of = dict(zip(names, np.random.default_rng(seed).integers(0, folds, len(names)), strict=True))
    fold = np.array([fold_of[g] for g in groups])
    both_hands = np.zeros(len(is_sign), bool) if both_hands is None else np.asarray(both_hands)
    languages = [None] * len(is_sign) if languages is None else list(languages)
    said = np.zeros(len(is_sign), bool)
    for k in range(folds):
        head = replace(fit_head(embeddings[fold != k], is_sign[fold != k], l2), two_handed=two_handed)
        said[fold == k] = [head.kind(embeddings[i], both_hands[i], languages[i]) == "signs"
                           for i in np.flatnonzero(fold == k)]
    return said


@dataclass(frozen=True)
class KindRow:
    """One line of the errors table: clips of a source and target, how many the head called wrong."""

    source: str
    target: str
    clips: int
    wrong: int

    @property
    def right(self) -> float:
        return 1 - self.wrong / max(self.clips, 1)


def error_table(rows: list, is_sign: np.ndarray, said_sign: np.ndarray) -> list:
    """Errors both ways, by source: signs called letters, letters (J and Z apart) called signs."""
    cells: dict = defaultdict(lambda: [0, 0])
    for row, target, said in zip(rows, is_sign, said_sign, strict=True):
        kind = "sign" if target else ("letter J/Z" if row.text in ("J", "Z") else "letter/digit")
        cell = cells[(row_source(row), kind)]
        cell[0] += 1
        cell[1] += int(said != target)
    return [KindRow(s, k, n, w) for (s, k), (n, w) in sorted(cells.items())]


def format_table(title: str, table: list) -> str:
    lines = [title, "| source | clips are | clips | called the other kind | right |", "|---|---|---|---|---|"]
    lines += [f"| {r.source} | {r.target} | {r.clips} | {r.wrong} | {r.right:.3f} |" for r in table]
    return "\n".join(lines)


def model_inputs(engine, rows: list) -> list:
    photo_frames = engine.bundle.normalization.photo_frames
    return [engine.model_input(read_clip(r, photo_frames)) for r in rows]



def write_head(bundle_path: Path, head: KindHead, summary: dict) -> None:
    """The head into the bundle's signclip.json (atomically; no file hash changes)."""
    path = bundle_path / META_FILE
    meta = json.loads(path.read_text(encoding="utf-8"))
    meta["kinds"] = {**head.to_meta(), **summary}
    atomic_write_bytes(path, (json.dumps(meta, indent=2) + "\n").encode())


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("bundle", type=Path, help="the bundle folder whose signclip.json gets the head")
    parser.add_argument("--data", type=Path, required=True, metavar="MANIFEST",
                        help="the manifest the bundle's model trained on (its train rows fit the head)")
    parser.add_argument("--l2", type=float, default=L2, help=f"the L2 penalty (default {L2})")
    parser.add_argument("--dry-run", action="store_true", help="print the tables, write nothing")


def run(args) -> int:
    from signclip.runtime.recognition.engine import Engine

    engine = Engine(args.bundle, personal=False)
    rows = read_manifest(args.data)
    train = [r for r in rows if r.split == "train"]
    held = [r for r in rows if r.split != "train"]
    target = np.array([is_sign_row(r) for r in train])
    if target.all() or not target.any():
        raise SignclipError(f"{args.data}: the train rows need both lexical signs (word files) and "
                            f"letters or digits to tell them apart")
    inputs = model_inputs(engine, train)
    x = engine.embed_inputs(inputs)
    both = np.array([uses_both_hands(i) for i in inputs])
    two_handed = two_handed_alphabets(train, both)
    print(f"alphabets that use both hands: {', '.join(sorted(two_handed)) or 'none'}")
    said = cross_validated(x, target, [row_group(r) for r in train], args.l2, both_hands=both,
                           languages=[r.sign_language for r in train], two_handed=two_handed)
    print(format_table(f"Cross-validated by group ({FOLDS} folds, L2 {args.l2}; both hands raised in a "
                       f"one-handed alphabet's language: a sign):", error_table(train, target, said)))
    head = replace(fit_head(x, target, args.l2), two_handed=two_handed)
    summary = {"l2": args.l2, "trained_on": len(train),
               "cross_validated_right": round(float((said == target).mean()), 4)}
    if held:
        held_target = np.array([is_sign_row(r) for r in held])
        held_inputs = model_inputs(engine, held)
        held_said = np.array([head.kind(e, uses_both_hands(i), r.sign_language) == "signs" for e, i, r in
                              zip(engine.embed_inputs(held_inputs), held_inputs, held, strict=True)])
        print(format_table("Held-out rows (never trained on):", error_table(held, held_target, held_said)))
        summary["held_out_right"] = round(float((held_said == held_target).mean()), 4)
    if not args.dry_run:
        write_head(args.bundle, head, summary)
        print(f"wrote the kind head into {args.bundle / META_FILE}")
    return 0
