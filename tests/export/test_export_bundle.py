"""`signclip export` end to end: option checks, the bundle round trip through the runtime's loader,
and an export whose gate fails leaving nothing behind."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from signclip.export import data
from signclip.export.formats import FORMATS, check_options
from signclip.export.parity import session
from signclip.export.pipeline import ExportOptions, export_bundle
from signclip.runtime.cli.main import main
from signclip.runtime.errors import SignclipError
from signclip.runtime.model.bundle import META_FILE, VOCABULARY_ARRAYS, load_bundle
from signclip.runtime.model.selfcheck import SELFCHECK_FILE, run_selfcheck
from signclip.trainer.checkpoint import (
    load_checkpoint,  # noqa: I001
    save_checkpoint,
)


def test_unknown_format_is_refused_with_a_suggestion():
    with pytest.raises(SignclipError, match="unknown format 'onnx-int9'.*did you mean 'onnx-int8'"):
        check_options("onnx-int9", set())


def test_option_the_format_does_not_take_is_refused():
    with pytest.raises(SignclipError, match="--per-channel does not apply to --format onnx "):
        check_options("onnx", {"per_channel"})
    with pytest.raises(SignclipError, match="--precision does not apply to --format onnx-int8"):
        check_options("onnx-int8", {"precision"})
    assert {f.name for f in FORMATS} == {"onnx", "onnx-int8", "onnx-fp16", "ort", "tensorrt"}


def test_cli_refuses_before_any_work(tiny_checkpoint, tmp_path, capsys):
    out = tmp_path / "bundle"
    code = main(["export", str(tiny_checkpoint), "--format", "onxx", "--out", str(out)])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1 and "did you mean 'onnx'" in err
    code = main(["export", str(tiny_checkpoint), "--format", "onnx-int8", "--calibration", "x.csv",
                 "--out", str(out)])
    assert code == 2 and "--static" in capsys.readouterr().err
    assert not out.exists()


def test_tensorrt_says_plainly_why_not_here(tiny_checkpoint, tmp_path, capsys):
    from signclip.export.tensorrt import unavailable_reason

    if unavailable_reason() is None:
        pytest.skip("TensorRT and a GPU are present here")
    code = main(["export", str(tiny_checkpoint), "--format", "tensorrt", "--out", str(tmp_path / "b")])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1
    assert "TensorRT is not installed" in err or "no CUDA GPU" in err
    assert not (tmp_path / "b").exists()


@pytest.mark.slow  # two ONNX exports and a gate on real clips: about 30 s on 2 shared cores
@pytest.mark.parametrize("fmt", ["onnx", "onnx-int8"])
def test_round_trip_through_the_runtime_loader(tiny_checkpoint, tiny_model, small_manifest, tmp_path, fmt):
    out = tmp_path / "bundle"
    export_bundle(ExportOptions(checkpoint=tiny_checkpoint, format=fmt, out=out, data=small_manifest,
                                clips=10), log=lambda line: None)
    bundle = load_bundle(out)  # hashes, layout, embedding size, vocabulary hash
    meta = json.loads((out / META_FILE).read_text())
    assert meta["format"] == fmt and meta["embedding_dim"] == 32
    assert set(meta["tools"]) >= {"torch", "onnx", "onnxruntime", "python"}
    chosen = meta["parity"][fmt]["chosen"]
    assert all(p["passed"] for p in chosen.values()) and set(chosen) == {"pose", "text"}
    # precisions are written as the plain strings they always were
    assert {p["precision"] for p in chosen.values()} <= {"fp32", "int8"}
    assert meta["parity"][fmt]["gate"]["cosine_floor"] == {"fp32": 0.9999, "int8": 0.98, "fp16": 0.98}
    assert "Precision." not in (out / META_FILE).read_text()
    if fmt == "onnx-int8":  # the scheme is recorded, and no CPU saturates it
        assert meta["int8"]["pose"] == chosen["pose"]["int8"]
        assert meta["int8"]["pose"]["scheme"] == "u8s8-7bit" and meta["int8"]["pose"]["saturation_free"]
    check = run_selfcheck(out / SELFCHECK_FILE, session(bundle.encoder_file("pose")))
    assert check.clips == 8 and check.passed and check.to_export >= 0.9999
    assert not [p for p in out.iterdir() if p.name.startswith(".")]

    # pose: the bundle's encoder against torch on real clips
    entries = data.read_manifest(small_manifest)
    sess = session(bundle.encoder_file("pose"))
    for e in entries[:3]:
        x = data.clip_features(e, bundle.normalization, bundle.max_frames)
        got = sess.run(None, {"poses": x[None], "mask": np.ones((1, len(x)), bool)})[0][0]
        with torch.no_grad():
            ones = torch.ones(1, len(x), dtype=torch.bool)
            ref = tiny_model.pose(torch.from_numpy(x)[None], ones)[0].numpy()
        assert float(got @ ref) >= (0.9999 if fmt == "onnx" else 0.99)

    # text: the bundle's tokenizer + encoder reproduce the stored vocabulary embeddings
    vocab = bundle.vocabulary()
    assert len(vocab) == len({(e.text, e.sign_language) for e in entries})
    assert vocab.texts[0] == f"<{entries[0].spoken_language}> <{entries[0].sign_language}> {entries[0].text}"
    assert vocab.labels[0] == entries[0].text
    tok = data.load_tokenizer(bundle.file("tokenizer.json"), meta["tokenizer"]["max_tokens"])
    ids, mask = data.tokenize(tok, list(vocab.texts[:4]))
    got = session(bundle.encoder_file("text")).run(None, {"input_ids": ids, "attention_mask": mask})[0]
    cos = np.sum(got * vocab.embeddings[:4], axis=1)
    assert cos.min() >= (0.9999 if fmt == "onnx" else 0.98)
    with np.load(out / "vocabulary.npz") as z:
        assert set(z.files) >= set(VOCABULARY_ARRAYS) | {"clip_embeddings", "clip_labels", "clip_languages"}
        assert z["clip_embeddings"].shape == (10, 32)


@pytest.mark.slow
def test_failed_gate_writes_nothing_and_keeps_the_old_bundle(tiny_checkpoint, small_manifest, tmp_path):
    out = tmp_path / "bundle"
    export_bundle(ExportOptions(checkpoint=tiny_checkpoint, format="onnx", out=out, data=small_manifest,
                                clips=4), log=lambda line: None)
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    # a broken checkpoint: NaN weights give NaN embeddings, which no gate lets through
    model, cfg, _, _ = load_checkpoint(tiny_checkpoint)
    with torch.no_grad():
        model.pose.head.weight.fill_(float("nan"))
    broken = save_checkpoint(tmp_path / "broken", model, cfg)
    with pytest.raises(SignclipError, match="parity gate failed for the pose encoder"):
        export_bundle(ExportOptions(checkpoint=broken, format="onnx", out=out, data=small_manifest,
                                    clips=4), log=lambda line: None)
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["broken", "bundle"]


def test_out_that_is_not_a_bundle_is_refused(tiny_checkpoint, tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(SignclipError, match="is not a bundle folder"):
        export_bundle(ExportOptions(checkpoint=tiny_checkpoint, format="onnx", out=tmp_path))
