"""ONNX export of both towers against torch on real clips: lengths 1, 98, 256, padded batches."""

from __future__ import annotations

from collections import Counter

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch

from signclip.export import data
from signclip.export.onnx_export import export_pose_onnx, export_text_onnx, opset_of
from signclip.export.parity import session
from signclip.trainer.model import tokenizer_path


@pytest.fixture(scope="module")
def pose_onnx(tiny_model, tmp_path_factory):
    path = tmp_path_factory.mktemp("onnx") / "pose_encoder.onnx"
    export_pose_onnx(tiny_model.pose, path)
    return path


@pytest.fixture(scope="module")
def text_onnx(tiny_model, tmp_path_factory):
    path = tmp_path_factory.mktemp("onnx") / "text_encoder.onnx"
    export_text_onnx(tiny_model.text, path)
    return path


def torch_pose(model, x: np.ndarray, mask: np.ndarray) -> np.ndarray:
    with torch.no_grad():
        return model.pose(torch.from_numpy(x), torch.from_numpy(mask)).numpy()


def test_pose_graph_interface(pose_onnx):
    model = onnx.load(str(pose_onnx))
    onnx.checker.check_model(model, full_check=True)
    assert opset_of(model) >= 17
    inputs = {i.name: i.type.tensor_type for i in model.graph.input}
    assert inputs["poses"].elem_type == onnx.TensorProto.FLOAT
    assert inputs["mask"].elem_type == onnx.TensorProto.BOOL
    dims = [d.dim_param or d.dim_value for d in inputs["poses"].shape.dim]
    assert isinstance(dims[0], str) and isinstance(dims[1], str) and dims[2] == 609  # batch, frames dynamic
    assert [o.name for o in model.graph.output] == ["embedding"]
    assert "LayerNormalization" in {n.op_type for n in model.graph.node}  # opset >= 17 keeps it one node


@pytest.mark.parametrize("frames", [1, 98, 256])
def test_pose_matches_torch_on_real_clips(tiny_model, pose_onnx, real_clips, frames, to_length):
    sess = session(pose_onnx)
    for clip in real_clips[:4]:
        x = to_length(clip, frames)[None]
        mask = np.ones((1, frames), bool)
        got = sess.run(None, {"poses": x, "mask": mask})[0]
        ref = torch_pose(tiny_model, x, mask)
        assert got.shape == ref.shape == (1, 32)
        assert float(np.sum(got * ref)) >= 0.9999
        np.testing.assert_allclose(got, ref, atol=2e-5)


def test_padded_batch_equals_each_clip_alone(pose_onnx, real_clips):
    sess = session(pose_onnx)
    clips = real_clips[:5]
    longest = max(len(c) for c in clips)
    x = np.zeros((len(clips), longest, 609), np.float32)
    mask = np.zeros((len(clips), longest), bool)
    for i, c in enumerate(clips):
        x[i, :len(c)] = c
        mask[i, :len(c)] = True
    batched = sess.run(None, {"poses": x, "mask": mask})[0]
    for i, c in enumerate(clips):
        alone = sess.run(None, {"poses": c[None], "mask": np.ones((1, len(c)), bool)})[0][0]
        np.testing.assert_allclose(batched[i], alone, atol=2e-5)


def test_fully_masked_row_stays_finite(pose_onnx, real_clips):
    """A batch row of pure padding must not turn into NaN (finite mask value)."""
    clip = real_clips[0]
    x = np.stack([clip, np.zeros_like(clip)])
    mask = np.stack([np.ones(len(clip), bool), np.zeros(len(clip), bool)])
    out = session(pose_onnx).run(None, {"poses": x, "mask": mask})[0]
    assert np.all(np.isfinite(out))


