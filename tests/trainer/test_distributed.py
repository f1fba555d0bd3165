"""Two gloo processes on halves of a batch give the loss and gradients of one process on all of it."""

import dataclasses
import socket

import pytest
import torch
from safetensors.torch import load_file, save_file

from signclip.runtime.errors import SignclipError
from signclip.trainer.config import ModelCfg, PoseTowerCfg, TextTowerCfg
from signclip.trainer.distributed import DistInfo, env_ranks, init_distributed, resolve_device
from signclip.trainer.loss import ClipLoss
from signclip.trainer.model import SignCLIP
from signclip.trainer.text_inputs import TextInputs
from signclip.trainer.train import forward_batch

BATCH, FRAMES, TEXTS, TOKENS = 8, 12, 5, 6
# text 0 and 1 occur on both ranks: the multi-positive targets cross the rank boundary
TEXT_IDS = torch.tensor([0, 1, 2, 0, 1, 3, 0, 4])
# (name, gather_with_grad, pad_to, clips on rank 0): equal halves both ways, and a 5 + 3 split
VARIANTS = [("grad", True, None, 4), ("nograd", False, None, 4), ("ragged", True, 5, 5)]


def _tiny_cfg() -> ModelCfg:
    # a fine-tuned (not frozen) random text tower, so its gradients cross ranks too; dropout off
    pose = PoseTowerCfg(width=16, layers=1, heads=2, mlp_ratio=2.0, dropout=0.0, max_frames=FRAMES)
    text = TextTowerCfg(pretrained=None, hidden=16, layers=1, heads=2, intermediate=32, frozen=False)
    return dataclasses.replace(ModelCfg(), embed_dim=8, pose=pose, text=text)


def _inputs():
    g = torch.Generator().manual_seed(1)
    poses = torch.randn(BATCH, FRAMES, 609, generator=g)
    lengths = torch.randint(3, FRAMES + 1, (BATCH,), generator=g)
    mask = torch.arange(FRAMES)[None] < lengths[:, None]
    poses = poses * mask[..., None]
    ids = torch.randint(1000, 2000, (TEXTS, TOKENS), generator=g)
    attention = (torch.arange(TOKENS)[None] < torch.tensor([6, 3, 4, 2, 5])[:, None]).long()
    return poses, mask, TextInputs(input_ids=ids, attention_mask=attention)


def _model() -> SignCLIP:
    torch.manual_seed(0)
    model = SignCLIP(_tiny_cfg())
    return model.eval()  # BERT's dropout off: the comparison must be deterministic


def _loss_and_grads(model, net, poses, mask, ids, text, loss_fn) -> dict:
    pose, txt, scale, _ = forward_batch(net, poses, mask, ids, text)
    loss = loss_fn(pose, txt, ids, scale)
    loss.backward()
    out = {f"grad/{k}": p.grad.clone() for k, p in model.named_parameters() if p.grad is not None}
    out["loss"] = loss.detach().reshape(1)
    return out


def _worker(rank: int, world_size: int, port: int, out_dir: str) -> None:
    import torch.distributed as dist
    from torch.nn.parallel import DistributedDataParallel

    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank,
                            world_size=world_size)
    try:
        poses, mask, text = _inputs()
        for name, with_grad, pad_to, split in VARIANTS:
            part = slice(0, split) if rank == 0 else slice(split, BATCH)
            model = _model()
            ddp = DistributedDataParallel(model)  # averages gradients across ranks, as in training
            loss_fn = ClipLoss(rank=rank, world_size=world_size, gather_with_grad=with_grad,
                               pad_to=pad_to)
            result = _loss_and_grads(model, ddp, poses[part], mask[part], TEXT_IDS[part], text, loss_fn)
            save_file(result, f"{out_dir}/rank{rank}_{name}.safetensors")
    finally:
        dist.destroy_process_group()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_two_gloo_processes_equal_one_process_on_the_whole_batch(tmp_path):
    import torch.multiprocessing as mp

    mp.spawn(_worker, args=(2, _free_port(), str(tmp_path)), nprocs=2, join=True)
    poses, mask, text = _inputs()
    model = _model()
    reference = _loss_and_grads(model, model, poses, mask, TEXT_IDS, text, ClipLoss())
    assert len([k for k in reference if k.startswith("grad/text.bert")]) > 10
    for variant, *_ in VARIANTS:
        for rank in (0, 1):
            got = load_file(str(tmp_path / f"rank{rank}_{variant}.safetensors"))
            assert got.keys() == reference.keys()
            for name, value in reference.items():
                assert torch.allclose(got[name], value, atol=1e-5, rtol=0), (variant, rank, name)


def test_env_ranks_reads_torchrun_variables():
    assert env_ranks({}) == (0, 0, 1)
    assert env_ranks({"RANK": "3", "LOCAL_RANK": "1", "WORLD_SIZE": "4"}) == (3, 1, 4)
    with pytest.raises(SignclipError, match="RANK=4 WORLD_SIZE=4"):
        env_ranks({"RANK": "4", "WORLD_SIZE": "4"})
    with pytest.raises(SignclipError, match="integers"):
        env_ranks({"RANK": "x"})


def test_one_process_starts_no_group_and_checks_the_device():
    info = init_distributed("cpu", env={})
    assert info == DistInfo(0, 0, 1, "cpu", None) and info.is_master and not info.distributed
    with pytest.raises(SignclipError, match="valid: cpu, cuda"):
        resolve_device("tpu")
    if not torch.cuda.is_available():
        with pytest.raises(SignclipError, match="no CUDA GPU"):
            resolve_device("cuda")
