"""Sign templates: a clip matched against each word's reference clip by subsequence DTW, to re-rank
the encoder's word candidates by where the hands are and how they move.

The encoder reads handshape well and location and movement poorly (issue 47: strangers' HELLO read
as B or F). A template anchors those: per frame, both wrists relative to the shoulders' midpoint in
shoulder widths (what the normalization already gives), and each hand's 21 points relative to its
wrist in palm lengths, weighted by `hand_weight`; at `fps`. The reference may match any stretch of
the input (subsequence DTW: rest before and after costs nothing), and the input is also tried
mirrored. A candidate's final score is its z-scored cosine plus `weight` times its z-scored negative
distance, both over the candidates that have a reference, put back on the cosines' scale. A word
that several people signed has a reference of each, and is as near as the nearest. The weight 5 is
the smallest of 1, 1.5, 2, 3, 4, 5, 6 and 8 at which three seeds of the default recipe read
ASL-App's one-clip words on their own clips >= 0.95 on average while each keeps ISLR's held-out
participants >= 0.90 (docs/evaluation.md; the issue's combination was 1).

The DTW is dtaidistance's subsequence alignment (`SubsequenceAlignment`: squared Euclidean frame
costs, `penalty` squared on each non-diagonal step; a test checks the costs equal), in Numba: no
dtaidistance release has compiled wheels for both Jetson's aarch64 Python 3.10 (the last is 2.3.9)
and x86 Python 3.11+ (from 2.3.13), and without its C library it costs 16 ms a reference (2 s a
lookup among 64 words, mirrored). dtaidistance reports sqrt(cost) / reference length, which
favours long references by 1/sqrt(length): the bundle's HELLO and THANK-YOU are short ISLR clips
(6-10 frames at 15 fps) beside ASL-App's ~30, and re-ranking so cut ISLR's held-out signers from
top-1 0.913 to 0.758. Here a match is its root mean square per reference frame, sqrt(cost /
length): 0.907. The page has the same in JavaScript (web/src/templates.js), tested equal.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

import numba
import numpy as np

from ..errors import SignclipError
from ..pose.layouts import BODY, LEFT_HAND, MODEL_203, RIGHT_HAND
from ..pose.normalize import ModelInput
from ..pose.timing import rate_indices


@dataclass(frozen=True)
class TemplateConfig:
    fps: float = 15.0          # frames a second the templates are compared at
    hand_weight: float = 0.35  # of a hand's shape beside where the wrists are
    penalty: float = 0.1       # a non-diagonal step's cost, as a distance (dtaidistance's default)
    weight: float = 5.0        # of the z-scored alignment beside the z-scored encoder score


FEATURES = 2 * 2 + 2 * 21 * 2  # wrists' x, y; each hand's 21 points' x, y


@lru_cache(maxsize=1)
def _points() -> tuple:
    """(body wrist indices [2], hand point indices [2, 21], middle MCP's place in a hand) in MODEL_203."""
    wrists = np.array([MODEL_203.index[(BODY, f"{s}_WRIST")] for s in ("LEFT", "RIGHT")])
    hands = np.array([[i for i, (c, _) in enumerate(MODEL_203.points) if c == h]
                      for h in (LEFT_HAND, RIGHT_HAND)])
    names = [p for c, p in MODEL_203.points if c == LEFT_HAND]
    return wrists, hands, names.index("MIDDLE_FINGER_MCP")


def template_features(x: ModelInput, fps: float,
                      config: TemplateConfig = TemplateConfig()) -> np.ndarray | None:
    """Per-frame template features [T', 88] float64 of a normalized clip at `fps`, at config.fps;
    None where no frame shows a wrist (a photo of a hand alone has no location)."""
    frames = x.plain if x.plain is not None else x.frames
    wrists, hands, mcp = _points()
    if not x.mask[:, wrists].any():
        return None
    idx = rate_indices(len(frames), fps, config.fps)
    xy, mask = frames[idx, :, :2].astype(np.float64), x.mask[idx]
    location = np.where(mask[:, wrists, None], xy[:, wrists], 0.0).reshape(len(idx), 4)
    shapes = []
    for side in hands:
        points, seen = xy[:, side], mask[:, side].all(axis=1)
        relative = points - points[:, :1]
        palm = np.linalg.norm(relative[:, mcp], axis=1)
        ok = seen & (palm > 1e-6)
        scaled = relative / np.where(ok, palm, 1.0)[:, None, None]
        shapes.append(np.where(ok[:, None, None], scaled, 0.0).reshape(len(idx), 42) * config.hand_weight)
    return np.concatenate([location] + shapes, axis=1)


def mirrored(features: np.ndarray) -> np.ndarray:
    """The features of the clip seen in a mirror: every x negated, left and right swapped."""
    out = features.copy()
    out[:, 0::2] *= -1.0  # the features alternate x, y
    return out[:, MIRROR]


# [left wrist, right wrist, left hand, right hand] -> [right wrist, left wrist, right hand, left hand]
MIRROR = np.r_[2:4, 0:2, 46:88, 4:46]


@numba.njit(cache=True)
def subsequence_distance(reference: np.ndarray, series: np.ndarray, penalty: float) -> float:
    """The best match of `reference` [n, F] anywhere in `series` [m, F]: sqrt(cost / n)."""
    n, m = reference.shape[0], series.shape[0]
    step = penalty * penalty  # the penalty is a distance; the costs are squared distances
    previous = np.zeros(m + 1)  # row 0: a match may start at any frame of the series
    current = np.empty(m + 1)
    for i in range(n):
        current[0] = np.inf
        for j in range(m):
            d = 0.0
            for f in range(reference.shape[1]):
                diff = reference[i, f] - series[j, f]
                d += diff * diff
            current[j + 1] = d + min(previous[j], previous[j + 1] + step, current[j] + step)
        previous, current = current, previous
    return np.sqrt(np.min(previous[1:]) / n)


def nearest(references: list, features: np.ndarray,
            config: TemplateConfig = TemplateConfig()) -> np.ndarray:
    """A clip's distance to each candidate, given as a list of its reference clips' features: to the
    nearest of them (NaN where it has none), and the better of the clip and its mirror image, which
    is made once for all."""
    views = (features, mirrored(features))
    return np.array([min((subsequence_distance(r, v, config.penalty) for r in refs for v in views),
                         default=np.nan) for refs in references])


def distance(reference: np.ndarray, features: np.ndarray, config: TemplateConfig = TemplateConfig()) -> float:
    """A clip's distance to one reference."""
    return float(nearest([[reference]], features, config)[0])


def rerank(scores: np.ndarray, distances: np.ndarray, weight: float) -> np.ndarray:
    """Scores [N] with each candidate's z-scored alignment (NaN distance: no reference, left as
    the mean) added to its z-scored score, on the scores' own mean and spread."""
    have = ~np.isnan(distances)
    if have.sum() < 2 or len(scores) < 2:
        return scores
    mean, spread = scores.mean(), scores.std() or 1.0
    near = -distances[have]
    aligned = np.zeros(len(scores))
    aligned[have] = (near - near.mean()) / (near.std() or 1.0)
    return mean + spread * ((scores - mean) / spread + weight * aligned) / (1.0 + weight)


class ReferenceTemplates:
    """The bundle's reference clips as template features, each made on first use, and the re-ranking
    of a lookup's candidates by them: a word signed by several people is as near as the nearest."""

    def __init__(self, references: Callable, prepare: Callable, fps: float,
                 config: TemplateConfig = TemplateConfig()):
        self._references, self._prepare = references, prepare  # (label, language) -> [PoseClip]
        self.fps, self.config = fps, config
        self._features: dict = {}

    def features(self, label: str, language: str) -> list:
        """The entry's reference clips as template features, the shown clip's first; [] if none."""
        key = (label, language)
        if key not in self._features:
            self._features[key] = [f for f in map(self.template, self._references(label, language))
                                   if f is not None]
        return self._features[key]

    def template(self, clip) -> np.ndarray | None:
        """A clip's template features, None where it has no location."""
        try:
            return template_features(self._prepare(clip), self.fps, self.config)
        except SignclipError:  # a reference without shoulders (a hand alone) has no location
            return None

    def rerank(self, rows: list, keys: list, x: ModelInput, more: list | None = None) -> list:
        """(row, score) candidates, their (label, language) `keys`, re-ranked by how well their
        references (and each one's `more` template features: taught takes) align with the clip `x`,
        best first; unchanged where the clip has no location."""
        series = template_features(x, self.fps, self.config)
        if series is None or len(rows) < 2:
            return rows
        more = more or [[] for _ in keys]
        found = nearest([self.features(label, language) + extra
                         for (label, language), extra in zip(keys, more, strict=True)], series, self.config)
        scores = rerank(np.array([s for _, s in rows], np.float64), found, self.config.weight)
        order = np.argsort(-scores, kind="stable")
        return [(rows[i][0], float(scores[i])) for i in order]
