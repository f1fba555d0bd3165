"""Training throughput through the real loader: bucketed vs unbucketed batches (bench/gpu_train.sh).

    python bench/gpu_train.py --config paper-base --steps 200           # on a GPU, bf16
    python bench/gpu_train.py --tiny --device cpu --steps 4 --clips 64  # the same path on a CPU

Builds a synthetic packed cache with the Spreadthesign length distribution, trains through
`make_loader` (augmentation on) with length bucketing (pools of 50 batches) and without (pools of
one batch: random clips padded to their longest), and prints steady-state clips/s (the first third
of the steps excluded: compilation, warm-up), peak GPU memory and the share of the loop's time
spent waiting for the next batch (the loop synchronizes every step, so this is time the GPU idles).
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from pathlib import Path

import torch

from signclip.trainer.cache import build_synthetic_cache
from signclip.trainer.config import PoseTowerCfg, RunCfg, TextTowerCfg, load_config
from signclip.trainer.sources import PackedSource
from signclip.trainer.train import read_metrics, train

MODES = (("bucketed", 50), ("unbucketed", 1))


def tiny(cfg: RunCfg) -> RunCfg:
    """paper-base's code path (fine-tuned random BERT, bf16 flags) at a CPU test's size."""
    pose = PoseTowerCfg(width=16, layers=1, heads=2, mlp_ratio=2.0, dropout=0.1, max_frames=64)
    text = TextTowerCfg(pretrained=None, hidden=16, layers=1, heads=2, intermediate=32, frozen=False)
    return dataclasses.replace(cfg, model=dataclasses.replace(cfg.model, embed_dim=16, pose=pose, text=text))


def steady(rows: list, skip: int) -> tuple:
    """(clips/s, data-wait share) over the metric rows after step `skip` (equal-size intervals)."""
    rows = [r for r in rows if r["step"] > skip and r["clips_per_s"] > 0] or rows[-1:]
    rate = len(rows) / sum(1.0 / r["clips_per_s"] for r in rows) if rows[0]["clips_per_s"] else 0.0
    return rate, sum(r["data_wait"] for r in rows) / len(rows)


def run(args) -> list:
    cfg = load_config(args.config)
    if args.tiny:
        cfg = tiny(cfg)
    train_cfg = dataclasses.replace(cfg.train, steps=args.steps, log_every=args.log_every,
                                    checkpoint_every=10**9, num_workers=args.workers,
                                    batch_size=args.batch or cfg.train.batch_size,
                                    warmup_steps=min(cfg.train.warmup_steps, args.steps // 4),
                                    compile=cfg.train.compile and not args.no_compile)
    cfg = dataclasses.replace(cfg, train=train_cfg)
    began = time.perf_counter()
    cache = build_synthetic_cache(args.clips, args.out / "cache", dtype=args.dtype,
                                  texts=args.clips // 4)
    print(f"synthetic cache: {len(cache)} clips, {cache.num_frames} frames, "
          f"{time.perf_counter() - began:.1f} s", flush=True)
    results = []
    for mode, pool in MODES:
        if torch.cuda.is_available():
            torch.cuda.reset_peak_memory_stats()
        source = PackedSource(cache, augment=True, num_workers=args.workers,
                              max_frames=cfg.model.pose.max_frames, pin_memory=torch.cuda.is_available(),
                              pool_batches=pool)
        began = time.perf_counter()
        result = train(cfg, source, args.out / mode, device=args.device)
        wall = time.perf_counter() - began
        rate, wait = steady(read_metrics(args.out / mode), args.steps // 3)
        results.append(dict(mode=mode, clips_s=rate, data_wait=wait, peak_mb=result.peak_memory_mb,
                            first=result.losses[0], last=result.losses[-1], wall=wall))
        print(f"{mode}: {rate:.0f} clips/s, data wait {wait:.1%}, peak {result.peak_memory_mb:.0f} MB, "
              f"{wall:.0f} s", flush=True)
    return results


def print_table(results: list, device: str) -> None:
    base = results[-1]["clips_s"] or 1.0  # the unbucketed run is the baseline
    print(f"\ntraining through the real loader on {device}")
    print(f"{'mode':<12}{'clips/s':>10}{'x unbucketed':>14}{'data wait':>11}{'peak MB':>10}"
          f"{'loss first':>12}{'loss last':>11}{'wall s':>8}")
    for r in results:
        print(f"{r['mode']:<12}{r['clips_s']:>10.0f}{r['clips_s'] / base:>14.2f}{r['data_wait']:>11.1%}"
              f"{r['peak_mb']:>10.0f}{r['first']:>12.3f}{r['last']:>11.3f}{r['wall']:>8.0f}")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default="paper-base")
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--batch", type=int, default=None, help="global batch (default: the config's)")
    parser.add_argument("--clips", type=int, default=16384)
    parser.add_argument("--dtype", default="float16", choices=["float16", "float32"])
    parser.add_argument("--workers", type=int, default=8)
    parser.add_argument("--log-every", type=int, default=10)
    parser.add_argument("--device", default=None)
    parser.add_argument("--no-compile", action="store_true")
    parser.add_argument("--tiny", action="store_true", help="a tiny model: test this script on a CPU")
    parser.add_argument("--out", type=Path, default=Path("runs/gpu_train"))
    args = parser.parse_args(argv)
    results = run(args)
    device = torch.cuda.get_device_name() if torch.cuda.is_available() and args.device != "cpu" else "CPU"
    print_table(results, device)
    return 0


if __name__ == "__main__":
    sys.exit(main())
