"""The parts of TensorRT export that need no TensorRT: precision parsing, which ONNX and flags each
precision builds with, the optimization profiles, the engine cache path, and the one builder (the
runtime's) driven through a stand-in `tensorrt` module that records what it was asked."""

from __future__ import annotations

import json
import sys
from types import SimpleNamespace

import pytest

from signclip.export import tensorrt as export_trt
from signclip.export.parity import COSINE_FLOOR, COSINE_MIN, compare
from signclip.export.pipeline import ExportOptions
from signclip.export.precision import TENSORRT_PRECISIONS, Precision
from signclip.runtime.cli.main import main
from signclip.runtime.errors import SignclipError
from signclip.runtime.model import tensorrt_runner as runner
from signclip.runtime.model.tensorrt_runner import FRAMES, TOKENS, Profile, build_engine, engine_cache_path

# ------------------------------------------------------------------ precision


def test_precision_values_are_the_strings_files_carry():
    assert [p.value for p in Precision] == ["fp32", "fp16", "int8"]
    assert Precision.INT8 == "int8" and str(Precision.FP16) == "fp16" and f"{Precision.FP32}" == "fp32"
    assert json.dumps({Precision.INT8: Precision.FP16}) == '{"int8": "fp16"}'
    # the gates are keyed by members, and plain strings (bench/, old callers) still find them
    assert COSINE_MIN["int8"] == COSINE_MIN[Precision.INT8] and COSINE_FLOOR["fp32"] == 0.9999


def test_precision_parse_once_one_line():
    assert Precision.parse("int8", TENSORRT_PRECISIONS) is Precision.INT8
    assert Precision.parse(Precision.FP16, TENSORRT_PRECISIONS) is Precision.FP16
    assert Precision.parse("fp32") is Precision.FP32
    with pytest.raises(SignclipError, match=r"^--precision 'fp8'; valid: fp16, int8$"):
        Precision.parse("fp8", TENSORRT_PRECISIONS)
    with pytest.raises(SignclipError, match=r"^--precision 'fp32'; valid: fp16, int8$"):
        Precision.parse(Precision.FP32, TENSORRT_PRECISIONS)


def test_export_options_parse_a_string_from_python(tmp_path):
    options = ExportOptions(checkpoint=tmp_path, format="tensorrt", out=tmp_path / "b", precision="int8")
    assert options.precision is Precision.INT8 and options.format_options() == {"precision"}
    with pytest.raises(SignclipError, match="--precision 'bf16'"):
        ExportOptions(checkpoint=tmp_path, format="tensorrt", out=tmp_path / "b", precision="bf16")


def test_cli_bad_precision_is_one_line_exit_2(tiny_checkpoint, tmp_path, capsys):
    out = tmp_path / "bundle"
    code = main(["export", str(tiny_checkpoint), "--format", "tensorrt", "--precision", "fp8",
                 "--out", str(out)])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1 and "--precision 'fp8'; valid: fp16, int8" in err
    assert not out.exists()


def test_parity_json_carries_the_plain_string():
    import numpy as np

    emb = np.eye(4, dtype=np.float32)
    parity = compare(emb, emb, emb, file="p.onnx", tower="pose", precision=Precision.INT8, variant="x")
    assert parity.precision is Precision.INT8 and parity.passed
    row = parity.as_json()
    assert type(row["precision"]) is str and row["precision"] == "int8"


# ------------------------------------------------------------------ which graph, which precision


def test_engine_source_per_precision(tmp_path):
    fp32, fp16, qdq = tmp_path / "a.onnx", tmp_path / "a.fp16.onnx", tmp_path / "a.qdq.onnx"
    assert export_trt.engine_source(Precision.INT8, fp32, fp16, qdq, 10) == qdq
    assert export_trt.engine_source(Precision.INT8, fp32, None, qdq, 11) == qdq
    assert export_trt.engine_source(Precision.FP16, fp32, fp16, None, 10) == fp32  # flags, not the graph
    assert export_trt.engine_source(Precision.FP16, fp32, fp16, None, 11) == fp16  # strongly typed
    assert export_trt.engine_source(Precision.FP32, fp32, None, None, 11) == fp32
    with pytest.raises(SignclipError, match="Q/DQ"):
        export_trt.engine_source(Precision.INT8, fp32, fp16, None, 10)
    with pytest.raises(SignclipError, match="FP16 ONNX"):
        export_trt.engine_source(Precision.FP16, fp32, None, None, 11)


