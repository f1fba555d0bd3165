"""Torch arithmetic written in the forms ONNX Runtime's graph optimizer fuses into one kernel.

The exporter decomposes `nn.GELU` into five nodes (Div, Erf, Add, Mul, Mul) in an order ONNX
Runtime does not recognise; `0.5 * x * (1 + erf(x / sqrt(2)))` becomes one Gelu node (BiasGelu
with its bias). Same function: the ONNX graph keeps only standard operators (TensorRT parses it).
"""

from __future__ import annotations

import copy
import math

import torch
from torch import nn


def gelu(x: torch.Tensor) -> torch.Tensor:
    """Exact (erf) GELU, in the form ONNX Runtime fuses."""
    return 0.5 * x * (1.0 + torch.erf(x / math.sqrt(2.0)))


class FusableGELU(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return gelu(x)


def with_fusable_gelu(module: nn.Module) -> nn.Module:
    """A copy of `module` whose exact `nn.GELU`s are `FusableGELU`s (the tanh approximation is kept)."""
    module = copy.deepcopy(module)
    for parent in module.modules():
        for name, child in parent.named_children():
            if isinstance(child, nn.GELU) and child.approximate == "none":
                setattr(parent, name, FusableGELU())
    return module
