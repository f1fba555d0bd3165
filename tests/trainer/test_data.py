"""Manifest parsing and its errors, the prompt, and the fingerspelling lexicon importer."""

import json
import shutil
from pathlib import Path

import pytest

from signclip.runtime.cli.main import main as cli_main
from signclip.runtime.errors import SignclipError
from signclip.trainer.data import ManifestRow, prompt, read_manifest, select_split, write_manifest
from signclip.trainer.lexicon import import_lexicon, lexicon_rows

LEXICON = Path(__file__).parents[1] / "data" / "lexicon"


@pytest.fixture
def poses(tmp_path):
    """The test lexicon copied into tmp_path (so tests can touch and rename files)."""
    shutil.copytree(LEXICON, tmp_path / "lex")
    return tmp_path / "lex"


def test_csv_manifest_relative_paths(poses):
    (poses / "m.csv").write_text("pose,text,spoken_language,sign_language,signer,split\n"
                                 "ase/fs-stse28e9ac023b0e29ca0a3acc12dc46540.pose,A,en,ase,s1,train\n"
                                 "gss/fs-sts15d91ae5814762b8db5918873547e20b.pose,Α,el,gss,,\n")
    rows = read_manifest(poses / "m.csv")
    assert [r.text for r in rows] == ["A", "Α"]
    assert rows[0].pose == (poses / "ase" / "fs-stse28e9ac023b0e29ca0a3acc12dc46540.pose").resolve()
    assert rows[0].signer == "s1" and rows[1].signer is None and rows[1].split is None
    assert [r.text for r in select_split(rows, "train")] == ["A", "Α"]  # no split = train


def test_jsonl_roundtrip(poses, tmp_path):
    rows = lexicon_rows(poses, hold_out=("gss",))
    write_manifest(rows, tmp_path / "m.jsonl")
    assert read_manifest(tmp_path / "m.jsonl") == rows
    write_manifest(rows, tmp_path / "m.csv")
    assert read_manifest(tmp_path / "m.csv") == rows
    record = json.loads((tmp_path / "m.jsonl").read_text().splitlines()[0])
    assert set(record) == {"pose", "text", "spoken_language", "sign_language", "signer", "split", "item",
                           "weight", "source", "license"}


def test_missing_column_is_named(tmp_path):
    (tmp_path / "m.csv").write_text("pose,text,spoken_language\na.pose,A,en\n")
    with pytest.raises(SignclipError, match=r"missing column\(s\) sign_language; found pose, text"):
        read_manifest(tmp_path / "m.csv")


def test_missing_file_names_line_and_path(poses):
    (poses / "m.csv").write_text("pose,text,spoken_language,sign_language\n"
                                 "ase/fs-stse28e9ac023b0e29ca0a3acc12dc46540.pose,A,en,ase\n"
                                 "nope.pose,B,en,ase\n")
    with pytest.raises(SignclipError, match=r"m.csv:3: pose file .*nope.pose does not exist"):
        read_manifest(poses / "m.csv")


@pytest.mark.parametrize("content, suffix, message", [
    ("pose,text,spoken_language,sign_language\na.pose,,en,ase\n", ".csv", r":2: empty value for text"),
    ('{"pose": "a.pose"\n', ".jsonl", r":1: not valid JSON"),
    ("x", ".txt", r"unknown manifest format '.txt'"),
    ("pose,text,spoken_language,sign_language\n", ".csv", r"has no rows"),
])
def test_bad_manifests(tmp_path, content, suffix, message):
    path = tmp_path / f"m{suffix}"
    path.write_text(content)
    with pytest.raises(SignclipError, match=message):
        read_manifest(path)


def test_prompt_template():
    row = ManifestRow(Path("a.pose"), "house", "en", "ase")
    assert prompt(row) == "<en> <ase> house"
    assert prompt(row, "{text} ({signed})") == "house (ase)"
    with pytest.raises(SignclipError, match=r"valid fields: \{spoken\}"):
        prompt(row, "<{language}> {text}")


def test_lexicon_hold_out(poses, tmp_path):
    rows = import_lexicon(tmp_path / "lex.csv", hold_out=["gss"], root=poses)
    assert {(r.sign_language, r.split) for r in rows} == {("ase", "train"), ("gss", "test"),
                                                           ("ise", "train")}
    assert [r.text for r in rows] == ["A", "Α", "Β", "vv"]
    assert read_manifest(tmp_path / "lex.csv") == rows
    with pytest.raises(SignclipError, match=r"unknown sign language\(s\) xyz; the lexicon has ase, gss"):
        lexicon_rows(poses, hold_out=("xyz",))


def test_lexicon_command_on_installed_package(tmp_path, capsys):
    pytest.importorskip("spoken_to_signed")
    assert cli_main(["lexicon", "-o", str(tmp_path / "lex.csv"), "--hold-out", "ase,gsg"]) == 0
    rows = read_manifest(tmp_path / "lex.csv")
    assert len(rows) == 600 and len({r.sign_language for r in rows}) == 19
    assert {r.sign_language for r in rows if r.split == "test"} == {"ase", "gsg"}
    assert "600 clips" in capsys.readouterr().out
    assert cli_main(["lexicon", "-o", str(tmp_path / "x.csv"), "--hold-out", "zzz"]) == 2
