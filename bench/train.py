"""Trainer benchmarks, one function per section, each printing a table with ratios to a baseline.

    python bench/train.py                              every section
    python bench/train.py --section loader             the data loader only
    python bench/train.py --section loader --scale 500000 --scale-dtype float16

loader: clips/s from the packed cache of the fingerspelling lexicon with augmentation on, against
re-parsing each .pose file for every clip (the baseline, same augmentation and normalization);
then a synthetic cache with Spreadthesign's length distribution (--scale clips, built in a
temporary folder and deleted afterwards): build time, disk size, loader clips/s, and the loader
process's memory growth over a whole epoch, which must stay at the size of a few batches.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
LOADER_TARGET = 5000  # clips/s: the bar for the loader on this 2-core CPU
BATCH = 64


def print_table(title: str, header: tuple, rows: list) -> None:
    """A Markdown table under a title."""
    print(f"\n### {title}\n")
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for row in rows:
        print("| " + " | ".join(str(v) for v in row) + " |")


def memory() -> dict:
    """This process's resident memory in MB: total, anonymous (heap) and file-backed."""
    fields = {}
    with open("/proc/self/status") as f:
        for line in f:
            key, _, value = line.partition(":")
            if key in ("VmRSS", "RssAnon", "RssFile"):
                fields[key] = int(value.split()[0]) / 1024
    return fields


# ---------------------------------------------------------------- loader


def _lexicon_rows():
    from signclip.trainer.lexicon import lexicon_rows

    if importlib.util.find_spec("spoken_to_signed") is not None:
        return lexicon_rows(), "lexicon (600 clips, spoken-to-signed)"
    return lexicon_rows(ROOT / "tests" / "data" / "lexicon"), "tests/data/lexicon (4 clips)"


def _baseline_clips_per_s(rows, seconds: float) -> float:
    """Re-parse each .pose file per clip, then the same augmentation and normalization."""
    from signclip.runtime.layouts import MODEL_203
    from signclip.runtime.normalize import NormalizationConfig, finish, normalize_frames
    from signclip.runtime.pose_io import read_pose
    from signclip.trainer.augment import AugmentConfig, NoiseBank, augment_normalized, augment_raw

    cfg, bank, rng = AugmentConfig(), NoiseBank(0), np.random.default_rng(0)

    def one(row):
        clip = read_pose(row.pose).to_layout(MODEL_203)
        frames, mask = augment_raw(clip.frames, clip.mask, rng, cfg, 256)
        out = finish(normalize_frames(frames, mask, MODEL_203), mask, NormalizationConfig())
        augment_normalized(out.frames, out.mask, None, rng, cfg, bank)

    one(rows[0])  # warm-up: imports, Numba cache
    order = np.random.default_rng(1).permutation(len(rows))
    n, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        one(rows[order[n % len(rows)]])
        n += 1
    return n / (time.perf_counter() - t0)


def _loader_clips_per_s(cache, workers: int, seconds: float, augment=True) -> tuple:
    """(clips/s wall, clips per CPU-second of this process, padded share) over whole epochs."""
    from signclip.trainer.loader import make_loader, set_epoch

    loader = make_loader(cache, BATCH, seed=0, augment=augment, num_workers=workers)
    for _ in loader:  # warm-up: Numba cache load, worker start
        break
    n = real = padded = 0
    epoch, t0, c0 = 0, time.perf_counter(), time.process_time()
    while time.perf_counter() - t0 < seconds:
        set_epoch(loader, epoch)
        for batch in loader:
            n += len(batch.indices)
            real += int(batch.mask.sum())
            padded += batch.mask.numel()
        epoch += 1
    rate, cpu = n / (time.perf_counter() - t0), n / (time.process_time() - c0)
    del loader
    return rate, cpu, 1 - real / padded


def _epoch_memory(cache) -> dict:
    """Iterate one whole epoch in this process; the largest growth of resident memory in MB."""
    from signclip.trainer.loader import make_loader

    loader = make_loader(cache, BATCH, seed=0, augment=True, num_workers=0)
    it = iter(loader)
    batch = next(it)
    start, peak, largest = memory(), memory(), batch.poses.numel() * 4 / 2**20
    t0, n = time.perf_counter(), len(batch.indices)
    for batch in it:
        n += len(batch.indices)
        largest = max(largest, batch.poses.numel() * 4 / 2**20)
        now = memory()
        peak = {k: max(peak[k], now[k]) for k in peak}
        del batch
    seconds = time.perf_counter() - t0
    return {"growth": {k: peak[k] - start[k] for k in peak}, "largest_batch_mb": largest,
            "clips_per_s": n / seconds, "clips": n}


