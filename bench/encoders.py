"""Per-clip encoder latency: torch eager FP32 (the baseline) vs ONNX Runtime FP32, INT8, FP16.

    python bench/encoders.py                       # edge-small and paper-base, T = 26, 98, 256
    python bench/encoders.py --configs edge-small --repeats 50

Batch 1, 2 threads, random pose weights (timing only), inputs are real lexicon clips cut or
repeated to T frames. The text encoder is timed per query, tokenizer included.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np
import torch

from signclip.export import data
from signclip.export import quantize as q
from signclip.export.onnx_export import export_pose_onnx, export_text_onnx
from signclip.export.parity import session
from signclip.runtime.commands.bench import timed
from signclip.runtime.normalize import NormalizationConfig
from signclip.trainer.config import load_config
from signclip.trainer.model import PoseEncoder, TextEncoder, tokenizer_path

TARGETS = "paper-base INT8 >= 5x torch; edge-small <= 1.5 ms at T=98; text <= 1.5 ms/query"


def best_ms(fn, repeats: int) -> float:
    """Median of `repeats` timed calls after 3 warm-ups, in milliseconds (signclip bench's timer)."""
    return timed(fn, repeats, warmup=3)["median_ms"]


def pose_graphs(pose: PoseEncoder, folder: Path) -> dict:
    fp32 = folder / "pose.onnx"
    export_pose_onnx(pose, fp32)
    return {"ort fp32": fp32,
            "ort int8": q.quantize_dynamic_int8(fp32, folder / "pose.int8.onnx"),
            "ort int8 pc": q.quantize_dynamic_int8(fp32, folder / "pose.int8pc.onnx", per_channel=True),
            "ort fp16": q.convert_fp16(fp32, folder / "pose.fp16.onnx")}


def bench_pose(name: str, clip: np.ndarray, lengths, repeats: int, threads: int) -> list:
    cfg = load_config(name).model
    torch.manual_seed(0)
    pose = PoseEncoder(cfg.pose, cfg.embed_dim).eval()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        graphs = pose_graphs(pose, Path(tmp))
        sessions = {k: session(v, threads) for k, v in graphs.items()}
        for t in lengths:
            x = np.ascontiguousarray(np.concatenate([clip] * (-(-t // len(clip))))[:t])[None]
            mask = np.ones((1, t), bool)
            xt, mt = torch.from_numpy(x), torch.from_numpy(mask)
            with torch.no_grad():
                base = best_ms(lambda a=xt, b=mt: pose(a, b), repeats)
            rows.append((name, "pose", t, "torch fp32", base, 1.0))
            for label, sess in sessions.items():
                feed = {"poses": x, "mask": mask}
                ms = best_ms(lambda s=sess, f=feed: s.run(None, f), repeats)
                rows.append((name, "pose", t, label, ms, base / ms))
    return rows


def bench_text(repeats: int, threads: int) -> list:
    cfg = load_config("edge-small").model  # MiniLM-L6 (real weights) + projection
    text = TextEncoder(cfg.text, cfg.embed_dim).eval()
    tok = data.load_tokenizer(tokenizer_path(cfg.text), cfg.text.max_tokens)
    query = "<en> <ase> house"
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        fp32 = Path(tmp) / "text.onnx"
        export_text_onnx(text, fp32)
        graphs = {"ort fp32": fp32,
                  "ort int8 pc": q.quantize_dynamic_int8(fp32, Path(tmp) / "t8.onnx", per_channel=True),
                  "ort int8 pc mixed": q.quantize_dynamic_int8(fp32, Path(tmp) / "t8m.onnx", per_channel=True,
                                                               keep_down_projections=True),
                  "ort fp16": q.convert_fp16(fp32, Path(tmp) / "t16.onnx")}

        def torch_query():
            ids, mask = data.tokenize(tok, [query])
            with torch.no_grad():
                text(torch.from_numpy(ids), torch.from_numpy(mask))

        base = best_ms(torch_query, repeats)
        rows.append(("minilm-l6", "text", "-", "torch fp32", base, 1.0))
        for label, path in graphs.items():
            sess = session(path, threads)

            def ort_query(s=sess):
                ids, mask = data.tokenize(tok, [query])
                s.run(None, {"input_ids": ids, "attention_mask": mask})

            ms = best_ms(ort_query, repeats)
            rows.append(("minilm-l6", "text", "-", label, ms, base / ms))
    return rows


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--configs", nargs="+", default=["edge-small", "paper-base"])
    parser.add_argument("--lengths", nargs="+", type=int, default=[26, 98, 256])
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--no-text", action="store_true")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    clip = data.clip_features(data.lexicon_entries()[0].pose, NormalizationConfig(), 256)
    rows = []
    for name in args.configs:
        rows += bench_pose(name, clip, args.lengths, args.repeats, args.threads)
    if not args.no_text:
        rows += bench_text(args.repeats, args.threads)
    print(f"batch 1, {args.threads} threads, median of {args.repeats}; ratio = torch eager / this")
    print(f"{'model':<11} {'tower':<5} {'T':>4}  {'backend':<18} {'ms':>8} {'x torch':>8}")
    for model, tower, t, label, ms, ratio in rows:
        print(f"{model:<11} {tower:<5} {t!s:>4}  {label:<18} {ms:8.2f} {ratio:8.2f}")
    print(f"targets: {TARGETS}")


if __name__ == "__main__":
    main()
