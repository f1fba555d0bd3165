"""The bundle's ONNX encoders under ONNX Runtime: pose clips and texts to unit embeddings.

The execution provider is chosen from what is installed (TensorRT, CUDA, CPU, in that order);
`choose_providers` is a pure function of that list so it can be tested anywhere. No torch here:
text is tokenized with the `tokenizers` library from the bundle's `tokenizer.json`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import SignclipError
from ..pose.normalize import ModelInput, hands_view
from .bundle import TOKENIZER_FILE, Bundle

TENSORRT, CUDA, CPU = "TensorrtExecutionProvider", "CUDAExecutionProvider", "CPUExecutionProvider"
PRIORITY = (TENSORRT, CUDA, CPU)
# short names accepted by --provider
ALIASES = {"tensorrt": TENSORRT, "trt": TENSORRT, "cuda": CUDA, "gpu": CUDA, "cpu": CPU}
POSE_INPUTS = ("poses", "mask")
TEXT_INPUTS = ("input_ids", "attention_mask")


def choose_providers(available, requested: str | None = None) -> list:
    """Execution providers to try, best first, from those installed (`available`).

    `requested` None or "auto": every installed provider of PRIORITY, in that order. A name
    ("cpu", "cuda", "tensorrt" or the full provider name): that provider, then CPU as a fallback.
    """
    available = list(available)
    if requested in (None, "", "auto"):
        chosen = [p for p in PRIORITY if p in available]
        return chosen or [CPU]
    name = ALIASES.get(str(requested).lower(), requested)
    if name not in available:
        short = [k for k, v in ALIASES.items() if v in available and k not in ("trt", "gpu")]
        raise SignclipError(f"provider {requested!r} is not available here; available: "
                            f"{', '.join(['auto', *short]) or 'auto'}")
    return [name] if name == CPU else [name, CPU]


def available_providers() -> list:
    import onnxruntime as ort

    return list(ort.get_available_providers())


def resolve_threads(threads: int | None) -> int:
    """0 lets ONNX Runtime pick; otherwise a positive count (default: the CPUs we may use)."""
    if threads is None:
        return 0
    if threads < 0:
        raise SignclipError(f"--threads {threads}: expected 0 (automatic) or a positive count")
    return int(threads)


def make_session(path: Path, providers: list, threads: int = 0):
    """An ONNX Runtime session for one model file; a corrupt model is a SignclipError."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.log_severity_level = 3
    try:
        return ort.InferenceSession(str(path), sess_options=options, providers=providers)
    except Exception as e:  # onnxruntime raises its own Fail/InvalidGraph/... on a bad model
        raise SignclipError(f"{path}: ONNX Runtime cannot load it ({type(e).__name__}: "
                            f"{str(e).splitlines()[0][:200] if str(e) else ''})") from e


def _check_inputs(session, expected: tuple, path: Path) -> None:
    names = [i.name for i in session.get_inputs()]
    missing = [n for n in expected if n not in names]
    if missing:
        raise SignclipError(f"{path}: model inputs are {names}, expected {list(expected)}")


def resample_indices(num_frames: int, max_frames: int) -> np.ndarray:
    """Frame indices that keep a clip at most `max_frames` long, spread uniformly over it."""
    if num_frames <= max_frames:
        return np.arange(num_frames)
    return np.round(np.linspace(0, num_frames - 1, max_frames)).astype(np.int64)


def pad_batch(inputs: list, max_frames: int) -> tuple:
    """ModelInputs to poses [B, T, F] float32 and frame mask [B, T] bool (True = real frame)."""
    feats = [x.features[resample_indices(len(x.features), max_frames)] for x in inputs]
    if any(len(f) == 0 for f in feats):
        raise SignclipError("a clip has no frames: nothing to embed")
    t = max(len(f) for f in feats)
    poses = np.zeros((len(feats), t, feats[0].shape[1]), np.float32)   # (B, T, P*3)
    mask = np.zeros((len(feats), t), bool)                              # (B, T)
    for i, f in enumerate(feats):
        poses[i, :len(f)] = f
        mask[i, :len(f)] = True
    return poses, mask


