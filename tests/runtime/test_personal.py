"""Personal vocabulary: prototypes, --remove, other models (the file on disk: test_personal_store.py)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from signclip.runtime.errors import SignclipError
from signclip.runtime.vocabulary.personal import (
    PersonalVocabulary,
    data_dir,
    read_personal,
    vocabulary_path,
    write_personal,
)


def unit_rows(n, d, seed=0):
    x = np.random.default_rng(seed).standard_normal((n, d)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def test_prototype_is_renormalized_mean_and_examples_kept():
    v = PersonalVocabulary.empty(8, "abc")
    e = unit_rows(3, 8)
    v = v.with_examples("SOUP", e[:2], ["a.mp4", "b.mp4"], "ase")
    v = v.with_examples("SOUP", e[2:], ["c.pose"], "ase")
    v = v.with_examples("TREE", e[:1], ["d.pose"])
    mean = e.mean(axis=0)
    np.testing.assert_allclose(v.prototypes[0], mean / np.linalg.norm(mean), atol=1e-6)
    assert v.signs() == [("SOUP", "ase", 3), ("TREE", "", 1)]
    assert v.example_sources.tolist() == ["a.mp4", "b.mp4", "c.pose", "d.pose"]
    w = v.without("SOUP")
    assert w.signs() == [("TREE", "", 1)] and w.example_sign.tolist() == [0]
    with pytest.raises(SignclipError, match="no taught sign 'SOUP'; taught: TREE"):
        w.without("SOUP")


def test_round_trip_and_home(signclip_home):
    assert data_dir() == signclip_home
    path = vocabulary_path(8, "abcdef" * 8)
    assert path.parent == signclip_home / "personal"
    v = PersonalVocabulary.empty(8, "abcdef" * 8).with_examples("X", unit_rows(2, 8), ["1", "2"])
    write_personal(v, path)
    r = read_personal(path, 8, "abcdef" * 8)
    assert r.signs() == v.signs()
    np.testing.assert_array_equal(r.prototypes, v.prototypes)
    assert len(read_personal(path.with_name("none.npz"), 8, "x")) == 0  # no file: empty


def test_other_embedding_size_is_a_clear_error(tmp_path):
    path = tmp_path / "p.npz"
    write_personal(PersonalVocabulary.empty(8, "h").with_examples("X", unit_rows(1, 8), ["a"]), path)
    with pytest.raises(SignclipError, match="holds 8-dim embeddings but the bundle's model makes 16-dim"):
        read_personal(path, 16, "h")
    with pytest.raises(SignclipError, match="taught with another model"):
        read_personal(path, 8, "other")
    path.write_bytes(b"garbage")
    with pytest.raises(SignclipError, match="unreadable"):
        read_personal(path, 8, "h")


def takes(*lengths, seed=0):
    rng = np.random.default_rng(seed)
    return [rng.random((n, 75, 2)).astype(np.float16) for n in lengths]


def test_every_take_is_kept_with_its_example_through_remove_and_the_file(tmp_path):
    a, b, c = takes(4, 0, 6)
    v = PersonalVocabulary.empty(8, "h").with_examples("SOUP", unit_rows(2, 8), ["a", "b"], "ase", [a, b])
    v = v.with_examples("TREE", unit_rows(1, 8, seed=1), ["c"], "ase", [c])
    assert v.take_offsets.tolist() == [0, 4, 4, 10]
    assert [t.shape[0] for t in v.takes_of(0)] == [4] and np.array_equal(v.takes_of(1)[0], c)
    w = v.without("SOUP")
    assert w.take_offsets.tolist() == [0, 6] and np.array_equal(w.takes_of(0)[0], c)
    write_personal(v, tmp_path / "p.npz")
    r = read_personal(tmp_path / "p.npz", 8, "h")
    assert np.array_equal(r.take_frames, v.take_frames) and r.take_offsets.tolist() == [0, 4, 4, 10]
    with pytest.raises(SignclipError, match="one \\[T, 75, 2\\] take per example"):
        v.with_examples("X", unit_rows(2, 8), ["d", "e"], takes=[a])


def test_a_file_from_before_takes_were_kept_reads_without_them(tmp_path):
    """Format 1 (no take arrays): the signs and examples as they were, no take; taught on, the new
    examples' takes are kept beside them."""
    import io
    import json

    v = PersonalVocabulary.empty(8, "h").with_examples("X", unit_rows(2, 8), ["1", "2"])
    buf = io.BytesIO()
    np.savez(buf, meta=np.array(json.dumps({"format": 1, "embedding_dim": 8, "model_hash": "h"})),
             **{k: getattr(v, k) for k in ("labels", "languages", "prototypes", "examples", "example_sign",
                                              "example_sources")})
    (tmp_path / "old.npz").write_bytes(buf.getvalue())
    old = read_personal(tmp_path / "old.npz", 8, "h")
    assert old.signs() == [("X", "", 2)] and old.takes_of(0) == [] and old.take_offsets.tolist() == [0, 0, 0]
    more = old.with_examples("X", unit_rows(1, 8, seed=2), ["3"], takes=takes(5))
    assert [len(t) for t in more.takes_of(0)] == [5]


def test_takes_that_do_not_fit_the_examples_are_a_damaged_file(tmp_path):
    v = PersonalVocabulary.empty(8, "h").with_examples("X", unit_rows(1, 8), ["1"], takes=takes(3))
    bad = dataclasses.replace(v, take_offsets=np.array([0, 5]))
    (tmp_path / "p.npz").write_bytes(bad.to_bytes())
    with pytest.raises(SignclipError, match="takes' offsets"):
        read_personal(tmp_path / "p.npz", 8, "h")
