"""Checkpoint to bundle: export, quantize, gate on parity, write; all or nothing.

The bundle is built in a temporary folder beside --out and renamed into place only after every
encoder passed its gate and the runtime's own loader accepted the result.
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from signclip.runtime.atomic import make_publishable, replace_folder
from signclip.runtime.errors import SignclipError
from signclip.runtime.model.bundle import META_FILE, TOKENIZER_FILE, load_bundle
from signclip.runtime.pose.normalize import hidden_indices

from . import data
from .bundle_writer import (
    build_meta,
    pick_selfcheck,
    write_credits,
    write_meta,
    write_selfcheck,
    write_vocabulary,
)
from .formats import Format, check_options
from .parity import COSINE_FLOOR, COSINE_MIN, TOP1_MIN, run_pose, session
from .precision import TENSORRT_PRECISIONS, Precision
from .references import reference_arrays, write_references


@dataclass(frozen=True)
class ExportOptions:
    checkpoint: Path
    format: str
    out: Path
    vocab: Path | None = None        # CSV text,spoken_language,sign_language
    data: Path | None = None         # manifest: parity clips, clip embeddings, default vocabulary
    per_channel: bool = False
    static: bool = False
    calibration: Path | None = None  # manifest of clips for static Q/DQ (default: --data's)
    precision: Precision | None = None  # tensorrt: FP16 | INT8 (a string is parsed on construction)
    clips: int = 200                 # data clips read for parity and the shipped clip embeddings
    calibration_clips: int = 64
    threads: int = 2
    text_encoder: bool = True        # False: a pose-only bundle (a few MB); text from the vocabulary

    def format_options(self) -> set:
        """Format-specific options that were set (checked against the format table)."""
        return {name for name in ("per_channel", "static", "calibration", "precision")
                if getattr(self, name) not in (None, False)}

    def __post_init__(self):
        if self.precision is not None:  # from Python: "int8" or Precision.INT8, refused as --precision is
            object.__setattr__(self, "precision", Precision.parse(self.precision, TENSORRT_PRECISIONS))


def check(options: ExportOptions) -> Format:
    """Every check that needs no model: format, options, combinations, paths, TensorRT presence."""
    fmt = check_options(options.format, options.format_options())
    if options.calibration and not (options.static or options.precision is Precision.INT8):
        raise SignclipError("--calibration is for static Q/DQ INT8: add --static "
                            "(or --precision int8 with --format tensorrt)")
    if options.clips < 1:
        raise SignclipError(f"--clips {options.clips}: needs at least 1")
    for flag, path in (("CHECKPOINT", options.checkpoint), ("--vocab", options.vocab),
                       ("--data", options.data), ("--calibration", options.calibration)):
        if path is not None and not Path(path).exists():
            raise SignclipError(f"{flag} {path}: no such file or folder")
    out = Path(options.out)
    if out.exists() and (not out.is_dir() or (any(out.iterdir()) and not (out / META_FILE).is_file())):
        raise SignclipError(f"--out {out} exists and is not a bundle folder; give a new or empty "
                            f"folder (an existing bundle is replaced)")
    if fmt.name == "tensorrt":
        from .tensorrt import require_tensorrt

        require_tensorrt()
    return fmt


def _clips(entries: list, count: int, model_cfg, log) -> tuple:
    """(model inputs, the entries they came from, median fps of the videos) of up to `count` clips
    and a few photos per photo class."""
    picked = data.pick_clips(entries, count)
    inputs, fps = [], []
    for e in picked:
        if e.item is None:
            fps.append(data.entry_clip(e, 1).fps)
        inputs.append(data.clip_input(e, model_cfg.normalization, model_cfg.pose.max_frames))
    log(f"read {len(inputs)} real clips for parity")
    return inputs, picked, float(np.median(fps)) if fps else 0.0


def torch_pose(model, clips: list) -> np.ndarray:
    """The FP32 pose tower's embeddings [N, D] of clips [T_i, F], one at a time as the gate runs them."""
    import torch

    with torch.no_grad():
        return np.stack([model.pose(torch.from_numpy(c)[None], torch.ones(1, len(c), dtype=torch.bool))[0]
                         .numpy() for c in clips])


def add_selfcheck(folder: Path, model, clips: list, reference: np.ndarray, graph: Path, threads: int) -> None:
    """The self-check clips: the shipped graph's most sensitive short clips, rounded to float16 and
    embedded again by torch and by the graph on this machine."""
    pose = session(graph, threads)
    picked = pick_selfcheck(reference, run_pose(pose, clips), [len(c) for c in clips])
    rounded = [clips[i].astype(np.float16).astype(np.float32) for i in picked]
    write_selfcheck(folder, rounded, torch_pose(model, rounded), run_pose(pose, rounded))


