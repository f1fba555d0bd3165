"""The page's sign templates (web/src/templates.js) against the Python runtime's (templates.py), in
Node on the shipped bundle: the same features, the same DTW distances to the references, and the
same re-ranked word lookups."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import numpy as np
import pytest
from page_driver import NODE, WEB, input_json

from signclip.runtime.cli.webpage import write_web_model
from signclip.runtime.pose.io import read_pose
from signclip.runtime.pose.timing import at_rate
from signclip.runtime.recognition.templates import nearest, template_features

DATA = Path(__file__).resolve().parents[1] / "data"
CLIPS = (DATA / "words" / "islr_hello_53618.pose", DATA / "poses" / "holistic576_97f.pose",
         DATA / "poses" / "holistic576_121f.pose")
WORDS = ("HELLO", "THANK-YOU", "WATER", "MOTHER", "BAD", "HAPPY")

SCRIPT = """
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadWebModel } from './src/bundle.js';
import { templateFeatures, templateNearest } from './src/templates.js';
const [dir, casesFile, out] = process.argv.slice(1);
const read = async (name) => { const b = readFileSync(join(dir, name));
  return b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength); };
const web = await loadWebModel(read);
const cases = JSON.parse(readFileSync(casesFile, 'utf8'));
const templates = web.vocabulary.templates;
const results = cases.clips.map((c) => {
  const input = { frames: Float32Array.from(c.frames), mask: Uint8Array.from(c.mask), length: c.length,
    points: web.model.points, plain: c.plain ? Float32Array.from(c.plain) : null, flipped: false };
  const features = templateFeatures(input, web.model, web.fps);
  const distances = templateNearest(cases.words.map((w) => templates.of(w, 'ase')), features);
  const top = web.vocabulary.lookupEmbedding(Float32Array.from(c.embedding), 5, 'ase', 'signs', false, input,
    Float32Array.from(c.whole));
  return { features: Array.from(features), distances, top: top.map((m) => [m.label, m.score]) };
});
const references = cases.words.map((w) => templates.of(w, 'ase').map((f) => Array.from(f)));
writeFileSync(out, JSON.stringify({ results, references }));
"""


def test_the_page_aligns_and_reranks_as_the_engine_does(default_engine, tmp_path):
    if NODE is None:
        pytest.skip("Node.js is not installed")
    engine = default_engine
    model = tmp_path / "model"
    write_web_model(engine.bundle, model, words=())
    inputs = [engine.model_input(at_rate(read_pose(p), engine.bundle.fps)) for p in CLIPS]
    embeddings = engine.embed_inputs(inputs)
    wholes = engine.pose_encoder.embed_whole(inputs)   # signs are read from the whole clip
    cases = {"words": WORDS, "clips": [{**input_json(x), "embedding": e.tolist(), "whole": w.tolist()}
                                       for x, e, w in zip(inputs, embeddings, wholes, strict=True)]}
    (tmp_path / "cases.json").write_text(json.dumps(cases))
    args = [str(model), str(tmp_path / "cases.json"), str(tmp_path / "out.json")]
    done = subprocess.run([NODE, "--input-type=module", "-e", SCRIPT, *args],
                          cwd=WEB, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    out = json.loads((tmp_path / "out.json").read_text())
    fps = engine.bundle.fps
    for word, js in zip(WORDS, out["references"], strict=True):
        py = engine.templates.features(word, "ase")   # each signer's clip, the shown one first
        assert len(js) == len(py) >= 1
        for a, b in zip(js, py, strict=True):
            np.testing.assert_allclose(np.array(a).reshape(b.shape), b, rtol=1e-4, atol=1e-4)
    assert len(engine.templates.features("HELLO", "ase")) > 10   # ISLR's training participants and ASL-App
    for x, e, w, js in zip(inputs, embeddings, wholes, out["results"], strict=True):
        py = template_features(x, fps)
        np.testing.assert_allclose(np.array(js["features"]).reshape(py.shape), py, atol=1e-6)
        want = nearest([engine.templates.features(w, "ase") for w in WORDS], py)
        np.testing.assert_allclose(js["distances"], want, rtol=1e-4)
        found = engine.lookup_embedding(e, 5, "ase", kind="signs", model_input=x, whole=w)
        assert [label for label, _ in js["top"]] == [m.label for m in found]
        np.testing.assert_allclose([s for _, s in js["top"]], [m.score for m in found], atol=1e-5)
