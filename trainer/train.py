"""The training loop: one process or many under torchrun, CPU or GPU, with an exact resume.

`train(run_cfg, data, out_dir)` reads clips from a data source (a manifest through the packed
cache, or the `synthetic` source), optimizes the symmetric multi-positive InfoNCE (plus, weighed by
`train.vocabulary_loss`, each clip against its whole language's prompts) with AdamW, warm-up +
cosine, gradient clipping and (on GPU) bf16 autocast, and writes to `out_dir`:

    checkpoint/               the latest checkpoint (safetensors + JSON, no pickle)
    checkpoints/step_00500/   one every `train.checkpoint_every` steps
    metrics.csv               step, loss, lr, logit_scale, clips_per_s, data_wait
    curve.png                 the training curve, redrawn at each checkpoint and at the end

Exact resume: the lr is a pure function of the step, dropout's RNG is reseeded from
(seed, rank, step) before every step and the loader from (seed, epoch) before every epoch, and the
checkpoint stores the step, the epoch and the batches already taken from it; so k steps + resume
to N gives the same losses as N steps straight. `steps` is where this call stops; the schedule
always spans the config's `train.steps`.
"""

from __future__ import annotations

import signal
import time
from dataclasses import dataclass, field
from pathlib import Path

import torch

from signclip.runtime.errors import SignclipError

from .checkpoint import load_checkpoint, save_checkpoint
from .config import RunCfg, to_dict
from .distributed import DistInfo, any_rank, barrier, init_distributed, shutdown
from .loss import ClipLoss, vocabulary_loss
from .metrics_log import append_metrics, plot_curve, truncate_metrics
from .model import SignCLIP
from .schedule import lr_at
from .sources import DataSource, open_source
from .text_inputs import TextInputs, build_text_inputs

LATEST = "checkpoint"


@dataclass
class TrainResult:
    out_dir: Path
    step: int                                   # global step reached
    losses: list = field(default_factory=list)  # one per step run in this call
    checkpoint: Path | None = None
    clips_per_s: float = 0.0                    # global clips per second, first step excluded
    data_wait: float = 0.0                      # share of loop time spent waiting for batches
    peak_memory_mb: float = 0.0                 # GPU: max allocated; CPU: process max RSS
    interrupted: bool = False


def language_groups(languages, device) -> torch.Tensor:
    """Each prompt's sign language as a number: the prompts `vocabulary_loss` scores a clip against."""
    numbers: dict = {}
    return torch.tensor([numbers.setdefault(lang, len(numbers)) for lang in languages], device=device)


def forward_batch(model, poses, mask, text_ids, text: TextInputs, vocabulary: bool = False) -> tuple:
    """(pose [b, D], per-clip text [b, D], logit scale, every prompt's text [N, D] or None): the text
    tower runs once per unique prompt, or once per prompt of the whole vocabulary."""
    if vocabulary:
        every = torch.arange(len(text.groups), device=text_ids.device)
        emb = model(poses, mask, **text.for_prompts(every))
        return emb.pose, emb.text[text_ids], emb.logit_scale, emb.text
    uniq, inverse = torch.unique(text_ids, return_inverse=True)
    emb = model(poses, mask, **text.for_prompts(uniq))
    return emb.pose, emb.text[inverse], emb.logit_scale, None


def train_step(net, optimizer, loss_fn, batch: tuple, text: TextInputs, *, lr: float,
               grad_clip: float, autocast, vocabulary_weight: float = 0.0,
               vocabulary_margin: float = 0.0) -> torch.Tensor:
    """One optimizer step on (poses, mask, text_ids) already on the device; the loss, not synced."""
    poses, mask, ids = batch
    for group in optimizer.param_groups:
        group["lr"] = lr
    with autocast:
        pose, txt, scale, every = forward_batch(net, poses, mask, ids, text, vocabulary_weight > 0)
    loss = loss_fn(pose, txt, ids, scale)
    if every is not None:
        loss = loss + vocabulary_weight * vocabulary_loss(pose.float(), every.float(), ids, text.groups,
                                                          scale.float(), vocabulary_margin)
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    if grad_clip > 0:
        torch.nn.utils.clip_grad_norm_(net.parameters(), grad_clip)
    optimizer.step()
    return loss.detach()


