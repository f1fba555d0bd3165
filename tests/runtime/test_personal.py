"""Personal vocabulary: prototypes, --remove, other models (the file on disk: test_personal_store.py)."""

from __future__ import annotations

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
