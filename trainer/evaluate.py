"""Evaluate a checkpoint: the paper's metrics on a manifest, per language, with chance levels and a plot.

    signclip evaluate RUN/checkpoint --data lexicon.csv [--split test] [--json] [--plot emb.png]
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from signclip.runtime.pose.normalize import preprocess

from .clips import read_clip
from .data import prompt
from .embed import embed_clips, embed_texts
from .metrics import dedupe_texts, few_shot, retrieval_metrics


@dataclass
class Embedded:
    """A manifest's clips and de-duplicated prompts, embedded."""

    rows: list
    clips: np.ndarray          # (N, D)
    texts: list                # unique prompts
    text_emb: np.ndarray       # (M, D)
    text_of_clip: np.ndarray   # (N,)
    extra: dict = field(default_factory=dict)


def embed_rows(model, rows: list, clips=None) -> Embedded:
    """Embed the rows' clips (read from disk unless `clips` gives PoseClips) and their prompts."""
    cfg = model.cfg
    clips = clips if clips is not None else [read_clip(r, cfg.normalization.photo_frames) for r in rows]
    inputs = [preprocess(c, cfg.normalization) for c in clips]
    prompts = [prompt(r, cfg.prompt_template) for r in rows]
    texts, text_of_clip = dedupe_texts(prompts)
    return Embedded(rows, embed_clips(model, inputs), texts, embed_texts(model, texts), text_of_clip)


def within_language(emb: Embedded, clip_emb: np.ndarray | None = None) -> dict:
    """Rank of each clip's text among its own sign language's texts (what `lookup --language` does)."""
    clip_emb = emb.clips if clip_emb is None else clip_emb
    language_of_text = {}
    for r, t in zip(emb.rows, emb.text_of_clip):
        language_of_text[int(t)] = r.sign_language
    ranks = np.zeros(len(emb.rows), np.int64)
    sizes = np.zeros(len(emb.rows), np.int64)
    for i, r in enumerate(emb.rows):
        own = np.array([t for t, lang in language_of_text.items() if lang == r.sign_language])
        scores = emb.text_emb[own] @ clip_emb[i]
        right = int(np.flatnonzero(own == emb.text_of_clip[i])[0])
        ranks[i] = 1 + (scores > scores[right]).sum()
        sizes[i] = len(own)
    return {"ranks": ranks, "sizes": sizes}


def summarize_ranks(ranks: np.ndarray, sizes: np.ndarray, ks=(1, 5)) -> dict:
    out = {f"R@{k}": float((ranks <= k).mean()) for k in ks}
    out.update({f"chance R@{k}": float(np.mean(np.minimum(1.0, k / sizes))) for k in ks})
    out["median rank"] = float(np.median(ranks))
    out["clips"] = int(len(ranks))
    return out


def report(emb: Embedded) -> dict:
    """Everything `signclip evaluate` prints: overall, per language, few-shot, chance levels."""
    overall = retrieval_metrics(emb.clips, emb.text_emb, emb.text_of_clip).to_dict()
    within = within_language(emb)
    per_language = {}
    for lang in sorted({r.sign_language for r in emb.rows}):
        idx = np.array([i for i, r in enumerate(emb.rows) if r.sign_language == lang])
        per_language[lang] = summarize_ranks(within["ranks"][idx], within["sizes"][idx])
    labels = [f"{r.sign_language}:{r.text}" for r in emb.rows]
    shots = few_shot(emb.clips, labels)
    return {"overall": overall, "within_language": summarize_ranks(within["ranks"], within["sizes"]),
            "per_language": per_language,
            "few_shot": shots or "not enough clips per class (needs k + 1 clips of one text)"}


def plot_embeddings(emb: Embedded, path, title: str = "") -> Path:
    """2-D PCA of clips (dots, coloured by sign language) and texts (labelled crosses), as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from signclip.runtime.atomic import atomic_write_bytes

    both = np.concatenate([emb.clips, emb.text_emb])
    centred = both - both.mean(axis=0)
    _, _, vt = np.linalg.svd(centred, full_matrices=False)
    xy = centred @ vt[:2].T                                          # (N + M, 2)
    clips_xy, texts_xy = xy[: len(emb.clips)], xy[len(emb.clips):]
    languages = sorted({r.sign_language for r in emb.rows})
    colours = plt.get_cmap("tab20")(np.linspace(0, 1, len(languages)))
    fig, ax = plt.subplots(figsize=(9, 7), dpi=110)
    for lang, colour in zip(languages, colours):
        idx = [i for i, r in enumerate(emb.rows) if r.sign_language == lang]
        ax.scatter(clips_xy[idx, 0], clips_xy[idx, 1], s=10, color=colour, label=lang, alpha=0.8)
        tidx = sorted({int(emb.text_of_clip[i]) for i in idx})
        ax.scatter(texts_xy[tidx, 0], texts_xy[tidx, 1], s=30, color=colour, marker="x")
    for i in {int(t) for t in emb.text_of_clip[: min(len(emb.rows), 60)]}:
        ax.annotate(emb.texts[i].rsplit(" ", 1)[-1], texts_xy[i], fontsize=6, alpha=0.7)
    ax.set_title(title or "SignCLIP embedding space (PCA): clips = dots, texts = crosses")
    ax.legend(fontsize=6, ncol=2, markerscale=1.5, loc="best")
    fig.tight_layout()
    import io

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    plt.close(fig)
    atomic_write_bytes(Path(path), buffer.getvalue())
    return Path(path)


def format_report(rep: dict) -> str:
    o = rep["overall"]
    lines = [f"{o['clips']} clips, {o['texts']} unique texts",
             "| metric | value | chance |", "|---|---|---|"]
    for k, v in o["t2v_precision"].items():
        lines.append(f"| T2V P@{k} | {v:.3f} | {o['chance_t2v_precision'][k]:.3f} |")
    lines.append(f"| T2V median rank | {o['t2v_median_rank']:.0f} | {o['chance_median_rank']:.0f} |")
    for k, v in o["v2t_recall"].items():
        lines.append(f"| V2T R@{k} | {v:.3f} | {o['chance_v2t_recall'][k]:.3f} |")
    lines.append(f"| V2T median rank | {o['v2t_median_rank']:.0f} | {o['chance_median_rank']:.0f} |")
    w = rep["within_language"]
    lines.append(f"| V2T R@1 within its language | {w['R@1']:.3f} | {w['chance R@1']:.3f} |")
    lines.append(f"| V2T R@5 within its language | {w['R@5']:.3f} | {w['chance R@5']:.3f} |")
    lines += ["", "| language | clips | R@1 | R@5 | chance R@1 | median rank |", "|---|---|---|---|---|---|"]
    for lang, m in rep["per_language"].items():
        lines.append(f"| {lang} | {m['clips']} | {m['R@1']:.3f} | {m['R@5']:.3f} | {m['chance R@1']:.3f} | "
                     f"{m['median rank']:.0f} |")
    shots = rep["few_shot"]
    if isinstance(shots, dict):
        for k, s in shots.items():
            lines.append(f"few-shot k={k}: accuracy {s['accuracy']:.3f} over {s['classes']} classes "
                         f"(chance {s['chance']:.3f})")
    else:
        lines.append(f"few-shot: {shots}")
    return "\n".join(lines)


__all__ = ["Embedded", "embed_rows", "report", "format_report", "plot_embeddings",
           "within_language", "summarize_ranks"]
