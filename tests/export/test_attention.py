"""The pose tower's attention fused into ONNX Runtime's Attention kernel: same embeddings, padded
batches included, and INT8 quantization turns it into QAttention."""

from __future__ import annotations

import numpy as np
import onnx
import pytest

from signclip.export import builders
from signclip.export.attention import fuse_attention
from signclip.export.onnx_export import export_pose_onnx
from signclip.export.parity import session, unit


@pytest.fixture(scope="module")
def pose_graph(tiny_model, tmp_path_factory):
    path = tmp_path_factory.mktemp("attention") / "pose.onnx"
    export_pose_onnx(tiny_model.pose, path)
    return path


def op_types(path) -> list:
    return [n.op_type for n in onnx.load(str(path)).graph.node]


def padded_batch(real_clips) -> dict:
    """Two real clips of different lengths in one batch, the shorter zero-padded and masked."""
    a, b = real_clips[0], real_clips[1]
    t = max(len(a), len(b))
    poses = np.zeros((2, t, a.shape[1]), np.float32)
    mask = np.zeros((2, t), bool)
    for i, clip in enumerate((a, b)):
        poses[i, :len(clip)], mask[i, :len(clip)] = clip, True
    return {"poses": poses, "mask": mask}


def test_fused_graph_computes_the_same_embeddings(pose_graph, tiny_model, real_clips, tmp_path):
    fused = tmp_path / "fused.onnx"
    assert fuse_attention(pose_graph, fused) == len(tiny_model.pose.blocks)
    ops = op_types(fused)
    assert ops.count("Attention") == len(tiny_model.pose.blocks)
    assert "Softmax" not in ops and "Split" not in ops and "Transpose" not in ops
    feed = padded_batch(real_clips)
    assert not feed["mask"].all()  # the key-padding mask is exercised
    ref = session(pose_graph).run(None, feed)[0]
    got = session(fused).run(None, feed)[0]
    np.testing.assert_allclose(got, ref, atol=1e-5)


def test_a_graph_without_the_pattern_is_written_unchanged(pose_graph, tmp_path):
    fused = tmp_path / "fused.onnx"
    fuse_attention(pose_graph, fused)
    again = tmp_path / "again.onnx"
    assert fuse_attention(fused, again) == 0
    assert op_types(again) == op_types(fused)


def test_int8_candidates_quantize_the_fused_attention(pose_graph, real_clips, tmp_path):
    candidate = builders.dynamic_int8("pose", per_channel=True, input_layer_fp32=True)
    int8 = candidate.make(pose_graph, tmp_path / candidate.file)
    assert op_types(int8).count("QAttention") > 0
    feed = padded_batch(real_clips)
    ref = unit(session(pose_graph).run(None, feed)[0])
    got = unit(session(int8).run(None, feed)[0])
    assert np.sum(ref * got, axis=1).min() >= 0.99
