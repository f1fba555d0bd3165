"""Engine: one loaded bundle serving clips, texts and taught signs together."""

from __future__ import annotations

import io
import json
import shutil
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from tiny_bundle import LEXICON, lexicon_rows

from signclip.runtime.errors import SignclipError
from signclip.runtime.model import bundle as B
from signclip.runtime.pose.io import read_pose
from signclip.runtime.pose.normalize import flip
from signclip.runtime.recognition.engine import (
    Engine,
    Match,
    merge,
    parse_prompt,
    read_clip,
    spoken_languages,
)

POSES = Path(__file__).resolve().parents[1] / "data" / "poses"


def mirror(clip):
    """The clip seen in a mirror: x negated, left and right swapped (in its own layout)."""
    frames, mask = flip(clip.frames, clip.mask, clip.layout)
    return replace(clip, frames=frames, mask=mask)


def test_prompt_parsing():
    t = "<{spoken}> <{signed}> {text}"
    assert parse_prompt(t, "<el> <gss> Α") == {"spoken": "el", "signed": "gss", "text": "Α"}
    assert parse_prompt(t, "plain") is None
    spoken = spoken_languages(t, ["<en> <ase> A", "<it> <ise> vv"], ["ase", "ise"])
    assert spoken == {"ase": "en", "ise": "it"}


def test_merge_keeps_best_per_label():
    ms = [Match("A", "ase", "a", 0.2, "bundle"), Match("A", "ase", "a", 0.9, "bundle"),
          Match("B", "ase", "b", 0.5, "bundle")]
    assert [(m.label, m.score) for m in merge(ms, 5)] == [("A", 0.9), ("B", 0.5)]


def test_lookup_matches_brute_force(tiny_bundle, signclip_home):
    engine = Engine(tiny_bundle)
    clip = read_pose(POSES / "holistic576_97f.pose")
    (matches,) = engine.lookup_clips([clip], k=4)
    e = engine.embed_clips([clip])[0]
    v = engine.vocabulary
    scores = v.embeddings @ e
    assert [m.label for m in matches] == v.labels[np.argsort(-scores)[:4]].tolist()
    assert all(a.score >= b.score for a, b in zip(matches, matches[1:]))
    gss = engine.lookup_clips([clip], k=3, language="gss")[0]
    assert {m.language for m in gss} == {"gss"}
    with pytest.raises(SignclipError, match="language 'xx' is not in the vocabulary; known: ase, gss, ise"):
        engine.lookup_clips([clip], language="xx")


def test_taught_sign_and_its_mirror_come_first(tiny_bundle, signclip_home):
    engine = Engine(tiny_bundle)
    soup = read_pose(POSES / "holistic576_97f.pose")
    football = read_pose(POSES / "holistic576_121f.pose")
    engine.teach("SOUP", [soup], ["soup.pose"], "ase")
    engine.teach("FOOTBALL", [football], ["football.pose"])
    fresh = Engine(tiny_bundle)  # a new process would read the saved vocabulary
    assert fresh.personal.signs() == [("SOUP", "ase", 1), ("FOOTBALL", "", 1)]
    results = fresh.lookup_clips([soup, mirror(soup), football, mirror(football)], k=3)
    assert [r[0].label for r in results] == ["SOUP", "SOUP", "FOOTBALL", "FOOTBALL"]
    # scores of taught signs are calibrated onto the pose-to-text scale: first, clear of the rest
    for r in results:
        assert r[0].source == "personal" and r[0].score > r[1].score
    raw = fresh.personal_index.search(fresh.embed_clips([soup, mirror(soup)])[1], 1).scores[0]
    assert raw > 0.95  # canonical-hand normalization undoes the mirror
    # a language filter keeps signs of that language and signs taught without one
    assert {m.label for m in fresh.lookup_clips([soup], k=10, language="gss")[0]} >= {"FOOTBALL"}
    assert "SOUP" not in {m.label for m in fresh.lookup_clips([soup], k=10, language="gss")[0]}
    fresh.forget("SOUP")
    assert Engine(tiny_bundle).personal.signs() == [("FOOTBALL", "", 1)]


