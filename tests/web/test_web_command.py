"""`signclip web`: the static folder from a bundle, its web format, its errors, and --serve."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
import urllib.request

import numpy as np
import pytest

from signclip.runtime.cli.main import main
from signclip.runtime.cli.webpage import SITE_MARK, WEB_SOURCES, node_modules, write_web_model
from signclip.runtime.errors import SignclipError
from signclip.runtime.model.bundle import load_bundle, sha256_file
from signclip.runtime.pose.layouts import MODEL_203, flip_permutation


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    out = tmp_path_factory.mktemp("cli") / "site"
    assert main(["web", "--out", str(out)]) == 0
    return out


def test_the_folder_holds_the_page_its_packages_and_the_model(built):
    mark = json.loads((built / SITE_MARK).read_text())
    assert mark["packages"]["@mediapipe/holistic"] == "0.5.1675471629"
    assert mark["model"] == load_bundle().meta["model"]["name"]
    assert (built / "vendor" / "holistic" / "pose_landmark_full.tflite").is_file()
    html = (built / "index.html").read_text()
    assert "src/app.js" in html and "vendor/holistic/holistic.js" in html


def test_a_second_build_replaces_the_first(built, capsys):
    (built / "model" / "manifest.json").write_text("{}")
    assert main(["web", "--out", str(built)]) == 0
    assert json.loads((built / "model" / "manifest.json").read_text())["format"] == "signclip-web"
    assert "the web page for" in capsys.readouterr().out


def test_the_web_format_is_the_bundle_computed_in_advance(tmp_path):
    bundle = load_bundle()
    manifest = write_web_model(bundle, tmp_path)
    v = bundle.vocabulary()
    rows = np.frombuffer((tmp_path / "vocabulary.f32").read_bytes(), "<f4").reshape(manifest["vocabulary"]
                                                                                      ["embeddings"]["shape"])
    np.testing.assert_array_equal(rows, v.embeddings)
    assert manifest["vocabulary"]["texts"] == v.texts.tolist()
    assert manifest["encoder"]["sha256"] == sha256_file(bundle.encoder_file("pose"))
    assert manifest["flip_permutation"] == flip_permutation(MODEL_203).tolist()
    assert manifest["layout"] == [list(p) for p in MODEL_203.points]
    assert manifest["spoken_languages"]["ase"] == "en"
    assert manifest["normalization"] == bundle.meta["normalization"]


def test_training_data_credits_ship_with_the_page(tmp_path):
    """CC BY training data asks for credit wherever a model trained on it ships: so does the page."""
    bundle = load_bundle()
    assert any("ASL-HG" in d["name"] for d in bundle.meta["training_data"])
    manifest = write_web_model(bundle, tmp_path / "model")
    assert manifest["training_data"] == bundle.meta["training_data"] and manifest["credits"] == "CREDITS.md"
    assert (tmp_path / "model" / "CREDITS.md").read_text() == (bundle.path / "CREDITS.md").read_text()


def test_the_spell_mode_settings_and_word_lists_ship_as_asked(tmp_path):
    """The Spell mode's thresholds come from the Python dataclasses; a word list ships per spoken
    language asked for, upper-cased with its Zipf frequencies, as the prior reads wordfreq."""
    pytest.importorskip("wordfreq")
    from signclip.runtime.recognition.spelling import SpellConfig
    from signclip.runtime.recognition.word_prior import word_list

    bundle = load_bundle()
    manifest = write_web_model(bundle, tmp_path / "en", words=("en",))
    spelling = manifest["spelling"]
    assert spelling["config"]["hold"]["hold_s"] == SpellConfig().hold.hold_s
    assert spelling["moving_letters"]["ase"] == ["J", "Z"] and spelling["hand_points"][0] == "WRIST"
    entry = spelling["words"]["en"]
    data = (tmp_path / "en" / entry["file"]).read_bytes()
    assert hashlib.sha256(data).hexdigest() == entry["sha256"]
    listed = json.loads(data)
    words, zipf = word_list("en")
    assert listed["words"] == words and listed["zipf"] == zipf and "HELLO" in words
    assert write_web_model(bundle, tmp_path / "none", words=())["spelling"]["words"] == {}


@pytest.mark.parametrize("argv, message", [
    (["--bundle", "/nonexistent/bundle"], "not a model bundle"),
    (["--port", "70000"], "--port 70000"),
    (["--words", "xx"], "--words 'xx': no word list"),
])
def test_bad_options_are_one_line_and_exit_2(argv, message, tmp_path, capsys):
    assert main(["web", "--out", str(tmp_path / "site"), *argv]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


def test_an_unrelated_folder_is_never_overwritten(tmp_path, capsys):
    (tmp_path / "notes.txt").write_text("mine")
    assert main(["web", "--out", str(tmp_path)]) == 2
    assert "is not a web page built by signclip web" in capsys.readouterr().err
    assert (tmp_path / "notes.txt").read_text() == "mine"


def test_without_npm_the_packages_are_a_clear_error(tmp_path, monkeypatch):
    web = tmp_path / "web"
    web.mkdir()
    shutil.copy(WEB_SOURCES / "package-lock.json", web)
    monkeypatch.setattr(shutil, "which", lambda name: None)
    with pytest.raises(SignclipError, match="npm, which is not on PATH"):
        node_modules(web, log=lambda _: None)


@pytest.mark.slow
def test_serve_answers_with_the_types_modules_and_webassembly_need(built):
    command = [sys.executable, "-m", "signclip.runtime.cli", "web", "--out", str(built), "--serve",
               "--port", "0"]
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    try:
        line = ""
        while "serving" not in line:
            line = proc.stdout.readline()
            assert line, "signclip web --serve ended before serving"
        url = line.split(" on ")[1].split()[0]
        for path, kind in (("index.html", "text/html"), ("src/app.js", "text/javascript"),
                           ("vendor/onnxruntime-web/ort.wasm.min.mjs", "text/javascript"),
                           ("vendor/onnxruntime-web/ort-wasm-simd-threaded.wasm", "application/wasm")):
            with urllib.request.urlopen(url + path, timeout=10) as response:
                assert response.headers["Content-Type"].startswith(kind), path
    finally:
        proc.terminate()
        proc.wait(timeout=10)
