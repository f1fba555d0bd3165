"""Ranks and devices in one place: read torchrun's variables once, start the process group.

Under `torchrun`, RANK / WORLD_SIZE / LOCAL_RANK (and MASTER_ADDR / MASTER_PORT) are set; without
them this is one process. GPUs use NCCL and one device per local rank; CPUs use gloo. Only rank 0
logs and saves (`is_master`); shared decisions are broadcast from it (`broadcast_object`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch

from signclip.runtime.errors import SignclipError


@dataclass(frozen=True)
class DistInfo:
    rank: int = 0
    local_rank: int = 0
    world_size: int = 1
    device: str = "cpu"          # "cpu" or "cuda:N"
    backend: str | None = None   # "nccl" / "gloo" when a process group was started

    @property
    def is_master(self) -> bool:
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.world_size > 1


def env_ranks(env=None) -> tuple:
    """(rank, local_rank, world_size) from torchrun's variables; (0, 0, 1) without them."""
    env = os.environ if env is None else env
    try:
        rank = int(env.get("RANK", 0))
        local_rank = int(env.get("LOCAL_RANK", 0))
        world_size = int(env.get("WORLD_SIZE", 1))
    except ValueError as e:
        raise SignclipError(f"RANK/LOCAL_RANK/WORLD_SIZE must be integers ({e})") from e
    if world_size < 1 or not 0 <= rank < world_size:
        raise SignclipError(f"bad torchrun ranks: RANK={rank} WORLD_SIZE={world_size}")
    return rank, local_rank, world_size


def resolve_device(device: str | None, local_rank: int = 0) -> str:
    """`None` picks the local rank's GPU when there is one, else the CPU."""
    if device is None:
        return f"cuda:{local_rank}" if torch.cuda.is_available() else "cpu"
    if device == "cuda":
        device = f"cuda:{local_rank}"
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise SignclipError(f"device {device!r} asked for, but torch sees no CUDA GPU; use --device cpu")
    if not (device == "cpu" or device.startswith("cuda")):
        raise SignclipError(f"unknown device {device!r}; valid: cpu, cuda, cuda:N")
    return device


def init_distributed(device: str | None = None, env=None) -> DistInfo:
    """Start the process group when launched by torchrun (NCCL on GPU, gloo on CPU)."""
    rank, local_rank, world_size = env_ranks(env)
    device = resolve_device(device, local_rank)
    if world_size == 1:
        return DistInfo(rank, local_rank, 1, device, None)
    import torch.distributed as dist

    backend = "nccl" if device.startswith("cuda") else "gloo"
    if device.startswith("cuda"):
        torch.cuda.set_device(torch.device(device))
    if not dist.is_initialized():
        dist.init_process_group(backend=backend, rank=rank, world_size=world_size)
    return DistInfo(rank, local_rank, world_size, device, backend)


def broadcast_object(obj, info: DistInfo):
    """Rank 0's `obj` on every rank."""
    if not info.distributed:
        return obj
    import torch.distributed as dist

    box = [obj]
    dist.broadcast_object_list(box, src=0)
    return box[0]


def any_rank(flag: bool, info: DistInfo) -> bool:
    """True on every rank when it is True on any (so that all ranks stop at the same step)."""
    if not info.distributed:
        return flag
    import torch.distributed as dist

    t = torch.tensor([1.0 if flag else 0.0], device=info.device)
    dist.all_reduce(t, op=dist.ReduceOp.MAX)
    return bool(t.item())


def barrier(info: DistInfo) -> None:
    if info.distributed:
        import torch.distributed as dist

        dist.barrier()


def shutdown(info: DistInfo) -> None:
    if info.distributed:
        import torch.distributed as dist

        if dist.is_initialized():
            dist.destroy_process_group()