def test_text_tower_of_an_int8_export_is_fp16():
    assert export_trt.tower_precision("pose", Precision.INT8) is Precision.INT8
    assert export_trt.tower_precision("text", Precision.INT8) is Precision.FP16
    assert export_trt.tower_precision("text", Precision.FP16) is Precision.FP16


# ------------------------------------------------------------------ profiles


def test_one_profile_class_shared_by_export_and_runtime():
    assert export_trt.Profile is Profile and export_trt.build_engine is build_engine


def test_pose_profile_shapes():
    p = Profile.pose(609)
    assert p.shapes == {"poses": [[1, 1, 609], [1, 98, 609], [1, 256, 609]],
                        "mask": [[1, 1], [1, 98], [1, 256]]}
    assert FRAMES == (1, 98, 256) and p.max_batch == 1
    # the runtime's: batches of 1 to 16 clips, frames capped at the bundle's max_frames
    r = Profile.pose(609, batch=(1, 1, runner.MAX_BATCH)).limit(1, 64)
    assert r.shapes["poses"] == [[1, 1, 609], [1, 64, 609], [16, 64, 609]]
    assert r.shapes["mask"] == [[1, 1], [1, 64], [16, 64]]
    assert r.max_batch == 16


def test_text_profile_shapes():
    p = Profile.text()
    assert set(p.shapes) == {"input_ids", "attention_mask"} and TOKENS == (1, 16, 64)
    assert p.shapes["input_ids"] == [[1, 1], [1, 16], [1, 64]] == p.shapes["attention_mask"]
    assert Profile.text(batch=(1, 4, 8), tokens=32).shapes["input_ids"] == [[1, 32], [4, 32], [8, 32]]


def test_profile_limit_leaves_the_original():
    p = Profile.pose(9, frames=(2, 300, 512))
    capped = p.limit(1, 256)
    assert capped.shapes["poses"] == [[1, 2, 9], [1, 256, 9], [1, 256, 9]]
    assert p.shapes["poses"][2] == [1, 512, 9]


def test_engine_cache_path(signclip_home):
    bundle = SimpleNamespace(model_hash="0123456789abcdef" * 4)
    path = engine_cache_path(bundle, "10.3.0", "NVIDIA Jetson Orin (8GB)")
    assert path == signclip_home / "engines" / "0123456789abcdef-trt10.3.0-NVIDIA-Jetson-Orin--8GB-.engine"


# ------------------------------------------------------------------ the builder, on a stand-in TensorRT


