"""FP32 ONNX graphs to INT8 (dynamic or static Q/DQ) and FP16, with ONNX Runtime's own tools.

    quantize_dynamic_int8("pose_encoder.onnx", "pose_encoder.int8.onnx", per_channel=False)
    quantize_blockwise_int8("text_encoder.onnx", "text_encoder.int8-block.onnx")
    quantize_weights_int8("text_encoder.onnx", "text_encoder.int8-w.onnx")  # FP32 again at load
    quantize_static_int8("pose_encoder.onnx", "pose.qdq.onnx", PoseCalibrationReader(clips))
    convert_fp16("text_encoder.onnx", "text_encoder.fp16.onnx")
    convert_ort("pose_encoder.int8.onnx", folder)          # ONNX Runtime's mobile format
"""

from __future__ import annotations

import contextlib
import io
import logging
import shutil
import tempfile
from pathlib import Path

import numpy as np
import onnx
from onnx import helper, numpy_helper
from onnxruntime.quantization import (
    CalibrationDataReader,
    CalibrationMethod,
    QuantFormat,
    QuantType,
    quantize_dynamic,
    quantize_static,
)

# Kept in FP32 by the FP16 conversion: normalization and softmax overflow or lose too much in FP16
# (REFERENCE.md: FP16 LayerNorm overflow), and the sums/norms of the pooling and the L2 head.
FP16_KEEP_FP32 = ("LayerNormalization", "Softmax", "ReduceL2", "ReduceSum", "ReduceMean", "Pow",
                  "Sqrt", "Erf")
# Static Q/DQ only around the matrix products: what TensorRT fuses into INT8 kernels; the rest
# (softmax, norms, masks) stays in float.
STATIC_OPS = ("MatMul", "Gemm")


@contextlib.contextmanager
def _quiet():
    """ORT's quantizers and converter log per node at INFO, some through their own loggers and
    handlers; keep the CLI's output to ours (warnings included: 'consider pre-processing')."""
    previous = logging.root.manager.disable
    logging.disable(logging.WARNING)
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            yield
    finally:
        logging.disable(previous)


def quantize_dynamic_int8(src, dst, *, per_channel: bool = False, input_layer_fp32: bool = False) -> Path:
    """Weights INT8 in 7 bits, activations quantized at run time per tensor (no calibration data needed).

    Why 7-bit weights (`reduce_range`, int8_scheme.py): with full 8-bit weights, x86 CPUs without
    VNNI saturate u8 x s8 pair sums. Measured on edge-small's pose tower over 47 lexicon clips
    (cosine to FP32, min): 8-bit 0.99996 with VNNI but 0.99452 on AVX2 alone; 7-bit 0.99987 on both,
    the same embeddings within 2e-7; U8U8 (uint8 weights) 0.99996 but 3e-4 apart between the two
    CPUs' kernels and a quarter slower at 98 frames.

    `input_layer_fp32` keeps the products that read the graph's inputs in FP32: the pose tower's
    first layer reads the keypoints themselves, which 8 bits per tensor round to about 0.03 palm
    lengths, as much as two close handshapes differ by."""
    model = onnx.load(str(src))
    exclude = input_layer_nodes(model) if input_layer_fp32 else []
    with _quiet():
        quantize_dynamic(str(src), str(dst), per_channel=per_channel, weight_type=QuantType.QInt8,
                         reduce_range=True, nodes_to_exclude=exclude,
                         extra_options={"MatMulConstBOnly": True})
    return Path(dst)


def input_layer_nodes(model) -> list:
    """Names of the first MatMul/Gemm nodes on the data paths from the graph's first input (paths
    through its Shape excepted): the products that read the input itself (the pose tower computes
    the observed mask, concatenates and gathers its features first)."""
    consumers = {}
    for node in model.graph.node:
        for name in node.input:
            consumers.setdefault(name, []).append(node)
    frontier, seen, found = [model.graph.input[0].name], set(), []
    while frontier:
        for node in consumers.get(frontier.pop(), []):
            if node.name in seen or node.op_type == "Shape":
                continue
            seen.add(node.name)
            if node.op_type in ("MatMul", "Gemm"):
                found.append(node.name)
            else:
                frontier.extend(node.output)
    return found


