"""The shipped checkpoint's INT8 pose graph (the export's fastest variant that keeps the keypoints'
layer in FP32) against its FP32 export, on the lexicon's clips, on whatever CPU runs the tests: the
same bound on AVX2-only, VNNI, AMX and ARM64 processors, since 7-bit weights leave no kernel a sum
to saturate. The shipped bundle itself holds whichever graph passed the export's gate."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from signclip.export import builders, data
from signclip.export.int8_scheme import describe
from signclip.export.onnx_export import export_pose_onnx
from signclip.export.parity import run_pose, session, unit
from signclip.runtime.model.bundle import default_bundle_path, load_bundle
from signclip.runtime.pose.normalize import hidden_indices
from signclip.trainer.checkpoint import load_checkpoint

CHECKPOINT = Path(__file__).parents[2] / "models" / "edge-small"


@pytest.fixture(scope="module")
def fp32_graph(tmp_path_factory):
    model, cfg, _, _ = load_checkpoint(CHECKPOINT)
    path = tmp_path_factory.mktemp("shipped") / "pose_encoder.onnx"
    export_pose_onnx(model.eval().pose, path, hidden=hidden_indices(cfg.model.normalization))
    return path


def test_int8_graph_of_the_shipped_checkpoint_matches_its_fp32_export_on_every_lexicon_clip(
        fp32_graph, lexicon, tmp_path):
    bundle = load_bundle(default_bundle_path())
    candidate = builders.dynamic_int8("pose", per_channel=True, input_layer_fp32=True)
    int8_graph = candidate.make(fp32_graph, tmp_path / candidate.file)
    clips = [data.clip_features(e, bundle.normalization, bundle.max_frames) for e in lexicon]
    ref = unit(run_pose(session(fp32_graph), clips))
    got = unit(run_pose(session(int8_graph), clips))
    cos = np.sum(ref * got, axis=1)
    assert len(cos) == len(lexicon) >= 600
    assert cos.min() >= 0.999, (cos.min(), lexicon[int(cos.argmin())].text)
    scheme = describe(int8_graph)
    assert scheme["scheme"] == "u8s8-7bit" and scheme["saturation_free"]
