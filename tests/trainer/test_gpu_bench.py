"""bench/gpu_data.py and bench/gpu_run.py on a CPU: the carried data, then every step of the GPU call.

`make gpu-check` runs the same through bench/gpu_run.sh with the offline install; this test keeps the
Python steps in `make test`.
"""

import dataclasses
import importlib.util
import json
import sys
from pathlib import Path

import pytest

from signclip.trainer.config import load_config
from signclip.trainer.data import write_manifest
from signclip.trainer.lexicon import lexicon_rows
from signclip.trainer.train import train

ROOT = Path(__file__).parents[2]


def bench_module(name: str):
    spec = importlib.util.spec_from_file_location(name, ROOT / "bench" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow
def test_gpu_data_then_gpu_run_on_cpu(tmp_path, capsys):
    gpu_run = bench_module("gpu_run")
    manifest = tmp_path / "lexicon.csv"
    write_manifest(lexicon_rows(ROOT / "tests" / "data" / "lexicon", hold_out=("ise",)), manifest)
    cfg = gpu_run.tiny(load_config("edge-small"))  # the CPU model: edge-small's tiny cousin
    cfg = dataclasses.replace(cfg, train=dataclasses.replace(cfg.train, steps=1, batch_size=2))
    train(cfg, manifest, tmp_path / "reference", device="cpu")

    data = tmp_path / "data"
    assert bench_module("gpu_data").main(["--manifest", str(manifest), "--reference",
                                          str(tmp_path / "reference" / "checkpoint"), "--out", str(data),
                                          "--cache", str(tmp_path / "cache"), "--synthetic-texts", "64"]) == 0
    # what travels: the cache as one archive (it unpacks to the cache byte for byte), not the cache
    assert sorted(p.name for p in data.iterdir()) == ["lexicon.npz", "lexicon_text.npz", "reference.json",
                                                      "synthetic_text.npz"]
    printed = capsys.readouterr().out
    assert "ise: 1 clips" in printed and "which it unpacks to byte for byte" in printed

    out = tmp_path / "out"
    assert gpu_run.main(["--device", "cpu", "--tiny", "--data", str(data), "--out", str(out),
                         "--scratch", str(tmp_path / "scratch"), "--steps", "3", "--lexicon-steps", "2",
                         "--batch", "4", "--lexicon-batch", "2", "--workers", "0"]) == 0
    printed = capsys.readouterr().out
    assert "training through the real loader on CPU, global batch 4" in printed
    assert f"unpacked to {tmp_path / 'scratch' / 'lexicon-cache'}" in printed
    assert "| ise | 1 |" in printed and "new signers:\n(no such clips" in printed
    results = json.loads((out / "results.json").read_text())
    assert [r["mode"] for r in results["throughput"]] == [m.name for m in gpu_run.MODES]
    assert all(r["steps"] == 3 and r["clips_per_s"] > 0 for r in results["throughput"])
    assert results["lexicon"]["tables"]["leave languages out"]["ise"]["clips"] == 1
    assert (out / "tables.md").is_file() and (out / "lexicon.metrics.csv").is_file()
