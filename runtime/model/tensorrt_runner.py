"""The pose encoder as a native TensorRT engine, with TensorRT's own Python API and cuda-python (no torch).

An engine only deserializes on the TensorRT version and GPU that built it. So: try the bundle's
engine (or our cached one); if it does not deserialize, rebuild it from the bundle's ONNX with an
optimization profile over batch and frames and cache it in the user's data folder; if TensorRT or
CUDA is missing altogether, `load_pose_encoder` falls back to ONNX Runtime and says why.
Written for the TensorRT 10.3 API (JetPack 6) and TensorRT 11 (strongly typed). `Profile` and
`build_engine` are the one implementation: `signclip export --format tensorrt` builds its engines
with them too (export may import the runtime, never the reverse).
"""

from __future__ import annotations

import importlib.metadata
import json
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from ..atomic import atomic_write_bytes
from ..errors import SignclipError
from .bundle import Bundle
from .encoders import EncoderOptions, PoseEncoder, embed_views, mix_views, pad_batch, unit

NATIVE = "tensorrt-native"   # --provider value that selects this runner
WORKSPACE = 1 << 30


def _cudart():
    try:
        from cuda.bindings import runtime as cudart  # cuda-python >= 12.6
    except ImportError:
        from cuda import cudart  # older cuda-python
    return cudart


def tensorrt_status() -> dict:
    """TensorRT and cuda-python versions, or the reason they cannot be used here."""
    try:
        import tensorrt as trt
    except ImportError as e:
        return {"available": False, "reason": f"tensorrt is not installed ({e.name or e})"}
    try:
        cudart = _cudart()
    except ImportError:
        return {"available": False, "version": trt.__version__, "reason": "cuda-python is not installed"}
    err, count = cudart.cudaGetDeviceCount()
    if int(err) != 0 or count == 0:
        return {"available": False, "version": trt.__version__, "reason": "no CUDA device"}
    try:
        cuda_python = importlib.metadata.version("cuda-python")
    except importlib.metadata.PackageNotFoundError:
        cuda_python = None
    return {"available": True, "version": trt.__version__, "cuda_python": cuda_python, "devices": count}


def _check(result, what: str):
    """cuda-python returns (error, value...) tuples; raise on an error code."""
    err, *rest = result if isinstance(result, tuple) else (result,)
    if int(err) != 0:
        raise SignclipError(f"CUDA error in {what}: {err}")
    return rest[0] if len(rest) == 1 else rest


FRAMES = (1, 98, 256)        # optimization profile over frames: min, typical (the data's mean length), max
TOKENS = (1, 16, 64)         # the text tower's tokens: min, typical, max
MAX_BATCH = 16               # the runtime's pose batches: 1 to this many clips


def _span(value) -> tuple:
    """(min, opt, max) of one dimension: an int is fixed, a triple is a range."""
    return (value, value, value) if isinstance(value, int) else tuple(value)


@dataclass(frozen=True)
class Profile:
    """TensorRT optimization profile: the min, opt and max shape of every input, by input name."""

    shapes: dict  # name -> [min shape, opt shape, max shape]

    @staticmethod
    def pose(features: int, batch=1, frames=FRAMES) -> Profile:
        """The pose tower: poses [B, T, features] and mask [B, T]; `batch` and `frames` an int (fixed)
        or a (min, opt, max) triple."""
        b, t = _span(batch), _span(frames)
        return Profile({"poses": [[b[i], t[i], features] for i in range(3)],
                        "mask": [[b[i], t[i]] for i in range(3)]})

    @staticmethod
    def text(batch=1, tokens=TOKENS) -> Profile:
        """The text tower: input_ids and attention_mask [B, L]."""
        b, t = _span(batch), _span(tokens)
        return Profile({n: [[b[i], t[i]] for i in range(3)] for n in ("input_ids", "attention_mask")})

    @property
    def max_batch(self) -> int:
        """The largest batch every input takes."""
        return min(hi[0] for _, _, hi in self.shapes.values())

    def limit(self, axis: int, most: int) -> Profile:
        """The same profile with dimension `axis` of every input at most `most` (e.g. a bundle's
        max_frames on axis 1)."""
        def cap(shape):
            return [min(d, most) if i == axis else d for i, d in enumerate(shape)]

        return Profile({name: [cap(s) for s in shapes] for name, shapes in self.shapes.items()})


def trt_major(trt) -> int:
    return int(trt.__version__.split(".")[0])


def _pin_fp32(trt, network) -> int:
    """Weakly typed builds: keep normalization, softmax and reductions in FP32 inside an FP16 engine."""
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