def fake_tensorrt(version: str, layer_types=("CONVOLUTION", "NORMALIZATION", "SOFTMAX", "MATRIX_MULTIPLY")):
    """Just enough of the `tensorrt` module for build_engine; `log` records every call."""
    log = {"flags": set(), "shapes": {}, "network_flags": None, "pinned_outputs": 0}

    class Layer:
        def __init__(self, kind):
            self.type, self.precision, self.num_outputs = kind, None, 1

        def set_output_type(self, j, dtype):
            log["pinned_outputs"] += 1

    class Network:
        layers = [Layer(t) for t in layer_types]
        num_layers = len(layers)

        def get_layer(self, i):
            return self.layers[i]

    class Config:
        def set_memory_pool_limit(self, pool, size):
            log["workspace"] = size

        def set_flag(self, flag):
            log["flags"].add(flag)

        def add_optimization_profile(self, profile):
            log["profiles"] = log.get("profiles", 0) + 1

    class OptProfile:
        def set_shape(self, name, lo, mid, hi):
            log["shapes"][name] = [list(lo), list(mid), list(hi)]

    class Builder:
        def __init__(self, logger):
            pass

        def create_network(self, flags):
            log["network_flags"] = flags
            return Network()

        def create_builder_config(self):
            return Config()

        def create_optimization_profile(self):
            return OptProfile()

        def build_serialized_network(self, network, config):
            return b"engine bytes"

    class Logger:
        WARNING = "warning"

        def __init__(self, level):
            pass

    class Parser:
        num_errors = 0

        def __init__(self, network, logger):
            pass

        def parse_from_file(self, path):
            log["parsed"] = path
            return True

    eleven = version.startswith("11")  # no precision flags, no EXPLICIT_BATCH
    creation = {"STRONGLY_TYPED": 1} if eleven else {"EXPLICIT_BATCH": 0, "STRONGLY_TYPED": 1}
    builder_flags = {} if eleven else {"FP16": "FP16", "INT8": "INT8", "OBEY_PRECISION_CONSTRAINTS": "OBEY"}
    trt = SimpleNamespace(
        __version__=version, Logger=Logger, Builder=Builder, OnnxParser=Parser, float32="float32",
        NetworkDefinitionCreationFlag=SimpleNamespace(**creation),
        BuilderFlag=SimpleNamespace(**builder_flags),
        MemoryPoolType=SimpleNamespace(WORKSPACE="workspace"),
        LayerType=SimpleNamespace(**{t: t for t in ("CONVOLUTION", "NORMALIZATION", "SOFTMAX", "REDUCE",
                                                    "MATRIX_MULTIPLY")}))
    return trt, log


@pytest.mark.parametrize("precision, flags", [(Precision.FP32, set()), (Precision.FP16, {"FP16", "OBEY"}),
                                              (Precision.INT8, {"FP16", "OBEY", "INT8"})])
def test_write_engine_on_tensorrt_10(monkeypatch, tmp_path, precision, flags):
    trt, log = fake_tensorrt("10.3.0")
    monkeypatch.setitem(sys.modules, "tensorrt", trt)
    monkeypatch.setattr(export_trt, "require_tensorrt", lambda: None)
    engine = tmp_path / f"pose_encoder.{precision.value}.engine"
    sidecar = export_trt.write_engine(tmp_path / "pose_encoder.onnx", engine, precision=precision,
                                      profile=Profile.pose(609))
    assert log["network_flags"] == 0 and log["flags"] == flags and log["workspace"] == runner.WORKSPACE
    assert log["shapes"] == Profile.pose(609).shapes and log["profiles"] == 1
    assert engine.read_bytes() == b"engine bytes"
    written = json.loads(engine.with_suffix(".json").read_text())
    assert written == sidecar and written["precision"] == precision.value
    assert written["profile"]["shapes"]["poses"][1][1] == 98
    assert written["fp32_layers_pinned"] == (0 if precision is Precision.FP32 else 2)
    assert written["strongly_typed"] is False and written["onnx"] == "pose_encoder.onnx"
    assert list(written)[:3] == ["tensorrt", "gpu", "precision"]


def test_build_engine_on_tensorrt_11_is_strongly_typed(monkeypatch, tmp_path):
    trt, log = fake_tensorrt("11.0.0")
    monkeypatch.setitem(sys.modules, "tensorrt", trt)
    data, info = build_engine(tmp_path / "text_encoder.fp16.onnx", Profile.text(), fp16=True)
    assert data == b"engine bytes" and log["flags"] == set() and log["network_flags"] == 1 << 1
    assert info["strongly_typed"] and info["fp32_layers_pinned"] == 0 and log["pinned_outputs"] == 0
    assert log["shapes"] == Profile.text().shapes


def test_build_engine_says_why_it_cannot_parse(monkeypatch, tmp_path):
    trt, _ = fake_tensorrt("10.3.0")
    trt.OnnxParser.parse_from_file = lambda self, path: False
    trt.OnnxParser.num_errors = 1
    trt.OnnxParser.get_error = lambda self, i: "unsupported op Foo"
    monkeypatch.setitem(sys.modules, "tensorrt", trt)
    with pytest.raises(SignclipError, match="TensorRT 10.3.0 cannot parse .*unsupported op Foo"):
        build_engine(tmp_path / "x.onnx", Profile.text())
