"""Which INT8 kernels a quantized graph needs, and whether any CPU's kernel could saturate them.

ONNX Runtime multiplies uint8 activations by int8 weights. On x86 CPUs without VNNI (AVX2 only:
AMD Zen 1-3, Intel before Ice Lake) its kernel uses VPMADDUBSW, which adds two u8 x s8 products
into a saturating int16: 255 * 127 * 2 = 64,770 > 32,767, so a full 8-bit weight can clip and
the answer then depends on the processor (ONNX Runtime's quantization guide, "saturation").
Weights within 7 bits (|w| <= 64, what `reduce_range` gives) keep every pair within range
(255 * 64 * 2 = 32,640): the integer products are exact on AVX2, VNNI, AMX, ARM64 dot products and
WASM alike. ONNX Runtime's blockwise MatMulNBits with INT8 products (accuracy level 4) differs
between CPUs' kernels too (quantize.py); with FP32 products its INT8 weights are exact everywhere.
The gate reads this off the graph itself, so it refuses a graph that would saturate
elsewhere even when the exporting CPU has VNNI and never does.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnx
from onnx import numpy_helper

SAFE_INT8_WEIGHT = 64  # |w| <= 64: two u8 x s8 products sum to at most 32,640 < 2**15
# ONNX Runtime's integer products and which input holds the weight (the right-hand operand)
INTEGER_PRODUCTS = {"MatMulInteger": 1, "DynamicQuantizeMatMul": 1, "MatMulIntegerToFloat": 1,
                    "QAttention": 1, "ConvInteger": 1, "QLinearMatMul": 3, "QLinearConv": 3,
                    "QGemm": 3}
# float products that ONNX Runtime runs in INT8 when their operands come through DequantizeLinear (Q/DQ)
QDQ_PRODUCTS = ("MatMul", "Gemm", "Conv")
TYPE_NAMES = {onnx.TensorProto.INT8: "int8", onnx.TensorProto.UINT8: "uint8"}


@dataclass(frozen=True)
class Product:
    """One integer product of a graph: its node, weight type and the largest |weight| stored."""

    node: str
    op: str
    weight_type: str      # "int8" | "uint8" | "dynamic int8" | "dynamic uint8" (an activation)
    #                       | "blockwise int8-products" | "blockwise float-products" (MatMulNBits)
    max_abs: int | None   # None for uint8 or dynamic operands

    @property
    def saturates(self) -> bool:
        """Whether a CPU without VNNI could clip this product's pair sums: a signed activation on the
        right spans all 8 bits; a stored int8 weight only where it exceeds 7 bits."""
        if self.weight_type in ("dynamic int8", "blockwise int8-products"):
            return True
        return self.weight_type == "int8" and self.max_abs is not None and self.max_abs > SAFE_INT8_WEIGHT


def _producers(model: onnx.ModelProto) -> dict:
    return {out: node for node in model.graph.node for out in node.output}


def _weight(name: str, initializers: dict, producers: dict):
    """The stored integer tensor behind an input (directly, or through a DequantizeLinear), else None."""
    if name in initializers:
        return initializers[name]
    node = producers.get(name)
    if node is not None and node.op_type == "DequantizeLinear" and node.input[0] in initializers:
        return initializers[node.input[0]]
    return None


def _zero_point_type(node, index: int, initializers: dict, producers: dict) -> int | None:
    """The element type of a dynamic right-hand operand, read off its zero point (None: unknown)."""
    if node.op_type in INTEGER_PRODUCTS:
        zero_point = {1: 3, 3: 5}[index] if node.op_type != "QAttention" else 7
        names = [node.input[zero_point]] if len(node.input) > zero_point and node.input[zero_point] else []
    else:  # a float product fed by DequantizeLinear(QuantizeLinear(activation))
        dq = producers.get(node.input[index])
        names = [dq.input[2]] if dq is not None and len(dq.input) > 2 else []
    if names and names[0] in initializers:
        return initializers[names[0]].data_type
    source = producers.get(node.input[index])
    if source is not None and source.op_type == "DynamicQuantizeLinear":
        return onnx.TensorProto.UINT8
    return None


def products(model: onnx.ModelProto) -> list:
    """Every integer product of the graph (QOperator nodes and Q/DQ-wrapped float products)."""
    initializers = {i.name: i for i in model.graph.initializer}
    producers = _producers(model)
    found = []
    for node in model.graph.node:
        if node.op_type == "MatMulNBits":
            level = next((a.i for a in node.attribute if a.name == "accuracy_level"), 0)
            kind = "int8-products" if level == 4 else "float-products"
            found.append(Product(node.name, node.op_type, f"blockwise {kind}", None))
            continue
        if node.op_type in INTEGER_PRODUCTS:
            index = INTEGER_PRODUCTS[node.op_type]
        elif node.op_type in QDQ_PRODUCTS and any(
                getattr(producers.get(i), "op_type", "") == "DequantizeLinear" for i in node.input[:2]):
            index = 1
        else:
            continue
        tensor = _weight(node.input[index], initializers, producers)
        if tensor is None:
            signed = _zero_point_type(node, index, initializers, producers) != onnx.TensorProto.UINT8
            found.append(Product(node.name, node.op_type, f"dynamic {'int8' if signed else 'uint8'}", None))
            continue
        kind = TYPE_NAMES.get(tensor.data_type, onnx.TensorProto.DataType.Name(tensor.data_type).lower())
        values = numpy_helper.to_array(tensor)
        max_abs = int(np.abs(values.astype(np.int32)).max()) if kind == "int8" and values.size else None
        found.append(Product(node.name, node.op_type, kind, max_abs))
    return found


def saturation_risks(path) -> list:
    """One line per product that a CPU without VNNI could saturate; [] when none can."""
    risky = [p for p in products(onnx.load(str(path))) if p.saturates]
    blockwise = [p for p in risky if p.op == "MatMulNBits"]
    risky = [p for p in risky if p.op != "MatMulNBits"]
    lines = []
    if risky:
        worst = max((p.max_abs or 0) for p in risky)
        lines.append(f"{len(risky)} INT8 products could saturate on CPUs without VNNI (weights up to "
                     f"{worst}, safe up to {SAFE_INT8_WEIGHT}; first: {risky[0].node} {risky[0].op})")
    if blockwise:
        lines.append(f"{len(blockwise)} MatMulNBits products in INT8 (accuracy level 4): their kernels "
                     f"differ between CPUs")
    return lines


def describe(path) -> dict | None:
    """The INT8 scheme a graph uses, as the bundle records it; None for a graph without INT8 products."""
    path = Path(path)
    if path.suffix != ".onnx":
        return None
    found = products(onnx.load(str(path)))
    if not found:
        return None
    weights = sorted({p.weight_type for p in found if not p.weight_type.startswith("dynamic")})
    max_abs = max((p.max_abs for p in found if p.max_abs is not None), default=None)
    if weights == ["int8"]:
        name = "u8s8-7bit" if max_abs is not None and max_abs <= SAFE_INT8_WEIGHT else "u8s8-8bit"
    elif len(weights) == 1:
        name = {"uint8": "u8u8", "blockwise float-products": "blockwise-int8-weights",
                "blockwise int8-products": "blockwise-int8-products"}.get(weights[0], weights[0])
    else:
        name = "mixed"
    return {"scheme": name, "products": len(found), "weights": "/".join(weights) or "none",
            "max_abs_weight": max_abs, "safe_abs_weight": SAFE_INT8_WEIGHT,
            "saturation_free": not any(p.saturates for p in found)}
