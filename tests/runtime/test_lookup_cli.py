"""The lookup, embed, teach, bench and doctor commands through `signclip.runtime.cli.main.main`."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from signclip.runtime.cli.main import main

DATA = Path(__file__).resolve().parents[1] / "data"
POSE = str(DATA / "poses" / "holistic576_97f.pose")
POSE2 = str(DATA / "poses" / "holistic586_5f.pose")


@pytest.fixture
def env(tiny_bundle, signclip_home, monkeypatch):
    monkeypatch.setenv("SIGNCLIP_BUNDLE", str(tiny_bundle))
    return tiny_bundle


def json_lines(text: str) -> list:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def test_lookup_json_one_object_per_input(env, capsys):
    assert main(["lookup", POSE, POSE2, "--text", "A", "--json", "-k", "3", "--threads", "1"]) == 0
    records = json_lines(capsys.readouterr().out)
    assert [r["input"] for r in records] == [POSE, POSE2, "text:A"]
    for r in records:
        assert len(r["results"]) == 3
        assert set(r["results"][0]) >= {"label", "language", "text", "score"}
        if r["input"] == "text:A":  # a text that names entries: those first, each part by score
            named = [m["label"] == "A" for m in r["results"]]
            assert named[0] and named == sorted(named, reverse=True)
            parts = [[m for m in r["results"] if (m["label"] == "A") == first] for first in (True, False)]
        else:
            parts = [r["results"]]
        for part in parts:
            scores = [m["score"] for m in part]
            assert scores == sorted(scores, reverse=True)


def test_lookup_table_and_language(env, capsys):
    assert main(["lookup", POSE, "--language", "gss", "--bundle", str(env)]) == 0
    out = capsys.readouterr().out
    assert out.startswith(POSE) and "gss" in out and "<en> <ase>" not in out


def test_lookup_bad_inputs(env, capsys, tmp_path):
    bad = tmp_path / "bad.pose"
    bad.write_bytes(b"\x00garbage")
    assert main(["lookup", str(bad), POSE, "--json"]) == 2   # the good input is still answered
    records = json_lines(capsys.readouterr().out)
    assert "error" in records[0] and records[1]["results"]
    assert main(["lookup"]) == 2
    assert "nothing to look up" in capsys.readouterr().err
    assert main(["lookup", POSE, "--provider", "cuda"]) == 2
    assert "provider 'cuda' is not available" in capsys.readouterr().err
    assert main(["lookup", POSE, "--bundle", str(tmp_path)]) == 2
    assert "not a model bundle" in capsys.readouterr().err


def test_embed_writes_npz(env, tmp_path, capsys):
    out = tmp_path / "e.npz"
    assert main(["embed", POSE, POSE2, "--text", "house", "-o", str(out)]) == 0
    with np.load(out) as z:
        assert z["embeddings"].shape == (2, 16) and z["text_embeddings"].shape == (1, 16)
        assert z["inputs"].tolist() == [POSE, POSE2]
        np.testing.assert_allclose(np.linalg.norm(z["embeddings"], axis=1), 1.0, atol=1e-5)
    assert main(["embed", POSE, "-o", str(tmp_path / "e.txt")]) == 2


def test_teach_list_remove(env, capsys):
    assert main(["teach", "SOUP", POSE, "--language", "ase"]) == 0
    assert "taught SOUP (1 example)" in capsys.readouterr().out
    assert main(["teach", "--list"]) == 0
    assert "SOUP" in capsys.readouterr().out
    assert main(["lookup", POSE, "--json", "-k", "1"]) == 0
    assert json_lines(capsys.readouterr().out)[0]["results"][0]["label"] == "SOUP"
    assert main(["teach", "--remove", "SOUP"]) == 0
    assert main(["teach", "--remove", "SOUP"]) == 2
    assert main(["teach", "ONLYLABEL"]) == 2


def test_bench_json(env, capsys):
    args = ["--rows", "2000", "--dim", "64", "--queries", "10", "--repeats", "2"]
    assert main(["bench", "--json", *args]) == 0
    report = json.loads(capsys.readouterr().out)
    assert {"mediapipe", "normalization", "pose_encoder", "text_encoder", "index"} <= set(report)
    assert report["index"]["compact"]["recall_at_5"] >= 0.9
    assert report["pose_encoder"]["median_ms"] > 0


def test_doctor(env, capsys):
    assert main(["doctor", "--json"]) == 0
    r = json.loads(capsys.readouterr().out)
    assert r["bundle"]["ok"] and r["bundle"]["embedding_dim"] == 16
    assert "CPUExecutionProvider" in r["providers"]["chosen"]
    assert r["tensorrt"]["available"] in (True, False)


def test_corrupt_personal_vocabulary_warns_once_and_restore_brings_it_back(env, capsys):
    assert main(["teach", "SOUP", POSE]) == 0
    assert main(["teach", "TREE", POSE2]) == 0
    path = Path(capsys.readouterr().out.split("-> ")[-1].strip())
    good = path.read_bytes()
    path.write_bytes(good[:100])                               # cut short by something else
    assert main(["lookup", POSE, "--json", "-k", "3"]) == 0      # the bundle answers
    captured = capsys.readouterr()
    results = json_lines(captured.out)[0]["results"]
    assert len(results) == 3 and {r["source"] for r in results} == {"bundle"}
    warning = captured.err.strip()
    assert len(captured.err.splitlines()) == 1 and warning.startswith("signclip lookup: warning: ")
    assert str(path) in warning and "signclip teach --restore" in warning and "(2 signs)" in warning
    assert main(["teach", "HOUSE", POSE]) == 2                 # a damaged file is not overwritten
    assert "nothing was changed" in capsys.readouterr().err
    assert main(["teach", "--restore"]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"restored 2 taught signs -> {path}; the damaged file is kept as ")
    assert path.read_bytes() == good
    assert main(["lookup", POSE, "--json", "-k", "1"]) == 0
    captured = capsys.readouterr()
    assert json_lines(captured.out)[0]["results"][0]["label"] == "SOUP" and not captured.err
    assert main(["teach", "--restore"]) == 2
    assert "nothing to restore" in capsys.readouterr().err


def test_restore_command_names_the_bundle_given(env, capsys):
    assert main(["teach", "SOUP", POSE, "--bundle", str(env)]) == 0
    path = Path(capsys.readouterr().out.split("-> ")[-1].strip())
    path.write_bytes(b"")
    assert main(["lookup", POSE, "--bundle", str(env), "-k", "1"]) == 0
    assert f"with: signclip teach --restore --bundle {env}" in capsys.readouterr().err


def test_labels_are_checked_when_taught_and_cut_in_tables(env, capsys):
    assert main(["teach", "x" * 5000, POSE]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "is 5000 characters long; at most 64 are allowed" in err
    assert main(["teach", "bad\nlabel", POSE]) == 2
    assert "control character (U+000A at position 4)" in capsys.readouterr().err
    long = "L" * 64
    assert main(["teach", long, POSE]) == 0
    capsys.readouterr()
    assert main(["lookup", POSE, "-k", "3"]) == 0
    table = capsys.readouterr().out.splitlines()
    assert max(len(line) for line in table) < 120 and "L" * 23 + "…" in table[2]
    assert main(["lookup", POSE, "-k", "1", "--json"]) == 0
    assert json_lines(capsys.readouterr().out)[0]["results"][0]["label"] == long  # JSON keeps it whole
    assert main(["teach", "--list"]) == 0
    assert max(len(line) for line in capsys.readouterr().out.splitlines()[1:]) < 60


def test_a_command_imports_only_its_own_module():
    """`signclip lookup ...` builds only lookup's parser (start-up time); `signclip --help` and a
    command whose packages are missing still get the full list."""
    code = textwrap.dedent("""
        import sys
        from signclip.runtime.cli.main import COMMANDS, build_parser

        def commands(parser):
            return set(parser._subparsers._group_actions[0].choices)

        parser = build_parser(only="lookup")
        assert commands(parser) == {"lookup"}
        assert "signclip.export.formats" not in sys.modules
        assert "signclip.runtime.cli.spell" not in sys.modules
        assert parser.parse_args(["lookup", "--text", "house"]).text == ["house"]
        shown = commands(build_parser())
        assert {"lookup", "pose", "doctor"} <= shown
        COMMANDS.append(("needs-nothing-here", "signclip.nowhere", ("no_such_package_x",)))
        assert commands(build_parser(only="needs-nothing-here")) == shown
        print("ok")
    """)
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0 and run.stdout.strip() == "ok", run.stderr
