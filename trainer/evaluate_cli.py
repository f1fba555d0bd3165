"""Evaluate a checkpoint with the paper's metrics, or run one of the held-out protocols.

    signclip evaluate RUN/checkpoint --data lexicon.csv [--split train] [--json] [--plot emb.png]
    signclip evaluate RUN/checkpoint --protocol robustness|augmented --data lexicon.csv
    signclip evaluate HELDOUT/checkpoint --protocol held-out --data lexicon.csv [--languages asq,bzs,mfs]
    signclip evaluate RUN/checkpoint --protocol new-signer --data lexicon.csv --videos tests/data/videos
    signclip evaluate RUN/checkpoint --protocol new-signers --data train.csv --runs runs/new-signers
        [--seeds 0,1,2] [--folds P7+P8,P1+P2] [--set train.vocabulary_margin=0.1]   # a variant
    signclip evaluate HELDOUT/checkpoint --protocol new-body --data train.csv
    signclip evaluate RUN/checkpoint --protocol words --data train.csv   # held-out word signers
    signclip evaluate ... --hand-view 0          # whole clips only, without the hands-alone view

new-signers trains one model per fold of ASL-HG signers (the checkpoint's config on the manifest
without the fold's photos; models already trained in --runs are reused) and tests each on the
photos of the signers it never saw; with --seeds, once per training seed (RUNS/seed-S), with the
spread over seeds; --set changes the folds' training config (a variant to compare). new-body
needs a model trained without three sign languages and two signers (`signclip lexicon --hold-out
asq,bzs,mfs --handshapes asl-hg --hold-out-signers P1,P2`): the signers' hands are put into the
languages' clips, a new hand in a new body. words looks up the word clips of split "test"
(`signclip lexicon --words islr --hold-out-word-signers ...`: the signers the checkpoint was
trained without) among every ASL prompt of the manifest.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from signclip.runtime.errors import SignclipError

from .train_cli import add_set_argument

PROTOCOLS = ("metrics", "held-out", "robustness", "new-signer", "augmented", "new-signers", "new-body",
             "words")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("checkpoint", type=Path)
    parser.add_argument("--data", type=Path, required=True, metavar="MANIFEST")
    parser.add_argument("--split", default=None, help="evaluate only rows of this split")
    parser.add_argument("--protocol", default="metrics", choices=PROTOCOLS)
    parser.add_argument("--languages", default=None, metavar="LANG,...",
                        help="held-out sign languages (default: the protocol's asq,bzs,mfs)")
    parser.add_argument("--videos", type=Path, default=Path("tests/data/videos"),
                        help="folder with asl_letter_{A,B,C,L}.mp4 (new-signer protocol)")
    parser.add_argument("--runs", type=Path, default=Path("runs/new-signers"),
                        help="where the new-signers protocol trains its fold models")
    parser.add_argument("--seeds", default=None, metavar="S,...",
                        help="new-signers: train each fold once per seed and report the spread")
    parser.add_argument("--folds", default=None, metavar="P1+P2,...",
                        help="new-signers: only these folds (default: all five)")
    add_set_argument(parser)
    parser.add_argument("--plot", type=Path, default=None, help="embedding-space PNG (metrics)")
    parser.add_argument("--hand-view", type=float, default=None, metavar="W",
                        help="weight of each clip's hands-alone view in its embedding, 0 to 1 "
                             "(default: the checkpoint's hand_view; 0: whole clips only)")
    parser.add_argument("--json", action="store_true", help="print JSON instead of tables")
    parser.add_argument("--device", default="cpu", help="cpu, cuda or cuda:N (default: cpu)")


def _table(results: dict, title: str) -> str:
    lines = [title, "| case | clips | R@1 | R@5 | chance R@1 | chance R@5 | median rank |",
             "|---|---|---|---|---|---|---|"]
    for name, m in results.items():
        lines.append(f"| {name} | {m['clips']} | {m['R@1']:.3f} | {m['R@5']:.3f} | {m['chance R@1']:.3f} | "
                     f"{m['chance R@5']:.3f} | {m['median rank']:.0f} |")
    return "\n".join(lines)


def _folds_table(results: dict) -> str:
    """One row per fold of new signers, the mean, and chance."""
    lines = ["(e) new signers: the clips of each fold's signers, by a model trained without them",
             "| signers | static letters top-1 | top-5 | all classes top-1 | top-5 |",
             "|---|---|---|---|---|"]
    missing = dict.fromkeys(("R@1", "R@5", "chance R@1", "chance R@5"), float("nan"))
    for name, r in results.items():  # a corpus of words has no static letters: nan
        s, a = r.get("static letters", missing), r["all classes"]
        lines.append(f"| {name} | {s['R@1']:.3f} | {s['R@5']:.3f} | {a['R@1']:.3f} | {a['R@5']:.3f} |")
    s, a = results["mean"].get("static letters", missing), results["mean"]["all classes"]
    lines.append(f"| chance | {s['chance R@1']:.3f} | {s['chance R@5']:.3f} | {a['chance R@1']:.3f} | "
                 f"{a['chance R@5']:.3f} |")
    return "\n".join(lines)


def _seeds_table(result: dict) -> str:
    """Top-1 of each fold and of the mean over the seeds: mean +- sd, then each seed's."""
    seeds = list(result["seeds"])
    lines = [f"(e) new signers over seeds {', '.join(map(str, seeds))}: top-1, mean +- sd (each seed)",
             "| signers | static letters | all classes |", "|---|---|---|"]
    for name, cases in result["over seeds"].items():
        cells = []
        for case in ("static letters", "all classes"):
            if case not in cases:  # a corpus without static letters
                cells.append("-")
                continue
            each = " ".join(f"{result['seeds'][s][name][case]['R@1']:.3f}" for s in seeds)
            cells.append(f"{cases[case]['mean']:.3f} +- {cases[case]['sd']:.3f} ({each})")
        lines.append(f"| {name} | {cells[0]} | {cells[1]} |")
    return "\n".join(lines)


