"""How many takes from how many people a taught word needs (`python -m signclip.trainer.takes`).

ISLR's held-out participants (no model here trained on them) sign HELLO and THANK-YOU. In each draw,
n of them teach both words with k takes each (`signclip teach`, through the engine), and every clip
of the other held-out participants is looked up among the whole ASL vocabulary and the taught
signs: right when its word comes first, taught or the bundle's own.

    python -m signclip.trainer.takes [--bundle DIR] [--draws 20]
"""

from __future__ import annotations

import argparse
import os
import tempfile
from collections import defaultdict
from dataclasses import dataclass

import numpy as np

from signclip.runtime.pose.timing import at_rate
from signclip.runtime.recognition.engine import Engine

from .words import ISLR_HELD_OUT, word_clip, word_rows

TAKES = (1, 3, 5)
PEOPLE = (1, 3)
LANGUAGE = "ase"


@dataclass(frozen=True)
class TakesRow:
    people: int
    takes: int
    draws: int
    clips: int
    top1: float
    alone: float      # the bundle alone, on the same clips
    gain: float       # top1 - alone, mean over draws
    gain_sd: float


def held_out_clips(fps: float) -> dict:
    """participant -> word -> that participant's clips of it (PoseClips at `fps`, as `signclip`
    reads a video for the bundle)."""
    out: dict = defaultdict(lambda: defaultdict(list))
    for r in word_rows("islr", hold_out_signers=ISLR_HELD_OUT):
        if r.split == "test":
            out[r.signer][r.text].append(at_rate(word_clip(r.pose, r.item), fps))
    return out


def top1(engine: Engine, clips: list, words: list) -> float:
    results = engine.lookup_clips(clips, k=1, language=LANGUAGE)
    return float(np.mean([found[0].label == w for found, w in zip(results, words, strict=True)]))


def draw_once(engine: Engine, clips: dict, people: int, takes: int, rng) -> tuple:
    """Teach both words from `takes` takes of `people` participants: (top-1 taught, top-1 of the bundle
    alone on the same clips, clips) over the other participants' clips."""
    names = sorted(clips)
    teachers = list(rng.choice(names, people, replace=False))
    tests = [(c, w) for p in names if p not in teachers for w, cs in clips[p].items() for c in cs]
    for word in ("HELLO", "THANK-YOU"):
        if word in engine.personal.labels.tolist():  # the previous draw's takes
            engine.forget(word, LANGUAGE)
    alone = top1(engine, [c for c, _ in tests], [w for _, w in tests])
    for word in ("HELLO", "THANK-YOU"):
        taken = [(p, clips[p][word][i]) for p in teachers
                 for i in rng.choice(len(clips[p][word]), min(takes, len(clips[p][word])), replace=False)]
        engine.teach(word, [c for _, c in taken], [f"islr {p}" for p, _ in taken], LANGUAGE)
    return top1(engine, [c for c, _ in tests], [w for _, w in tests]), alone, len(tests)


def measure(bundle=None, draws: int = 20, seed: int = 0) -> list:
    """The table: each (people, takes), `draws` random draws each, beside the bundle alone."""
    rng = np.random.default_rng(seed)
    with tempfile.TemporaryDirectory() as home:
        os.environ["SIGNCLIP_HOME"] = home  # never the user's own taught signs
        engine = Engine(bundle)
        clips = held_out_clips(engine.bundle.fps)
        rows = []
        for people in PEOPLE:
            for takes in TAKES:
                scores = np.array([draw_once(engine, clips, people, takes, rng) for _ in range(draws)])
                gain = scores[:, 0] - scores[:, 1]
                taught, alone, clips_tested = scores.mean(axis=0)
                rows.append(TakesRow(people, takes, draws, int(clips_tested), float(taught), float(alone),
                                     float(gain.mean()), float(gain.std(ddof=1))))
        del os.environ["SIGNCLIP_HOME"]
    return rows


def format_table(rows: list) -> str:
    lines = ["| people who taught | takes each | draws | clips tested | top-1 taught | the bundle alone | "
             "gain (sd over draws) |", "|---|---|---|---|---|---|---|"]
    lines += [f"| {r.people} | {r.takes} | {r.draws} | {r.clips} | {r.top1:.3f} | {r.alone:.3f} | "
              f"{r.gain:+.3f} ({r.gain_sd:.3f}) |" for r in rows]
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bundle", default=None)
    parser.add_argument("--draws", type=int, default=20)
    args = parser.parse_args(argv)
    print(format_table(measure(args.bundle, args.draws)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