# MatMulNBits' products in FP32 (accuracy level 1), not INT8 (4): on edge-small's MiniLM over 28
# prompts, level 4's AVX2 and AVX-512 kernels gave embeddings 0.011 apart (cosine 0.9985 between the
# CPUs) and cosine min 0.9964 to torch; level 1 gives the same embeddings on both (0.0 apart) and
# 0.9991, at 15 ms a query instead of 2.2 on one thread of an AMX CPU.
BLOCKWISE_ACCURACY_LEVEL = 1


def quantize_blockwise_int8(src, dst, *, block_size: int = 128) -> Path:
    """INT8 weights in blocks of `block_size` inputs (ONNX Runtime's MatMulNBits), multiplied in FP32
    (BLOCKWISE_ACCURACY_LEVEL), and the embedding table INT8.

    Per-tensor dynamic INT8 crushes MiniLM's outlier activation channels (cosine 0.975 to torch on
    the lexicon prompts, worst 0.87); per-block weight scales keep them. MatMulNBits is an ONNX
    Runtime operator: TensorRT builds from the FP32 graph instead."""
    from onnxruntime.quantization.matmul_nbits_quantizer import MatMulNBitsQuantizer

    with _quiet(), tempfile.TemporaryDirectory(prefix="signclip-nbits-") as tmp:
        quantizer = MatMulNBitsQuantizer(onnx.load(str(src)), bits=8, block_size=block_size,
                                         is_symmetric=True, accuracy_level=BLOCKWISE_ACCURACY_LEVEL)
        quantizer.process()
        staged = Path(tmp) / "blockwise.onnx"
        quantizer.model.save_model_to_file(str(staged), use_external_data_format=False)
        quantize_dynamic(str(staged), str(dst), weight_type=QuantType.QInt8, op_types_to_quantize=["Gather"],
                         extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT})
    return Path(dst)