def test_text_to_sign_over_clips(tiny_bundle, signclip_home):
    engine = Engine(tiny_bundle)
    v = engine.vocabulary
    matches = engine.lookup_text("A", k=10)
    assert {m.source for m in matches} == {"clip"}
    assert {(m.label, m.language) for m in matches} == set(zip(v.clip_labels, v.clip_languages))
    prompt = "<el> <gss> A"
    q = engine.embed_texts([prompt])[0]
    gss = engine.lookup_text("A", k=5, language="gss")
    expected = sorted(((float(v.clip_embeddings[i] @ q), v.clip_labels[i]) for i in range(len(v.clip_labels))
                       if v.clip_languages[i] == "gss"), reverse=True)
    assert [m.label for m in gss] == [label for _, label in expected]


def test_text_to_sign_without_clips_uses_labels(tiny_bundle, tmp_path, signclip_home):
    folder = shutil.copytree(tiny_bundle, tmp_path / "b")
    with np.load(folder / B.VOCABULARY_FILE) as z:
        arrays = {k: z[k] for k in B.VOCABULARY_ARRAYS}
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    (folder / B.VOCABULARY_FILE).write_bytes(buf.getvalue())
    meta = json.loads((folder / B.META_FILE).read_text())
    meta["files"][B.VOCABULARY_FILE] = B.sha256_file(folder / B.VOCABULARY_FILE)
    (folder / B.META_FILE).write_text(json.dumps(meta))
    matches = Engine(folder).lookup_text("Q", k=3, language="ase")
    assert matches[0].label == "Q" and matches[0].source == "bundle"  # its own prompt: cosine 1


def test_empty_vocabulary(tiny_bundle, tmp_path, signclip_home):
    folder = shutil.copytree(tiny_bundle, tmp_path / "b")
    s = np.zeros(0, dtype=str)
    buf = io.BytesIO()
    np.savez(buf, texts=s, labels=s, languages=s, embeddings=np.zeros((0, 16), np.float32))
    (folder / B.VOCABULARY_FILE).write_bytes(buf.getvalue())
    meta = json.loads((folder / B.META_FILE).read_text())
    meta["files"][B.VOCABULARY_FILE] = B.sha256_file(folder / B.VOCABULARY_FILE)
    meta["vocabulary"]["sha256"] = B.vocabulary_hash(s, np.zeros((0, 16), np.float32))
    (folder / B.META_FILE).write_text(json.dumps(meta))
    engine = Engine(folder)
    clip = read_pose(POSES / "holistic576_97f.pose")
    with pytest.raises(SignclipError, match="nothing to look up: the bundle's vocabulary is empty"):
        engine.lookup_clips([clip])
    engine.teach("ONLY", [clip], ["x"])
    assert engine.lookup_clips([clip])[0][0].label == "ONLY"


def test_personal_vocabulary_of_another_size(tiny_bundle, signclip_home):
    from signclip.runtime.vocabulary.personal import PersonalVocabulary, vocabulary_path, write_personal

    b = B.load_bundle(tiny_bundle)
    x = np.eye(8, dtype=np.float32)[:1]
    write_personal(PersonalVocabulary.empty(8, b.model_hash).with_examples("X", x, ["a"]),
                   vocabulary_path(16, b.model_hash))
    engine = Engine(b)  # lookups go on with the bundle alone, and say why
    assert len(engine.personal) == 0
    assert "holds 8-dim embeddings" in engine.personal_warning()
    clip = read_pose(POSES / "holistic576_97f.pose")
    assert engine.lookup_clips([clip])[0][0].source == "bundle"
    with pytest.raises(SignclipError, match="holds 8-dim embeddings.*nothing was changed"):
        engine.teach("Y", [clip], ["y"])  # the other model's signs are not overwritten


def test_long_clip_is_handled(tiny_bundle, signclip_home):
    clip = read_pose(POSES / "reduced178_278f.pose")
    assert clip.num_frames > 256
    (matches,) = Engine(tiny_bundle).lookup_clips([clip], k=3)
    assert len(matches) == 3


def test_read_clip_errors(tmp_path):
    with pytest.raises(SignclipError, match="unknown input type .txt"):
        (tmp_path / "a.txt").write_text("x")
        read_clip(tmp_path / "a.txt")
    with pytest.raises(SignclipError, match="no such file"):
        read_clip(tmp_path / "missing.mp4")


def test_lexicon_clips_in_bundle_match_engine(tiny_bundle, signclip_home):
    """The engine's pose path reproduces the clip embeddings the bundle was built with in torch."""
    engine = Engine(tiny_bundle)
    rows = lexicon_rows()
    emb = engine.embed_files([LEXICON / r["path"] for r in rows])
    np.testing.assert_allclose(emb, engine.vocabulary.clip_embeddings, atol=1e-4)
