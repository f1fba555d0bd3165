"""Per-clip encoder latency: torch eager FP32 (the baseline) vs ONNX Runtime FP32, INT8, FP16.

    python bench/encoders.py                       # edge-small and paper-base, T = 26, 98, 256
    python bench/encoders.py --configs edge-small --repeats 50
    python bench/encoders.py --configs edge-small --no-text --against old_pose_encoder.onnx

Batch 1, 2 threads, random pose weights (timing only), inputs are real lexicon clips cut or
repeated to T frames. The text encoder is timed per query, tokenizer included. The default
bundle's pose file names the backend it ships; the row "shipped, 2 views" is what one lookup costs
with its `hand_view`: the clip and its hands alone in one call of that graph.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from report import add_markdown_option, machine, page_section
from torch import nn

from signclip.export import builders, data
from signclip.export import quantize as q
from signclip.export.onnx_export import export_pose_onnx, export_text_onnx, quiet_exporter
from signclip.export.parity import COSINE_FLOOR, COSINE_MIN, run_text, session, unit
from signclip.runtime.cli.bench import timed
from signclip.runtime.model.int8_path import int8_path
from signclip.runtime.pose.normalize import ModelInput, hands_view, hidden_indices
from signclip.trainer.checkpoint import load_checkpoint
from signclip.trainer.config import load_config
from signclip.trainer.model import PoseEncoder, tokenizer_path

SETTLE_S = 0.3  # longer than libgomp's and ORT's spin-waits
MODEL = Path(__file__).parents[1] / "models" / "edge-small"
BUNDLE = Path(__file__).parents[1] / "runtime" / "models" / "default"
CEILING = "int8 matmuls only"  # not a backend: the INT8 graph's products without the rest
TWO_VIEWS = "shipped, 2 views"  # the shipped graph on a clip and its hands-alone view, one batch
# each backend's graph as the export builds and names it
CANDIDATES = {"ort fp32": builders.fp32("pose"),
              "ort int8": builders.dynamic_int8("pose", per_channel=False),
              "ort int8 pc": builders.dynamic_int8("pose", per_channel=True),
              "ort int8 pc in32": builders.dynamic_int8("pose", per_channel=True, input_layer_fp32=True),
              "ort int8 block": builders.blockwise_int8("pose"),
              "ort fp16": builders.fp16("pose")}


def shipped_backend(bundle: Path = BUNDLE) -> str:
    """The backend whose graph the bundle ships: its pose file's name says which."""
    name = json.loads((bundle / "signclip.json").read_text())["encoders"]["pose"]
    return next(label for label, candidate in CANDIDATES.items() if name == candidate.file)


SHIPPED = shipped_backend()
TEXT_MS, TEXT_COSINE = 2.0, 0.999
TARGETS = ("paper-base INT8 >= 5x torch; edge-small <= 1.5 ms at T=98; "
           f"text <= {TEXT_MS:g} ms/query at cosine >= {TEXT_COSINE}")