def export_bundle(options: ExportOptions, log=print) -> Path:
    """Write a gated bundle to options.out; SignclipError (nothing written) if any gate fails."""
    fmt = check(options)
    import torch

    from signclip.trainer.checkpoint import load_checkpoint
    from signclip.trainer.embed import embed_clips
    from signclip.trainer.model import tokenizer_path

    from .builders import Work
    from .onnx_export import export_pose_onnx, export_text_onnx

    torch.set_num_threads(max(1, options.threads))
    model, cfg, state, _ = load_checkpoint(options.checkpoint)
    credits = state.get("data_credits", [])
    model = model.eval()
    mcfg = cfg.model
    entries = data.looked_up(data.read_manifest(options.data) if options.data else data.lexicon_entries())
    vocab_rows = data.read_vocabulary_file(options.vocab) if options.vocab else entries
    vocab = data.vocabulary_texts(vocab_rows, mcfg.prompt_template)
    inputs, clip_entries, fps = _clips(entries, options.clips, mcfg, log)
    clips = [data.input_features(x) for x in inputs]
    if not clips:
        raise SignclipError("no clips to measure parity on: --data needs pose files")
    calib_entries = data.read_manifest(options.calibration) if options.calibration else entries
    calibration = (_clips(calib_entries, options.calibration_clips, mcfg, log)[0]
                   if options.static or options.precision is Precision.INT8 else [])
    calibration = [data.input_features(x) for x in calibration]

    tokenizer = data.load_tokenizer(tokenizer_path(mcfg.text), mcfg.text.max_tokens)
    ids, attention = data.tokenize(tokenizer, vocab.texts)
    with torch.no_grad():
        text_ref = model.text(torch.from_numpy(ids), torch.from_numpy(attention)).numpy()
    pose_ref = torch_pose(model, clips)

    out = Path(options.out).absolute()
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        with tempfile.TemporaryDirectory(prefix="signclip-export-") as scratch:
            scratch = Path(scratch)
            log(f"exporting {mcfg.name} to ONNX")
            export_pose_onnx(model.pose, scratch / "pose_encoder.onnx",
                             hidden=hidden_indices(mcfg.normalization))
            fp32 = {"pose": scratch / "pose_encoder.onnx"}
            if options.text_encoder:  # a pose-only bundle answers text from its stored vocabulary
                export_text_onnx(model.text, scratch / "text_encoder.onnx")
                fp32["text"] = scratch / "text_encoder.onnx"
            work = Work(folder=tmp, scratch=scratch, fp32=fp32,
                        clips=clips, calibration=calibration, pose_reference=pose_ref, ids=ids,
                        attention=attention, text_reference=text_ref, options=options,
                        threads=options.threads, log=log)
            log(f"parity gate ({fmt.name}):")
            chosen = fmt.build(work)
        add_selfcheck(tmp, model, clips, pose_ref, tmp / chosen["pose"].file, options.threads)
        shutil.copy(tokenizer_path(mcfg.text), tmp / TOKENIZER_FILE)
        if credits:  # CC BY data: its credit ships with every model trained on it
            write_credits(tmp, credits)
        # the example clips embedded as the runtime embeds a query: the parity reference is their
        # whole view, to which their hands-alone view is mixed in
        extra = {"clip_embeddings": embed_clips(model, inputs, whole=pose_ref).astype(np.float32),
                 "clip_labels": np.array([e.text for e in clip_entries], dtype=str),
                 "clip_languages": np.array([e.sign_language for e in clip_entries], dtype=str)}
        vocab_sha = write_vocabulary(tmp, vocab, text_ref, extra)
        write_references(tmp, reference_arrays(entries, fps))  # how each entry is signed (lookup --show)
        gate = {"cosine_mean_min": {p.value: v for p, v in COSINE_MIN.items()},
                "cosine_floor": {p.value: v for p, v in COSINE_FLOOR.items()}, "top1_min": TOP1_MIN}
        parity = {fmt.name: {"gate": gate,
                             "chosen": {t: p.as_json() for t, p in chosen.items()},
                             "tried": [p.as_json() for p in work.tried]}}
        meta = build_meta(model_cfg=mcfg, logit_scale=float(model.logit_scale().detach()), fps=fps,
                          vocab=vocab, vocab_sha=vocab_sha, encoders={t: p.file for t, p in chosen.items()},
                          parity=parity, format_name=fmt.name, folder=tmp,
                          tokenizer={"file": TOKENIZER_FILE, "max_tokens": mcfg.text.max_tokens},
                          credits=credits, int8={t: p.int8 for t, p in chosen.items() if p.int8},
                          signs=[s for s in data.lexical_signs(entries)
                                 if tuple(s) in set(zip(vocab.labels, vocab.languages))])
        write_meta(tmp, meta)
        make_publishable(tmp)
        load_bundle(tmp)  # the runtime's own check, before anything becomes visible at --out
        replace_folder(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    size = sum(p.stat().st_size for p in out.iterdir() if p.is_file())
    text = chosen["text"].file if "text" in chosen else "none (vocabulary texts only)"
    log(f"wrote {out} ({size / 1e6:.1f} MB): pose {chosen['pose'].file}, text {text}")
    return out

