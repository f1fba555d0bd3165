"""Symmetric InfoNCE with multi-positive targets, gathered across ranks (open_clip's ClipLoss idea).

Clips that share a text are positives of each other. The choice made here: the text side uses the
batch's UNIQUE texts. Pose -> text: each clip's row scores the U unique texts, target one-hot at its
own text. Text -> pose: each unique text's row scores all B clips, target spread evenly over the
clips with that text. Duplicate prompts are thus never false negatives, and when every text in the
batch differs (U = B) this is exactly CLIP's loss. A unique text's embedding is the mean of its
clips' text embeddings, renormalized (identical rows for a frozen tower; with a fine-tuned tower
and dropout the copies differ slightly, and every copy receives gradient).

Across ranks: `gather_features` collects pose/text embeddings and text ids from every rank, and
every rank computes the same global loss (B_global x U is small next to the encoders). Exactness
with DDP's gradient averaging, both flags tested against one process on the whole batch:
- gather_with_grad=True: the gather is differentiable (its backward sums every rank's gradient),
  so each rank's local gradient is world_size x the single-process one; DDP's mean undoes that.
- gather_with_grad=False: a plain all_gather whose own slice is replaced by the local tensor, so
  only local rows carry gradient; the loss scales the gradient (not the value) of the local
  embeddings by world_size before the gather (not the logit scale's: every rank sees all of it).
Local batches may differ in size (a bucketing sampler's last batch): with `pad_to` set to the
largest local batch, rows are padded to it with text id -1 for the gather and dropped after it.

`vocabulary_loss` is a second pose -> text term (`train.vocabulary_loss` weighs it): each clip
against every prompt of its sign language, as the lookup scores it. It needs every prompt's text
embedding per step, cheap only with a frozen language tower (its pooled features are cached), and
it stays per rank: DDP's gradient mean is then the global mean.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def gather_features(pose: torch.Tensor, text: torch.Tensor, text_ids: torch.Tensor, *,
                    rank: int = 0, world_size: int = 1, gather_with_grad: bool = True,
                    pad_to: int | None = None) -> tuple:
    """Concatenate (pose [b, D], text [b, D], text_ids [b]) of all ranks in rank order.

    Every rank must pass the same number of rows, or `pad_to` >= every rank's row count."""
    if world_size == 1:
        return pose, text, text_ids
    import torch.distributed as dist

    padded = pad_to is not None
    if padded:
        extra = pad_to - len(text_ids)
        if extra < 0:
            raise ValueError(f"gather_features: {len(text_ids)} rows exceed pad_to={pad_to}")
        pose, text = F.pad(pose, (0, 0, 0, extra)), F.pad(text, (0, 0, 0, extra))
        text_ids = F.pad(text_ids, (0, extra), value=-1)

    ids = [torch.empty_like(text_ids) for _ in range(world_size)]
    dist.all_gather(ids, text_ids.contiguous())
    if gather_with_grad:
        import torch.distributed.nn.functional as dist_nn

        all_pose = torch.cat(dist_nn.all_gather(pose), dim=0)
        all_text = torch.cat(dist_nn.all_gather(text), dim=0)
    else:
        poses = [torch.empty_like(pose) for _ in range(world_size)]
        texts = [torch.empty_like(text) for _ in range(world_size)]
        dist.all_gather(poses, pose.detach().contiguous())
        dist.all_gather(texts, text.detach().contiguous())
        poses[rank], texts[rank] = pose, text  # the own slice keeps its autograd graph
        all_pose, all_text = torch.cat(poses, dim=0), torch.cat(texts, dim=0)
    all_ids = torch.cat(ids, dim=0)
    if padded:
        real = all_ids >= 0
        return all_pose[real], all_text[real], all_ids[real]
    return all_pose, all_text, all_ids


def unique_texts(text: torch.Tensor, text_ids: torch.Tensor) -> tuple:
    """(unique text embeddings [U, D], each clip's column in them [B]): copies averaged, renormalized."""
    uniq, inverse = torch.unique(text_ids, return_inverse=True)
    sums = torch.zeros(len(uniq), text.shape[1], dtype=text.dtype, device=text.device)
    sums = sums.index_add(0, inverse, text)                                     # (U, D)
    return F.normalize(sums, dim=-1), inverse


def multi_positive_clip_loss(pose: torch.Tensor, text: torch.Tensor, text_ids: torch.Tensor,
                             logit_scale: torch.Tensor) -> torch.Tensor:
    """Symmetric InfoNCE of unit pose [B, D] vs per-clip unit text [B, D]; same id = positives."""
    texts, column = unique_texts(text, text_ids)
    logits = logit_scale * pose @ texts.T                                       # (B, U)
    pose_to_text = F.cross_entropy(logits, column)
    positives = F.one_hot(column, len(texts)).T.to(logits.dtype)                # (U, B)
    targets = positives / positives.sum(1, keepdim=True)
    text_to_pose = F.cross_entropy(logits.T, targets)                           # soft targets
    return (pose_to_text + text_to_pose) / 2


def vocabulary_loss(pose: torch.Tensor, vocabulary: torch.Tensor, text_ids: torch.Tensor,
                    groups: torch.Tensor, logit_scale: torch.Tensor, margin: float = 0.0) -> torch.Tensor:
    """Cross-entropy of unit pose [B, D] over every prompt [N, D] of its own group (sign language).

    The lookup's own task: each step meets all of its alphabet's look-alikes (A against G, I, S),
    not only those its batch happens to hold. A `margin` (CosFace's) is taken off the right prompt's
    cosine: a clip is only done when it beats its nearest look-alike by that much."""
    cosine = pose @ vocabulary.T                                                # (B, N)
    if margin:
        cosine = cosine - margin * F.one_hot(text_ids, cosine.shape[1]).to(cosine.dtype)
    logits = logit_scale * cosine
    other = groups[text_ids][:, None] != groups[None, :]
    return F.cross_entropy(logits.masked_fill(other, float("-inf")), text_ids)


class ClipLoss(nn.Module):
    """The training loss; `rank`/`world_size` come from the caller, never from the environment."""

    def __init__(self, *, rank: int = 0, world_size: int = 1, gather_with_grad: bool = True,
                 pad_to: int | None = None):
        super().__init__()
        self.pad_to = pad_to
        self.rank = rank
        self.world_size = world_size
        self.gather_with_grad = gather_with_grad

    def forward(self, pose: torch.Tensor, text: torch.Tensor, text_ids: torch.Tensor,
                logit_scale: torch.Tensor) -> torch.Tensor:
        # the similarity matrix and softmax in fp32 whatever the towers ran in (bf16 autocast)
        pose, text = pose.float(), text.float()
        if self.world_size > 1 and not self.gather_with_grad:
            pose, text = _scale_grad(pose, self.world_size), _scale_grad(text, self.world_size)
        all_pose, all_text, all_ids = gather_features(
            pose, text, text_ids, rank=self.rank, world_size=self.world_size,
            gather_with_grad=self.gather_with_grad, pad_to=self.pad_to)
        return multi_positive_clip_loss(all_pose, all_text, all_ids, logit_scale.float())


def _scale_grad(x: torch.Tensor, factor: float) -> torch.Tensor:
    """The same values (x - x.detach() is exactly 0) with the gradient multiplied by `factor`."""
    return x + (factor - 1) * (x - x.detach())
