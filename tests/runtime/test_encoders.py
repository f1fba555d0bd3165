"""Encoders: provider choice (pure), resampling, masked batches, ONNX Runtime vs torch parity."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest
from tiny_bundle import LEXICON, torch_pose_embedding

from signclip.runtime.errors import SignclipError
from signclip.runtime.model.bundle import load_bundle
from signclip.runtime.model.encoders import (
    CPU,
    CUDA,
    TENSORRT,
    EncoderOptions,
    PoseEncoder,
    TextEncoder,
    choose_providers,
    mix_views,
    pad_batch,
    resample_indices,
    unit,
)
from signclip.runtime.pose.io import read_pose
from signclip.runtime.pose.normalize import ModelInput, NormalizationConfig, hands_view, preprocess

POSES = Path(__file__).resolve().parents[1] / "data" / "poses"
ALL = ["AzureExecutionProvider", TENSORRT, CUDA, CPU]


@pytest.mark.parametrize("available, requested, expected", [
    (ALL, None, [TENSORRT, CUDA, CPU]),
    (ALL, "auto", [TENSORRT, CUDA, CPU]),
    ([CPU, CUDA], None, [CUDA, CPU]),
    (["AzureExecutionProvider", CPU], None, [CPU]),
    ([], None, [CPU]),
    (ALL, "cuda", [CUDA, CPU]),
    (ALL, "TensorRT", [TENSORRT, CPU]),
    (ALL, CPU, [CPU]),
    ([CPU], "cpu", [CPU]),
])
def test_choose_providers(available, requested, expected):
    assert choose_providers(available, requested) == expected


def test_choose_unavailable_provider_lists_choices():
    with pytest.raises(SignclipError, match=r"provider 'cuda' is not available here; available: auto, cpu"):
        choose_providers([CPU], "cuda")
    with pytest.raises(SignclipError, match="'rocm'"):
        choose_providers(ALL, "rocm")


def test_resample_indices():
    assert resample_indices(10, 256).tolist() == list(range(10))
    idx = resample_indices(600, 256)
    assert len(idx) == 256 and idx[0] == 0 and idx[-1] == 599
    assert (np.diff(idx) >= 2).all() and (np.diff(idx) <= 3).all()  # uniform: steps of 600/255


def fake_input(frames: int, seed: int) -> ModelInput:
    rng = np.random.default_rng(seed)
    return ModelInput(rng.standard_normal((frames, 203, 3)).astype(np.float32), np.ones((frames, 203), bool))


def test_pad_batch_masks_padding():
    poses, mask = pad_batch([fake_input(3, 0), fake_input(5, 1)], 256)
    assert poses.shape == (2, 5, 609) and mask.tolist() == [[1, 1, 1, 0, 0], [1] * 5]
    assert (poses[0, 3:] == 0).all()


@pytest.fixture(scope="module")
def bundle(tiny_bundle):
    return load_bundle(tiny_bundle)


@pytest.fixture(scope="module")
def pose_encoder(bundle):
    return PoseEncoder(bundle, EncoderOptions(provider="cpu", threads=1))


def test_pose_parity_with_torch(pose_encoder):
    x = preprocess(read_pose(POSES / "holistic576_97f.pose"))
    ours = pose_encoder.embed_one(x)
    ref = torch_pose_embedding(x.features)
    assert np.linalg.norm(ours) == pytest.approx(1.0, abs=1e-5)
    np.testing.assert_allclose(ours, ref, atol=1e-4)


def test_hand_view_mixes_a_clip_with_its_hands_alone(pose_encoder):
    """One encoder call embeds both views; a hands-only input (a photo) is its own hand view."""
    x = preprocess(read_pose(POSES / "holistic576_97f.pose"), NormalizationConfig(hand_3d=True))
    hands = hands_view(x)
    calls = []
    full, alone = pose_encoder._embed([x, hands])
    mixed = mix_views(lambda xs: calls.append(len(xs)) or pose_encoder._embed(xs), [x, hands], 0.25)
    assert calls == [3]
    np.testing.assert_allclose(mixed[0], unit(0.75 * full + 0.25 * alone), atol=1e-6)
    np.testing.assert_allclose(mixed[1], alone, atol=1e-6)
    np.testing.assert_allclose(mix_views(pose_encoder._embed, [x], 0.0)[0], full, atol=1e-6)
    assert pose_encoder.hand_view == 0.0  # the tiny bundle's: its model never trained on photos


def test_batch_does_not_change_an_embedding(pose_encoder):
    """The reference's defect: padding without a mask made a clip's embedding depend on its batch."""
    paths = (POSES / "holistic586_5f.pose", POSES / "holistic576_121f.pose", next(LEXICON.glob("ase/*.pose")))
    clips = [preprocess(read_pose(p)) for p in paths]
    alone = np.stack([pose_encoder.embed_one(c) for c in clips])
    together = pose_encoder.embed(clips)
    np.testing.assert_allclose(together, alone, atol=1e-5)


def test_clip_longer_than_max_frames_is_resampled(pose_encoder):
    x = preprocess(read_pose(POSES / "reduced178_278f.pose"))
    assert len(x.frames) == 278 > pose_encoder.max_frames
    emb = pose_encoder.embed_one(x)
    idx = resample_indices(278, 256)
    ref = torch_pose_embedding(x.features[idx])
    np.testing.assert_allclose(emb, ref, atol=1e-4)


def test_text_encoder_reproduces_vocabulary(bundle):
    enc = TextEncoder(bundle, EncoderOptions(threads=1))
    v = bundle.vocabulary()
    # prompts of different token lengths in one padded batch
    emb = enc.embed(v.texts)
    np.testing.assert_allclose(emb, v.embeddings, atol=1e-4)
    feed = enc.tokenize(["<en> <ase> house", "a much longer text " * 20])
    assert feed["input_ids"].shape[1] == bundle.max_tokens  # truncated to the bundle's limit
    assert feed["attention_mask"][0].sum() < bundle.max_tokens  # and padded


def test_corrupt_model_is_a_clear_error(bundle, tmp_path):
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"not a model")
    with pytest.raises(SignclipError, match="ONNX Runtime cannot load it"):
        PoseEncoder(bundle, path=bad)


def test_text_model_as_pose_model_names_the_inputs(bundle):
    with pytest.raises(SignclipError, match=r"model inputs are \['input_ids', 'attention_mask'\]"):
        PoseEncoder(bundle, path=bundle.encoder_file("text"))


def has_cuda() -> bool:
    import onnxruntime as ort

    return CUDA in ort.get_available_providers()


@pytest.mark.gpu
@pytest.mark.skipif(not has_cuda(), reason="no CUDA execution provider here (CPU-only onnxruntime)")
def test_cuda_matches_cpu(bundle, pose_encoder):
    x = preprocess(read_pose(POSES / "holistic576_97f.pose"))
    gpu = PoseEncoder(bundle, EncoderOptions(provider="cuda"))
    assert gpu.provider == CUDA
    np.testing.assert_allclose(gpu.embed_one(x), pose_encoder.embed_one(x), atol=1e-3)


def tensorrt_ready() -> bool:
    from signclip.runtime.model.tensorrt_runner import tensorrt_status

    return tensorrt_status()["available"]


@pytest.mark.gpu
@pytest.mark.skipif(importlib.util.find_spec("tensorrt") is None or not tensorrt_ready(),
                    reason="TensorRT with cuda-python and a CUDA device is not available here")
def test_native_tensorrt_matches_onnxruntime(bundle, pose_encoder, signclip_home):
    from signclip.runtime.model.tensorrt_runner import TensorRTPoseEncoder

    clips = [preprocess(read_pose(POSES / n)) for n in ("holistic576_97f.pose", "holistic586_5f.pose")]
    trt = TensorRTPoseEncoder(bundle)
    assert trt.rebuilt  # no engine in the bundle: built from its ONNX and cached
    np.testing.assert_allclose(trt.embed(clips), pose_encoder.embed(clips), atol=2e-3)
    assert not TensorRTPoseEncoder(bundle).rebuilt  # the cached engine deserializes


def test_native_tensorrt_falls_back_to_onnxruntime(bundle, capsys):
    from signclip.runtime.model.tensorrt_runner import load_pose_encoder

    if tensorrt_ready():
        pytest.skip("TensorRT is available here: the fallback is not taken")
    enc = load_pose_encoder(bundle, EncoderOptions(provider="tensorrt-native"))
    assert isinstance(enc, PoseEncoder)
    assert "native TensorRT not used" in capsys.readouterr().err