def _disk_mb(path: Path) -> float:
    return sum(p.stat().st_size for p in path.iterdir()) / 2**20


def bench_loader(args) -> bool:
    """Loader clips/s (lexicon), and the synthetic scale check. True when the target is met."""
    from signclip.trainer.cache import build_cache, build_synthetic_cache

    rows, source = _lexicon_rows()
    work = Path(tempfile.mkdtemp(prefix="bench-train-", dir=args.tmp))
    try:
        t0 = time.perf_counter()
        cache = build_cache(rows, work / "lexicon", progress=False)
        build_s = time.perf_counter() - t0
        baseline = _baseline_clips_per_s(rows, args.seconds)
        table = [("re-parse .pose per clip (baseline)", "-", f"{baseline:,.0f}", "-", "1.0x", "-")]
        best = 0.0
        for workers in args.workers:
            rate, cpu, pad = _loader_clips_per_s(cache, workers, args.seconds)
            best = max(best, rate)
            table.append((f"packed cache, augment on, batch {BATCH}", workers, f"{rate:,.0f}",
                          f"{cpu:,.0f}" if workers == 0 else "-", f"{rate / baseline:.0f}x",
                          f"{pad:.0%}"))
        rate, cpu, pad = _loader_clips_per_s(cache, 0, args.seconds, augment=False)
        table.append((f"packed cache, augment off, batch {BATCH}", 0, f"{rate:,.0f}", f"{cpu:,.0f}",
                      f"{rate / baseline:.0f}x", f"{pad:.0%}"))
        print_table(f"Loader on {source}: mean {cache.lengths.mean():.0f} frames/clip; cache built "
                    f"in {build_s:.1f} s", ("path", "workers", "clips/s", "per CPU-s",
                                             "vs baseline", "padding"), table)

        # scale check: synthetic clips with Spreadthesign's lengths
        per_clip = 96.4 * (609 * np.dtype(args.scale_dtype).itemsize + 26)
        need_gb = args.scale * per_clip / 1e9
        free_gb = shutil.disk_usage(work).free / 1e9
        if need_gb > free_gb - 10:
            print(f"\nscale check skipped: {args.scale:,} clips need about {need_gb:.0f} GB "
                  f"({args.scale_dtype}); {work} has {free_gb:.0f} GB free (keeping 10 GB spare)")
            return best >= LOADER_TARGET
        t0 = time.perf_counter()
        synthetic = build_synthetic_cache(args.scale, work / "synthetic", seed=0,
                                          dtype=args.scale_dtype, progress=args.progress)
        build_s = time.perf_counter() - t0
        disk = _disk_mb(work / "synthetic")
        epoch = _epoch_memory(synthetic)
        g = epoch["growth"]
        rate1, _, pad1 = _loader_clips_per_s(synthetic, 1, args.seconds)
        print_table(
            f"Scale check: {args.scale:,} synthetic clips ({args.scale_dtype}), "
            f"{synthetic.num_frames:,} frames, mean {synthetic.lengths.mean():.1f} / median "
            f"{np.median(synthetic.lengths):.0f} / p95 {np.percentile(synthetic.lengths, 95):.0f}",
            ("measure", "value"),
            [("build time", f"{build_s:.1f} s ({args.scale / build_s:,.0f} clips/s)"),
             ("disk size", f"{disk:,.0f} MB ({disk * 2**20 / args.scale / 1024:.1f} KB/clip)"),
             ("loader, 1 epoch in-process, augment on", f"{epoch['clips_per_s']:,.0f} clips/s"),
             ("loader, 1 worker, augment on", f"{rate1:,.0f} clips/s (padding {pad1:.0%})"),
             ("RSS growth over the epoch (total / anon / file)",
              f"{g['VmRSS']:.0f} / {g['RssAnon']:.0f} / {g['RssFile']:.0f} MB"),
             ("largest batch (poses float32)", f"{epoch['largest_batch_mb']:.0f} MB"),
             ("RSS growth / cache size", f"{g['VmRSS'] / disk:.3f}")])
        return best >= LOADER_TARGET
    finally:
        shutil.rmtree(work, ignore_errors=True)


# ---------------------------------------------------------------- model (training step)


