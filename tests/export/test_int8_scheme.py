"""INT8 graphs that no CPU saturates: 7-bit weights in every product, read off the graph by the gate,
which refuses full 8-bit weights even on a CPU (VNNI, AMX) that would never saturate them."""

from __future__ import annotations

import numpy as np
import onnx
import pytest
from onnxruntime.quantization import QuantType, quantize_dynamic

from signclip.export import builders
from signclip.export import quantize as q
from signclip.export.int8_scheme import SAFE_INT8_WEIGHT, describe, products, saturation_risks
from signclip.export.onnx_export import export_pose_onnx
from signclip.export.parity import compare, run_pose, session, unit


@pytest.fixture(scope="module")
def pose_graph(tiny_model, tmp_path_factory):
    path = tmp_path_factory.mktemp("scheme") / "pose.onnx"
    export_pose_onnx(tiny_model.pose, path)
    return path


def test_dynamic_int8_candidates_keep_weights_within_seven_bits(pose_graph, tmp_path):
    for per_channel, input_fp32 in [(False, False), (True, False), (True, True)]:
        candidate = builders.dynamic_int8("pose", per_channel, input_layer_fp32=input_fp32)
        scheme = describe(candidate.make(pose_graph, tmp_path / candidate.file))
        assert scheme["scheme"] == "u8s8-7bit" and scheme["saturation_free"], scheme
        assert 0 < scheme["max_abs_weight"] <= SAFE_INT8_WEIGHT
        assert scheme["products"] > 0


def test_static_qdq_leaves_products_of_two_activations_in_float(pose_graph, real_clips, tmp_path):
    qdq = q.quantize_static_int8(pose_graph, tmp_path / "qdq.onnx", q.PoseCalibrationReader(real_clips[:4]))
    found = products(onnx.load(str(qdq)))
    assert found and all(p.weight_type == "int8" for p in found)  # no signed activation on the right
    assert describe(qdq)["saturation_free"] and not saturation_risks(qdq)


def test_gate_refuses_full_eight_bit_weights_even_when_this_cpu_computes_them_exactly(
        pose_graph, real_clips, tmp_path):
    eight = tmp_path / "eight.onnx"
    quantize_dynamic(str(pose_graph), str(eight), weight_type=QuantType.QInt8, per_channel=True)
    scheme = describe(eight)
    assert scheme["scheme"] == "u8s8-8bit" and scheme["max_abs_weight"] > SAFE_INT8_WEIGHT
    assert saturation_risks(eight) and "without VNNI" in saturation_risks(eight)[0]
    emb = unit(run_pose(session(pose_graph), real_clips[:4]))
    perfect = compare(emb, emb, emb, file="eight.onnx", tower="pose", precision="int8", variant="8-bit",
                      int8=scheme)  # identical embeddings: only the scheme can fail it
    assert not perfect.passed and "could saturate on CPUs without VNNI" in perfect.line()
    seven = compare(emb, emb, emb, file="seven.onnx", tower="pose", precision="int8", variant="7-bit",
                    int8=describe(q.quantize_dynamic_int8(pose_graph, tmp_path / "seven.onnx")))
    assert seven.passed


def test_uint8_weights_are_saturation_free(pose_graph, tmp_path):
    u8 = tmp_path / "u8.onnx"
    quantize_dynamic(str(pose_graph), str(u8), weight_type=QuantType.QUInt8)
    assert describe(u8)["scheme"] == "u8u8" and not saturation_risks(u8)


def test_a_float_graph_has_no_int8_scheme(pose_graph):
    assert describe(pose_graph) is None and not saturation_risks(pose_graph)


def test_seven_bit_pairs_fit_sixteen_bits():
    """The arithmetic the scheme rests on: VPMADDUBSW adds two u8 x s8 products into an int16."""
    u8 = np.array([255, 255], np.int32)
    assert abs(int(u8 @ np.array([SAFE_INT8_WEIGHT, SAFE_INT8_WEIGHT]))) <= 2 ** 15 - 1
    assert abs(int(u8 @ np.array([-SAFE_INT8_WEIGHT, -SAFE_INT8_WEIGHT]))) <= 2 ** 15
    assert int(u8 @ np.array([127, 127])) > 2 ** 15 - 1  # full 8-bit weights overflow


def test_blockwise_text_graph_multiplies_in_float(tmp_path, tiny_model):
    """MatMulNBits with INT8 products differs between CPUs' kernels; the shipped blockwise graph keeps
    INT8 weights and multiplies in FP32, which every CPU computes alike."""
    from signclip.export.onnx_export import export_text_onnx

    text = tmp_path / "text.onnx"
    export_text_onnx(tiny_model.text, text)
    scheme = describe(q.quantize_blockwise_int8(text, tmp_path / "text.int8-block.onnx", block_size=16))
    assert scheme["scheme"] == "blockwise-int8-weights" and scheme["saturation_free"]
