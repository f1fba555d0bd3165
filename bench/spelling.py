"""Fingerspelling: words joined without rest from real letter clips, read letter by letter.

    python bench/spelling.py [--words 50] [--language ase] [--bundle DIR] [--hand-view W] [--seed 0]
                             [--no-videos]

Words of 3 to 8 letters, drawn (fixed seed) from the 20,000 most frequent words of the language's
spoken language (wordfreq) that its lexicon can spell, are joined from the lexicon's letter clips
(spoken_to_signed's 600-clip lexicon): each clip trimmed to its held part (at most 0.8 s), the parts
joined by a 0.12 s transition and no rest, a double letter sliding sideways
(tests/runtime/spelling_data.py); then again as a fluent signer spells: each hold cut to 0.3-0.5 s
(drawn per letter, fixed seed) and 0.08 s transitions.
The same is done with the project's own letter videos (tests/data/videos/asl_letter_{A,B,C,L}.mp4
through MediaPipe): every word of the list that those four letters spell.

Each word is streamed frame by frame through the spelling reader (`signclip spell`) and, as the
baseline, through the sign recognizer that `signclip stream` runs (hand-activity segments, each
looked up among the same letters). Measured: letter error rate (edit distance / word length, summed
over words), exact words, and the delay from a letter's end (the last frame of its held part) to
its output: frames until the deciding frame plus the encoder and lookup time.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "runtime"))
sys.path.insert(0, str(ROOT / "bench"))
VIDEOS = ROOT / "tests" / "data" / "videos"
VIDEO_LETTERS = "ABCL"
from report import add_markdown_option, machine, page_section  # noqa: E402


def edit_alignment(read: str, truth: str) -> tuple:
    """(edit distance, [(read index, truth index)] of the positions the alignment matches equal)."""
    n, m = len(read), len(truth)
    d = np.zeros((n + 1, m + 1), np.int64)
    d[:, 0], d[0, :] = np.arange(n + 1), np.arange(m + 1)
    for i in range(1, n + 1):
        for j in range(1, m + 1):
            d[i, j] = min(d[i - 1, j] + 1, d[i, j - 1] + 1, d[i - 1, j - 1] + (read[i - 1] != truth[j - 1]))
    pairs, i, j = [], n, m
    while i > 0 and j > 0:
        if d[i, j] == d[i - 1, j - 1] + (read[i - 1] != truth[j - 1]):
            if read[i - 1] == truth[j - 1]:
                pairs.append((i - 1, j - 1))
            i, j = i - 1, j - 1
        elif d[i, j] == d[i - 1, j] + 1:
            i -= 1
        else:
            j -= 1
    return int(d[n, m]), pairs[::-1]


def word_list(language_code: str, letters: set, count: int, seed: int, top: int = 20000) -> list:
    """`count` words (fixed seed) of 3-8 letters among the `top` most frequent that `letters` spell."""
    import wordfreq

    words = sorted({w.upper() for w in wordfreq.top_n_list(language_code, top)
                    if w.isalpha() and 3 <= len(w) <= 8 and set(w.upper()) <= letters})
    if count >= len(words):
        return words
    rng = np.random.default_rng(seed)
    return sorted(rng.choice(words, count, replace=False).tolist())


class Reading:
    """What one method read for one word: text, and (letter, decided frame, compute ms) per letter."""

    def __init__(self, text: str, outputs: list, frame_ns: list):
        self.text, self.outputs, self.frame_ns = text, outputs, frame_ns


def read_spelling(spelled, engine, language, letters, moving, prior=None) -> Reading:
    from signclip.runtime.recognition.spelling import Letter, SpellReader, WordEnd

    clip = spelled.clip
    reader = SpellReader(clip.layout, clip.fps, engine.pose_encoder.embed_one,
                         lambda e: engine.lookup_embedding(e, 10, language), letters=letters,
                         moving=moving, normalization=engine.bundle.normalization,
                         correct=prior.word if prior else None)
    events, frame_ns = [], []
    for t in range(clip.num_frames):
        t0 = time.perf_counter_ns()
        out = reader.push(clip.frames[t], clip.mask[t])
        spent = time.perf_counter_ns() - t0
        frame_ns.append(spent - sum(int(e.compute_ms * 1e6) for e in out if isinstance(e, Letter)))
        events += out
    events += reader.finish()
    found = [e for e in events if isinstance(e, Letter)]
    words = [e.word for e in events if isinstance(e, WordEnd)]
    text = "".join(words) if prior else "".join(x.letter for x in found)
    return Reading(text, [(x.letter, x.decided_frame, x.compute_ms) for x in found], frame_ns)


def read_signs(spelled, engine, language, letters) -> Reading:
    """The baseline: the sign recognizer's segments, each read as its best letter."""
    from signclip.runtime.recognition.recognizer import Recognizer

    clip = spelled.clip
    recognizer = Recognizer(clip.layout, clip.fps, engine.pose_encoder.embed_one,
                            lambda e: engine.lookup_embedding(e, 10, language),
                            normalization=engine.bundle.normalization)
    events, frame_ns = [], []
    for t in range(clip.num_frames):
        t0 = time.perf_counter_ns()
        out = recognizer.push(clip.frames[t], clip.mask[t])
        frame_ns.append(time.perf_counter_ns() - t0 - sum(int(e.timings.result_ms * 1e6) for e in out))
        events += out
    events += recognizer.finish()
    outputs = []
    for e in events:
        best = [m.label for m in (e.results or []) if m.label in letters]
        if best:
            outputs.append((best[0], e.decided_frame, e.timings.result_ms))
    return Reading("".join(x for x, _, _ in outputs), outputs, frame_ns)