# ----------------------------------------------------------------------------------- optimizer


def _no_decay(name: str, p: torch.Tensor) -> bool:
    """Norms, biases, the logit scale and position tables are not decayed (CLIP's practice)."""
    return p.ndim < 2 or name.endswith(".pos") or "position_embeddings" in name or "logit_scale" in name


def make_optimizer(model: SignCLIP, cfg: RunCfg) -> torch.optim.AdamW:
    decay, keep = [], []
    for name, p in model.named_parameters():
        if p.requires_grad:
            (keep if _no_decay(name, p) else decay).append(p)
    groups = [{"params": decay, "weight_decay": cfg.train.weight_decay},
              {"params": keep, "weight_decay": 0.0}]
    return torch.optim.AdamW(groups, lr=cfg.train.lr, betas=(0.9, 0.98), eps=1e-6)


def optimizer_state(opt: torch.optim.Optimizer) -> tuple:
    """(JSON-able param groups, flat tensors) for save_checkpoint: no pickle."""
    sd = opt.state_dict()
    tensors = {f"optim/{pid}/{key}": value for pid, s in sd["state"].items()
               for key, value in s.items() if torch.is_tensor(value)}
    return sd["param_groups"], tensors


def load_optimizer_state(opt: torch.optim.Optimizer, groups: list, tensors: dict) -> None:
    state: dict = {}
    for name, value in tensors.items():
        if name.startswith("optim/"):
            _, pid, key = name.split("/", 2)
            state.setdefault(int(pid), {})[key] = value
    groups = [{**g, "betas": tuple(g["betas"])} if "betas" in g else g for g in groups]
    opt.load_state_dict({"state": state, "param_groups": groups})


def _peak_memory_mb(device: str) -> float:
    if device.startswith("cuda"):
        return torch.cuda.max_memory_allocated(torch.device(device)) / 2**20
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


# ---------------------------------------------------------------------------------------- loop


def _seed(seed: int, stream: int, counter: int) -> int:
    """A torch seed for (run seed, stream, step or epoch): resuming needs no saved RNG state."""
    return (seed * 1_000_003 + stream * 2_147_483_647 + counter) % (2**63 - 1)


class _StopFlag:
    """Ctrl-C asks the loop to stop after the current step (a second Ctrl-C interrupts at once)."""

    def __init__(self):
        self.stop = False
        self._previous = None

    def __enter__(self):
        try:
            self._previous = signal.signal(signal.SIGINT, self._handle)
        except ValueError:  # not the main thread: no handler, Ctrl-C behaves as usual
            self._previous = None
        return self

    def _handle(self, signum, frame):
        if self.stop:
            raise KeyboardInterrupt
        self.stop = True

    def __exit__(self, *exc):
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)


def _check(cfg: RunCfg, info: DistInfo) -> None:
    t = cfg.train
    if t.batch_size < 2 or t.batch_size % info.world_size:
        raise SignclipError(f"train.batch_size={t.batch_size} must be >= 2 and divisible by the "
                            f"{info.world_size} processes")
    if t.precision not in ("fp32", "bf16"):
        raise SignclipError(f"train.precision={t.precision!r}; valid: fp32, bf16")
    if t.steps < 1 or t.checkpoint_every < 1 or t.log_every < 1:
        raise SignclipError("train.steps, train.checkpoint_every and train.log_every must be >= 1")
    if t.vocabulary_loss < 0:
        raise SignclipError(f"train.vocabulary_loss={t.vocabulary_loss} must be >= 0")
    if not 0 <= t.vocabulary_margin < 1:
        raise SignclipError(f"train.vocabulary_margin={t.vocabulary_margin}: a cosine margin from 0 "
                            f"to below 1")
    if t.vocabulary_loss > 0 and not cfg.model.text.frozen:
        raise SignclipError("train.vocabulary_loss needs a frozen text tower (model.text.frozen: true): "
                            "it scores every prompt at every step")


