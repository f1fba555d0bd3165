"""Index latency and recall: exact float32 vs compact (PQ4 + int8, float16) over N x D unit vectors.

    .venv/bin/python bench/index.py                 # 100,000 x 384, 200 queries, top-5
    .venv/bin/python bench/index.py --rows 20000 --data clustered --json

Baseline: numpy float32 brute force (one BLAS matrix-vector product) in the same run.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

import numpy as np
from report import add_markdown_option, machine, page_section

from signclip.runtime.model.index import IndexKind, VectorIndex, brute_force, recall_at_k


def unit(x: np.ndarray) -> np.ndarray:
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def make_data(rows: int, dim: int, queries: int, kind: str, seed: int = 0) -> tuple:
    """'random': isotropic (the hardest case for quantization: top scores nearly tied);
    'clustered': rows around 1,000 centres, like embeddings of many clips of fewer signs."""
    rng = np.random.default_rng(seed)
    if kind == "random":
        return (unit(rng.standard_normal((rows, dim), np.float32)),
                unit(rng.standard_normal((queries, dim), np.float32)))
    centres = unit(rng.standard_normal((1000, dim), np.float32))

    def around(n: int) -> np.ndarray:
        noise = unit(rng.standard_normal((n, dim), np.float32))
        return unit(centres[rng.integers(0, 1000, n)] + 0.6 * noise)

    return around(rows), around(queries)


def measure(search, queries: np.ndarray, truth: list, k: int, repeats: int = 1) -> dict:
    search(queries[0])  # warm-up (Numba compile, faiss allocation)
    times, recalls = [], []
    for _ in range(repeats):
        for q, t in zip(queries, truth, strict=True):
            t0 = time.perf_counter()
            ids = search(q)
            times.append(time.perf_counter() - t0)
            recalls.append(recall_at_k(ids, t))
    return {"median_ms": 1e3 * float(np.median(times)), "p90_ms": 1e3 * float(np.percentile(times, 90)),
            "recall": float(np.mean(recalls))}


def methods(x: np.ndarray, k: int) -> dict:
    """name -> (search(query) -> ids, bytes searched)."""
    out = {"numpy float32 (baseline)": (lambda q: brute_force(x, q, k).ids, x.nbytes)}
    specs = [("exact float32 (VectorIndex)", IndexKind.EXACT, "numpy", True),
             ("faiss flat float32", IndexKind.EXACT, "faiss", True),
             ("compact: PQ4 scan, f32 re-rank", IndexKind.INT8, "numpy", True),
             ("compact: PQ4 scan, int8 re-rank", IndexKind.INT8, "numpy", False),
             ("faiss SQ8", IndexKind.INT8, "faiss", False),
             ("faiss float16", IndexKind.FP16, "faiss", False)]
    for name, kind, backend, keep in specs:
        index = VectorIndex(x, kind=kind, backend=backend, keep_rows=keep)
        out[name] = ((lambda ix: lambda q: ix.search(q, k).ids)(index), index.nbytes)
    return out


def run(rows: int = 100_000, dim: int = 384, queries: int = 200, k: int = 5, data: str = "random") -> list:
    x, q = make_data(rows, dim, queries, data)
    truth = [brute_force(x, qq, k).ids for qq in q]
    results = []
    for name, (search, nbytes) in methods(x, k).items():
        results.append({"method": name, "bytes": int(nbytes), **measure(search, q, truth, k)})
    base = results[0]["median_ms"]
    for r in results:
        r["speedup"] = base / r["median_ms"]
    return results


def print_table(results: list, title: str) -> None:
    print(f"{title}\n")
    print("| method | MB read | median ms | p90 ms | x baseline | recall@5 |")
    print("|---|---|---|---|---|---|")
    for r in results:
        print(f"| {r['method']} | {r['bytes'] / 1e6:.1f} | {r['median_ms']:.3f} | {r['p90_ms']:.3f} | "
              f"{r['speedup']:.2f} | {r['recall']:.4f} |")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rows", type=int, default=100_000)
    p.add_argument("--dim", type=int, default=384)
    p.add_argument("--queries", type=int, default=200)
    p.add_argument("-k", type=int, default=5)
    p.add_argument("--data", choices=["random", "clustered", "both"], default="both")
    p.add_argument("--json", action="store_true")
    add_markdown_option(p)
    a = p.parse_args(argv)
    with page_section(a.markdown, "bench/index.py"):
        return run_benchmark(a)


def run_benchmark(a) -> int:
    """Run the measurements and print their tables."""
    print(machine())
    kinds = ["random", "clustered"] if a.data == "both" else [a.data]
    report = {d: run(a.rows, a.dim, a.queries, a.k, d) for d in kinds}
    if a.json:
        json.dump(report, sys.stdout, indent=1)
        print()
    else:
        for d, results in report.items():
            print_table(results, f"top-{a.k} over {a.rows:,} x {a.dim} ({d} unit vectors), "
                                 f"{a.queries} single queries")
            print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
