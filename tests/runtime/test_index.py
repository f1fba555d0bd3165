"""Index: exact search returns what brute force returns; compact forms keep the top-k; language filter."""

from __future__ import annotations

import numpy as np
import pytest

from signclip.runtime.errors import SignclipError
from signclip.runtime.model.bundle import load_bundle
from signclip.runtime.model.index import (
    PQ_THRESHOLD,
    IndexKind,
    VectorIndex,
    brute_force,
    quantize_int8,
    recall_at_k,
)


def unit_rows(n: int, d: int, seed: int = 0) -> np.ndarray:
    x = np.random.default_rng(seed).standard_normal((n, d)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


@pytest.mark.parametrize("backend", ["numpy", "faiss"])
def test_exact_equals_brute_force_random(backend):
    x, q = unit_rows(5000, 64, 0), unit_rows(20, 64, 1)
    langs = np.array(["ase", "gsg", "bzs"])[np.random.default_rng(2).integers(0, 3, len(x))]
    index = VectorIndex(x, langs, backend=backend)
    for qq in q:
        hits, ref = index.search(qq, 10), brute_force(x, qq, 10)
        assert hits.ids.tolist() == ref.ids.tolist()
        np.testing.assert_allclose(hits.scores, ref.scores, atol=1e-5)


def test_exact_equals_brute_force_real_embeddings(tiny_bundle):
    """Text and pose embeddings of the tiny bundle (real lexicon clips), searched both ways."""
    v = load_bundle(tiny_bundle).vocabulary()
    index = VectorIndex(v.embeddings, v.languages)
    for q in np.concatenate([v.clip_embeddings, v.embeddings[:5]]):
        ref = brute_force(v.embeddings, q, 7)
        assert index.search(q, 7).ids.tolist() == ref.ids.tolist()


def test_language_filter_returns_only_that_language():
    x = unit_rows(3000, 32)
    langs = np.array(["ase", "gsg", "bzs", "ise"])[np.arange(3000) % 4]
    for kind in IndexKind:
        index = VectorIndex(x, langs, kind=kind)
        assert index.languages == ["ase", "bzs", "gsg", "ise"]
        q = unit_rows(1, 32, 5)[0]
        hits = index.search(q, 5, language="gsg")
        assert len(hits.ids) == 5 and (langs[hits.ids] == "gsg").all()
        sub = np.flatnonzero(langs == "gsg")
        if kind is IndexKind.EXACT:
            assert hits.ids.tolist() == sub[brute_force(x[sub], q, 5).ids].tolist()
        assert len(index.search(q, 5, language="xxx").ids) == 0


@pytest.mark.parametrize("kind, keep_rows, backend, rows, min_recall", [
    (IndexKind.INT8, True, "numpy", 5000, 0.99),    # int8 scan, exact re-rank
    (IndexKind.INT8, False, "numpy", 5000, 0.9),    # int8 codes only
    (IndexKind.INT8, True, "numpy", PQ_THRESHOLD, 0.99),   # 4-bit PQ scan, exact re-rank
    (IndexKind.INT8, False, "numpy", PQ_THRESHOLD, 0.9),   # PQ scan, int8 re-rank
    (IndexKind.INT8, False, "faiss", 20000, 0.9),
    (IndexKind.FP16, False, "auto", 20000, 0.99),
])
def test_compact_recall(kind, keep_rows, backend, rows, min_recall):
    x, q = unit_rows(rows, 128, 3), unit_rows(50, 128, 4)
    index = VectorIndex(x, kind=kind, keep_rows=keep_rows, backend=backend)
    assert (index.pq is not None) == (kind is IndexKind.INT8 and backend == "numpy" and rows >= PQ_THRESHOLD)
    recalls = [recall_at_k(index.search(qq, 5).ids, brute_force(x, qq, 5).ids) for qq in q]
    assert np.mean(recalls) >= min_recall
    assert index.nbytes < x.nbytes / (1.9 if kind is IndexKind.FP16 else 3.5)


def test_int8_scores_close_to_cosines():
    x, q = unit_rows(2000, 64, 6), unit_rows(1, 64, 7)[0]
    codes, scales = quantize_int8(x)
    assert np.abs(codes.astype(np.float32) * scales[:, None] - x).max() <= scales.max() / 2 + 1e-7
    hits = VectorIndex(x, kind=IndexKind.INT8, keep_rows=False).search(q, 5)
    np.testing.assert_allclose(hits.scores, x[hits.ids] @ q, atol=0.01)


def test_small_and_empty():
    x = unit_rows(3, 8)
    hits = VectorIndex(x, kind=IndexKind.INT8).search(x[1], 10)
    assert hits.ids.tolist()[0] == 1 and len(hits.ids) == 3
    empty = VectorIndex(np.zeros((0, 8), np.float32))
    assert len(empty.search(x[0], 5).ids) == 0
    with pytest.raises(SignclipError, match="query has 4 dimensions"):
        VectorIndex(x).search(np.ones(4), 5)
    with pytest.raises(SignclipError, match="must be at least 1"):
        VectorIndex(x).search(x[0], 0)


def test_bounded_exact_search_equals_brute_force_on_a_large_index():
    """Above BOUNDED_THRESHOLD the exact search prunes with int8 scores; it must stay exact."""
    from signclip.runtime.model.index import BOUNDED_THRESHOLD

    rng = np.random.default_rng(3)
    rows = rng.normal(size=(BOUNDED_THRESHOLD + 5000, 64)).astype(np.float32)
    rows[:50] = rows[0] + 0.01 * rng.normal(size=(50, 64))  # near-duplicates: close scores
    rows /= np.linalg.norm(rows, axis=1, keepdims=True)
    languages = np.where(np.arange(len(rows)) % 3 == 0, "ase", "gsg")
    index = VectorIndex(rows, languages, kind=IndexKind.EXACT)
    assert index.bounded
    for i in range(30):
        q = rows[i] + 0.05 * rng.normal(size=64).astype(np.float32) if i < 10 else rng.normal(size=64)
        q = (q / np.linalg.norm(q)).astype(np.float32)
        for language in (None, "ase"):
            keep = np.arange(len(rows)) if language is None else np.flatnonzero(languages == language)
            truth = brute_force(rows[keep], q, 7)
            hits = index.search(q, 7, language)
            np.testing.assert_array_equal(hits.ids, keep[truth.ids])
            np.testing.assert_allclose(hits.scores, truth.scores, rtol=1e-5, atol=1e-6)


def test_pq_index_filters_a_language_by_its_int8_slice():
    """Fast scan takes no id filter, so a language's search scans its contiguous int8 slice."""
    x = unit_rows(PQ_THRESHOLD + 1000, 64, 8)
    langs = np.where(np.arange(len(x)) % 5 == 0, "ase", "gsg")
    index = VectorIndex(x, langs, kind=IndexKind.INT8)
    sub = np.flatnonzero(langs == "ase")
    for q in unit_rows(10, 64, 9):
        hits = index.search(q, 5, language="ase")
        assert (langs[hits.ids] == "ase").all()
        assert hits.ids.tolist() == sub[brute_force(x[sub], q, 5).ids].tolist()
