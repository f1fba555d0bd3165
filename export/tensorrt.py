"""TensorRT engines from the exported ONNX, with the TensorRT Python API, on TensorRT 10.3+ and 11.

    write_engine("pose_encoder.onnx", "pose_encoder.fp16.engine", precision=Precision.FP16,
                 profile=Profile.pose(609))

The optimization profiles and the builder are the runtime's (`signclip.runtime.model.tensorrt_runner`:
`Profile`, `build_engine`), which also rebuilds engines on the user's device; this module picks the
ONNX and the flags for a precision, writes the engine with its sidecar and checks it against ONNX Runtime.
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
from pathlib import Path

import numpy as np

from signclip.runtime.errors import SignclipError
from signclip.runtime.model.tensorrt_runner import Profile, build_engine, save_engine, trt_major

from .precision import TENSORRT_DEFAULT, Precision


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


def _gpu_name() -> str:
    try:
        import torch

        if torch.cuda.is_available():
            return torch.cuda.get_device_name(0)
    except ImportError:
        pass
    return "unknown"


def engine_source(precision: Precision, fp32_onnx: Path, fp16_onnx: Path | None, qdq_onnx: Path | None,
                  major: int) -> Path:
    """Which ONNX a precision builds from: Q/DQ for INT8; for FP16 the FP16 graph on TensorRT 11."""
    if precision is Precision.INT8:
        if qdq_onnx is None:
            raise SignclipError("INT8 engines need the Q/DQ graph (static quantization)")
        return qdq_onnx
    if precision is Precision.FP16 and major >= 11:
        if fp16_onnx is None:
            raise SignclipError("TensorRT 11 builds FP16 from an FP16 ONNX graph; none was made")
        return fp16_onnx
    return fp32_onnx


def tower_precision(tower: str, precision: Precision) -> Precision:
    """The precision of one tower's engine: INT8 comes from the pose tower's Q/DQ graph only, so an
    INT8 export builds the text tower in FP16."""
    return Precision.FP16 if tower == "text" and precision is Precision.INT8 else precision


def write_engine(onnx_path, engine_path, *, precision: Precision, profile: Profile) -> dict:
    """Build (the runtime's build_engine), write the engine plus its JSON sidecar; returns the sidecar."""
    require_tensorrt()
    serialized, built = build_engine(Path(onnx_path), profile,
                                     fp16=precision in (Precision.FP16, Precision.INT8),
                                     int8=precision is Precision.INT8)
    # the precision as its plain string ("fp16"), as engines' sidecars always carried it
    sidecar = {"tensorrt": built["tensorrt"], "gpu": _gpu_name(), "precision": precision.value, **built}
    save_engine(Path(engine_path), serialized, sidecar)
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

    precision = work.options.precision or TENSORRT_DEFAULT
    major = trt_major(trt)
    for tower in work.fp32:  # a pose-only export has no text graph to build from
        fp32_onnx = work.fp32[tower]
        engine_precision = tower_precision(tower, precision)
        # TensorRT 11 is strongly typed: its FP16 engines (the text tower's of an INT8 export too)
        # build from an FP16 graph
        fp16_onnx = q.convert_fp16(fp32_onnx, work.scratch / f"{tower}_encoder.fp16.onnx") \
            if engine_precision is Precision.FP16 and major >= 11 else None
        qdq = None
        if engine_precision is Precision.INT8:
            qdq = q.quantize_static_int8(fp32_onnx, work.scratch / "pose_encoder.qdq.onnx",
                                         q.PoseCalibrationReader(work.calibration))
        source = engine_source(engine_precision, fp32_onnx, fp16_onnx, qdq, major)
        profile = Profile.pose(fp32_onnx_features(fp32_onnx)) if tower == "pose" else Profile.text()
        engine = work.folder / f"{tower}_encoder.{engine_precision.value}.engine"
        write_engine(source, engine, precision=engine_precision, profile=profile)
        if tower == "pose":
            reference = run_pose(session(fp32_onnx), work.clips)
            got = np.stack([run_engine(engine, {"poses": c[None], "mask": np.ones((1, len(c)), bool)})[0]
                            for c in work.clips])
            result = compare(reference, unit(got), work.text_reference, file=engine.name, tower=tower,
                             precision=engine_precision, variant="tensorrt")
            work.tried.append(result)
            work.log(f"  {'tensorrt':>20}  {result.line()}")
            if not result.passed:
                raise SignclipError(f"parity gate failed for the TensorRT engine: {result.line()}")


def fp32_onnx_features(path) -> int:
    import onnx

    model = onnx.load(str(path), load_external_data=False)
    return model.graph.input[0].type.tensor_type.shape.dim[2].dim_value
