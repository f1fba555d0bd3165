"""Bundle loading: the default is found without arguments; one clear error per mismatch."""

from __future__ import annotations

import io
import json
import shutil

import numpy as np
import pytest

from signclip.runtime.errors import SignclipError
from signclip.runtime.model import bundle as B


def copy(src, dst):
    shutil.copytree(src, dst)
    return dst


def read_meta(folder) -> dict:
    return json.loads((folder / B.META_FILE).read_text())


def write_meta(folder, meta: dict) -> None:
    (folder / B.META_FILE).write_text(json.dumps(meta))


def edit_meta(folder, **changes):
    meta = read_meta(folder)
    meta.update(changes)
    write_meta(folder, meta)
    return meta


def rewrite_vocabulary(folder, arrays: dict, fix_hashes: bool = True):
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    (folder / B.VOCABULARY_FILE).write_bytes(buf.getvalue())
    if fix_hashes:
        meta = read_meta(folder)
        meta["files"][B.VOCABULARY_FILE] = B.sha256_file(folder / B.VOCABULARY_FILE)
        meta["vocabulary"]["sha256"] = B.vocabulary_hash(arrays["texts"], arrays["embeddings"])
        write_meta(folder, meta)


def vocab_arrays(folder) -> dict:
    with np.load(folder / B.VOCABULARY_FILE) as z:
        return {k: z[k] for k in z.files}


def test_loads_and_reads_vocabulary(tiny_bundle):
    b = B.load_bundle(tiny_bundle)
    v = b.vocabulary()
    assert b.embedding_dim == v.embeddings.shape[1] == 16
    assert len(v) == len(v.labels) == len(v.languages) > 0
    assert v.has_clips and v.clip_texts.tolist() == v.clip_labels.tolist()
    assert b.max_frames == 256 and b.max_tokens == 16
    assert b.model_hash == B.sha256_file(b.encoder_file("pose"))


def test_default_from_environment(tiny_bundle, monkeypatch):
    monkeypatch.setenv(B.ENV_VAR, str(tiny_bundle))
    assert B.load_bundle().path == tiny_bundle


def test_missing_default_names_the_ways_out(tmp_path, monkeypatch):
    monkeypatch.setenv(B.ENV_VAR, str(tmp_path / "nowhere"))
    with pytest.raises(SignclipError, match="--bundle DIR"):
        B.load_bundle()


def test_explicit_folder_without_meta(tmp_path):
    with pytest.raises(SignclipError, match="not a model bundle"):
        B.load_bundle(tmp_path)


def test_wrong_hash(tiny_bundle, tmp_path):
    folder = copy(tiny_bundle, tmp_path / "b")
    data = bytearray((folder / "text_encoder.onnx").read_bytes())
    data[-1] ^= 0xFF
    (folder / "text_encoder.onnx").write_bytes(bytes(data))
    with pytest.raises(SignclipError, match="text_encoder.onnx does not match its sha256"):
        B.load_bundle(folder)
    B.load_bundle(folder, verify_hashes=False)  # the hash check is the only thing that failed


@pytest.mark.parametrize("change, message", [
    ({"schema_version": 99}, "schema version 99"),
    ({"embedding_dim": 32}, r"expected \(N, 32\)"),
    ({"embedding_dim": "16"}, "expected a positive integer"),
    ({"layout": [["POSE_LANDMARKS", "NOSE"]]}, "layout differs"),
    ({"encoders": {"text": "text_encoder.onnx"}}, "encoders.pose is missing"),
    ({"encoders": {"pose": "pose_encoder.onnx", "hands": "x.onnx"}}, "encoders.hands is not a known tower"),
    ({"normalization": {"bogus": 1}}, "normalization has unknown fields"),
    ({"files": {"../../etc/passwd": "0"}}, "inside the bundle folder"),
])
def test_one_clear_error_per_mismatch(tiny_bundle, tmp_path, change, message):
    folder = copy(tiny_bundle, tmp_path / "b")
    edit_meta(folder, **change)
    with pytest.raises(SignclipError, match=message):
        B.load_bundle(folder)


def test_missing_file_and_meta_fields(tiny_bundle, tmp_path):
    folder = copy(tiny_bundle, tmp_path / "b")
    (folder / B.TOKENIZER_FILE).unlink()
    with pytest.raises(SignclipError, match="tokenizer.json is missing"):
        B.load_bundle(folder)
    meta = read_meta(folder)
    del meta["max_frames"], meta["fps"]
    write_meta(folder, meta)
    with pytest.raises(SignclipError, match="lacks fps, max_frames"):
        B.load_bundle(folder)


def test_vocabulary_hash_mismatch(tiny_bundle, tmp_path):
    folder = copy(tiny_bundle, tmp_path / "b")
    arrays = vocab_arrays(folder)
    arrays["texts"] = arrays["texts"][::-1].copy()
    rewrite_vocabulary(folder, arrays, fix_hashes=False)
    meta = read_meta(folder)
    meta["files"][B.VOCABULARY_FILE] = B.sha256_file(folder / B.VOCABULARY_FILE)
    write_meta(folder, meta)
    with pytest.raises(SignclipError, match="vocabulary does not match its hash"):
        B.load_bundle(folder)


def test_partial_clip_arrays_and_lengths(tiny_bundle, tmp_path):
    folder = copy(tiny_bundle, tmp_path / "b")
    arrays = vocab_arrays(folder)
    del arrays["clip_languages"]
    rewrite_vocabulary(folder, arrays)
    with pytest.raises(SignclipError, match="needs all of clip_embeddings"):
        B.load_bundle(folder)
    arrays = vocab_arrays(tiny_bundle)
    arrays["labels"] = arrays["labels"][:-1]
    rewrite_vocabulary(folder, arrays)
    with pytest.raises(SignclipError, match="differ in length"):
        B.load_bundle(folder)


def test_empty_vocabulary_loads(tiny_bundle, tmp_path):
    folder = copy(tiny_bundle, tmp_path / "b")
    s = np.zeros(0, dtype=str)
    rewrite_vocabulary(folder, {"texts": s, "labels": s, "languages": s,
                                "embeddings": np.zeros((0, 16), np.float32)})
    assert len(B.load_bundle(folder).vocabulary()) == 0


def test_pickled_vocabulary_is_refused(tiny_bundle, tmp_path):
    folder = copy(tiny_bundle, tmp_path / "b")
    arrays = vocab_arrays(folder)
    arrays["texts"] = arrays["texts"].astype(object)  # object arrays are stored with pickle
    rewrite_vocabulary(folder, arrays)
    with pytest.raises(SignclipError, match="vocabulary.npz is unreadable"):
        B.load_bundle(folder)