def test_text_matches_torch_with_padding(tiny_model, text_onnx, lexicon):
    model = onnx.load(str(text_onnx))
    onnx.checker.check_model(model, full_check=True)
    assert opset_of(model) >= 17
    assert [i.name for i in model.graph.input] == ["input_ids", "attention_mask"]
    assert [o.name for o in model.graph.output] == ["embedding"]
    texts = [f"<{e.spoken_language}> <{e.sign_language}> {e.text}" for e in lexicon[::50]]
    texts.append("<en> <ase> a much longer query about fingerspelling the letter a")
    tok = data.load_tokenizer(tokenizer_path(tiny_model.cfg.text), 32)
    ids, mask = data.tokenize(tok, texts)
    assert mask.sum(1).min() < ids.shape[1]  # the batch really is padded
    got = session(text_onnx).run(None, {"input_ids": ids, "attention_mask": mask})[0]
    with torch.no_grad():
        ref = tiny_model.text(torch.from_numpy(ids), torch.from_numpy(mask)).numpy()
    np.testing.assert_allclose(got, ref, atol=2e-5)
    short = int(mask[0].sum())
    feed = {"input_ids": ids[:1, :short], "attention_mask": mask[:1, :short]}
    alone = session(text_onnx).run(None, feed)[0]
    np.testing.assert_allclose(alone[0], got[0], atol=2e-5)


def ort_optimized_ops(path, tmp_path) -> Counter:
    """Operator counts of the graph ONNX Runtime runs after its (portable) graph fusions."""
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED
    options.optimized_model_filepath = str(tmp_path / "optimized.onnx")
    ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    return Counter(n.op_type for n in onnx.load(options.optimized_model_filepath).graph.node)


def test_onnx_runtime_fuses_every_gelu(tiny_model, pose_onnx, text_onnx, tmp_path):
    """One Gelu kernel per GELU instead of five elementwise passes (the frame MLP's and one per
    block in the pose graph, one per layer in the text graph)."""
    pose_ops = ort_optimized_ops(pose_onnx, tmp_path)
    assert "Erf" not in pose_ops
    assert pose_ops["Gelu"] + pose_ops["BiasGelu"] == tiny_model.pose.cfg.layers + 1
    text_ops = ort_optimized_ops(text_onnx, tmp_path)
    assert "Erf" not in text_ops
    assert text_ops["Gelu"] + text_ops["BiasGelu"] == tiny_model.text.cfg.layers


def test_text_graph_refuses_a_bert_it_does_not_reproduce(tiny_model):
    """The export graph re-expresses BERT; a variant it does not compute must not export silently."""
    import copy

    from signclip.export.text_graph import ExportTextEncoder

    text = copy.deepcopy(tiny_model.text)
    text.bert.config.hidden_act = "relu"
    with pytest.raises(ValueError, match="hidden_act='gelu'"):
        ExportTextEncoder(text)


def test_hidden_points_are_skipped_by_the_first_layer(tiny_model, lexicon, tmp_path):
    """With the face and legs hidden by the normalization, the graph reads the other points only
    (a smaller first-layer weight, one product found as the input layer) and equals torch on clips
    normalized that way."""
    from signclip.export.quantize import input_layer_nodes
    from signclip.runtime.pose.normalize import NormalizationConfig, hidden_indices

    config = NormalizationConfig(hide_face=True, hide_legs=True)
    hidden = hidden_indices(config)
    path = tmp_path / "pose_hidden.onnx"
    graph = export_pose_onnx(tiny_model.pose, path, hidden=hidden)
    points = tiny_model.pose.cfg.points
    first = input_layer_nodes(graph)
    assert len(first) == 1
    weight = next(n for n in graph.graph.node if n.name == first[0]).input[1]
    rows = next(i for i in graph.graph.initializer if i.name == weight).dims[0]
    assert rows == 4 * (points - len(hidden))
    assert "Gather" not in {n.op_type for n in graph.graph.node}  # contiguous runs: Slice
    sess = session(path)
    for entry in data.spread(lexicon, 6):
        x = data.clip_features(entry, config, 256)[None]
        mask = np.ones(x.shape[:2], bool)
        got = sess.run(None, {"poses": x, "mask": mask})[0]
        assert float(np.sum(got * torch_pose(tiny_model, x, mask))) >= 0.9999