def unit(x: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length (a zero row stays zero)."""
    x = np.asarray(x, np.float32)
    n = np.linalg.norm(x, axis=-1, keepdims=True)
    return x / np.maximum(n, 1e-12)


def embed_views(embed, inputs: list, weight: float, whole: np.ndarray | None = None) -> tuple:
    """(mixed, whole) unit embeddings [B, D] of ModelInputs by `embed` (a list of inputs -> unit rows).
    With weight > 0 each clip that shows a body is embedded again by its hands alone, in the same
    call, and the two are mixed: the hands-alone path learned from many people's photos, the whole
    clip from few signers. `whole`, the clips' own embeddings (how signs are read), comes back too;
    pass it where the caller already has it (only the hands are embedded)."""
    views = [hands_view(x) for x in inputs] if weight > 0 else []
    mixed = [i for i, v in enumerate(views) if v is not None]
    hands = [views[i] for i in mixed]
    if whole is None:
        out = embed(list(inputs) + hands)
        whole, alone = out[:len(inputs)], out[len(inputs):]
    else:
        whole, alone = np.asarray(whole, np.float32), (embed(hands) if hands else None)
    out = np.array(whole, np.float32)
    if mixed:
        out[mixed] = unit((1.0 - weight) * out[mixed] + weight * alone)
    return out, whole


def mix_views(embed, inputs: list, weight: float, whole: np.ndarray | None = None) -> np.ndarray:
    """The mixed embeddings of embed_views."""
    return embed_views(embed, inputs, weight, whole)[0]


@dataclass(frozen=True)
class EncoderOptions:
    """How encoders run: `provider` None/"auto" or a name, `threads` 0 = ONNX Runtime's choice."""

    provider: str | None = None
    threads: int = 0
    batch_size: int = 32


class PoseEncoder:
    """ModelInput (normalized, 203 points) -> unit embedding [D] with the bundle's pose ONNX."""

    def __init__(self, bundle: Bundle, options: EncoderOptions = EncoderOptions(), path=None):
        self.path = Path(path) if path else bundle.encoder_file("pose")
        self.max_frames = bundle.max_frames
        self.dim = bundle.embedding_dim
        self.hand_view = bundle.normalization.hand_view
        self.options = options
        self.providers = choose_providers(available_providers(), options.provider)
        self.session = make_session(self.path, self.providers, resolve_threads(options.threads))
        _check_inputs(self.session, POSE_INPUTS, self.path)
        self._output = self.session.get_outputs()[0].name

    @property
    def provider(self) -> str:
        return self.session.get_providers()[0]

    def embed(self, inputs) -> np.ndarray:
        """Unit embeddings [B, D] of a list of ModelInputs, with the bundle's hand view mixed in."""
        return mix_views(self._embed, list(inputs), self.hand_view)

    def embed_whole(self, inputs) -> np.ndarray:
        """Unit embeddings [B, D] of the whole clips, no hand view mixed in (how signs are read)."""
        return self._embed(list(inputs))

    def embed_views(self, inputs) -> tuple:
        return embed_views(self._embed, list(inputs), self.hand_view)

    def _embed(self, inputs: list) -> np.ndarray:
        """One unit embedding per input, in batches padded with a frame mask."""
        out = np.zeros((len(inputs), self.dim), np.float32)
        # similar lengths batch together, so little compute goes to padding
        order = np.argsort([len(x.frames) for x in inputs], kind="stable")
        for s in range(0, len(order), self.options.batch_size):
            idx = order[s:s + self.options.batch_size]
            poses, mask = pad_batch([inputs[i] for i in idx], self.max_frames)
            (emb,) = self.session.run([self._output], {"poses": poses, "mask": mask})
            out[idx] = unit(emb)
        return out

    def embed_one(self, x: ModelInput) -> np.ndarray:
        return self.embed([x])[0]


class TextEncoder:
    """Texts -> unit embeddings [B, D] with the bundle's text ONNX and its tokenizer.json."""

    def __init__(self, bundle: Bundle, options: EncoderOptions = EncoderOptions(), path=None):
        from tokenizers import Tokenizer

        self.path = Path(path) if path else bundle.encoder_file("text")
        self.dim = bundle.embedding_dim
        self.options = options
        try:
            self.tokenizer = Tokenizer.from_file(str(bundle.file(TOKENIZER_FILE)))
        except Exception as e:  # tokenizers raises a bare Exception on a bad file
            raise SignclipError(f"{bundle.file(TOKENIZER_FILE)}: not a tokenizers JSON "
                                f"({type(e).__name__})") from e
        self.tokenizer.enable_truncation(max_length=bundle.max_tokens)
        self.tokenizer.enable_padding(pad_id=self.tokenizer.token_to_id("[PAD]") or 0)
        self.providers = choose_providers(available_providers(), options.provider)
        self.session = make_session(self.path, self.providers, resolve_threads(options.threads))
        _check_inputs(self.session, TEXT_INPUTS, self.path)
        self._inputs = [i.name for i in self.session.get_inputs()]
        self._output = self.session.get_outputs()[0].name

    def tokenize(self, texts) -> dict:
        """input_ids, attention_mask (and token_type_ids if the model wants them) [B, L] int64."""
        encodings = self.tokenizer.encode_batch([str(t) for t in texts])
        feed = {"input_ids": np.array([e.ids for e in encodings], np.int64),
                "attention_mask": np.array([e.attention_mask for e in encodings], np.int64)}
        if "token_type_ids" in self._inputs:
            feed["token_type_ids"] = np.zeros_like(feed["input_ids"])
        return feed

    def embed(self, texts) -> np.ndarray:
        texts = list(texts)
        out = np.zeros((len(texts), self.dim), np.float32)
        for s in range(0, len(texts), self.options.batch_size):
            (emb,) = self.session.run([self._output], self.tokenize(texts[s:s + self.options.batch_size]))
            out[s:s + len(emb)] = unit(emb)
        return out


def cpu_count() -> int:
    """CPUs this process may run on (the affinity mask, not the machine's total)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        return os.cpu_count() or 1
