"""What the sign templates cost: the subsequence DTW per reference (ours in Numba against
dtaidistance, the library the issue named) and a lookup that answers with signs, on the default
bundle and a held-out participant's HELLO (84 frames at 25 fps).

    .venv/bin/python bench/templates.py [--repeats 20] [--markdown docs/speed.md]

Baseline, in the same run: dtaidistance's subsequence alignment in its C library where the
installed wheel has it (`use_c=True`), else its pure Python; a lookup that answers with signs
against one that answers with letters (no templates).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from report import add_markdown_option, machine, page_section

from signclip.runtime.cli.bench import timed
from signclip.runtime.pose.io import read_pose
from signclip.runtime.recognition.engine import Engine
from signclip.runtime.recognition.templates import (
    TemplateConfig,
    mirrored,
    nearest,
    subsequence_distance,
    template_features,
)

CLIP = Path(__file__).resolve().parents[1] / "tests" / "data" / "words" / "islr_hello_53618.pose"


def median_ms(fn, repeats: int) -> float:
    return timed(fn, repeats)["median_ms"]  # one untimed call first: Numba's compile or cache load


def dtaidistance_dtw():
    """(label, fn(reference, series) -> distance) of dtaidistance's subsequence alignment, or None."""
    try:
        from dtaidistance.subsequence.dtw import subsequence_alignment
    except ImportError:
        return None
    try:
        from dtaidistance import dtw_cc  # noqa: F401  (the C library, where the wheel has it)
        use_c, label = True, "dtaidistance, C (baseline)"
    except ImportError:
        use_c, label = False, "dtaidistance, pure Python (baseline)"
    penalty = TemplateConfig().penalty
    return label, lambda r, s: subsequence_alignment(r, s, penalty=penalty, use_c=use_c).best_match().value


def run(repeats: int) -> list:
    engine = Engine(None, personal=False)
    x = engine.model_input(read_pose(CLIP))
    embedding = engine.embed_inputs([x])[0]
    series = template_features(x, engine.bundle.fps)
    v = engine.vocabulary
    words = [(str(v.labels[i]), str(v.languages[i])) for i in range(len(v.labels))
             if engine.entry_kinds[i] == "sign" and v.languages[i] == "ase"]
    every = [engine.templates.features(*w) for w in words]
    shown = [refs[:1] for refs in every]
    count = sum(len(r) for r in every)
    hello = engine.templates.features("HELLO", "ase")[0]
    rows = []
    baseline = dtaidistance_dtw()
    if baseline is not None:
        label, fn = baseline
        rows.append(("one reference (HELLO), one view", label, median_ms(lambda: fn(hello, series), repeats)))
    rows.append(("one reference (HELLO), one view", "ours, Numba",
                 median_ms(lambda: subsequence_distance(hello, series, 0.1), repeats)))
    if baseline is not None:
        label, fn = baseline
        flat = [r for refs in every for r in refs]
        views = (series, mirrored(series))
        rows.append((f"a lookup's {count} references, clip and mirror", label,
                     median_ms(lambda: [fn(r, s) for r in flat for s in views], max(1, repeats // 10))))
    rows.append((f"a lookup's {count} references, clip and mirror", "ours, Numba",
                 median_ms(lambda: nearest(every, series), repeats)))
    rows.append((f"the shown clip of each of {len(words)} words, clip and mirror", "ours, Numba",
                 median_ms(lambda: nearest(shown, series), repeats)))
    rows.append(("a lookup among the ASL entries", "letters: no templates (baseline)", median_ms(
        lambda: engine.lookup_embedding(embedding, 5, "ase", "letters", x), repeats)))
    rows.append(("a lookup among the ASL entries", "signs: whole clip + templates (shipped)", median_ms(
        lambda: engine.lookup_embedding(embedding, 5, "ase", "signs", x), repeats)))
    return rows


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=20)
    add_markdown_option(parser)
    args = parser.parse_args(argv)
    with page_section(args.markdown, "bench/templates.py"):
        print(machine())
        print(f"\n{CLIP.name}; median of {args.repeats} (dtaidistance's whole lookup: of a tenth)\n")
        rows = run(args.repeats)
        print("| what | by | ms | x baseline |")
        print("|---|---|---|---|")
        base = {}
        for what, by, ms in rows:
            base.setdefault(what, ms)
            print(f"| {what} | {by} | {ms:.3f} | {base[what] / ms:.3g} |")


if __name__ == "__main__":
    main()
