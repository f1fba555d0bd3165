"""`signclip web`: the static folder from a bundle, its web format, its errors, and --serve."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import subprocess
import sys
import urllib.request
from pathlib import Path

import numpy as np
import pytest

from signclip.runtime.cli.main import main
from signclip.runtime.cli.webpage import (
    GRAPH_WITHOUT_FACE,
    PACKAGE_GRAPH,
    SITE_MARK,
    WEB_SOURCES,
    build_site,
    graph_without_face,
    node_modules,
    write_web_model,
)
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


def holistic_package() -> Path:
    return node_modules(WEB_SOURCES, log=lambda _: None) / "@mediapipe" / "holistic"


def listened_streams(holistic_js: str) -> set:
    """The output streams that the npm solution's JavaScript listens to (its `wants` list)."""
    match = re.search(r'wants:"([a-z_ ]+)"', holistic_js)
    assert match, "holistic.js no longer names the streams it listens to as this test reads them"
    return set(match.group(1).split())


def test_the_page_graph_without_the_face_gives_every_stream_the_solution_listens_to():
    from mediapipe.framework import calculator_pb2

    package = holistic_package()
    whole, faceless = calculator_pb2.CalculatorGraphConfig(), calculator_pb2.CalculatorGraphConfig()
    whole.ParseFromString((package / PACKAGE_GRAPH).read_bytes())
    faceless.ParseFromString(graph_without_face((package / PACKAGE_GRAPH).read_bytes()))
    calculators = [n.calculator for n in faceless.node]
    assert "HolisticLandmarkGpu" not in calculators
    assert {"PoseLandmarkGpu", "HandLandmarksLeftAndRightGpu"} <= set(calculators)
    assert not any("Face" in c and "Geometry" not in c for c in calculators)  # no face mesh
    produced = {s.split(":")[-1] for n in faceless.node for s in n.output_stream}
    assert listened_streams((package / "holistic.js").read_text()) <= produced
    # the face stream: pose landmarks behind a gate held shut by a constant false
    (gate,) = [n for n in faceless.node if "face_landmarks" in n.output_stream]
    assert gate.calculator == "GateCalculator" and gate.input_side_packet == ["ALLOW:no_face"]
    assert "bool_value: false" in str(next(n for n in faceless.node if n.name == "NoFaceConstant").options)
    # everything else is the package's graph as it is: its inputs, option nodes and the rest
    rest = [n for n in whole.node if n.calculator != "HolisticLandmarkGpu"]
    assert all(n in faceless.node for n in rest)
    assert list(faceless.input_stream) == list(whole.input_stream)


def test_the_page_runs_without_the_face_where_the_bundle_hides_it(tmp_path):
    bundle = load_bundle()
    assert bundle.normalization.hide_face  # the shipped bundle; the face is computed only if read
    faceless = build_site(bundle, tmp_path / "faceless", log=lambda _: None)["bytes"]
    manifest = json.loads((tmp_path / "faceless" / "model" / "manifest.json").read_text())
    assert manifest["capture_graph"] == GRAPH_WITHOUT_FACE
    holistic = tmp_path / "faceless" / "vendor" / "holistic"
    assert (holistic / GRAPH_WITHOUT_FACE).is_file() and not (holistic / PACKAGE_GRAPH).exists()
    build_site(bundle, tmp_path / "whole", log=lambda _: None, face=True)
    manifest = json.loads((tmp_path / "whole" / "model" / "manifest.json").read_text())
    assert manifest["capture_graph"] == PACKAGE_GRAPH
    copied = tmp_path / "whole" / "vendor" / "holistic" / PACKAGE_GRAPH
    assert copied.read_bytes() == (holistic_package() / PACKAGE_GRAPH).read_bytes()
    assert not (tmp_path / "whole" / "vendor" / "holistic" / GRAPH_WITHOUT_FACE).exists()
    assert faceless > 0


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
