"""The retrieval metrics against a small case computed by hand."""

import numpy as np
import pytest

from signclip.trainer.metrics import dedupe_texts, few_shot, prototype_accuracy, retrieval_metrics


def unit(*rows):
    a = np.array(rows, dtype=np.float64)
    return a / np.linalg.norm(a, axis=1, keepdims=True)


def test_hand_computed_case():
    # 3 unique texts along the axes; 4 clips: clips 0 and 1 say text 0, clip 2 text 1, clip 3 text 2.
    texts = np.eye(3)
    clips = unit([1, 0.1, 0], [0.2, 1, 0], [0, 1, 0.1], [0.1, 0, 1])
    m = retrieval_metrics(clips, texts, np.array([0, 0, 1, 2]), ks=(1, 2))
    # scores (clip x text): c0 -> t0 best; c1 -> t1 best (t0 second); c2 -> t1; c3 -> t2
    # V2T ranks of the right text: 1, 2, 1, 1 -> R@1 = 3/4, R@2 = 1, median rank 1
    assert m.v2t_recall == {1: 0.75, 2: 1.0}
    assert m.v2t_median_rank == 1.0
    # T2V: query t0 ranks clips c0 (1/1.005), c1 (0.196), ... -> top1 {c0} 1 hit, top2 {c0,c1} 2 hits
    # query t1 ranks c2 (0.995), c1 (0.98) -> 1 hit, 1 hit; query t2 ranks c3 first -> 1 hit, 1 hit
    # P@1 = 3 / (1 x 3) = 1; P@2 = (2 + 1 + 1) / (2 x 3) = 2/3; first-hit ranks 1, 1, 1
    assert m.t2v_precision[1] == pytest.approx(1.0)
    assert m.t2v_precision[2] == pytest.approx(2 / 3)
    assert m.t2v_median_rank == 1.0
    assert m.chance_v2t_recall == {1: pytest.approx(1 / 3), 2: pytest.approx(2 / 3)}
    assert m.chance_t2v_precision[1] == pytest.approx((4 / 3) / 4)
    assert m.chance_median_rank == 2.0


def test_dedupe_keeps_first_seen_order():
    unique, where = dedupe_texts(["b", "a", "b", "c"])
    assert unique == ["b", "a", "c"]
    assert where.tolist() == [0, 1, 0, 2]


def test_random_embeddings_sit_near_chance():
    rng = np.random.default_rng(0)
    texts = unit(*rng.normal(size=(50, 16)))
    clips = unit(*rng.normal(size=(2000, 16)))
    m = retrieval_metrics(clips, texts, rng.integers(0, 50, 2000))
    assert abs(m.v2t_recall[5] - m.chance_v2t_recall[5]) < 0.04
    assert abs(m.v2t_median_rank - m.chance_median_rank) < 5


def test_prototypes():
    support = unit([1, 0], [0.9, 0.1], [0, 1])
    assert prototype_accuracy(support, ["a", "a", "b"], unit([1, 0.2], [0.1, 1]), ["a", "b"]) == 1.0
    emb = unit([1, 0], [1, 0.1], [1, 0.05], [0, 1], [0.1, 1], [0.05, 1])
    out = few_shot(emb, ["a"] * 3 + ["b"] * 3, ks=(1, 2, 5))
    assert set(out) == {1, 2} and out[1]["accuracy"] == 1.0 and out[1]["chance"] == 0.5
