"""Checkpoints: weights in safetensors, configuration and training state in JSON. No pickle."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

from safetensors.torch import load_file, save_file

from signclip.runtime.errors import SignclipError

from .config import RunCfg, run_config_from_dict, to_dict
from .model import SignCLIP

WEIGHTS = "model.safetensors"
META = "checkpoint.json"


def save_checkpoint(folder, model: SignCLIP, cfg: RunCfg, state: dict | None = None,
                    tensors: dict | None = None, include_frozen: bool = False) -> Path:
    """Write `folder/` atomically. Frozen pretrained weights are left out (rebuilt from their
    package) unless `include_frozen`; `tensors` holds extra state such as optimizer moments."""
    folder = Path(folder)
    weights = {k: v.detach().contiguous().cpu() for k, v in model.state_dict().items()
               if include_frozen or not _is_frozen_pretrained(model, k)}
    for k, v in (tensors or {}).items():
        weights[f"state/{k}"] = v.detach().contiguous().cpu()
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", dir=folder.parent))
    save_file(weights, str(tmp / WEIGHTS))
    meta = {"config": to_dict(cfg), "state": state or {}, "frozen_text_tower_included": include_frozen}
    (tmp / META).write_text(json.dumps(meta, indent=2))
    if folder.exists():  # swap: the old checkpoint stays intact until the new one is complete
        old = folder.with_name(f".{folder.name}.old")
        os.replace(folder, old)
        os.replace(tmp, folder)
        _rmtree(old)
    else:
        os.replace(tmp, folder)
    return folder


def _rmtree(path: Path) -> None:
    import shutil

    shutil.rmtree(path, ignore_errors=True)


def _is_frozen_pretrained(model: SignCLIP, key: str) -> bool:
    return bool(model.cfg.text.frozen and model.cfg.text.pretrained and key.startswith("text.bert."))


def load_checkpoint(folder, map_location: str = "cpu", text_pooled_dim: int | None = None) -> tuple:
    """(model, run config, state dict, extra tensors) from a checkpoint folder; `text_pooled_dim`:
    a frozen text tower's projection only, for its precomputed features (`text_features.py`)."""
    folder = Path(folder)
    if not (folder / META).is_file() or not (folder / WEIGHTS).is_file():
        raise SignclipError(f"{folder}: not a signclip checkpoint (needs {META} and {WEIGHTS})")
    try:
        meta = json.loads((folder / META).read_text())
        weights = load_file(str(folder / WEIGHTS), device=map_location)
    except Exception as e:
        raise SignclipError(f"{folder}: unreadable checkpoint ({type(e).__name__})") from e
    cfg = run_config_from_dict(meta["config"])
    model = SignCLIP(cfg.model, text_pooled_dim=text_pooled_dim)
    extra = {k[len("state/"):]: v for k, v in weights.items() if k.startswith("state/")}
    params = {k: v for k, v in weights.items() if not k.startswith("state/")}
    missing, unexpected = model.load_state_dict(params, strict=False)
    missing = [k for k in missing if not _is_frozen_pretrained(model, k)]
    if missing or unexpected:
        raise SignclipError(f"{folder}: weights do not fit the config (missing {missing[:3]}, "
                            f"unexpected {unexpected[:3]})")
    return model, cfg, meta.get("state", {}), extra





MODEL_CARD = "README.md"


def ship_checkpoint(src, dst) -> Path:
    """A copy of a checkpoint with weights and config only (no optimizer state): what a release holds.
    The release's model card (README.md), written by hand, is kept."""
    from signclip.runtime.atomic import atomic_write_bytes

    model, cfg, state, _ = load_checkpoint(src)
    keep = {k: state[k] for k in ("step", "data_credits") if k in state}
    card = Path(dst) / MODEL_CARD
    text = card.read_bytes() if card.is_file() else None
    out = save_checkpoint(dst, model, cfg, keep)
    if text is not None:
        atomic_write_bytes(out / MODEL_CARD, text)
    return out


if __name__ == "__main__":  # python -m signclip.trainer.checkpoint SRC DST
    import sys

    if len(sys.argv) != 3:
        sys.exit("usage: python -m signclip.trainer.checkpoint SRC_CHECKPOINT DST_FOLDER")
    try:
        print(ship_checkpoint(sys.argv[1], sys.argv[2]))
    except SignclipError as e:
        sys.exit(f"error: {e}")
