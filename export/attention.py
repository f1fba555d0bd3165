"""The towers' self-attention, rewritten as ONNX Runtime's fused `Attention` kernel.

The exporter writes each block's attention as about 16 standard nodes (Split, Reshape, Transpose,
MatMul, Mul, Add, Softmax ...). ONNX Runtime's optimizers do not recognise this pre-LayerNorm form,
and on a 2-core CPU a clip of 98 frames spends more time dispatching those small nodes than
multiplying. One com.microsoft `Attention` node computes the same function (packed QKV projection,
additive key-padding mask, softmax, weighted sum); `quantize_dynamic` turns it into `QAttention`.
Only CPU graphs get it: the FP32 graph keeps standard operators for TensorRT. The text tower's
graph (`text_graph.py`) has the same form, its key mask the `attention_mask` input cast to bool.

    fuse_attention("pose_encoder.onnx", "pose_encoder.fused.onnx")  # -> number of blocks fused
    fuse_attention("text_encoder.onnx", "text_encoder.fused.onnx", mask_input="attention_mask")
"""

from __future__ import annotations

import math

import numpy as np
import onnx
from onnx import helper
from onnxruntime.transformers.onnx_model import OnnxModel

MASK_INT32 = "mask_int32"   # Attention takes the raw key mask as int32 [B, T], 1 = attend


def fuse_attention(src, dst, mask_input: str = "mask") -> int:
    """Write `src` to `dst` with every matching attention block fused; return how many were."""
    model = OnnxModel(onnx.load(str(src)))
    fused = [node for softmax in model.get_nodes_by_op_type("Softmax")
             if (node := _fuse_one(model, softmax, len(model.get_nodes_by_op_type("Attention")),
                                   mask_input))]
    if fused:
        model.add_node(helper.make_node("Cast", [mask_input], [MASK_INT32], name="mask_to_int32",
                                        to=onnx.TensorProto.INT32))
        if not any(o.domain == "com.microsoft" for o in model.model.opset_import):
            model.model.opset_import.append(helper.make_opsetid("com.microsoft", 1))
        model.prune_graph(allow_remove_graph_inputs=False)
        model.topological_sort()
    onnx.save(model.model, str(dst))
    return len(fused)


def _fuse_one(model: OnnxModel, softmax, index: int, mask_input: str):
    """Replace the attention around one Softmax with an Attention node, or leave it (None).

    Matched: Softmax(Mul(MatMul(q, k^T), scale) + bias), q/k/v = Split(x @ W + b) reshaped to
    heads; bias = Unsqueeze(Where(mask, 0, filler)); output Reshape(Transpose(softmax @ v))."""
    scores = model.match_parent_path(softmax, ["Add", "Mul", "MatMul"], [0, 0, 0])
    bias = model.match_parent_path(softmax, ["Add", "Unsqueeze", "Where"], [0, 1, 0])
    if scores is None or bias is None:
        return None
    matmul_qk = scores[2]
    q = model.match_parent_path(matmul_qk, ["Transpose", "Reshape", "Split", "Add", "MatMul"],
                                [0, 0, 0, 0, 0])
    k = model.match_parent_path(matmul_qk, ["Transpose", "Reshape", "Split"], [1, 0, 0])
    children = model.match_child_path(softmax, ["MatMul", "Transpose", "Reshape"])
    if q is None or k is None or children is None:
        return None
    matmul_av, _, merge = children
    v = model.match_parent_path(matmul_av, ["Transpose", "Reshape", "Split"], [1, 0, 0])
    split, add_bias, matmul_qkv = q[2], q[3], q[4]
    if v is None or not (k[2] is split is v[2]) or \
            list(split.output) != [q[1].input[0], k[1].input[0], v[1].input[0]]:
        return None
    heads_first, keys_transposed = [0, 2, 1, 3], [0, 2, 3, 1]
    if [_perm(q[0]), _perm(k[0]), _perm(v[0]), _perm(children[1])] != \
            [heads_first, keys_transposed, heads_first, heads_first]:
        return None
    where = bias[2]
    weights = model.get_initializer(matmul_qkv.input[1])
    qkv_bias = model.get_initializer(add_bias.input[1])
    scale = model.get_constant_value(scores[1].input[1])
    keep = model.get_constant_value(where.input[1])
    filler = model.get_constant_value(where.input[2])
    if not _reads_mask(model, where, mask_input) or weights is None or qkv_bias is None or scale is None \
            or keep is None or filler is None or float(np.asarray(keep)) != 0.0:
        return None
    heads = _heads(model, q[1])
    width = weights.dims[1] // 3
    # Attention scales by 1/sqrt(head size) itself
    if heads is None or not math.isclose(float(np.asarray(scale)), 1 / math.sqrt(width // heads),
                                         rel_tol=1e-6):
        return None
    node = helper.make_node("Attention", [matmul_qkv.input[0], weights.name, qkv_bias.name, MASK_INT32],
                            [merge.output[0]], name=f"Attention_{index}", domain="com.microsoft",
                            num_heads=heads, mask_filter_value=float(np.asarray(filler)))
    # the old nodes that fed only `merge` are pruned afterwards (the mask's Where is shared)
    model.remove_node(merge)
    model.add_node(node)
    return node


def _reads_mask(model: OnnxModel, where, mask_input: str) -> bool:
    """Whether the Where's condition is the mask input itself or that input cast (to bool)."""
    if where.input[0] == mask_input:
        return True
    cast = model.get_parent(where, 0)
    return cast is not None and cast.op_type == "Cast" and cast.input[0] == mask_input


def _perm(transpose) -> list:
    return next((list(a.ints) for a in transpose.attribute if a.name == "perm"), [])


def _heads(model: OnnxModel, reshape) -> int | None:
    """Heads of a (B, T, heads, head size) Reshape whose shape is a Concat ending in constants."""
    shape = model.get_parent(reshape, 1)
    if shape is None or shape.op_type != "Concat" or len(shape.input) != 4:
        return None
    heads = model.get_constant_value(shape.input[2])
    return None if heads is None else int(np.asarray(heads).reshape(-1)[0])