def build_engine(onnx_path: Path, profile: Profile, *, fp16: bool = False, int8: bool = False) -> tuple:
    """(serialized engine, its description) for an ONNX graph over `profile`'s shapes.

    TensorRT 10.x builds weakly typed: `fp16` sets the FP16 flag with normalization, softmax and
    reductions pinned to FP32 (OBEY_PRECISION_CONSTRAINTS); `int8` adds the INT8 flag for an explicit
    Q/DQ graph (no calibrator; its other layers run in FP16). TensorRT 11 has no precision flags: the
    network is strongly typed and its precision is the ONNX graph's own (FP32, FP16 or Q/DQ).
    """
    import tensorrt as trt

    major = trt_major(trt)
    logger = trt.Logger(trt.Logger.WARNING)
    builder = trt.Builder(logger)
    strongly_typed = major >= 11
    flags = 0
    if strongly_typed:
        flags = 1 << int(trt.NetworkDefinitionCreationFlag.STRONGLY_TYPED)
    elif major < 10 and hasattr(trt.NetworkDefinitionCreationFlag, "EXPLICIT_BATCH"):  # implicit since 10
        flags = 1 << int(trt.NetworkDefinitionCreationFlag.EXPLICIT_BATCH)
    network = builder.create_network(flags)
    parser = trt.OnnxParser(network, logger)
    if not parser.parse_from_file(str(onnx_path)):
        errors = "; ".join(str(parser.get_error(i)) for i in range(parser.num_errors))
        raise SignclipError(f"TensorRT {trt.__version__} cannot parse {onnx_path}: {errors[:300]}")
    config = builder.create_builder_config()
    config.set_memory_pool_limit(trt.MemoryPoolType.WORKSPACE, WORKSPACE)
    pinned = 0
    if not strongly_typed and (fp16 or int8):
        config.set_flag(trt.BuilderFlag.FP16)  # INT8 engines run their non-quantized layers in FP16
        config.set_flag(trt.BuilderFlag.OBEY_PRECISION_CONSTRAINTS)
        pinned = _pin_fp32(trt, network)
        if int8:
            config.set_flag(trt.BuilderFlag.INT8)  # explicit Q/DQ only: no calibrator is set
    opt = builder.create_optimization_profile()
    for name, (lo, mid, hi) in profile.shapes.items():
        opt.set_shape(name, lo, mid, hi)
    config.add_optimization_profile(opt)
    serialized = builder.build_serialized_network(network, config)
    if serialized is None:
        raise SignclipError(f"TensorRT {trt.__version__} could not build an engine from {onnx_path}")
    return bytes(serialized), {"tensorrt": trt.__version__, "strongly_typed": strongly_typed,
                               "fp32_layers_pinned": pinned, "onnx": Path(onnx_path).name,
                               "profile": asdict(profile)}


def save_engine(path: Path, serialized: bytes, sidecar: dict) -> None:
    """The engine and its JSON sidecar (same name, .json) beside it, each written atomically."""
    atomic_write_bytes(Path(path), serialized)
    atomic_write_bytes(Path(path).with_suffix(".json"), json.dumps(sidecar, indent=2).encode())


def engine_cache_path(bundle: Bundle, trt_version: str, device: str) -> Path:
    from ..home import data_dir

    safe = "".join(c if c.isalnum() else "-" for c in device)[:40]
    return data_dir() / "engines" / f"{bundle.model_hash[:16]}-trt{trt_version}-{safe}.engine"


