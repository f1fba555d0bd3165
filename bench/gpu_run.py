"""Training on one GPU through the real loader: throughput, then the lexicon (bench/gpu_run.sh runs it).

    python bench/gpu_run.py --out $OUT                               # on the GPU machine: bf16
    python bench/gpu_run.py --device cpu --steps 5 --lexicon-steps 5  # the same path on a CPU

Part 1, throughput. A synthetic packed cache (float16) with Spreadthesign's length distribution,
trained through `train()` and `make_loader` (augmentation on, worker processes) in three runs:

    paper-base, bucketed <= 128       clips resampled to at most 128 frames, batches of similar length
    paper-base, not bucketed <= 256   random clips padded to the longest (the reference pads to 256)
    edge-small, bucketed <= 128

each for --steps steps or its time budget, at one global batch. Printed: steady clips/s (the first
third of the steps left out: compilation, warm-up), the share of the loop's time spent waiting for
the next batch (the loop reads the loss back every step, so the GPU idles then), peak GPU memory.

Part 2, the lexicon, when --data holds it (`make gpu-data`: its packed cache in float16 as one
archive, unpacked into --scratch first; the text features of its prompts; the CPU model's tables).
paper-base's pose tower with edge-small's frozen MiniLM text tower (its precomputed features) trains
on the training split for about --lexicon-seconds (steps sized from a measured rate), then the
held-out tables of `cache_eval.py` are printed beside the CPU model's (computed by the same code when
the data was built).

Results: OUT/results.json, OUT/tables.md and each run's metrics.csv; checkpoints stay in --scratch.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import os
import shutil
import signal
import sys
import threading
import time
from pathlib import Path

import torch

from signclip.runtime.atomic import atomic_write_bytes
from signclip.trainer.cache import PackedCache, build_synthetic_cache
from signclip.trainer.cache_archive import read_archive
from signclip.trainer.cache_eval import GROUPS, cache_rows, held_out_tables, split_indices, subset_cache
from signclip.trainer.checkpoint import load_checkpoint
from signclip.trainer.config import PoseTowerCfg, RunCfg, TextTowerCfg, load_config
from signclip.trainer.metrics_log import read_metrics
from signclip.trainer.sources import PackedSource
from signclip.trainer.text_features import TextFeatures
from signclip.trainer.train import train

BATCHES_PER_EPOCH = 36   # the synthetic cache holds whole batches: no odd-sized last batch to recompile


@dataclasses.dataclass(frozen=True)
class Mode:
    name: str
    config: str
    max_frames: int
    pool_batches: int    # length bucketing over pools of this many batches; 1: none
    budget_s: float      # on a GPU; the run stops after this even when steps remain


MODES = (
    Mode("paper-base, bucketed <= 128", "paper-base", 128, 50, 110),
    Mode("paper-base, not bucketed <= 256", "paper-base", 256, 1, 100),
    Mode("edge-small, bucketed <= 128", "edge-small", 128, 50, 45),
)


# ------------------------------------------------------------------------------------ helpers


@contextlib.contextmanager
def time_budget(seconds: float):
    """Ask the training loop to stop after `seconds`, the way Ctrl-C does (after the current step)."""
    timer = threading.Timer(seconds, os.kill, (os.getpid(), signal.SIGINT))
    timer.daemon = True
    timer.start()
    try:
        yield
    except KeyboardInterrupt:  # it came outside the loop (set-up or the last save): metrics still count
        print("time budget reached outside the training loop; its metrics so far are kept", flush=True)
    finally:
        timer.cancel()


def steady(rows: list, batch: int, skip: int) -> tuple:
    """(clips/s, data-wait share) over the metric rows after step `skip`, weighted by time."""
    clips = seconds = waited = 0.0
    previous = None
    for r in rows:
        if previous is not None and r["step"] > skip and r["clips_per_s"] > 0:
            n = (r["step"] - previous) * batch
            clips, seconds = clips + n, seconds + n / r["clips_per_s"]
            waited += r["data_wait"] * n / r["clips_per_s"]
        previous = r["step"]
    return (clips / seconds, waited / seconds) if seconds else (0.0, 0.0)


def peak_memory_mb(device: str) -> float:
    if device.startswith("cuda"):
        return torch.cuda.max_memory_allocated() / 2**20
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def tiny(cfg: RunCfg) -> RunCfg:
    """The config's code path at a CPU check's size: tiny pose tower, tiny text tower if it trains."""
    pose = PoseTowerCfg(width=16, layers=1, heads=2, mlp_ratio=2.0, max_frames=cfg.model.pose.max_frames)
    text = cfg.model.text if cfg.model.text.frozen else TextTowerCfg(
        pretrained=None, hidden=16, layers=1, heads=2, intermediate=32, frozen=False)
    return dataclasses.replace(cfg, model=dataclasses.replace(cfg.model, embed_dim=16, pose=pose, text=text))


def bench_config(cfg: RunCfg, args, *, steps: int, batch: int, **train) -> RunCfg:
    """The config with this benchmark's schedule: no checkpoints but the last, workers, logging."""
    cfg = tiny(cfg) if args.tiny else cfg
    t = dataclasses.replace(cfg.train, steps=steps, batch_size=batch, log_every=max(1, steps // 15),
                            checkpoint_every=10**9, num_workers=args.workers,
                            warmup_steps=max(1, min(cfg.train.warmup_steps, steps // 4)), **train)
    return dataclasses.replace(cfg, train=t)


def slug(name: str) -> str:
    return "".join(c if c.isalnum() else "-" for c in name).strip("-").replace("--", "-")


def keep_metrics(run_dir: Path, out: Path, name: str) -> None:
    for file in ("metrics.csv", "curve.png"):
        if (run_dir / file).is_file():
            shutil.copy(run_dir / file, out / f"{name}.{file}")


# ------------------------------------------------------------------------------- throughput


def loader_workers(args, batch: int, frames: int) -> int:
    """args.workers, or fewer where /dev/shm is small: each worker keeps 4 float32 batches there
    (a container's default 64 MB would crash the loader rather than slow it)."""
    try:
        st = os.statvfs("/dev/shm")
    except OSError:
        return args.workers
    free = st.f_bavail * st.f_frsize
    fit = int(free / 2 // (4 * batch * frames * 609 * 4))
    if fit < args.workers:
        print(f"/dev/shm has {free / 2**30:.1f} GiB free: {fit} loader workers instead of {args.workers}")
    return min(args.workers, fit)


def throughput_run(mode: Mode, args, cache, features: TextFeatures) -> dict:
    cuda = args.device.startswith("cuda")
    workers = loader_workers(args, args.batch, mode.max_frames)
    cfg = bench_config(load_config(mode.config), args, steps=args.steps, batch=args.batch)
    source = PackedSource(cache, augment=True, num_workers=workers, max_frames=mode.max_frames,
                          pin_memory=cuda, pool_batches=mode.pool_batches)
    run_dir = args.scratch / slug(mode.name)
    shutil.rmtree(run_dir, ignore_errors=True)
    if cuda:
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()
    began = time.perf_counter()
    with time_budget(mode.budget_s * args.budget_scale):
        train(cfg, source, run_dir, device=args.device, text_features=features)
    rows = read_metrics(run_dir)
    steps = int(rows[-1]["step"]) if rows else 0
    rate, wait = steady(rows, args.batch, steps // 3)
    keep_metrics(run_dir, args.out, slug(mode.name))
    shutil.rmtree(run_dir, ignore_errors=True)  # paper-base's checkpoints are gigabytes
    return dict(mode=mode.name, steps=steps, batch=args.batch, workers=workers, clips_per_s=rate,
                data_wait=wait, peak_mb=peak_memory_mb(args.device),
                loss_first=rows[0]["loss"] if rows else float("nan"),
                loss_last=rows[-1]["loss"] if rows else float("nan"), wall_s=time.perf_counter() - began)


def throughput(args, features: TextFeatures) -> list:
    began = time.perf_counter()
    clips = BATCHES_PER_EPOCH * args.batch
    # its prompts are those gpu_data.py computed the features of: "<en> <sgn> word 0", ...
    cache = build_synthetic_cache(clips, args.scratch / "synthetic", dtype="float16",
                                  texts=len(features.texts), progress=False)
    print(f"synthetic cache: {len(cache)} clips, mean {cache.lengths.mean():.0f} frames, "
          f"{time.perf_counter() - began:.0f} s", flush=True)
    results = []
    for mode in MODES:
        try:
            r = throughput_run(mode, args, cache, features)
            print(f"{mode.name}: {r['clips_per_s']:.0f} clips/s, data wait {r['data_wait']:.1%}, peak "
                  f"{r['peak_mb']:.0f} MB, {r['steps']} steps, {r['wall_s']:.0f} s", flush=True)
        except Exception as e:  # noqa: BLE001 - one failed run (memory, compilation) must not cost the others
            r = dict(mode=mode.name, error=failure(args, mode.name, e))
        results.append(r)
        save_results(args, throughput=results)
    return results


def throughput_table(results: list, device: str) -> str:
    base = results[1].get("clips_per_s") or 1.0  # paper-base not bucketed: the reference's way
    lines = [f"training through the real loader on {device}, global batch {results[0].get('batch')}",
             "| run | steps | clips/s | x not bucketed | data wait | peak MB | loss first | loss last "
             "| wall s |",
             "|---|---|---|---|---|---|---|---|---|"]
    for r in results:
        if "error" in r:
            lines.append(f"| {r['mode']} | failed: {r['error']} |")
            continue
        lines.append(f"| {r['mode']} | {r['steps']} | {r['clips_per_s']:.0f} | "
                     f"{r['clips_per_s'] / base:.2f} | {r['data_wait']:.1%} | {r['peak_mb']:.0f} | "
                     f"{r['loss_first']:.3f} | {r['loss_last']:.3f} | {r['wall_s']:.0f} |")
    return "\n".join(lines)


# ---------------------------------------------------------------------------------- lexicon


def lexicon_config(args, steps: int) -> RunCfg:
    """paper-base's pose tower with edge-small's frozen MiniLM text tower, on a few-minute schedule."""
    base, small = load_config("paper-base"), load_config("edge-small")
    model = dataclasses.replace(base.model, name="paper-base-lit", text=small.model.text)
    cfg = dataclasses.replace(base, model=model)
    return bench_config(cfg, args, steps=steps, batch=args.lexicon_batch, lr=args.lexicon_lr,
                        compile=False)


def measured_steps(args, source, features, seconds: float) -> int:
    """How many steps fit in `seconds`, from a short run's steady rate (eager: no compilation)."""
    probe = 30
    run_dir = args.scratch / "lexicon-probe"
    shutil.rmtree(run_dir, ignore_errors=True)
    train(lexicon_config(args, probe), source, run_dir, device=args.device, text_features=features)
    rate, _ = steady(read_metrics(run_dir), args.lexicon_batch, probe // 3)
    shutil.rmtree(run_dir, ignore_errors=True)
    return max(50, int(seconds * rate / args.lexicon_batch))


def lexicon(args) -> dict | None:
    folder, archive = args.data / "lexicon", args.data / "lexicon.npz"
    if (folder / "index.json").is_file():       # a cache folder as it is
        cache = PackedCache.open(folder)
    elif archive.is_file():                     # what travels: the cache's archive, unpacked here
        began = time.perf_counter()
        cache = read_archive(archive, args.scratch / "lexicon-cache")
        print(f"lexicon: {archive} ({archive.stat().st_size / 2**20:.1f} MiB) unpacked to {cache.root} "
              f"in {time.perf_counter() - began:.1f} s", flush=True)
    else:
        print(f"no lexicon cache in {args.data} (make gpu-data builds it): part 2 skipped", flush=True)
        return None
    began = time.perf_counter()
    features = TextFeatures.load(args.data / "lexicon_text.npz")
    train_idx, test_idx = split_indices(cache_rows(cache))
    train_cache = subset_cache(cache, train_idx, args.scratch / "lexicon-train")
    source = PackedSource(train_cache, augment=True, max_frames=256,
                          num_workers=loader_workers(args, args.lexicon_batch, 256),
                          pin_memory=args.device.startswith("cuda"))
    steps = args.lexicon_steps or measured_steps(args, source, features, args.lexicon_seconds)
    cfg = lexicon_config(args, steps)
    print(f"lexicon: {len(train_idx)} training clips, {len(test_idx)} test clips; {cfg.model.name} for "
          f"{steps} steps of {cfg.train.batch_size}", flush=True)
    run_dir = args.scratch / "lexicon"
    shutil.rmtree(run_dir, ignore_errors=True)
    with time_budget(1.5 * args.lexicon_seconds * args.budget_scale):
        train(cfg, source, run_dir, device=args.device, text_features=features)
    keep_metrics(run_dir, args.out, "lexicon")
    trained = time.perf_counter() - began
    model, *_ = load_checkpoint(run_dir / "checkpoint", map_location=args.device,
                                text_pooled_dim=features.pooled_dim(cfg.model.text))
    tables = held_out_tables(model.to(args.device), cache, features)
    reference = json.loads((args.data / "reference.json").read_text())
    rows = read_metrics(run_dir)
    tower = "tiny pose tower" if args.tiny else "paper-base pose tower"
    result = dict(model=f"{cfg.model.name} ({tower}, frozen MiniLM features) on {args.device}, "
                        f"{int(rows[-1]['step'])} steps of {cfg.train.batch_size}, lr {cfg.train.lr}",
                  train_s=trained, tables=tables, reference=reference)
    save_results(args, lexicon=result)
    return result


def lexicon_tables(result: dict) -> str:
    reference = result["reference"]
    lines = [f"held-out tables of this run's model: {result['model']}, trained {result['train_s']:.0f} s",
             f"beside the CPU model's: {reference['model']}",
             "within-language V2T: each clip's text ranked among its own sign language's prompts"]
    for group in GROUPS:
        ours, theirs = result["tables"].get(group, {}), reference["tables"].get(group, {})
        lines += ["", f"{group}:"]
        if not ours:
            lines.append("(no such clips in the carried data)")
            continue
        lines += ["| clips of | clips | R@1 | R@5 | CPU model R@1 | CPU model R@5 | chance R@1 "
                  "| chance R@5 |",
                  "|---|---|---|---|---|---|---|---|"]
        for name, m in ours.items():
            cpu = theirs.get(name, {})
            cpu_cells = (f"{cpu['R@1']:.3f} | {cpu['R@5']:.3f}" if cpu else "- | -")
            lines.append(f"| {name} | {m['clips']} | {m['R@1']:.3f} | {m['R@5']:.3f} | {cpu_cells} | "
                         f"{m['chance R@1']:.3f} | {m['chance R@5']:.3f} |")
    return "\n".join(lines)


# ------------------------------------------------------------------------------------- main


def failure(args, part: str, error: Exception) -> str:
    """Log a failed part's traceback to OUT/errors.log; its one-line summary for the tables."""
    import traceback

    with open(args.out / "errors.log", "a") as log:
        log.write(f"== {part}\n{traceback.format_exc()}\n")
    line = f"{type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}"[:300]
    print(f"{part}: FAILED: {line} (traceback in {args.out / 'errors.log'})", flush=True)
    return line


def save_results(args, **parts) -> None:
    """Merge `parts` into OUT/results.json now, so that a run cut short still leaves its numbers."""
    path = args.out / "results.json"
    results = json.loads(path.read_text()) if path.is_file() else {}
    results.update(parts)
    atomic_write_bytes(path, json.dumps(results, indent=2, default=float).encode())


def environment(args) -> dict:
    import numpy

    env = dict(python=sys.version.split()[0], torch=torch.__version__, numpy=numpy.__version__,
               cuda=torch.version.cuda, device=args.device, date=time.strftime("%Y-%m-%d %H:%M %Z"))
    if args.device.startswith("cuda"):
        p = torch.cuda.get_device_properties(0)
        env.update(gpu=p.name, gpu_memory_gib=round(p.total_memory / 2**30))
    return env


def parse(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda", help="cuda or cpu (default: cuda)")
    parser.add_argument("--data", type=Path, default=Path(".gpu/data"), help="bench/gpu_data.py's folder")
    parser.add_argument("--out", type=Path, default=Path("runs/gpu_run"))
    parser.add_argument("--scratch", type=Path, default=Path("runs/gpu_scratch"),
                        help="caches and checkpoints (not copied to --out)")
    parser.add_argument("--steps", type=int, default=150, help="steps per throughput run")
    parser.add_argument("--batch", type=int, default=None, help="global batch (cuda: 448, cpu: 8)")
    parser.add_argument("--workers", type=int, default=max(1, min(12, (os.cpu_count() or 2) - 2)))
    parser.add_argument("--lexicon-seconds", type=float, default=120.0)
    parser.add_argument("--lexicon-steps", type=int, default=None, help="default: what fits the seconds")
    parser.add_argument("--lexicon-batch", type=int, default=None, help="cuda: 128, cpu: 8")
    parser.add_argument("--lexicon-lr", type=float, default=2e-4)
    parser.add_argument("--budget-scale", type=float, default=None,
                        help="multiplies every time budget (cuda: 1, cpu: 100, i.e. none)")
    parser.add_argument("--static-compile", action="store_true",
                        help="torch.compile's default: static shapes first, recompiling as lengths change "
                             "(default here: dynamic from the start, one compilation per run)")
    parser.add_argument("--skip-throughput", action="store_true")
    parser.add_argument("--tiny", action="store_true",
                        help="tiny towers, the same code path: a check on a CPU (gpu_run.sh's DEVICE=cpu)")
    args = parser.parse_args(argv)
    cuda = args.device.startswith("cuda")
    args.batch = args.batch or (448 if cuda else 8)
    args.lexicon_batch = args.lexicon_batch or (128 if cuda else 8)
    args.budget_scale = args.budget_scale or (1.0 if cuda else 100.0)
    return args


def main(argv=None) -> int:
    args = parse(argv)
    mediapipe_before = "mediapipe" in sys.modules  # a test process may hold it from other tests
    if args.device.startswith("cuda") and not torch.cuda.is_available():
        print("gpu_run: torch sees no CUDA GPU; use --device cpu", file=sys.stderr)
        return 2
    if not args.static_compile:
        torch._dynamo.config.assume_static_by_default = False
    args.out.mkdir(parents=True, exist_ok=True)
    env = environment(args)
    save_results(args, environment=env)
    print(json.dumps(env), flush=True)
    tables, failed = [], False
    if not args.skip_throughput:
        results = throughput(args, TextFeatures.load(args.data / "synthetic_text.npz"))
        tables.append(throughput_table(results, env.get("gpu", "CPU")))
        failed = any("error" in r for r in results)
    try:
        result = lexicon(args)
        if result is not None:
            tables.append(lexicon_tables(result))
    except Exception as e:  # noqa: BLE001 - the throughput table above still gets printed
        tables.append(f"lexicon: failed: {failure(args, 'lexicon', e)}")
        failed = True
    if "mediapipe" in sys.modules and not mediapipe_before:
        tables.append("the training path imported mediapipe: the GPU machine has none")
        failed = True
    text = "\n\n".join(tables)
    atomic_write_bytes(args.out / "tables.md", (text + "\n").encode())
    print("\n" + text)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