def quantize_weights_int8(src, dst, *, block_size: int = 32, min_size: int = 4096) -> Path:
    """INT8 weights stored as standard Cast -> Mul -> Reshape nodes, which ONNX Runtime's constant
    folding turns back into FP32 weights once, when a session loads: a quarter of the FP32 file,
    FP32 products (the same on every CPU) at FP32 speed.

    Each product's weight [K, N] gets a scale per `block_size` rows of each column, the embedding
    table one per row. ONNX Runtime's own tools do not write this: its quantizers also quantize
    the activations (MiniLM's outlier channels: cosine 0.97) or write MatMulNBits, which unpacks its
    weights at every run (8.8 ms a query against 1.9 in FP32), and a weight-only DequantizeLinear
    is folded only where a session sets `session.disable_quant_qdq`."""
    model = onnx.load(str(src))
    graph = model.graph
    readers = {}  # initializer -> {(op, input index)} of the nodes that read it
    for node in graph.node:
        for index, name in enumerate(node.input):
            readers.setdefault(name, set()).add((node.op_type, index))
    dequantize = []
    for init in list(graph.initializer):
        w = numpy_helper.to_array(init)
        ops = readers.get(init.name, set())
        if w.dtype != np.float32 or w.ndim != 2 or w.size < min_size or len(ops) != 1:
            continue
        # a product's weight [K, N] (the fused Attention's packed QKV weight is one too), or the table
        if ops <= {("MatMul", 1), ("Attention", 1)} and w.shape[0] % block_size == 0:
            blocks = w.reshape(w.shape[0] // block_size, block_size, w.shape[1])
            scale = np.abs(blocks).max(axis=1, keepdims=True) / 127.0
        elif ops == {("Gather", 0)}:
            blocks = w[:, None, :]
            scale = np.abs(blocks).max(axis=2, keepdims=True) / 127.0
        else:
            continue
        scale = np.maximum(scale, np.finfo(np.float32).tiny).astype(np.float32)
        stored = np.clip(np.round(blocks / scale), -127, 127).astype(np.int8)
        name = init.name
        graph.initializer.remove(init)
        graph.initializer.extend([numpy_helper.from_array(stored, f"{name}.int8"),
                                  numpy_helper.from_array(scale, f"{name}.scale"),
                                  numpy_helper.from_array(np.array(w.shape, np.int64), f"{name}.shape")])
        dequantize += [helper.make_node("Cast", [f"{name}.int8"], [f"{name}.float"],
                                        to=onnx.TensorProto.FLOAT),
                       helper.make_node("Mul", [f"{name}.float", f"{name}.scale"], [f"{name}.scaled"]),
                       helper.make_node("Reshape", [f"{name}.scaled", f"{name}.shape"], [name])]
    nodes = dequantize + list(graph.node)
    del graph.node[:]
    graph.node.extend(nodes)
    onnx.checker.check_model(model)
    onnx.save(model, str(dst))
    return Path(dst)


class PoseCalibrationReader(CalibrationDataReader):
    """Feeds real clips one at a time (batch 1, their own length), as the runtime will."""

    def __init__(self, clips):
        self._clips = list(clips)
        self._next = 0

    def get_next(self):
        if self._next >= len(self._clips):
            return None
        x = self._clips[self._next]
        self._next += 1
        return {"poses": x[None].astype(np.float32), "mask": np.ones((1, len(x)), bool)}

    def rewind(self) -> None:
        self._next = 0


def activation_products(model) -> list:
    """Names of the MatMul/Gemm nodes whose right-hand operand is computed, not stored (attention's
    query-key and weights-value products)."""
    stored = {i.name for i in model.graph.initializer}
    return [n.name for n in model.graph.node if n.op_type in STATIC_OPS and n.input[1] not in stored]


def quantize_static_int8(src, dst, reader: CalibrationDataReader, *, per_channel: bool = True) -> Path:
    """Q/DQ INT8 with symmetric scales (zero points 0, as TensorRT requires), calibrated on `reader`.

    Weights in 7 bits and products of two activations left in float: a signed 8-bit right-hand
    operand is what x86 CPUs without VNNI saturate (int8_scheme.py)."""
    exclude = activation_products(onnx.load(str(src)))
    with _quiet(), tempfile.TemporaryDirectory(prefix="signclip-calib-") as tmp:
        # the calibrator writes an augmented model next to its temp files: keep them out of --out
        quantize_static(str(src), str(dst), reader, quant_format=QuantFormat.QDQ,
                        activation_type=QuantType.QInt8, weight_type=QuantType.QInt8, reduce_range=True,
                        nodes_to_exclude=exclude, per_channel=per_channel,
                        op_types_to_quantize=list(STATIC_OPS),
                        calibrate_method=CalibrationMethod.MinMax,
                        extra_options={"ActivationSymmetric": True, "WeightSymmetric": True,
                                       "CalibTensorRangeSymmetric": True},
                        calibration_providers=["CPUExecutionProvider"])
        del tmp
    return Path(dst)


def convert_fp16(src, dst) -> Path:
    """FP16 weights and activations, with FP16_KEEP_FP32 ops and the graph's inputs/outputs in FP32."""
    from onnxruntime.transformers.float16 import convert_float_to_float16

    model = onnx.load(str(src))
    with _quiet():
        half = convert_float_to_float16(model, keep_io_types=True, op_block_list=list(FP16_KEEP_FP32),
                                        disable_shape_infer=False)
    from onnxruntime.transformers.onnx_model import OnnxModel

    wrapped = OnnxModel(half)
    wrapped.topological_sort()  # the converter appends its input Casts after their consumers
    half = wrapped.model
    onnx.checker.check_model(half)
    onnx.save(half, str(dst))
    return Path(dst)


def convert_ort(src, folder) -> Path:
    """ONNX Runtime's .ort format (Android/iOS builds) from an ONNX file; returns the .ort path."""
    from onnxruntime.tools.convert_onnx_models_to_ort import OptimizationStyle, convert_onnx_models_to_ort

    src = Path(src)
    folder = Path(folder)
    with tempfile.TemporaryDirectory(prefix="signclip-ort-") as tmp:
        staged = Path(tmp) / src.name
        shutil.copy(src, staged)
        with _quiet(), contextlib.redirect_stderr(io.StringIO()):
            convert_onnx_models_to_ort(staged, output_dir=Path(tmp) / "out",
                                       optimization_styles=[OptimizationStyle.Fixed],
                                       enable_type_reduction=False)
        made = Path(tmp) / "out" / (src.name[: -len(".onnx")] + ".ort")
        if not made.is_file():
            raise RuntimeError(f"ONNX Runtime's converter wrote no {made.name}")
        target = folder / made.name
        shutil.move(str(made), target)
    return target
