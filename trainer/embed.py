"""Embedding clips and texts with a torch SignCLIP model (evaluation, export parity, vocabularies)."""

from __future__ import annotations

import numpy as np
import torch

from signclip.runtime.model.encoders import mix_views, pad_batch  # the runtime's: torch sees what ONNX sees

from .model import SignCLIP, tokenizer_path


def embed_clips(model: SignCLIP, inputs: list, batch_size: int = 64, whole=None) -> np.ndarray:
    """Unit embeddings [N, D] of normalized clips, with the model's hand view mixed in as the runtime
    does; `whole`: the clips' own embeddings where already computed."""
    weight = model.cfg.normalization.hand_view
    return mix_views(lambda xs: _embed(model, xs, batch_size), list(inputs), weight, whole)


@torch.no_grad()
def _embed(model: SignCLIP, inputs: list, batch_size: int) -> np.ndarray:
    """One pose-tower embedding per input, batched by similar length."""
    model.eval()
    order = np.argsort([x.frames.shape[0] for x in inputs], kind="stable")
    out = np.zeros((len(inputs), model.cfg.embed_dim), np.float32)
    for start in range(0, len(inputs), batch_size):
        idx = order[start:start + batch_size]
        poses, mask = pad_batch([inputs[i] for i in idx], model.cfg.pose.max_frames)
        device = model.log_logit_scale.device
        out[idx] = model.pose(torch.from_numpy(poses).to(device),
                             torch.from_numpy(mask).to(device)).float().cpu().numpy()
    return out


def tokenizer(model: SignCLIP):
    """The `tokenizers` tokenizer the bundle ships, padded and truncated to the tower's max tokens."""
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(tokenizer_path(model.cfg.text)))
    tok.enable_truncation(model.cfg.text.max_tokens)
    tok.enable_padding(pad_id=0, pad_token="[PAD]")
    return tok


def tokenize(tok, texts: list) -> tuple:
    encodings = tok.encode_batch(list(texts))
    ids = torch.tensor([e.ids for e in encodings], dtype=torch.long)
    attention = torch.tensor([e.attention_mask for e in encodings], dtype=torch.long)
    return ids, attention


@torch.no_grad()
def embed_texts(model: SignCLIP, texts: list, batch_size: int = 256) -> np.ndarray:
    """Unit embeddings [N, D] of prompts."""
    model.eval()
    tok = tokenizer(model)
    chunks = []
    for start in range(0, len(texts), batch_size):
        ids, attention = tokenize(tok, texts[start:start + batch_size])
        device = model.log_logit_scale.device
        chunks.append(model.text(ids.to(device), attention.to(device)).float().cpu().numpy())
    return np.concatenate(chunks) if chunks else np.zeros((0, model.cfg.embed_dim), np.float32)


__all__ = ["embed_clips", "embed_texts", "pad_batch", "tokenize", "tokenizer"]
