"""The page's reference clips (web/src/bundle.js References): what it draws in the Search panel is
the bundle's clip, decoded from float16 as numpy decodes it."""

from __future__ import annotations

import json
import subprocess

import numpy as np
import pytest
from page_driver import NODE, WEB

from signclip.runtime.cli.webpage import write_web_model
from signclip.runtime.model.bundle import load_bundle
from signclip.runtime.model.references import load_references

SCRIPT = """
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadWebModel, halfToFloat } from './src/bundle.js';
const [dir, out] = process.argv.slice(1);
const read = async (name) => { const b = readFileSync(join(dir, name));
  return b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength); };
const web = await loadWebModel(read);
const clip = (label) => web.references.frames(label, 'ase').map((f) => [f.poseLandmarks, f.leftHandLandmarks,
  f.rightHandLandmarks].map((part) => (part ? part.map((p) => [p.x, p.y]) : null)));
writeFileSync(out, JSON.stringify({ hello: clip('HELLO'), a: clip('A'), fps: web.references.fps,
  none: web.references.frames('NOT-A-WORD', 'ase'),
  halves: [0x3c00, 0xc000, 0x7e00, 0x0001, 0x3555].map(halfToFloat) }));
"""


def test_the_page_decodes_the_bundles_reference_clips(tmp_path):
    if NODE is None:
        pytest.skip("Node.js is not installed")
    bundle = load_bundle()
    model = tmp_path / "model"
    manifest = write_web_model(bundle, model, words=())
    assert manifest["references"]["file"] == "references.f16"
    done = subprocess.run([NODE, "--input-type=module", "-e", SCRIPT, str(model), str(tmp_path / "out.json")],
                          cwd=WEB, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    out = json.loads((tmp_path / "out.json").read_text().replace("NaN", "null"))
    halves = np.array([0x3C00, 0xC000, 0x7E00, 0x0001, 0x3555], np.uint16).view(np.float16).astype(float)
    assert out["halves"][:2] == [1.0, -2.0] and out["halves"][2] is None
    assert out["halves"][3] == halves[3] and out["halves"][4] == halves[4]
    refs = load_references(bundle.path)
    assert out["fps"] == refs.fps and out["none"] is None
    for label in ("HELLO", "A"):
        i = refs.find(label, "ase")
        expected = refs.frames[refs.offsets[i]:refs.offsets[i + 1]].astype(np.float64)
        assert len(out[label.lower()]) == len(expected)
        for frame, want in zip(out[label.lower()], expected, strict=True):
            for part, (first, count) in zip(frame, ((0, 33), (33, 21), (54, 21)), strict=True):
                points = want[first:first + count]
                if part is None:
                    assert np.isnan(points).all()
                else:
                    got = np.array([[np.nan if v is None else v for v in p] for p in part], float)
                    assert np.array_equal(got, points, equal_nan=True)