def _seeds(text: str) -> list:
    try:
        seeds = [int(s) for s in text.split(",")]
    except ValueError:
        raise SignclipError(f"--seeds {text}: whole numbers separated by commas, e.g. 0,1,2") from None
    if len(set(seeds)) != len(seeds) or min(seeds) < 0:
        raise SignclipError(f"--seeds {text}: distinct whole numbers >= 0")
    return seeds


def _folds(text: str | None, rows: list) -> tuple:
    """--folds as tuples of signers ("P1+P2,P7+P8"): each a signer of the manifest; default the
    manifest's own folds (ASL-HG's pairs, else its signers dealt into five)."""
    from .protocols import manifest_folds

    if text is None:
        return manifest_folds(rows)
    signers = {r.signer for r in rows if r.signer}
    folds = tuple(tuple(f.split("+")) for f in text.split(","))
    unknown = [s for fold in folds for s in fold if s not in signers]
    if unknown:
        known = ", ".join("+".join(f) for f in manifest_folds(rows)) or "none (no signer ids)"
        raise SignclipError(f"--folds: no signer {unknown[0]!r} in the manifest; its folds: {known}")
    return folds


def run(args: argparse.Namespace) -> int:
    from dataclasses import replace

    import torch

    from . import protocols
    from .checkpoint import load_checkpoint
    from .config import with_overrides
    from .data import read_manifest, select_split
    from .evaluate import embed_rows, format_report, plot_embeddings, report

    if args.overrides and args.protocol != "new-signers":
        raise SignclipError("--set changes the training of the new-signers folds; the other protocols "
                            "evaluate the checkpoint as it is")
    torch.manual_seed(0)
    model, run_cfg, _, _ = load_checkpoint(args.checkpoint)
    model.to(args.device).eval()
    if args.hand_view is not None:
        if not 0.0 <= args.hand_view <= 1.0:
            raise SignclipError(f"--hand-view {args.hand_view}: a weight from 0 to 1")
        norm = replace(model.cfg.normalization, hand_view=args.hand_view)
        model.cfg = replace(model.cfg, normalization=norm)
    rows = read_manifest(args.data)
    if args.split:
        rows = select_split(rows, args.split)
    if not rows:
        raise SignclipError(f"{args.data}: no rows" + (f" in split {args.split!r}" if args.split else ""))

    if args.protocol == "metrics":
        emb = embed_rows(model, rows)
        result = report(emb)
        plot = args.plot or args.checkpoint.parent / "embeddings.png"
        plot_embeddings(emb, plot)
        text = format_report(result) + f"\nembedding plot: {plot}"
    elif args.protocol == "held-out":
        languages = tuple(args.languages.split(",")) if args.languages else protocols.HELD_OUT
        missing = sorted(set(languages) - {r.sign_language for r in rows})
        if missing:
            raise SignclipError(f"--languages: {', '.join(missing)} not in {args.data}")
        result = protocols.held_out(model, rows, languages)
        text = _table(result, "(a) leave-languages-out: V2T within each held-out language's alphabet")
    elif args.protocol == "robustness":
        result = protocols.robustness(model, rows)
        text = _table(result, "(b) robustness: within-language V2T of every clip under each change")
    elif args.protocol == "new-signers":
        run_cfg = with_overrides(run_cfg, args.overrides)
        folds = _folds(args.folds, rows)
        if args.seeds is None:
            result = protocols.new_signers_protocol(run_cfg, rows, args.runs, folds)
            text = _folds_table(result)
        else:
            result = protocols.new_signers_seeds(run_cfg, rows, args.runs, _seeds(args.seeds), folds)
            text = _seeds_table(result)
    elif args.protocol == "new-body":
        result = protocols.new_body(model, rows)
        text = _table(result, "(f) a new hand in a new body: held-out signers' photographed hands in "
                              "held-out languages' clips, among the ASL classes")
    elif args.protocol == "words":
        result = protocols.held_out_words(model, rows)
        vocabulary = len({r.text for r in rows if r.sign_language == "ase"})
        text = _table({k: v for k, v in result.items()},
                      f"(g) held-out word signers ({', '.join(result['all']['signers'])}): each clip among "
                      f"the {vocabulary} ASL entries (letters, digits, words)")
    elif args.protocol == "augmented":
        result = {"fresh augmentation": protocols.augmented(model, rows)}
        text = _table(result, "(d) training clips under fresh augmentation (sanity check only)")
    else:
        result = protocols.new_signer(model, args.videos, rows)
        lines = ["(c) new signer and camera: rank of the right letter among the ase alphabet",
                 "| video | rank | of | top 5 |", "|---|---|---|---|"]
        lines += [f"| asl_letter_{k}.mp4 | {v['rank']} | {v['of']} | {' '.join(v['top5'])} |"
                  for k, v in result.items()]
        text = "\n".join(lines)
    print(json.dumps(result, indent=2, default=float) if args.json else text)
    return 0
