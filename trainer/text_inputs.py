"""What the text tower reads per prompt during training: padded tokens, or a frozen tower's pooled
features computed once (TextInputs), from MiniLM's WordPiece tokenizer."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from .config import TextTowerCfg
from .model import SignCLIP, tokenizer_path


@dataclass
class TextInputs:
    """What the text tower reads per prompt: cached pooled features (frozen) or padded tokens."""

    pooled: torch.Tensor | None = None          # (N, H) when the language tower is frozen
    input_ids: torch.Tensor | None = None       # (N, L)
    attention_mask: torch.Tensor | None = None  # (N, L)
    groups: torch.Tensor | None = None          # (N,) each prompt's sign language, numbered

    def for_prompts(self, ids: torch.Tensor) -> dict:
        """Model keyword arguments for the prompts `ids` (tokens trimmed to their longest)."""
        if self.pooled is not None:
            return {"text_pooled": self.pooled[ids]}
        mask = self.attention_mask[ids]
        length = int(mask.sum(1).max())
        return {"input_ids": self.input_ids[ids, :length], "attention_mask": mask[:, :length]}


def tokenize(texts, cfg: TextTowerCfg) -> tuple:
    """(input_ids, attention_mask) [N, max_tokens] int64 with MiniLM's WordPiece tokenizer."""
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(tokenizer_path(cfg)))
    tok.enable_truncation(cfg.max_tokens)
    tok.enable_padding(length=cfg.max_tokens)
    encoded = tok.encode_batch(list(texts))
    ids = torch.tensor([e.ids for e in encoded], dtype=torch.long)
    mask = torch.tensor([e.attention_mask for e in encoded], dtype=torch.long)
    return ids, mask


@torch.no_grad()
def build_text_inputs(model: SignCLIP, texts, device, chunk: int = 256) -> TextInputs:
    """Tokenize every prompt once; a frozen tower also runs once here, in fp32 and eval mode."""
    ids, mask = tokenize(texts, model.cfg.text)
    ids, mask = ids.to(device), mask.to(device)
    if not model.cfg.text.frozen:
        return TextInputs(input_ids=ids, attention_mask=mask)
    was_training = model.text.training
    model.text.eval()
    pooled = torch.cat([model.text.pooled(ids[i:i + chunk], mask[i:i + chunk])
                        for i in range(0, len(ids), chunk)])
    model.text.train(was_training)
    return TextInputs(pooled=pooled.float())
