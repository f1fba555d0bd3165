"""TensorRT engines from the exported ONNX, with the TensorRT Python API, on TensorRT 10.3+ and 11.

    build_engine("pose_encoder.onnx", "pose_encoder.fp16.engine", precision="fp16")

TensorRT 10.x (JetPack 6 ships 10.3): weakly typed builder; FP16 through BuilderFlag.FP16 with the
normalization, softmax and reduction layers pinned to FP32 (OBEY_PRECISION_CONSTRAINTS); INT8 only
from the explicit Q/DQ graph (the implicit calibrators are deprecated since 10.1).
TensorRT 11 removed the precision flags: the network is strongly typed, so precision comes from the
ONNX itself: the FP16 graph (LayerNorm/Softmax kept FP32 by our conversion) or the Q/DQ graph.
On a Jetson `trtexec --onnx=pose_encoder.onnx --fp16 --minShapes=poses:1x1x609,mask:1x1
--optShapes=poses:1x98x609,mask:1x98 --maxShapes=poses:1x256x609,mask:1x256` builds the same.
"""

from __future__ import annotations

import ctypes
import json
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from signclip.runtime.atomic import atomic_write_bytes
from signclip.runtime.errors import SignclipError

FRAMES = (1, 98, 256)        # optimization profile: min, typical (the data's mean length), max
TOKENS = (1, 16, 64)
WORKSPACE = 1 << 30


@dataclass(frozen=True)
class Profile:
    """min/opt/max shape per input name."""

    shapes: dict

    @staticmethod
    def pose(features: int, batch: int = 1, frames=FRAMES) -> Profile:
        return Profile({"poses": [[batch, t, features] for t in frames],
                        "mask": [[batch, t] for t in frames]})

    @staticmethod
    def text(batch: int = 1, tokens=TOKENS) -> Profile:
        return Profile({n: [[batch, t] for t in tokens] for n in ("input_ids", "attention_mask")})


def _gpu_count() -> int:
    """CUDA devices through the driver API (no torch/cuda-python needed); 0 without a driver."""
    for name in ("libcuda.so.1", "libcuda.so", "nvcuda.dll"):
        try:
            lib = ctypes.CDLL(name)
        except OSError:
            continue
        count = ctypes.c_int(0)
        if lib.cuInit(0) != 0 or lib.cuDeviceGetCount(ctypes.byref(count)) != 0:
            return 0
        return count.value
    return 0


def unavailable_reason() -> str | None:
    """Why engines cannot be built here, in one line; None when TensorRT and a GPU are present."""
    try:
        import tensorrt  # noqa: F401
    except ImportError:
        return ("TensorRT is not installed: engines are built on the target device (Jetson: JetPack 6 "
                "ships TensorRT 10.3; desktop: pip install 'signclip-edge[tensorrt]')")
    if _gpu_count() == 0:
        return "no CUDA GPU found: TensorRT engines are built on the GPU that will run them"
    return None


def require_tensorrt() -> None:
    reason = unavailable_reason()
    if reason:
        raise SignclipError(f"--format tensorrt: {reason}")


def trt_major(trt) -> int:
    return int(trt.__version__.split(".")[0])


def _gpu_name() -> str:
    try:
        import torch

        if torch.cuda.is_available():
            return torch.cuda.get_device_name(0)
    except ImportError:
        pass
    return "unknown"


def engine_source(precision: str, fp32_onnx: Path, fp16_onnx: Path | None, qdq_onnx: Path | None,
                  major: int) -> Path:
    """Which ONNX a precision builds from: Q/DQ for INT8; for FP16 the FP16 graph on TensorRT 11."""
    if precision == "int8":
        if qdq_onnx is None:
            raise SignclipError("INT8 engines need the Q/DQ graph (static quantization)")
        return qdq_onnx
    if precision == "fp16" and major >= 11:
        if fp16_onnx is None:
            raise SignclipError("TensorRT 11 builds FP16 from an FP16 ONNX graph; none was made")
        return fp16_onnx
    return fp32_onnx


def _pin_fp32(trt, network) -> int:
    """TensorRT 10.x: keep normalization, softmax and reductions in FP32 inside an FP16 engine."""
    keep = {trt.LayerType.NORMALIZATION, trt.LayerType.SOFTMAX, trt.LayerType.REDUCE}
    pinned = 0
    for i in range(network.num_layers):
        layer = network.get_layer(i)
        if layer.type in keep:
            layer.precision = trt.float32
            for j in range(layer.num_outputs):
                layer.set_output_type(j, trt.float32)
            pinned += 1
    return pinned


