"""Top-k search by cosine over unit vectors: exact float32, or compact (int8 / float16).

Rows are stored sorted by sign language, so a language filter is a contiguous slice (no copy, no
mask). Exact search is one BLAS matrix-vector product (memory bound: it reads every float32);
above `BOUNDED_THRESHOLD` rows it scores int8 codes and re-scores in float32 only the rows whose
error bound can reach the top k. The compact int8 index keeps one int8 code per dimension and one
float32 scale per row (4x smaller). Small ones are scanned by a parallel Numba kernel; above
`PQ_THRESHOLD` rows, faiss's 4-bit product-quantizer fast scan (half a byte per two dimensions,
SIMD table lookups) picks candidates instead. Either way a few candidates are re-ranked, exactly
when the float32 rows are held. float16 uses faiss's scalar quantizer.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

import numba
import numpy as np
from numba import prange

from ..errors import SignclipError

FAISS_THRESHOLD = 20_000  # rows above which faiss builds the float16 / "faiss" backends' index
OVERSAMPLE = 4            # int8 candidates per wanted result, re-ranked exactly when rows are held
PQ_THRESHOLD = 20_000     # rows above which the compact index's candidates come from a 4-bit PQ scan
PQ_OVERSAMPLE = 64        # PQ candidates per wanted result: recall@5 >= 0.99 on isotropic data
PQ_TRAIN_ROWS = 65_536    # rows the PQ codebooks are trained on (16 centroids per sub-space)
BOUNDED_THRESHOLD = 20_000  # rows above which exact search prunes with int8 scores and error bounds


def check_top_k(k: int) -> None:
    """A SignclipError where `k` asks for no result at all."""
    if k < 1:
        raise SignclipError(f"--top-k {k}: must be at least 1")


class IndexKind(str, enum.Enum):
    EXACT = "float32"
    INT8 = "int8"
    FP16 = "float16"


@dataclass(frozen=True)
class Hits:
    """Best first: `ids` into the rows as given (not sorted by language), cosine `scores`."""

    ids: np.ndarray      # (k,) int64
    scores: np.ndarray   # (k,) float32


def _top_k(scores: np.ndarray, k: int) -> np.ndarray:
    """Indices of the k largest, best first (ties by lower index)."""
    k = min(k, len(scores))
    if k == 0:
        return np.zeros(0, np.int64)
    if k < len(scores):
        part = np.argpartition(-scores, k - 1)[:k]
    else:
        part = np.arange(len(scores))
    return part[np.lexsort((part, -scores[part]))]


def quantize_int8(rows: np.ndarray) -> tuple:
    """Per-row symmetric int8: codes [N, D] int8 and scales [N] float32 (row = codes * scale)."""
    rows = np.asarray(rows, np.float32)
    scale = np.abs(rows).max(axis=1) / 127.0 if len(rows) else np.zeros(0, np.float32)
    scale = np.where(scale > 0, scale, 1.0).astype(np.float32)
    codes = np.clip(np.rint(rows / scale[:, None]), -127, 127).astype(np.int8)
    return codes, scale


@numba.njit(parallel=True, cache=True, fastmath=True)
def _scores_int8(codes, scales, lo, hi, query):
    """codes[lo:hi] . query for every row (int16 query, int32 sums), float32 [hi - lo]."""
    out = np.empty(hi - lo, np.float32)
    d = codes.shape[1]
    for i in prange(lo, hi):
        acc = np.int32(0)
        for j in range(d):
            acc += np.int32(codes[i, j]) * np.int32(query[j])
        out[i - lo] = np.float32(acc) * scales[i]
    return out


def quantize_query(query: np.ndarray) -> tuple:
    """(int16 codes, scale) of a query: its error is far below int8's."""
    qscale = float(np.abs(query).max()) / 32767.0 or 1.0
    return np.rint(query / qscale).astype(np.int16), qscale


def _faiss():
    try:
        import faiss
    except ImportError as e:
        raise ImportError("this index needs faiss: pip install faiss-cpu") from e
    return faiss


