"""`signclip doctor` on the shipped bundle: the CPU's INT8 path, the bundle's INT8 scheme and its
self-check clips re-embedded here; a bundle whose stored answers this machine does not reproduce."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from signclip.runtime.cli.main import main
from signclip.runtime.model.bundle import META_FILE, default_bundle_path, sha256_file
from signclip.runtime.model.int8_path import int8_path
from signclip.runtime.model.selfcheck import SELFCHECK_FILE


@pytest.mark.parametrize("machine, features, expected", [
    ("x86_64", {"avx2"}, "AVX2 without VNNI"),
    ("x86_64", {"avx2", "avx_vnni"}, "AVX-VNNI"),
    ("x86_64", {"avx2", "avx512f", "avx512_clx"}, "AVX-512 VNNI"),
    ("x86_64", {"avx2", "avx512f", "avx512_clx", "amx_int8"}, "AMX"),
    ("aarch64", {"asimd", "asimddp"}, "dot product"),
    ("aarch64", {"asimd"}, "without dot product"),
])
def test_int8_path_names_the_kernel(machine, features, expected):
    assert expected in int8_path(machine, features)


def test_this_machine_has_a_named_int8_path():
    assert int8_path()


def test_doctor_checks_the_shipped_bundle_on_this_cpu(signclip_home, monkeypatch, capsys):
    monkeypatch.delenv("SIGNCLIP_BUNDLE", raising=False)
    assert main(["doctor"]) == 0
    out = capsys.readouterr().out
    assert any(f"INT8 path: {kind}" in out for kind in ("x86-64", "ARM64")) or "portable kernel" in out
    from signclip.runtime.model.bundle import default_bundle_path, load_bundle

    meta = load_bundle(default_bundle_path()).meta
    if meta.get("int8", {}).get("pose"):  # the bundle ships whichever graph passed the export's gate
        assert f"int8 pose   {meta['int8']['pose']['scheme']}" in out
    else:
        assert f"parity onnx-int8 pose {meta['encoders']['pose']} (fp32)" in out
    assert "self-check  8 example clips re-embedded here" in out
    assert "the same answers as the exporting machine" in out
    assert main(["doctor", "--json"]) == 0
    check = json.loads(capsys.readouterr().out)["bundle"]["selfcheck"]
    # exact integer products: this CPU reproduces the exporting CPU's embeddings to float rounding
    assert check["passed"] and check["to_export"] >= 0.9999 and check["to_reference"] >= 0.999


def test_doctor_says_plainly_when_this_machine_answers_differently(tmp_path, signclip_home, capsys):
    bundle = tmp_path / "bundle"
    shutil.copytree(default_bundle_path(), bundle)
    with np.load(bundle / SELFCHECK_FILE) as f:
        arrays = dict(f)
    rng = np.random.default_rng(0)  # what a saturating kernel would have stored at export
    arrays["exported"] = arrays["exported"] + 0.05 * rng.standard_normal(arrays["exported"].shape)
    np.savez_compressed(bundle / SELFCHECK_FILE, **arrays)
    meta = json.loads((bundle / META_FILE).read_text())
    meta["files"][SELFCHECK_FILE] = sha256_file(bundle / SELFCHECK_FILE)
    (bundle / META_FILE).write_text(json.dumps(meta))
    assert main(["doctor", "--bundle", str(bundle)]) == 1
    assert "DIFFERENT from the exporting machine" in capsys.readouterr().out