def in_turns_ms(fns: dict, repeats: int, rounds: int = 3) -> dict:
    """Median ms of each function over `repeats` calls, timed in `rounds` turns.

    This 2-core machine has slow and fast phases (one graph measured 31 and 47 ms minutes apart),
    and a ratio is only fair when both sides see the same phases. Each turn starts after a pause
    and 3 untimed calls: torch's OpenMP threads and ORT's pools spin for a while after their work,
    and the next caller's threads would share the 2 cores with them (text INT8 measured 6.6 ms)."""
    times = {name: [] for name in fns}
    for _ in range(rounds):
        for name, fn in fns.items():
            time.sleep(SETTLE_S)
            times[name].append(timed(fn, max(1, repeats // rounds), warmup=3)["median_ms"])
    return {name: float(np.median(t)) for name, t in times.items()}


class MatmulsOnly(nn.Module):
    """Every per-frame Linear of a pose encoder, each on an input of its own, and nothing else
    (as in the real graph: inputs shared by two products would be quantized once, not fused)."""

    def __init__(self, pose: PoseEncoder):
        super().__init__()
        per_frame = (m for m in pose.modules() if isinstance(m, nn.Linear) and m is not pose.head)
        self.linears = nn.ModuleList(per_frame)

    def forward(self, *xs: torch.Tensor) -> tuple:
        return tuple(m(x) for m, x in zip(self.linears, xs))


def matmuls_only_int8(pose: PoseEncoder, folder: Path):
    """The INT8 graph's matrix products alone, quantized the same way: run_at(T) times them.

    torch eager / this is the most INT8 can gain at T, whatever is done to attention and norms."""
    module = MatmulsOnly(pose).eval()
    widths = [m.in_features for m in module.linears]
    names = [f"x{i}" for i in range(len(widths))]
    frames = torch.export.Dim("frames", min=1, max=pose.cfg.max_frames)
    fp32 = folder / "matmuls.onnx"
    with torch.no_grad(), quiet_exporter():
        torch.onnx.export(module, tuple(torch.randn(1, 98, w) for w in widths), str(fp32), dynamo=True,
                          input_names=names, dynamic_shapes=(tuple({1: frames} for _ in names),))
    sess = session(q.quantize_dynamic_int8(fp32, folder / "matmuls.int8.onnx"))
    rng = np.random.default_rng(0)

    def run_at(t: int):
        feed = {n: rng.standard_normal((1, t, w), np.float32) for n, w in zip(names, widths)}
        return lambda: sess.run(None, feed)
    return run_at


def pose_graphs(pose: PoseEncoder, folder: Path, hidden) -> dict:
    """Every backend's graph, built by the export's own steps (the `hidden` points' features
    skipped; INT8: attention fused, then quantized)."""
    fp32 = folder / "pose.onnx"
    export_pose_onnx(pose, fp32, hidden=hidden)
    return {label: fp32 if c.make is None else c.make(fp32, folder / c.file)
            for label, c in CANDIDATES.items()}


def bench_pose(name: str, entry, lengths, repeats: int, threads: int) -> list:
    """Every backend on one lexicon clip (`entry`), normalized as this model's config says."""
    cfg = load_config(name).model
    clip = data.clip_input(entry, cfg.normalization, 256)
    torch.manual_seed(0)
    pose = PoseEncoder(cfg.pose, cfg.embed_dim).eval()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        graphs = pose_graphs(pose, Path(tmp), hidden_indices(cfg.normalization))
        sessions = {k: session(v, threads) for k, v in graphs.items()}
        ceiling = matmuls_only_int8(pose, Path(tmp))
        for t in lengths:
            reps = -(-t // len(clip.frames))   # the clip repeated, cut to t frames
            long = ModelInput(np.concatenate([clip.frames] * reps)[:t],
                              np.concatenate([clip.mask] * reps)[:t])
            x = np.ascontiguousarray(long.features, dtype=np.float32)[None]
            mask = np.ones((1, t), bool)
            xt, mt = torch.from_numpy(x), torch.from_numpy(mask)
            feed = {"poses": x, "mask": mask}
            hands = np.ascontiguousarray(hands_view(long).features, dtype=np.float32)[None]
            both = {"poses": np.concatenate([x, hands]), "mask": np.ones((2, t), bool)}

            def torch_clip(a=xt, b=mt):
                with torch.no_grad():
                    return pose(a, b).numpy()

            fns = {"torch fp32": torch_clip,
                   **{label: (lambda s=sess, f=feed: s.run(None, f)[0]) for label, sess in sessions.items()},
                   TWO_VIEWS: lambda s=sessions[SHIPPED], f=both: s.run(None, f)[0][:1],
                   CEILING: ceiling(t)}
            ms = in_turns_ms(fns, repeats)
            ref = torch_clip()
            for label, fn in fns.items():
                cos = np.full(1, np.nan) if label == CEILING else np.sum(ref * unit(fn()), axis=1)
                rows.append(row(name, "pose", t, label, ms[label], ms["torch fp32"] / ms[label], cos))
    return rows


def bench_text(repeats: int, threads: int, checkpoint: Path = MODEL) -> list:
    """The shipped model's text tower (MiniLM-L6 + its trained projection), per query; the
    cosine to torch is over every vocabulary prompt of the lexicon (the export gate's inputs)."""
    model, cfg, _, _ = load_checkpoint(checkpoint)
    text = model.text.eval()
    tok = data.load_tokenizer(tokenizer_path(cfg.model.text), cfg.model.text.max_tokens)
    prompts = data.vocabulary_texts(data.lexicon_entries(), cfg.model.prompt_template).texts
    ids, mask = data.tokenize(tok, prompts)
    with torch.no_grad():
        ref = text(torch.from_numpy(ids), torch.from_numpy(mask)).numpy()
    query = "<en> <ase> house"
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        fp32 = Path(tmp) / "text.onnx"
        export_text_onnx(text, fp32)
        graphs = {"ort fp32": fp32,
                  "ort int8": q.quantize_dynamic_int8(fp32, Path(tmp) / "t8.onnx"),
                  "ort int8 pc": q.quantize_dynamic_int8(fp32, Path(tmp) / "t8pc.onnx", per_channel=True),
                  "ort int8 block": q.quantize_blockwise_int8(fp32, Path(tmp) / "t8b.onnx"),
                  "ort int8 folded": builders.folded_int8("text").make(fp32, Path(tmp) / "t8w.onnx"),
                  "ort fp16": q.convert_fp16(fp32, Path(tmp) / "t16.onnx")}

        def torch_query():
            i, m = data.tokenize(tok, [query])
            with torch.no_grad():
                text(torch.from_numpy(i), torch.from_numpy(m))

        sessions = {label: session(path, threads) for label, path in graphs.items()}

        def ort_query(s):
            i, m = data.tokenize(tok, [query])
            s.run(None, {"input_ids": i, "attention_mask": m})

        fns = {"torch fp32": torch_query,
               **{label: (lambda s=sess: ort_query(s)) for label, sess in sessions.items()}}
        ms = in_turns_ms(fns, repeats)
        rows.append(row("minilm-l6", "text", "-", "torch fp32", ms["torch fp32"], 1.0, np.ones(1)))
        for label, sess in sessions.items():
            cos = np.sum(ref * unit(run_text(sess, ids, mask)), axis=1)
            rows.append(row("minilm-l6", "text", "-", label, ms[label], ms["torch fp32"] / ms[label], cos))
    return rows


def row(model: str, tower: str, t, backend: str, ms: float, ratio: float, cos: np.ndarray) -> dict:
    return {"model": model, "tower": tower, "T": t, "backend": backend, "ms": ms, "ratio": ratio,
            "cos_mean": float(cos.mean()), "cos_min": float(cos.min()),
            "in_gate": backend.startswith("torch") or (backend != CEILING and gate_passes(backend, cos))}


def gate_passes(backend: str, cos: np.ndarray) -> bool:
    precision = "fp32" if "fp32" in backend else "fp16" if "fp16" in backend else "int8"
    return bool(cos.mean() >= COSINE_MIN[precision] and cos.min() >= COSINE_FLOOR[precision])


def verdicts(rows: list) -> list:
    """One line per target: the best in-gate backend's number against it."""
    def best(model, tower, t, reduced=False, cosine=0.0):
        got = [r for r in rows if (r["model"], r["tower"], r["T"]) == (model, tower, t) and r["in_gate"]
               and not r["backend"].startswith("torch") and r["backend"] != TWO_VIEWS
               and (not reduced or "fp32" not in r["backend"]) and r["cos_mean"] >= cosine]
        return min(got, key=lambda r: r["ms"]) if got else None

    lines = []
    for t in sorted({r["T"] for r in rows if r["model"] == "paper-base"}):
        r = best("paper-base", "pose", t, reduced=True)
        bound = [c for c in rows if (c["model"], c["T"], c["backend"]) == ("paper-base", t, CEILING)]
        if r:
            lines.append(f"paper-base T={t}: {r['backend']} {r['ratio']:.2f}x torch "
                         f"({'meets' if r['ratio'] >= 5 else 'MISSES'} >= 5x; its matmuls alone: "
                         f"{bound[0]['ratio']:.2f}x)")
    # random weights pass every cosine gate here; the real top-1 gate chose the shipped graph
    shipped = [r for r in rows if (r["model"], r["T"], r["backend"]) == ("edge-small", 98, SHIPPED)]
    if shipped:
        lines.append(f"edge-small pose T=98: {SHIPPED} (shipped) {shipped[0]['ms']:.2f} ms "
                     f"({'meets' if shipped[0]['ms'] <= 1.5 else 'MISSES'} <= 1.5 ms)")
    r = best("minilm-l6", "text", "-", cosine=TEXT_COSINE)
    if r:
        lines.append(f"minilm-l6 text: {r['backend']} {r['ms']:.2f} ms at cosine {r['cos_mean']:.5f} "
                     f"({'meets' if r['ms'] <= TEXT_MS else 'MISSES'} <= {TEXT_MS} ms)")
    two = [r for r in rows if (r["model"], r["T"], r["backend"]) == ("edge-small", 98, TWO_VIEWS)]
    if two:
        lines.append(f"edge-small T=98 as shipped (hand_view: the clip and its hands, one call): "
                     f"{two[0]['ms']:.2f} ms per lookup")
    return lines


def bench_against(other: Path, entry, lengths, repeats: int, threads: int) -> list:
    """The shipped pose graph (real weights) and `other` (e.g. an earlier shipped graph) on the same
    real clip, timed in turns: (T, shipped ms, other ms, cosine between the two)."""
    bundle = json.loads((BUNDLE / "signclip.json").read_text())
    clip = data.clip_input(entry, load_config("edge-small").model.normalization, 256)
    sessions = {"shipped": session(BUNDLE / bundle["encoders"]["pose"], threads),
                "other": session(other, threads)}
    out = []
    for t in lengths:
        reps = -(-t // len(clip.frames))
        x = np.ascontiguousarray(np.concatenate([clip.features] * reps)[:t], dtype=np.float32)[None]
        feed = {"poses": x, "mask": np.ones((1, t), bool)}
        fns = {k: (lambda s=s, f=feed: s.run(None, f)[0]) for k, s in sessions.items()}
        ms = in_turns_ms(fns, repeats)
        cos = float(np.sum(unit(fns["shipped"]()) * unit(fns["other"]())))
        out.append((t, ms["shipped"], ms["other"], cos))
    return out


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--configs", nargs="+", default=["edge-small", "paper-base"])
    parser.add_argument("--lengths", nargs="+", type=int, default=[26, 98, 256])
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--no-text", action="store_true")
    parser.add_argument("--against", type=Path, metavar="ONNX",
                        help="also time the shipped pose graph beside this one (e.g. the previous bundle's)")
    add_markdown_option(parser)
    args = parser.parse_args(argv)
    with page_section(args.markdown, "bench/encoders.py"):
        return run_benchmark(args)


def run_benchmark(args) -> None:
    """Run the measurements and print their tables."""
    print(f"{machine()}; INT8 path: {int8_path()}\n")
    torch.set_num_threads(args.threads)
    entry = data.lexicon_entries()[0]
    rows = []
    for name in args.configs:
        rows += bench_pose(name, entry, args.lengths, args.repeats, args.threads)
    if not args.no_text:
        rows += bench_text(args.repeats, args.threads)
    print(f"batch 1, {args.threads} threads, median of {args.repeats}; ratio = torch eager / this; "
          "cosine to torch (pose: the timed clip; text: the 600 lexicon prompts)\n")
    print("| model | tower | T | backend | ms | x torch | cos mean | cos min | gate |")
    print("|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        gate = ("-" if r["backend"].startswith("torch") or r["backend"] == CEILING
                else "pass" if r["in_gate"] else "FAIL")
        cosines = ("-", "-") if np.isnan(r["cos_mean"]) else (f"{r['cos_mean']:.5f}", f"{r['cos_min']:.5f}")
        print(f"| {r['model']} | {r['tower']} | {r['T']} | {r['backend']} | {r['ms']:.2f} | "
              f"{r['ratio']:.2f} | {cosines[0]} | {cosines[1]} | {gate} |")
    print(f"\ntargets: {TARGETS}\n")
    for line in verdicts(rows):
        print("- " + line)
    if args.against:
        print(f"\nshipped pose graph vs {args.against.name}, real weights, in turns "
              "(ratio = other / shipped)\n")
        print("| T | shipped ms | other ms | ratio | cosine |")
        print("|---|---|---|---|---|")
        timings = bench_against(args.against, entry, args.lengths, args.repeats, args.threads)
        for t, mine, other, cos in timings:
            print(f"| {t} | {mine:.3f} | {other:.3f} | {other / mine:.2f} | {cos:.6f} |")


if __name__ == "__main__":
    main()
