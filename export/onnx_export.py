"""Torch towers to ONNX graphs with dynamic batch, frame and token axes (opset >= 17).

    export_pose_onnx(model.pose, "pose_encoder.onnx")
    export_text_onnx(model.text, "text_encoder.onnx")
"""

from __future__ import annotations

import contextlib
import io
import logging
import warnings
from pathlib import Path

import numpy as np
import onnx
import torch
from torch import nn

from signclip.trainer.model import TextEncoder

from .fusions import with_fusable_gelu, without_hidden_points
from .text_graph import ExportTextEncoder

OPSET = 18          # >= 17 so LayerNorm stays one LayerNormalization node (TensorRT's normalization layer)
MAX_BATCH = 4096
MAX_TOKENS = 512    # MiniLM/BERT position table
POSE_INPUTS = ("poses", "mask")
TEXT_INPUTS = ("input_ids", "attention_mask")
OUTPUT = "embedding"


@contextlib.contextmanager
def quiet_exporter():
    """The exporter prints progress lines and warnings per step; keep the CLI's output to ours."""
    logger = logging.getLogger("torch.onnx")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
            warnings.simplefilter("ignore")
            yield
    finally:
        logger.setLevel(level)


def strip_source_info(model: onnx.ModelProto) -> None:
    """Drop the exporter's per-node stack traces and doc strings: they name files of the machine
    that exported the model, which a shipped bundle should not carry."""
    graphs = [model.graph] + [f for f in model.functions]
    for graph in graphs:
        for node in graph.node:
            node.doc_string = ""
            del node.metadata_props[:]
    model.graph.doc_string = ""


def _export(module: nn.Module, args: tuple, path: Path, names: tuple, dynamic: dict) -> onnx.ModelProto:
    """dynamo=True (torch.export + onnxscript) with named dynamic dims; the legacy TorchScript
    exporter (dynamo=False) only if that fails, because it is deprecated and guesses shapes by tracing."""
    module = module.eval()
    tmp_out = "__signclip_output__"  # renamed below: BERT's graph already has a value called "embedding"
    try:
        with quiet_exporter(), torch.no_grad():
            torch.onnx.export(module, args, str(path), dynamo=True, opset_version=OPSET,
                              input_names=list(names), output_names=[tmp_out],
                              dynamic_shapes={n: d for n, d in zip(names, dynamic["dims"])},
                              external_data=False, optimize=True)
    except Exception as e:  # noqa: BLE001 - any exporter failure: fall back, and say why
        logging.getLogger(__name__).warning("dynamo export failed (%s); using dynamo=False", e)
        with quiet_exporter(), torch.no_grad():
            torch.onnx.export(module, args, str(path), dynamo=False, opset_version=OPSET,
                              input_names=list(names), output_names=[tmp_out],
                              dynamic_axes={**dynamic["axes"], tmp_out: {0: "batch"}})
    model = onnx.load(str(path))
    model = rename_output(model, tmp_out, OUTPUT)
    strip_source_info(model)
    onnx.checker.check_model(model, full_check=True)
    onnx.save(model, str(path))
    return model


def rename_output(model: onnx.ModelProto, old: str, new: str) -> onnx.ModelProto:
    """Name the graph output `new`, first renaming any inner value that already uses that name."""
    _rename(model, new, f"{new}__inner")
    _rename(model, old, new)
    return model


def _rename(model: onnx.ModelProto, old: str, new: str) -> None:
    graph = model.graph
    for node in graph.node:
        node.input[:] = [new if v == old else v for v in node.input]
        node.output[:] = [new if v == old else v for v in node.output]
    for value in [*graph.input, *graph.output, *graph.value_info, *graph.initializer]:
        if value.name == old:
            value.name = new


def export_pose_onnx(pose: nn.Module, path, frames: int = 98, hidden=()) -> onnx.ModelProto:
    """poses [B, T, P*3] float32 + mask [B, T] bool -> embedding [B, D]; B and T dynamic.

    The graph computes GELU in the form ONNX Runtime fuses, and its first layer skips the `hidden`
    points, which the model's normalization masks in every frame (`fusions.py`): same function on
    every input that normalization makes."""
    path = Path(path)
    pose = without_hidden_points(with_fusable_gelu(pose), np.asarray(hidden, np.int64))
    features = pose.cfg.points * 3
    batch = torch.export.Dim("batch", min=1, max=MAX_BATCH)
    time = torch.export.Dim("frames", min=1, max=pose.cfg.max_frames)
    # example of batch 2 with one padded row, so that no dimension is specialized to 1
    x = torch.randn(2, frames, features)
    mask = torch.ones(2, frames, dtype=torch.bool)
    mask[1, frames // 2:] = False
    dynamic = {"dims": ({0: batch, 1: time}, {0: batch, 1: time}),
               "axes": {"poses": {0: "batch", 1: "frames"}, "mask": {0: "batch", 1: "frames"}}}
    return _export(pose, (x, mask), path, POSE_INPUTS, dynamic)


def export_text_onnx(text: nn.Module, path, tokens: int = 12) -> onnx.ModelProto:
    """input_ids, attention_mask [B, L] int64 -> embedding [B, D]; B and L dynamic.

    A `TextEncoder` is exported through `ExportTextEncoder` (same arithmetic, a leaner graph)."""
    path = Path(path)
    if isinstance(text, TextEncoder):
        text = ExportTextEncoder(text).eval()
    batch = torch.export.Dim("batch", min=1, max=MAX_BATCH)
    length = torch.export.Dim("tokens", min=1, max=MAX_TOKENS)
    ids = torch.randint(1000, 2000, (2, tokens))
    attention = torch.ones(2, tokens, dtype=torch.long)
    attention[1, tokens // 2:] = 0
    dynamic = {"dims": ({0: batch, 1: length}, {0: batch, 1: length}),
               "axes": {"input_ids": {0: "batch", 1: "tokens"},
                        "attention_mask": {0: "batch", 1: "tokens"}}}
    return _export(text, (ids, attention), path, TEXT_INPUTS, dynamic)


def opset_of(model: onnx.ModelProto) -> int:
    return next(o.version for o in model.opset_import if o.domain in ("", "ai.onnx"))


def operators_of(model: onnx.ModelProto) -> set:
    """(domain, op_type) of every node, including nodes inside subgraphs and functions."""
    ops = set()

    def visit(graph):
        for node in graph.node:
            ops.add((node.domain or "", node.op_type))
            for attr in node.attribute:
                if attr.g is not None and attr.g.node:
                    visit(attr.g)
                for g in attr.graphs:
                    visit(g)

    visit(model.graph)
    for fn in model.functions:
        for node in fn.node:
            ops.add((node.domain or "", node.op_type))
    return ops
