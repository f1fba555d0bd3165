"""Vocabulary packs: folders of clips named by word, found by every lookup, safe under many writers."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from signclip.runtime.errors import SignclipError
from signclip.runtime.vocabulary.packs import PackShelf, build_plan, check_name, word_of

DATA = Path(__file__).resolve().parents[1] / "data"
DIM, HASH = 8, "0123456789abcdef" * 4


def unit_rows(n, seed=0):
    x = np.random.default_rng(seed).standard_normal((n, DIM)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def run_cli(*args, env, check=True):
    return subprocess.run([sys.executable, "-m", "signclip.runtime.cli", *map(str, args)], env=env,
                          capture_output=True, text=True, check=check)


@pytest.fixture
def cli_env(signclip_home):
    from signclip.runtime.model.bundle import default_bundle_path

    env = {**os.environ, "SIGNCLIP_HOME": str(signclip_home)}
    env["SIGNCLIP_BUNDLE"] = str(default_bundle_path())  # pose-only, no torch: runs under 3.10 too
    return env


def clip_folders(root: Path) -> Path:
    """Three words, each a folder of real .pose clips (stretches of two recordings)."""
    from signclip.runtime.pose.io import read_pose, write_pose

    reduced = read_pose(DATA / "poses" / "reduced178_278f.pose")
    holistic = read_pose(DATA / "poses" / "holistic576_121f.pose")
    for word, source, starts in (("HOUSE", reduced, (0, 20)), ("TREE", reduced, (200, 230)),
                                 ("WAVE", holistic, (0, 60))):
        (root / word).mkdir(parents=True)
        for i, start in enumerate(starts):
            write_pose(source.slice(start, start + 40), root / word / f"{i}.pose")
    return root


# ---------------------------------------------------------------- pure parts


def test_a_folder_of_word_folders_and_numbered_files_is_one_plan(tmp_path):
    (tmp_path / "hello").mkdir()
    for name in ("hello/1.mp4", "hello/2.pose", "hello/notes.txt", "water.mp4", "water-2.mp4",
                 "thank_you (3).pose", ".hidden.mp4"):
        (tmp_path / name).write_bytes(b"")
    plan = build_plan(tmp_path)
    assert {w: [p.name for p in ps] for w, ps in plan.items()} == {
        "hello": ["1.mp4", "2.pose"], "thank you": ["thank_you (3).pose"],
        "water": ["water-2.mp4", "water.mp4"]}


@pytest.mark.parametrize("stem, word", [("hello", "hello"), ("hello-2", "hello"), ("hello_10", "hello"),
                                        ("good_morning", "good morning"), ("1", "1"), ("hello (2)", "hello")])
def test_a_file_names_its_word_without_its_example_number(stem, word):
    assert word_of(Path(f"{stem}.mp4")) == word


def test_bad_folders_and_names_are_one_clear_error(tmp_path):
    with pytest.raises(SignclipError, match="not a folder"):
        build_plan(tmp_path / "missing")
    with pytest.raises(SignclipError, match="no clips"):
        build_plan(tmp_path)
    for bad in ("", "a b", "../up", "-x", "x" * 65, "family.last-good"):
        with pytest.raises(SignclipError, match="pack name"):
            check_name(bad)


def test_a_shelf_adds_lists_removes_and_restores(tmp_path):
    shelf = PackShelf(DIM, HASH, home=tmp_path)
    assert shelf.names() == []
    shelf.add("family", "MOTHER", unit_rows(2), ["m1.pose", "m2.pose"], "ase")
    shelf.add("family", "FATHER", unit_rows(1, seed=1), ["f.pose"])
    shelf.add("school", "BOOK", unit_rows(1, seed=2), ["b.pose"])
    assert shelf.names() == ["family", "school"]
    assert shelf.get("family").signs() == [("MOTHER", "ase", 2), ("FATHER", "", 1)]
    shelf.remove("family", "FATHER")
    assert [s[0] for s in shelf.get("family").signs()] == ["MOTHER"]
    shelf.store("family").path.write_bytes(b"not a pack")  # damaged: its copy holds MOTHER
    names, vocab, problem = zip(*shelf.current())
    assert names == ("family", "school") and len(vocab[0]) == 0 and "unreadable" in problem[0].message("x")
    with pytest.raises(SignclipError, match="signclip pack restore family"):
        shelf.add("family", "SISTER", unit_rows(1), ["s.pose"])  # nothing taught is overwritten
    restored, kept = shelf.store("family").restore()
    assert [s[0] for s in restored.signs()] == ["MOTHER"] and kept.exists()
    shelf.remove("school")
    assert shelf.names() == ["family"]


def test_a_shared_pack_installs_only_for_its_own_model(tmp_path):
    mine = PackShelf(DIM, HASH, home=tmp_path / "me")
    mine.add("family", "MOTHER", unit_rows(1), ["m.pose"])
    theirs = PackShelf(DIM, HASH, home=tmp_path / "friend")
    name, vocab = theirs.install(mine.store("family").path)
    assert name == "family" and vocab.signs() == [("MOTHER", "", 1)]
    with pytest.raises(SignclipError, match="exists already"):
        theirs.install(mine.store("family").path)
    other_model = PackShelf(DIM, "f" * 64, home=tmp_path / "other")
    with pytest.raises(SignclipError, match="another model"):
        other_model.install(mine.store("family").path)


# ---------------------------------------------------------------- the command, on the shipped bundle


def test_a_pack_built_from_three_folders_is_found_by_lookup(cli_env, tmp_path):
    folders = clip_folders(tmp_path / "clips")
    built = run_cli("pack", "build", "classroom", folders, "--language", "ase", env=cli_env)
    assert built.stdout.startswith("built classroom: 3 words, 6 examples") and not built.stderr
    listing = run_cli("pack", "list", "classroom", env=cli_env).stdout.splitlines()
    assert [line.split()[0] for line in listing[1:]] == ["HOUSE", "TREE", "WAVE"]
    clips = [folders / w / "1.pose" for w in ("HOUSE", "TREE", "WAVE")]
    found = run_cli("lookup", *clips, "--json", "--language", "ase", env=cli_env).stdout
    for word, record in zip(("HOUSE", "TREE", "WAVE"), map(json.loads, found.splitlines()), strict=True):
        first = record["results"][0]
        assert (first["label"], first["source"]) == (word, "pack classroom"), record["results"]


def test_pack_errors_are_one_line(cli_env, tmp_path):
    for args, message in ((("pack", "build", "x", tmp_path / "none"), "not a folder"),
                          (("pack", "list", "nothing"), "no pack 'nothing'"),
                          (("pack", "add", "a b", "W", "c.pose"), "pack name"),
                          (("pack", "install", tmp_path / "missing.npz"), "no such pack file")):
        done = run_cli(*args, env=cli_env, check=False)
        assert done.returncode != 0 and done.stderr.count("\n") == 1 and message in done.stderr, done.stderr


@pytest.mark.slow
def test_8_pack_add_processes_at_once_leave_8_words(cli_env, tmp_path):
    from signclip.runtime.pose.io import read_pose, write_pose

    source = read_pose(DATA / "poses" / "reduced178_278f.pose")
    clips = []
    for i in range(8):
        clips.append(tmp_path / f"clip{i}.pose")
        write_pose(source.slice(i * 30, i * 30 + 30), clips[-1])
    procs = [subprocess.Popen([sys.executable, "-m", "signclip.runtime.cli", "pack", "add", "shared",
                               f"WORD{i}", str(c)], env=cli_env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for i, c in enumerate(clips)]
    outs = [(p.wait(timeout=600), *p.communicate()) for p in procs]
    assert [code for code, _, _ in outs] == [0] * 8, [err for _, _, err in outs]
    listing = run_cli("pack", "list", "shared", env=cli_env).stdout
    assert listing.startswith("shared: 8 words, 8 examples")
    found = run_cli("lookup", *clips, "--json", "-k", "10", env=cli_env).stdout
    for i, record in enumerate(map(json.loads, found.splitlines())):
        pack = [r["label"] for r in record["results"] if r["source"] == "pack shared"]
        assert pack[0] == f"WORD{i}", pack