class VectorIndex:
    """Cosine top-k over unit rows [N, D] with an optional per-row language and a language filter.

    kind: IndexKind.EXACT (float32), INT8 (codes + scales; re-ranked exactly if `keep_rows`) or
    FP16 (faiss). backend "auto" | "numpy" | "faiss" picks the exact search's engine.
    """

    def __init__(self, rows: np.ndarray, languages=None, *, kind: IndexKind = IndexKind.EXACT,
                 backend: str = "auto", keep_rows: bool = True, threads: int | None = None):
        rows = np.asarray(rows, np.float32)
        if rows.ndim != 2:
            raise SignclipError(f"index rows must be [N, D], got shape {rows.shape}")
        kind = IndexKind(kind)
        if backend not in ("auto", "numpy", "faiss"):
            raise SignclipError(f"index backend {backend!r}; choose auto, numpy or faiss")
        languages = np.asarray([""] * len(rows) if languages is None else languages).astype(str)
        if len(languages) != len(rows):
            raise SignclipError(f"{len(languages)} languages for {len(rows)} rows")
        self.kind, self.dim, self.threads = kind, rows.shape[1], threads
        self.order = np.argsort(languages, kind="stable")      # sorted position -> caller's id
        sorted_langs = languages[self.order]
        names, starts = np.unique(sorted_langs, return_index=True) if len(rows) else ([], [])
        ends = list(starts[1:]) + [len(rows)] if len(rows) else []
        self.ranges = {str(n): (int(s), int(e)) for n, s, e in zip(names, starts, ends, strict=True)}
        rows = np.ascontiguousarray(rows[self.order])
        self.use_faiss = backend == "faiss" or (backend == "auto" and kind is IndexKind.FP16)
        self.bounded = kind is IndexKind.EXACT and not self.use_faiss and len(rows) >= BOUNDED_THRESHOLD
        if (kind is IndexKind.INT8 and not self.use_faiss) or self.bounded:
            self.codes, self.scales = quantize_int8(rows)
        self.pq = (_build_pq(rows) if kind is IndexKind.INT8 and not self.use_faiss
                   and len(rows) >= PQ_THRESHOLD else None)
        if self.bounded:  # |row - codes * scale|: how far an int8 score can be from the exact one
            error = rows - self.codes * self.scales[:, None]
            self.residuals = np.linalg.norm(error, axis=1).astype(np.float32)
        self._faiss_index = self._build_faiss(rows) if self.use_faiss else None
        self.rows = rows if (kind is IndexKind.EXACT or keep_rows) else None

    def __len__(self) -> int:
        return len(self.order)

    @property
    def languages(self) -> list:
        return sorted(self.ranges)

    @property
    def nbytes(self) -> int:
        """Memory a whole-index search scans (PQ or int8 codes for int8; float32 rows for exact)."""
        if self.kind is IndexKind.INT8 and not self.use_faiss:
            if self.pq is not None:
                return self.pq.code_size * len(self)
            return self.codes.nbytes + self.scales.nbytes
        if self.bounded:  # int8 codes and error bounds; float32 only for the few candidates
            return self.codes.nbytes + self.scales.nbytes + self.residuals.nbytes
        return len(self) * self.dim * {IndexKind.EXACT: 4, IndexKind.INT8: 1, IndexKind.FP16: 2}[self.kind]

    def _range(self, language: str | None) -> tuple:
        if language is None:
            return 0, len(self)
        return self.ranges.get(language, (0, 0))

    def search(self, query: np.ndarray, k: int = 5, language: str | None = None) -> Hits:
        """The k rows most similar to a unit `query` [D], among `language`'s rows when given."""
        query = np.asarray(query, np.float32).reshape(-1)
        if query.shape[0] != self.dim:
            raise SignclipError(f"query has {query.shape[0]} dimensions, the index {self.dim}")
        check_top_k(k)
        lo, hi = self._range(language)
        if hi <= lo:
            return Hits(np.zeros(0, np.int64), np.zeros(0, np.float32))
        if self.use_faiss:
            pos, scores = self._search_faiss(query, k, lo, hi)
        elif self.kind is IndexKind.INT8:
            pos, scores = self._search_int8(query, k, lo, hi)
        elif self.bounded:
            pos, scores = self._search_bounded(query, k, lo, hi)
        else:
            s = self.rows[lo:hi] @ query                                    # (n,)
            top = _top_k(s, k)
            pos, scores = top + lo, s[top]
        return Hits(self.order[pos], scores.astype(np.float32))

    def _search_bounded(self, query: np.ndarray, k: int, lo: int, hi: int) -> tuple:
        """Exact top-k that reads the int8 codes, not the float32 rows, for all but a few rows.

        With x = codes * scale + e and |e| = residual, |q . x - int8 score| <= |q| |e| + |q - q16| |x|
        (Cauchy-Schwarz). Every row whose upper bound reaches the k-th best lower bound is re-scored
        in float32, so the result is exactly the float32 top-k.
        """
        q16, qscale = quantize_query(query)
        approx = _scores_int8(self.codes, self.scales, lo, hi, q16) * np.float32(qscale)  # (n,)
        q_err = float(np.linalg.norm(query - q16.astype(np.float32) * qscale))
        bound = float(np.linalg.norm(query)) * self.residuals[lo:hi] + q_err * (1.0 + self.residuals[lo:hi])
        k = min(k, hi - lo)
        lower = approx - bound
        threshold = np.partition(lower, len(lower) - k)[len(lower) - k]  # k-th largest lower bound
        candidates = np.flatnonzero(approx + bound >= threshold) + lo
        exact = self.rows[candidates] @ query
        top = _top_k(exact, k)
        return candidates[top], exact[top]

    def _candidates(self, query: np.ndarray, k: int, lo: int, hi: int) -> np.ndarray:
        """Positions worth scoring exactly: PQ's best k * PQ_OVERSAMPLE over a whole large index
        (its scores are coarse), else int8's best k, or k * OVERSAMPLE when rows re-rank them."""
        if self.pq is not None and (lo, hi) == (0, len(self)):
            _, pos = self.pq.search(query[None], min(hi - lo, k * PQ_OVERSAMPLE))
            return pos[0][pos[0] >= 0]
        q16, _ = quantize_query(query)  # a language's slice: fast scan takes no id filter
        approx = _scores_int8(self.codes, self.scales, lo, hi, q16)
        return _top_k(approx, min(hi - lo, k * OVERSAMPLE if self.rows is not None else k)) + lo

    def _search_int8(self, query: np.ndarray, k: int, lo: int, hi: int) -> tuple:
        pos = self._candidates(query, k, lo, hi)
        if self.rows is not None:  # exact re-rank of the few candidates
            scores = self.rows[pos] @ query
        else:
            scores = (self.codes[pos].astype(np.float32) @ query) * self.scales[pos]
        top = _top_k(scores, k)
        return pos[top], scores[top]

    def _build_faiss(self, rows: np.ndarray):
        faiss = _faiss()
        if self.kind is IndexKind.EXACT:
            index = faiss.IndexFlatIP(self.dim)
        else:
            qtype = (faiss.ScalarQuantizer.QT_fp16 if self.kind is IndexKind.FP16
                     else faiss.ScalarQuantizer.QT_8bit)
            index = faiss.IndexScalarQuantizer(self.dim, qtype, faiss.METRIC_INNER_PRODUCT)
            if len(rows):
                index.train(rows)
        index.add(rows)
        return index

    def _search_faiss(self, query: np.ndarray, k: int, lo: int, hi: int) -> tuple:
        faiss = _faiss()
        params = None
        if (lo, hi) != (0, len(self)):  # a language: its rows are one contiguous id range
            params = faiss.SearchParameters(sel=faiss.IDSelectorRange(lo, hi))
        scores, pos = self._faiss_index.search(query[None], min(k, hi - lo), params=params)
        keep = pos[0] >= 0
        return pos[0][keep], scores[0][keep]


def _build_pq(rows: np.ndarray):
    """faiss 4-bit PQ fast-scan index over `rows` (two dimensions per sub-quantizer)."""
    faiss = _faiss()
    dim = rows.shape[1]
    index = faiss.IndexPQFastScan(dim, dim // 2 if dim % 2 == 0 else dim, 4, faiss.METRIC_INNER_PRODUCT)
    step = max(1, len(rows) // PQ_TRAIN_ROWS)
    index.train(rows[::step])
    index.add(rows)
    return index


def brute_force(rows: np.ndarray, query: np.ndarray, k: int) -> Hits:
    """Reference search: every cosine, sorted; for tests and recall measurements."""
    s = np.asarray(rows, np.float32) @ np.asarray(query, np.float32)
    top = _top_k(s, k)
    return Hits(top.astype(np.int64), s[top])


def recall_at_k(found, truth) -> float:
    """Share of the true top-k ids that a search found (order ignored)."""
    truth = set(np.asarray(truth).tolist())
    return len(truth & set(np.asarray(found).tolist())) / max(1, len(truth))
