"""Vocabulary packs in the page: `signclip web` ships the packs' signs, and the page's lookups
(web/src/search.js, in Node) rank and score them as the Python engine does."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import numpy as np
import pytest
from page_driver import NODE, WEB, input_json

from signclip.runtime.cli.webpage import write_web_model
from signclip.runtime.model.bundle import load_bundle
from signclip.runtime.pose.io import read_pose
from signclip.runtime.recognition.engine import Engine
from signclip.runtime.recognition.kinds import uses_both_hands

POSES = Path(__file__).resolve().parents[1] / "data" / "poses"
LEXICON = Path(__file__).resolve().parents[1] / "data" / "lexicon"


def page_lookups(queries: list, model: Path, tmp_path: Path) -> dict:
    """The page's answers to `queries` (web/test/lookup.mjs in Node): {results, languages}."""
    (tmp_path / "queries.json").write_text(json.dumps(queries))
    if NODE is None:
        pytest.skip("Node.js is not installed")
    done = subprocess.run([NODE, "test/lookup.mjs", str(tmp_path / "queries.json"), str(model),
                           str(tmp_path / "out.json")], cwd=WEB, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads((tmp_path / "out.json").read_text())


@pytest.fixture
def engine_with_packs(signclip_home):
    engine = Engine(load_bundle())
    clips = {name: read_pose(POSES / f"{name}.pose") for name in ("reduced178_278f", "holistic576_97f")}
    embedded = {name: engine.embed_clips([clip])[0][None] for name, clip in clips.items()}
    engine.packs.add("classroom", "TREE", embedded["reduced178_278f"], ["tree.pose"], "ase")
    engine.packs.add("family", "WAVE", embedded["holistic576_97f"], ["wave.pose"])   # any language
    return engine, clips


def test_the_page_finds_pack_signs_as_the_engine_does(engine_with_packs, tmp_path):
    engine, clips = engine_with_packs
    model = tmp_path / "model"
    manifest = write_web_model(engine.bundle, model, words=(), taught=engine.taught(),
                               calibration=engine.calibration_rows())
    assert manifest["vocabulary"]["taught"]["sources"] == ["pack classroom", "pack family"]
    lexicon = [read_pose(p) for p in sorted((LEXICON / "ase").glob("*.pose"))[:3]]
    embeddings = engine.embed_clips([*clips.values(), *lexicon])
    queries = [{"embedding": e.tolist(), "language": lang, "k": 5}
               for e in embeddings for lang in (None, "ase", "gsg")]
    out = page_lookups(queries, model, tmp_path)
    assert out["languages"] == engine.languages()
    firsts = []
    for q, js in zip(queries, out["results"], strict=True):
        py = engine.lookup_embedding(np.array(q["embedding"], np.float32), q["k"], q["language"])
        assert [(m["label"], m["language"], m["source"]) for m in js] == \
            [(m.label, m.language, m.source) for m in py], q["language"]
        np.testing.assert_allclose([m["score"] for m in js], [m.score for m in py], atol=1e-4)
        firsts.append((js[0]["label"], js[0]["source"]))
    # each pack clip finds its own sign first; the family's WAVE (any language) under every filter
    assert firsts[0:2] == [("TREE", "pack classroom")] * 2 and firsts[3:6] == [("WAVE", "pack family")] * 3


def test_signclip_web_ships_every_pack_or_the_ones_named(engine_with_packs):
    from signclip.runtime.cli.web import packs_for_page
    from signclip.runtime.errors import SignclipError

    engine, _ = engine_with_packs
    taught, calibration = packs_for_page(engine.bundle, None)
    assert [source for source, _ in taught] == ["pack classroom", "pack family"] and calibration is not None
    assert [source for source, _ in packs_for_page(engine.bundle, "family")[0]] == ["pack family"]
    assert packs_for_page(engine.bundle, "none")[0] == []
    with pytest.raises(SignclipError, match="no pack school"):
        packs_for_page(engine.bundle, "school")


def test_the_page_answers_words_with_words_and_names_as_the_engine_does(engine_with_packs, tmp_path):
    """Kinds (a word clip among words, --kind overrides) and the dictionary (a text that spells an
    entry: its own clip first), in the page as in the engine."""
    engine, _ = engine_with_packs
    hello = read_pose(Path(__file__).resolve().parents[1] / "data" / "words" / "islr_hello_53618.pose")
    # a pack word the bundle has: its take re-ranks the bundle's HELLO among signs (templates.js)
    engine.packs.add("greetings", "hello", engine.embed_clips([hello]), ["hello.pose"], "ase",
                     engine.takes([hello]))
    model = tmp_path / "model"
    manifest = write_web_model(engine.bundle, model, words=(), taught=engine.taught(),
                               calibration=engine.calibration_rows())
    takes = manifest["vocabulary"]["taught"]["takes"]
    assert takes["labels"] == ["hello"] and takes["offsets"] == [0, len(engine.takes([hello])[0])]
    letter = read_pose(sorted((LEXICON / "ase").glob("*.pose"))[0])
    two_hands = read_pose(POSES / "holistic576_97f.pose")     # both wrists raised throughout
    inputs = [engine.model_input(c) for c in (hello, letter, two_hands)]
    assert [uses_both_hands(x) for x in inputs] == [False, False, True]
    wholes = engine.pose_encoder.embed_whole(inputs)
    queries = [{"embedding": e.tolist(), "language": lang, "k": 5, "kind": kind,
                "input": input_json(x), "whole": w.tolist()}
               for e, x, w in zip(engine.embed_inputs(inputs), inputs, wholes, strict=True)
               for lang in (None, "ase", "gss") for kind in ("auto", "signs", "letters", "all")]
    texts = ("hello", "Thank you", "bad", "b", "tree", "wave")
    queries += [{"text": t, "language": lang, "k": 5} for t in texts for lang in (None, "ase")]
    out = page_lookups(queries, model, tmp_path)["results"]
    for q, js in zip(queries, out, strict=True):
        if "text" in q:  # the page finds taught signs by name only, not as a text's neighbours
            py = engine.lookup_text(q["text"], q["k"], q["language"])
            js = [m for m in js if m["source"] == "clip" or m["score"] == 1.0]
            py = [m for m in py if m.source == "clip" or m.score == 1.0]
            js, py = js[:min(len(js), len(py))], py[:min(len(js), len(py))]
        else:
            query = np.array(q["embedding"], np.float32)
            x = inputs[queries.index(q) // 12]
            whole = np.array(q["whole"], np.float32)
            py = engine.lookup_embedding(query, q["k"], q["language"], q["kind"], x, whole)
        assert [(m["label"], m["language"], m["source"]) for m in js] == \
            [(m.label, m.language, m.source) for m in py], (q.get("text"), q["language"], q.get("kind"))
        assert np.allclose([m["score"] for m in js], [m.score for m in py], atol=1e-5)
    first = [r[0]["label"] for r in out]
    assert first[1] == "HELLO" and first[2] != "HELLO"   # auto in ase: a word; letters only: a letter