def score(words, readings) -> dict:
    """Letter error rate, exact words, delays (ms) of the letters read right, per-frame cost (us)."""
    errors = letters = exact = 0
    delays, frame_ns = [], []
    for spelled, reading in zip(words, readings, strict=True):
        distance, pairs = edit_alignment(reading.text, spelled.word)
        errors += distance
        letters += len(spelled.word)
        exact += reading.text == spelled.word
        frame_ns += reading.frame_ns
        if len(reading.outputs) != len(reading.text):  # corrected words have no per-letter timing
            continue
        fps = spelled.clip.fps
        for i, j in pairs:
            _, decided, compute_ms = reading.outputs[i]
            end = spelled.truth[j][2]
            delays.append((decided - end) / fps * 1e3 + compute_ms)
    return {"ler": errors / max(letters, 1), "exact": exact, "words": len(words),
            "delay": statistics.median(delays) if delays else float("nan"),
            "delay90": float(np.percentile(delays, 90)) if delays else float("nan"),
            "frame_us": float(np.mean(frame_ns)) / 1e3 if frame_ns else float("nan")}


def table(title: str, rows: list) -> None:
    base = rows[0][1]
    print()
    print(f"**{title}**")
    print()
    print("| method | words | letter error rate | exact words | delay median (ms) | delay p90 (ms) "
          "| per frame (us) | per frame / baseline |")
    print("|---|---|---|---|---|---|---|---|")
    for name, s in rows:
        ratio = s["frame_us"] / base["frame_us"]
        print(f"| {name} | {s['words']} | {s['ler']:.3f} | {s['exact']}/{s['words']} | "
                  f"{s['delay']:.1f} | {s['delay90']:.1f} | {s['frame_us']:.1f} | {ratio:.2f}x |")


def video_letters() -> dict:
    """{letter: PoseClip} of the project's letter videos, through MediaPipe."""
    from signclip.runtime.capture.holistic import video_to_clip

    return {x: video_to_clip(VIDEOS / f"asl_letter_{x}.mp4") for x in VIDEO_LETTERS}