def _resume_state(out_dir: Path, cfg: RunCfg, device: str, pooled_dim: int | None):
    """(model, state, tensors) from out_dir/checkpoint, or None when there is none."""
    folder = out_dir / LATEST
    if not folder.exists():
        return None
    model, saved, state, tensors = load_checkpoint(folder, map_location=device, text_pooled_dim=pooled_dim)
    if to_dict(saved.model) != to_dict(cfg.model):
        raise SignclipError(f"{folder}: its model config differs from the one given; resume with the "
                            f"same config or use another --out")
    return model, state, tensors


def train(run_cfg: RunCfg, data_manifest, out_dir, *, steps: int | None = None, resume: bool = False,
          device: str | None = None, text_features=None) -> TrainResult:
    """Train until global step `steps` (default `train.steps`) on every row of `data_manifest` (`signclip
    train` selects one split first); see the module docstring. `text_features` (a TextFeatures)
    stands in for the text tower's tokenizer and frozen weights."""
    info = init_distributed(device)
    try:
        return _train(run_cfg, data_manifest, Path(out_dir), steps, resume, info, text_features)
    finally:
        shutdown(info)


def _train(cfg: RunCfg, data, out_dir: Path, steps, resume: bool, info: DistInfo,
           features=None) -> TrainResult:
    _check(cfg, info)
    t = cfg.train
    stop_at = t.steps if steps is None else steps
    device = torch.device(info.device)
    if info.is_master:
        out_dir.mkdir(parents=True, exist_ok=True)
    barrier(info)
    source: DataSource = open_source(data, cfg, out_dir, info)

    torch.manual_seed(t.seed)  # the same initial weights on every rank
    pooled_dim = features.pooled_dim(cfg.model.text) if features is not None else None
    resumed = _resume_state(out_dir, cfg, info.device, pooled_dim) if resume else None
    model = resumed[0] if resumed else SignCLIP(cfg.model, text_pooled_dim=pooled_dim)
    model = model.to(device)
    state = resumed[1] if resumed else {}
    step, epoch, taken = state.get("step", 0), state.get("epoch", 0), state.get("batch_in_epoch", 0)
    if resume and not resumed and info.is_master:
        print(f"signclip train: no checkpoint in {out_dir}; starting from step 0")
    if features is not None:
        text_inputs = features.inputs(source.texts, cfg.model.text, device)
    else:
        text_inputs = build_text_inputs(model, source.texts, device)
    text_inputs.groups = language_groups(source.text_languages, device)
    credits = getattr(source, "credits", [])   # photo sets whose license asks for credit
    optimizer = make_optimizer(model, cfg)
    if resumed:
        load_optimizer_state(optimizer, state["optimizer"], resumed[2])
    if info.is_master and resumed:
        truncate_metrics(out_dir, step)

    net = model
    if t.compile and device.type == "cuda":  # inductor on a CPU takes minutes to compile
        net.compile()
    if info.distributed:
        from torch.nn.parallel import DistributedDataParallel

        net = DistributedDataParallel(net, device_ids=[device.index] if device.type == "cuda" else None)
    local_batch = t.batch_size // info.world_size
    # pad_to: a bucketing sampler's last batch of an epoch may be smaller on one rank
    loss_fn = ClipLoss(rank=info.rank, world_size=info.world_size, pad_to=local_batch)
    autocast = torch.autocast("cuda", dtype=torch.bfloat16,
                              enabled=device.type == "cuda" and t.precision == "bf16")

    result = TrainResult(out_dir, step)
    pending = []                    # losses not yet read back from the device
    timed_clips, timed_s, wait_s, start_step = 0, 0.0, 0.0, step
    interval_start, interval_clips, interval_wait = time.perf_counter(), 0, 0.0

    def save() -> Path | None:
        if not info.is_master:
            return None
        groups, tensors = optimizer_state(optimizer)
        meta = {"step": step, "epoch": epoch, "batch_in_epoch": taken, "seed": t.seed,
                "world_size": info.world_size, "optimizer": groups, "data_credits": credits,
                "rng": "reseeded per step from (seed, rank, step); the loader per (seed, epoch)"}
        path = save_checkpoint(out_dir / "checkpoints" / f"step_{step:05d}", model, cfg, meta, tensors)
        save_checkpoint(out_dir / LATEST, model, cfg, meta, tensors)
        plot_curve(out_dir)
        return path

    def flush():
        losses = torch.stack(pending).tolist() if pending else []
        pending.clear()
        result.losses.extend(losses)
        return losses

    progress = None
    if info.is_master:
        from tqdm import tqdm

        progress = tqdm(total=stop_at, initial=step, desc="train", unit="step", dynamic_ncols=True)
    model.train()
    with _StopFlag() as flag:
        while step < stop_at and not result.interrupted:
            torch.manual_seed(_seed(t.seed, 0, epoch))  # the loader's workers draw from this
            batches = iter(source.loader(epoch=epoch, batch_size=local_batch, rank=info.rank,
                                         world_size=info.world_size, seed=t.seed, skip=taken))
            exhausted = False
            while step < stop_at:
                torch.manual_seed(_seed(t.seed, info.rank + 1, step))  # dropout
                began = time.perf_counter()
                batch = next(batches, None)
                waited = time.perf_counter() - began
                if batch is None:
                    exhausted = True
                    break
                taken += 1
                poses = batch.poses.to(device, non_blocking=True)
                mask = batch.mask.to(device, non_blocking=True)
                ids = batch.text_ids.to(device, non_blocking=True)
                lr = lr_at(step, base_lr=t.lr, warmup_steps=t.warmup_steps, total_steps=t.steps)
                loss = train_step(net, optimizer, loss_fn, (poses, mask, ids), text_inputs, lr=lr,
                                  grad_clip=t.grad_clip, autocast=autocast,
                                  vocabulary_weight=t.vocabulary_loss,
                                  vocabulary_margin=t.vocabulary_margin)
                step += 1
                pending.append(loss)
                if step > start_step + 1:  # the first step pays for compilation and warm-up
                    interval_clips += len(ids) * info.world_size
                    interval_wait += waited
                if step % t.log_every == 0 or step == stop_at:
                    losses = flush()
                    now = time.perf_counter()
                    elapsed = now - interval_start
                    rate = interval_clips / elapsed if interval_clips else 0.0
                    if interval_clips:
                        timed_clips += interval_clips
                        timed_s += elapsed
                        wait_s += interval_wait
                    row = [step, losses[-1], lr, model.logit_scale().item(), rate,
                           interval_wait / elapsed if interval_clips else 0.0]
                    interval_start, interval_clips, interval_wait = now, 0, 0.0
                    if info.is_master:
                        append_metrics(out_dir, [row])
                        progress.set_postfix(loss=f"{row[1]:.4f}", clips_s=f"{rate:.0f}")
                if progress is not None:
                    progress.update(1)
                if step % t.checkpoint_every == 0 and step < stop_at:
                    result.checkpoint = save() or result.checkpoint
                    interval_start = time.perf_counter()  # saving is not training time
                if step == start_step + 1:
                    interval_start = time.perf_counter()
                if any_rank(flag.stop, info):
                    result.interrupted = True
                    break
            if exhausted:  # the next epoch starts from its first batch
                if taken == 0:
                    raise SignclipError("the data source yields no batch: fewer clips than "
                                        f"batch_size={t.batch_size}?")
                epoch, taken = epoch + 1, 0
    if pending:  # an interrupt between two log steps
        losses = flush()
        if info.is_master:
            append_metrics(out_dir, [[step, losses[-1], optimizer.param_groups[0]["lr"],
                                      model.logit_scale().item(), 0.0, 0.0]])
    if progress is not None:
        progress.close()
    result.step = step
    if step > start_step:
        result.checkpoint = save() or result.checkpoint
    barrier(info)
    result.clips_per_s = timed_clips / timed_s if timed_s else 0.0
    result.data_wait = wait_s / timed_s if timed_s else 0.0
    result.peak_memory_mb = _peak_memory_mb(info.device)
    if result.interrupted and info.is_master:
        print(f"signclip train: interrupted at step {step}; resume with --resume")
    return result