def build_engine(onnx_path, engine_path, *, precision: str, profile: Profile) -> dict:
    """Parse, build and write an engine plus its JSON sidecar; returns the sidecar."""
    require_tensorrt()
    import tensorrt as trt

    major = trt_major(trt)
    logger = trt.Logger(trt.Logger.WARNING)
    builder = trt.Builder(logger)
    strongly_typed = major >= 11
    flags = 1 << int(trt.NetworkDefinitionCreationFlag.STRONGLY_TYPED) if strongly_typed else 0
    network = builder.create_network(flags)
    parser = trt.OnnxParser(network, logger)
    if not parser.parse_from_file(str(onnx_path)):
        errors = "; ".join(str(parser.get_error(i)) for i in range(parser.num_errors))
        raise SignclipError(f"TensorRT {trt.__version__} cannot parse {Path(onnx_path).name}: {errors}")
    config = builder.create_builder_config()
    config.set_memory_pool_limit(trt.MemoryPoolType.WORKSPACE, WORKSPACE)
    pinned = 0
    if not strongly_typed:
        if precision in ("fp16", "int8"):
            config.set_flag(trt.BuilderFlag.FP16)  # INT8 engines run their non-quantized layers in FP16
            config.set_flag(trt.BuilderFlag.OBEY_PRECISION_CONSTRAINTS)
            pinned = _pin_fp32(trt, network)
        if precision == "int8":
            config.set_flag(trt.BuilderFlag.INT8)  # explicit Q/DQ only: no calibrator is set
    opt = builder.create_optimization_profile()
    for name, (lo, mid, hi) in profile.shapes.items():
        opt.set_shape(name, lo, mid, hi)
    config.add_optimization_profile(opt)
    serialized = builder.build_serialized_network(network, config)
    if serialized is None:
        raise SignclipError(f"TensorRT {trt.__version__} could not build {Path(engine_path).name}")
    atomic_write_bytes(Path(engine_path), bytes(serialized))
    sidecar = {"tensorrt": trt.__version__, "gpu": _gpu_name(), "precision": precision,
               "strongly_typed": strongly_typed, "fp32_layers_pinned": pinned,
               "onnx": Path(onnx_path).name, "profile": asdict(profile)}
    atomic_write_bytes(Path(engine_path).with_suffix(".json"), json.dumps(sidecar, indent=2).encode())
    return sidecar


def run_engine(engine_path, inputs: dict) -> np.ndarray:
    """Run an engine once on host arrays (needs torch with CUDA for the device buffers)."""
    import tensorrt as trt
    import torch

    runtime = trt.Runtime(trt.Logger(trt.Logger.WARNING))
    engine = runtime.deserialize_cuda_engine(Path(engine_path).read_bytes())
    context = engine.create_execution_context()
    buffers = {}
    for name, array in inputs.items():
        tensor = torch.from_numpy(np.ascontiguousarray(array)).cuda()
        if tensor.dtype == torch.bool:
            tensor = tensor.contiguous()
        buffers[name] = tensor
        context.set_input_shape(name, tuple(array.shape))
        context.set_tensor_address(name, tensor.data_ptr())
    name = "embedding"
    out = torch.empty(tuple(context.get_tensor_shape(name)), dtype=torch.float32, device="cuda")
    context.set_tensor_address(name, out.data_ptr())
    stream = torch.cuda.Stream()
    if not context.execute_async_v3(stream.cuda_stream):
        raise RuntimeError("TensorRT execution failed")
    stream.synchronize()
    return out.cpu().numpy()


def build_bundle_engines(work, chosen: dict) -> None:
    """Engines for both towers into the bundle folder, each checked against ONNX Runtime."""
    import tensorrt as trt

    from . import quantize as q
    from .parity import compare, run_pose, session, unit

    precision = work.options.precision or "fp16"
    major = trt_major(trt)
    for tower in ("pose", "text"):
        fp32_onnx = work.fp32[tower]
        fp16_onnx = q.convert_fp16(fp32_onnx, work.scratch / f"{tower}_encoder.fp16.onnx") \
            if precision == "fp16" and major >= 11 else None
        qdq = None
        if precision == "int8" and tower == "pose":
            qdq = q.quantize_static_int8(fp32_onnx, work.scratch / "pose_encoder.qdq.onnx",
                                         q.PoseCalibrationReader(work.calibration))
        tower_precision = precision if tower == "pose" or precision != "int8" else "fp16"
        source = engine_source(tower_precision, fp32_onnx, fp16_onnx, qdq, major)
        profile = Profile.pose(fp32_onnx_features(fp32_onnx)) if tower == "pose" else Profile.text()
        engine = work.folder / f"{tower}_encoder.{tower_precision}.engine"
        build_engine(source, engine, precision=tower_precision, profile=profile)
        if tower == "pose":
            reference = run_pose(session(fp32_onnx), work.clips)
            got = np.stack([run_engine(engine, {"poses": c[None], "mask": np.ones((1, len(c)), bool)})[0]
                            for c in work.clips])
            result = compare(reference, unit(got), work.text_reference, file=engine.name, tower=tower,
                             precision=tower_precision if tower_precision != "fp32" else "fp32",
                             variant="tensorrt")
            work.tried.append(result)
            work.log(f"  {'tensorrt':>20}  {result.line()}")
            if not result.passed:
                raise SignclipError(f"parity gate failed for the TensorRT engine: {result.line()}")


def fp32_onnx_features(path) -> int:
    import onnx

    model = onnx.load(str(path), load_external_data=False)
    return model.graph.input[0].type.tensor_type.shape.dim[2].dim_value