class TensorRTRunner:
    """One TensorRT execution context for the pose encoder; device buffers grow as needed."""

    def __init__(self, engine_bytes: bytes):
        import tensorrt as trt

        self.cudart = _cudart()
        self.runtime = trt.Runtime(trt.Logger(trt.Logger.ERROR))
        self.engine = self.runtime.deserialize_cuda_engine(engine_bytes)
        if self.engine is None:
            raise SignclipError("TensorRT engine does not deserialize (another TensorRT version or GPU)")
        self.context = self.engine.create_execution_context()
        self.stream = _check(self.cudart.cudaStreamCreate(), "cudaStreamCreate")
        self.output = next(self.engine.get_tensor_name(i) for i in range(self.engine.num_io_tensors)
                           if self.engine.get_tensor_mode(self.engine.get_tensor_name(i))
                           == trt.TensorIOMode.OUTPUT)
        self._buffers = {}  # name -> (pointer, bytes)

    def _buffer(self, name: str, nbytes: int) -> int:
        ptr, size = self._buffers.get(name, (None, 0))
        if size < nbytes:
            if ptr is not None:
                _check(self.cudart.cudaFree(ptr), "cudaFree")
            ptr = _check(self.cudart.cudaMalloc(nbytes), "cudaMalloc")
            self._buffers[name] = (ptr, nbytes)
        return int(ptr)

    def run(self, poses: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """poses [B, T, F] float32, mask [B, T] bool -> embedding [B, D] float32."""
        cudart = self.cudart
        h2d, d2h = cudart.cudaMemcpyKind.cudaMemcpyHostToDevice, cudart.cudaMemcpyKind.cudaMemcpyDeviceToHost
        inputs = {"poses": np.ascontiguousarray(poses, np.float32), "mask": np.ascontiguousarray(mask, bool)}
        for name, array in inputs.items():
            self.context.set_input_shape(name, array.shape)
            ptr = self._buffer(name, array.nbytes)
            _check(cudart.cudaMemcpyAsync(ptr, array.ctypes.data, array.nbytes, h2d, self.stream), "H2D")
            self.context.set_tensor_address(name, ptr)
        out = np.empty(tuple(self.context.get_tensor_shape(self.output)), np.float32)
        out_ptr = self._buffer(self.output, out.nbytes)
        self.context.set_tensor_address(self.output, out_ptr)
        if not self.context.execute_async_v3(int(self.stream)):
            raise SignclipError("TensorRT execution failed")
        _check(cudart.cudaMemcpyAsync(out.ctypes.data, out_ptr, out.nbytes, d2h, self.stream), "D2H")
        _check(cudart.cudaStreamSynchronize(self.stream), "cudaStreamSynchronize")
        return out

    def close(self) -> None:
        for ptr, _ in self._buffers.values():
            self.cudart.cudaFree(ptr)
        self._buffers.clear()


class TensorRTPoseEncoder:
    """Same interface as encoders.PoseEncoder, on a native TensorRT engine."""

    provider = NATIVE

    def __init__(self, bundle: Bundle, profile: Profile | None = None, batch_size: int = 16):
        import tensorrt as trt

        status = tensorrt_status()
        if not status["available"]:
            raise SignclipError(f"native TensorRT unavailable: {status['reason']}")
        self.max_frames, self.dim = bundle.max_frames, bundle.embedding_dim
        self.hand_view = bundle.normalization.hand_view
        if profile is None:
            profile = Profile.pose(3 * len(bundle.meta["layout"]), batch=(1, 1, MAX_BATCH))
        profile = profile.limit(1, bundle.max_frames)  # frames
        self.batch_size = min(batch_size, profile.max_batch)
        props = _check(_cudart().cudaGetDeviceProperties(0), "cudaGetDeviceProperties")
        device = props.name.decode() if isinstance(props.name, bytes) else str(props.name)
        candidates = [bundle.file(n) for n in (bundle.meta.get("engines") or {}).values()
                      if isinstance(n, str)]
        cache = engine_cache_path(bundle, trt.__version__, device)
        self.runner, self.rebuilt = None, False
        for path in [*candidates, cache]:
            if path.is_file():
                try:
                    self.runner = TensorRTRunner(path.read_bytes())
                    break
                except SignclipError:
                    continue  # built elsewhere: rebuild below
        if self.runner is None:
            engine, sidecar = build_engine(bundle.encoder_file("pose"), profile)
            save_engine(cache, engine, {**sidecar, "gpu": device})
            self.runner, self.rebuilt = TensorRTRunner(engine), True

    def embed(self, inputs) -> np.ndarray:
        return mix_views(self._embed, list(inputs), self.hand_view)

    def embed_whole(self, inputs) -> np.ndarray:
        return self._embed(list(inputs))

    def embed_views(self, inputs) -> tuple:
        return embed_views(self._embed, list(inputs), self.hand_view)

    def _embed(self, inputs: list) -> np.ndarray:
        out = np.zeros((len(inputs), self.dim), np.float32)
        for s in range(0, len(inputs), self.batch_size):
            poses, mask = pad_batch(inputs[s:s + self.batch_size], self.max_frames)
            out[s:s + len(poses)] = unit(self.runner.run(poses, mask))
        return out

    def embed_one(self, x) -> np.ndarray:
        return self.embed([x])[0]


def load_pose_encoder(bundle: Bundle, options: EncoderOptions = EncoderOptions()):
    """The pose encoder for `options.provider`: the native TensorRT runner for "tensorrt-native"
    (falling back to ONNX Runtime, with the reason on stderr), else ONNX Runtime."""
    if options.provider != NATIVE:
        return PoseEncoder(bundle, options)
    try:
        return TensorRTPoseEncoder(bundle, batch_size=options.batch_size)
    except (SignclipError, ImportError, RuntimeError) as e:
        print(f"signclip: native TensorRT not used ({e}); using ONNX Runtime", file=sys.stderr)
        return PoseEncoder(bundle, EncoderOptions(None, options.threads, options.batch_size))
