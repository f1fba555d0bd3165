"""The paper's retrieval metrics, computed as the reference computes them, with chance levels.

T2V: one query per unique text, ranking all clips; P@k = correct clips in the top k / (k x queries);
median rank of the first correct clip. V2T: each clip ranks the de-duplicated texts; R@k = share of
clips whose text is in the top k; median rank of the right text. Ranks are 1-based.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np

KS = (1, 5, 10)


@dataclass(frozen=True)
class RetrievalMetrics:
    clips: int
    texts: int
    t2v_precision: dict = field(default_factory=dict)   # k -> P@k
    t2v_median_rank: float = 0.0
    v2t_recall: dict = field(default_factory=dict)      # k -> R@k
    v2t_median_rank: float = 0.0
    chance_t2v_precision: dict = field(default_factory=dict)
    chance_v2t_recall: dict = field(default_factory=dict)
    chance_median_rank: float = 0.0

    def to_dict(self) -> dict:
        return asdict(self)


def dedupe_texts(texts) -> tuple:
    """(unique texts in first-seen order, index of each input text in them)."""
    unique = list(dict.fromkeys(texts))
    where = {t: i for i, t in enumerate(unique)}
    return unique, np.array([where[t] for t in texts], dtype=np.int64)


def retrieval_metrics(clip_emb: np.ndarray, text_emb: np.ndarray, text_of_clip: np.ndarray,
                      ks=KS) -> RetrievalMetrics:
    """clip_emb [N, D] and unique text_emb [M, D] (unit rows); text_of_clip [N] indexes text_emb."""
    scores = clip_emb @ text_emb.T                                   # (N, M)
    n, m = scores.shape
    truth = np.zeros((n, m), bool)
    truth[np.arange(n), text_of_clip] = True

    # V2T: rank of the right text among the M texts for each clip
    right = scores[np.arange(n), text_of_clip]
    v2t_rank = 1 + (scores > right[:, None]).sum(axis=1)             # (N,)
    v2t = {k: float((v2t_rank <= k).mean()) for k in ks}

    # T2V: each text that has clips ranks all N clips
    queries = np.unique(text_of_clip)
    order = np.argsort(-scores[:, queries].T, axis=1, kind="stable")  # (Q, N)
    hits = truth[:, queries].T[np.arange(len(queries))[:, None], order]  # (Q, N) in ranked order
    t2v = {k: float(hits[:, :k].sum() / (k * len(queries))) for k in ks}
    first = 1 + hits.argmax(axis=1)

    positives = truth[:, queries].sum(axis=0)                         # clips per query text
    return RetrievalMetrics(
        clips=n, texts=m, t2v_precision=t2v, t2v_median_rank=float(np.median(first)),
        v2t_recall=v2t, v2t_median_rank=float(np.median(v2t_rank)),
        chance_t2v_precision={k: float(positives.mean() / n) for k in ks},
        chance_v2t_recall={k: min(1.0, k / m) for k in ks},
        chance_median_rank=(m + 1) / 2,
    )


def prototype_accuracy(support: np.ndarray, support_labels, query: np.ndarray, query_labels) -> float:
    """Few-shot: classify each query by the nearest class prototype (mean of its support, renormed)."""
    classes = sorted(set(support_labels))
    labels = np.asarray(support_labels)
    protos = np.stack([support[labels == c].mean(axis=0) for c in classes])
    protos /= np.linalg.norm(protos, axis=1, keepdims=True)
    predicted = np.asarray(classes)[np.argmax(query @ protos.T, axis=1)]
    return float((predicted == np.asarray(query_labels)).mean())


def few_shot(embeddings: np.ndarray, labels, ks=KS, seed: int = 0) -> dict:
    """Prototype accuracy for each k where every class has more than k clips; others are left out."""
    labels = np.asarray(labels)
    rng = np.random.default_rng(seed)
    out = {}
    classes, counts = np.unique(labels, return_counts=True)
    for k in ks:
        usable = classes[counts > k]
        if len(usable) < 2:
            continue
        support, s_labels, query, q_labels = [], [], [], []
        for c in usable:
            idx = rng.permutation(np.flatnonzero(labels == c))
            support.append(embeddings[idx[:k]])
            s_labels += [c] * k
            query.append(embeddings[idx[k:]])
            q_labels += [c] * (len(idx) - k)
        out[k] = {"accuracy": prototype_accuracy(np.concatenate(support), s_labels,
                                                 np.concatenate(query), q_labels),
                  "classes": int(len(usable)), "chance": 1.0 / len(usable)}
    return out


def rank_of(scores: np.ndarray, right: int) -> int:
    """1-based rank of entry `right` in a score vector (ties count against it)."""
    return int(1 + (scores > scores[right]).sum())
