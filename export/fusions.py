"""Torch arithmetic written in the forms that export to fewer or smaller nodes; same function, and
the ONNX graph keeps only standard operators (TensorRT parses it).

- The exporter decomposes `nn.GELU` into five nodes (Div, Erf, Add, Mul, Mul) in an order ONNX
  Runtime does not recognise; `0.5 * x * (1 + erf(x / sqrt(2)))` becomes one Gelu node (BiasGelu
  with its bias).
- The pose tower's first layer reads every point's coordinates and observed flag, but the points the
  normalization hides in every frame (the face with `hide_face`, the legs with `hide_legs`) reach it
  as zeros: their weight rows multiply zeros. The exported layer slices out the other features first and
  keeps only their rows (812 -> 268 inputs for the default model): the same sums, less zero terms.
"""

from __future__ import annotations

import copy
import math

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F


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


class LiveInputs(nn.Module):
    """A Linear layer that reads only the features `live` of its input (its weight cut to them).

    The features are taken as runs of consecutive indices (Slice and Concat in the graph: the face
    and legs are neighbours in the model layout, so the runs are few); a Gather of single features
    along the last axis copies them one by one and cost more than the rows it saves."""

    def __init__(self, linear: nn.Linear, live: torch.Tensor):
        super().__init__()
        breaks = np.flatnonzero(np.diff(live.numpy()) != 1) + 1
        self.runs = [(int(run[0]), int(run[-1]) + 1) for run in np.split(live.numpy(), breaks)]
        self.weight = nn.Parameter(linear.weight.detach()[:, live].clone())
        self.bias = None if linear.bias is None else nn.Parameter(linear.bias.detach().clone())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        parts = [x[..., a:b] for a, b in self.runs]
        return F.linear(parts[0] if len(parts) == 1 else torch.cat(parts, dim=-1), self.weight, self.bias)


def live_features(points: int, hidden: np.ndarray) -> torch.Tensor:
    """Indices of the first layer's features ([P*3 coordinates, P observed flags]) that are not
    always zero: every feature of the points not in `hidden`."""
    keep = np.setdiff1d(np.arange(points), np.asarray(hidden, np.int64))
    coords = (3 * keep[:, None] + np.arange(3)).reshape(-1)
    return torch.from_numpy(np.concatenate([coords, 3 * points + keep]).astype(np.int64))


def without_hidden_points(pose: nn.Module, hidden: np.ndarray) -> nn.Module:
    """A copy of a PoseEncoder whose first layer skips the features of the `hidden` points."""
    if len(hidden) == 0:
        return pose
    pose = copy.deepcopy(pose)
    pose.frame_mlp[0] = LiveInputs(pose.frame_mlp[0], live_features(pose.cfg.points, hidden))
    return pose