def run_set(title, words, engine, language, letters, moving, prior) -> None:
    read_signs(words[0], engine, language, letters)  # warm up: JIT kernels, the first lookups
    read_spelling(words[0], engine, language, letters, moving, prior)
    signs = [read_signs(w, engine, language, letters) for w in words]
    raw = [read_spelling(w, engine, language, letters, moving) for w in words]
    rows = [("signs: `signclip stream` segments (baseline)", score(words, signs)),
            ("spell: letters as read", score(words, raw))]
    if prior is not None:
        fixed = [read_spelling(w, engine, language, letters, moving, prior) for w in words]
        rows.append((f"spell --words {prior.language}", score(words, fixed)))
    table(title, rows)
    for w, r in zip(words, raw, strict=True):
        if r.text != w.word:
            print(f"- {w.word} read {r.text}")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--words", type=int, default=50, help="lexicon words to join")
    parser.add_argument("--language", default="ase", help="sign language of the letters (ISO 639-3)")
    parser.add_argument("--bundle", default=None)
    parser.add_argument("--hand-view", type=float, default=None,
                        help="weight of the hands-alone view (default: the bundle's; 0: whole clips only)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-videos", dest="videos", action="store_false",
                        help="skip the words joined from the project's letter videos (MediaPipe)")
    add_markdown_option(parser)
    args = parser.parse_args(argv)
    with page_section(args.markdown, "bench/spelling.py"):
        return run_benchmark(args)


def run_benchmark(args) -> int:
    """Run the measurements and print their tables."""

    from spelling_data import FAST_TRANSITION_S, fast_holds, join_word, lexicon_letters

    from signclip.runtime.model.bundle import load_bundle
    from signclip.runtime.recognition.engine import Engine
    from signclip.runtime.recognition.spelling import MOVING_LETTERS, alphabet
    from signclip.runtime.recognition.word_prior import WordPrior

    bundle = load_bundle(args.bundle)
    if args.hand_view is not None:  # a lookup choice: measure any weight without re-exporting
        bundle = replace(bundle, meta={**bundle.meta, "normalization": {
            **bundle.meta["normalization"], "hand_view": args.hand_view}})
    engine = Engine(bundle, personal=False)
    v = engine.vocabulary
    letters = alphabet(v.labels, v.languages, args.language)
    moving = MOVING_LETTERS.get(args.language, frozenset())
    spoken = engine.spoken.get(args.language, "en")
    clips = lexicon_letters(args.language)
    prior = WordPrior(spoken, letters)
    names = word_list(spoken, set(clips), args.words, args.seed)
    words = [join_word(w, clips) for w in names]
    engine.pose_encoder.embed_one(engine.model_input(words[0].clip))  # warm up the session
    print(f"{machine()}; bundle "
              f"{args.bundle or 'default'}; {args.language} letters from spoken-to-signed's lexicon; "
              f"{len(words)} words of {sum(len(w.word) for w in words)} letters, "
              f"{sum(w.clip.num_frames for w in words)} frames at {words[0].clip.fps:g} fps")
    run_set(f"Words joined from the lexicon's {args.language} letter clips", words, engine, args.language,
            letters, moving, prior)
    rng = np.random.default_rng(args.seed)
    fast = [join_word(w, clips, max_hold_s=fast_holds(w, rng), transition_s=FAST_TRANSITION_S) for w in names]
    run_set(f"The same words spelled fast (holds of 0.3-0.5 s, {FAST_TRANSITION_S} s transitions)", fast,
            engine, args.language, letters, moving, prior)
    if args.videos and args.language == "ase":
        clips = video_letters()
        names = word_list(spoken, set(VIDEO_LETTERS), 100, args.seed, top=10000)
        words = [join_word(w, clips) for w in names]
        print(f"\n{len(words)} words from the project's letter videos ({', '.join(names)}), "
              f"{words[0].clip.fps:g} fps")
        run_set("Words joined from the project's letter videos (a signer the model never saw)", words,
                engine, args.language, letters, moving, prior)
        fast = [join_word(w, clips, max_hold_s=fast_holds(w, rng), transition_s=FAST_TRANSITION_S)
                for w in names]
        run_set("The same, spelled fast", fast, engine, args.language, letters, moving, prior)
    print("\nDelay: from the end of a letter's held part to its output, for letters read right "
          "(frames until the deciding one, plus encoder and lookup). Per frame: reader work without "
          "the lookups; ratio against the baseline in this run.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
