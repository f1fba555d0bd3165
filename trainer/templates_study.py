"""Sign templates beside the encoder, on word clips (`python -m signclip.trainer.templates_study`).

Issue 47's anchor: nearest neighbour by subsequence DTW against one reference clip of each word
(runtime/recognition/templates.py). Each clip is ranked among the vocabulary's ASL lexical signs:
- by the encoder alone (the bundle's cosine, `--kind signs`);
- by the templates alone, against the bundle's reference clips, and against ASL-App's clip of each
  word (the issue's fair setting: each word learned from its one tutorial clip);
- by both, as `signclip lookup` ranks signs (the whole clip's cosine and the alignment, z-scored,
  added; engine.read_signs).
On ISLR's held-out participants (no model here trained on them) and on ASL-App's one-clip words'
own clips.

    python -m signclip.trainer.templates_study [--bundle DIR]
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass

import numpy as np

from signclip.runtime.pose.timing import at_rate
from signclip.runtime.recognition.engine import Engine
from signclip.runtime.recognition.kinds import SIGN
from signclip.runtime.recognition.templates import TemplateConfig, nearest, rerank, template_features

from .words import ISLR_HELD_OUT, word_clip, word_rows

LANGUAGE = "ase"


@dataclass(frozen=True)
class StudyRow:
    clips: str
    ranking: str
    n: int
    top1: float
    top5: float
    per_word: str   # "WORD top-1/top-5, ..." where few words


def test_sets() -> dict:
    """name -> [(word, PoseClip)]: ISLR's held-out participants, ASL-App's words that have one clip."""
    islr = [(r.text, word_clip(r.pose, r.item))
            for r in word_rows("islr", hold_out_signers=ISLR_HELD_OUT) if r.split == "test"]
    taught_by_islr = {w for w, _ in islr}
    app = [(r.text, word_clip(r.pose, r.item)) for r in word_rows("asl-app") if r.text not in taught_by_islr]
    return {"ISLR held-out participants": islr, "ASL-App one-clip words, own clips": app}


def rankings(engine: Engine, tests: list, app_clips: dict, config: TemplateConfig = TemplateConfig(),
             weights: tuple = ()) -> dict:
    """ranking name -> each test's rank of its word (0 = first) among the language's signs; `weights`:
    the shipped ranking again at each of these template weights."""
    v, fps = engine.vocabulary, engine.bundle.fps
    rows = [i for i in range(len(v.labels)) if engine.entry_kinds[i] == SIGN and v.languages[i] == LANGUAGE]
    words = [str(v.labels[i]) for i in rows]

    def features(clip):
        return template_features(engine.model_input(at_rate(clip, fps)), fps, config)

    bundle_refs = [engine.templates.features(w, LANGUAGE) for w in words]   # the shown clip first
    app_refs = [[features(app_clips[w])] if w in app_clips else r[:1]
                for w, r in zip(words, bundle_refs, strict=True)]
    inputs = [engine.model_input(at_rate(clip, fps)) for _, clip in tests]
    cosines = engine.embed_inputs(inputs) @ v.embeddings[rows].T
    whole = engine.pose_encoder.embed_whole(inputs) @ v.embeddings[rows].T
    right = np.array([words.index(w) for w, _ in tests])
    series = [template_features(x, fps, config) for x in inputs]
    every = np.array([nearest(bundle_refs, s, config) for s in series])
    shown = np.array([nearest([r[:1] for r in bundle_refs], s, config) for s in series])
    app = np.array([nearest(app_refs, s, config) for s in series])

    def combined(scores, found, weight):
        return np.array([rerank(c, d, weight) for c, d in zip(scores, found, strict=True)])

    scores = {"encoder alone (hand view mixed in)": cosines,
              "encoder alone (whole clip)": whole,
              "templates alone (the shown clip of each word)": -shown,
              "templates alone (bundle's references: each signer's clip)": -every,
              "templates alone (ASL-App's clip of each word)": -app,
              "hand view mixed in + templates (shown clip), weight 1 (shipped 2026-12-07)":
                  combined(cosines, shown, 1.0),
              f"whole clip + templates, weight {config.weight:g} (shipped)":
                  combined(whole, every, config.weight)}
    scores.update({f"whole clip + templates, weight {w:g}": combined(whole, every, w)
                   for w in weights})
    return {name: (s > s[np.arange(len(s)), right][:, None]).sum(axis=1) for name, s in scores.items()}


def study(engine: Engine, weights: tuple = ()) -> list:
    sets = test_sets()
    app_clips = {r.text: word_clip(r.pose, r.item) for r in word_rows("asl-app")}
    out = []
    for name, tests in sets.items():
        words = np.array([w for w, _ in tests])
        for ranking, ranks in rankings(engine, tests, app_clips, weights=weights).items():
            per_word = ", ".join(f"{w} {np.mean(ranks[words == w] == 0):.2f}/"
                                 f"{np.mean(ranks[words == w] < 5):.2f}"
                                 for w in sorted(set(words))) if len(set(words)) <= 3 else ""
            out.append(StudyRow(name, ranking, len(tests), float(np.mean(ranks == 0)),
                                float(np.mean(ranks < 5)), per_word))
    return out


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(prog="python -m signclip.trainer.templates_study", description=__doc__)
    parser.add_argument("--bundle", help="bundle folder (default: the bundled default model)")
    parser.add_argument("--weights", default="", help="comma-separated template weights to try beside the "
                        "shipped one, e.g. 1,2,4 (how the shipped weight was chosen)")
    args = parser.parse_args(argv)
    try:
        weights = tuple(float(w) for w in args.weights.split(",") if w.strip())
    except ValueError:
        parser.error(f"--weights {args.weights}: numbers separated by commas")
    engine = Engine(args.bundle, personal=False)
    print(f"Among the bundle's {LANGUAGE} lexical signs; top-1 / top-5\n")
    print("| clips | ranking | n | top-1 | top-5 | per word (top-1/top-5) |")
    print("|---|---|---|---|---|---|")
    for r in study(engine, weights):
        print(f"| {r.clips} | {r.ranking} | {r.n} | {r.top1:.3f} | {r.top5:.3f} | {r.per_word} |")


if __name__ == "__main__":
    main()