def _model_child(config: str, cache_dir: str, batch: int, steps: int) -> dict:
    """Training clips/s and peak RSS of one config on the packed lexicon cache, in a fresh process."""
    import contextlib
    import dataclasses
    import resource

    import torch

    from signclip.trainer.cache import PackedCache
    from signclip.trainer.config import load_config
    from signclip.trainer.loss import ClipLoss
    from signclip.trainer.model import SignCLIP
    from signclip.trainer.sources import PackedSource
    from signclip.trainer.train import build_text_inputs, make_optimizer, train_step

    cfg = load_config(config)
    cfg = dataclasses.replace(cfg, train=dataclasses.replace(cfg.train, batch_size=batch))
    torch.manual_seed(0)
    model = SignCLIP(cfg.model)
    source = PackedSource(PackedCache.open(cache_dir), augment=True, max_frames=cfg.model.pose.max_frames)
    text = build_text_inputs(model, source.texts, "cpu")
    optimizer, loss_fn = make_optimizer(model, cfg), ClipLoss()
    model.train()
    clips, seconds, epoch, done = 0, 0.0, 0, 0
    while done < steps:
        for b in source.loader(epoch=epoch, batch_size=batch, seed=0):
            t0 = time.perf_counter()
            train_step(model, optimizer, loss_fn, (b.poses, b.mask, b.text_ids), text, lr=1e-4,
                       grad_clip=1.0, autocast=contextlib.nullcontext())
            if done > 0:  # the first step allocates and warms up
                clips, seconds = clips + len(b.indices), seconds + time.perf_counter() - t0
            done += 1
            if done == steps:
                break
        epoch += 1
    params = sum(p.numel() for p in model.parameters())
    trained = sum(p.numel() for p in model.parameters() if p.requires_grad)
    return {"clips_s": clips / seconds, "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "params": params, "trained": trained, "threads": torch.get_num_threads()}


def bench_model(args) -> bool:
    """Training clips/s (forward, backward, AdamW) of edge-small and paper-base on this CPU."""
    import concurrent.futures
    import multiprocessing

    from signclip.trainer.cache import build_cache

    rows, source = _lexicon_rows()
    work = Path(tempfile.mkdtemp(prefix="bench-model-", dir=args.tmp))
    try:
        cache = build_cache(rows, work / "lexicon", progress=False)
        results = {}
        for config in ("paper-base", "edge-small"):  # paper-base first: the baseline
            context = multiprocessing.get_context("spawn")  # a fresh process: its own peak memory
            with concurrent.futures.ProcessPoolExecutor(1, mp_context=context) as pool:
                results[config] = pool.submit(_model_child, config, str(cache.root), args.model_batch,
                                              args.model_steps).result()
        base = results["paper-base"]["clips_s"]
        table = [(name, f"{r['params'] / 1e6:.1f} M ({r['trained'] / 1e6:.1f} M trained)",
                  f"{r['clips_s']:,.1f}", f"{r['clips_s'] / base:.1f}x", f"{r['peak_mb']:,.0f}")
                 for name, r in results.items()]
        print_table(f"Training step on this CPU ({results['edge-small']['threads']} torch threads): "
                    f"{source}, batch {args.model_batch}, augment on, fp32, steps 2..{args.model_steps}",
                    ("config", "parameters", "train clips/s", "vs paper-base", "peak RSS MB"), table)
        return True
    finally:
        shutil.rmtree(work, ignore_errors=True)


SECTIONS = {"loader": bench_loader, "model": bench_model}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--section", choices=[*SECTIONS, "all"], default="all")
    parser.add_argument("--scale", type=int, default=10_000,
                        help="synthetic clips for the scale check (default 10,000: about 1 min)")
    parser.add_argument("--scale-dtype", choices=("float32", "float16"), default="float32")
    parser.add_argument("--workers", type=lambda s: [int(w) for w in s.split(",")], default=[0, 1])
    parser.add_argument("--seconds", type=float, default=4.0, help="time per loader measurement")
    parser.add_argument("--tmp", default=None, help="folder for temporary caches (default: $TMPDIR)")
    parser.add_argument("--progress", action="store_true", help="progress bars while building")
    parser.add_argument("--model-batch", type=int, default=32, help="batch of the model section")
    parser.add_argument("--model-steps", type=int, default=4, help="steps per config (first excluded)")
    args = parser.parse_args(argv)
    print(f"CPU cores: {os.cpu_count()}, load average {os.getloadavg()[0]:.1f} (shared machine)")
    ok = True
    for name, section in SECTIONS.items():
        if args.section in (name, "all"):
            met = section(args)
            print(f"\n{name}: target {'met' if met else 'NOT met'}")
            ok &= met
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
