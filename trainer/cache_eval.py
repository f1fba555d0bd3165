"""Held-out evaluation from a packed cache and text features alone, for a machine without the pose
files or the text tower (a bare GPU machine: `bench/gpu_run.py`).

The cache's rows carry each clip's split, sign language and signer. `subset_cache` copies the
training rows into a cache of their own (what the loader trains on). `held_out_tables` embeds every
clip from the cache as evaluation does (no augmentation, the runtime's normalization) and every
prompt from the text features, ranks each clip's text among its own sign language's prompts (what
`signclip lookup --language` does), and summarizes the clips in groups:

    leave languages out   test clips of a sign language that no training clip has, per language
    new signers           other test clips by a signer that no training clip has, per signer
    training clips        the training rows (a sanity check, not a held-out number)
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch

from signclip.runtime.errors import SignclipError

from .cache import CacheWriter, PackedCache
from .data import ManifestRow
from .embed import embed_clips
from .evaluate import Embedded, summarize_ranks, within_language
from .loader import load_clip

GROUPS = ("leave languages out", "new signers", "training clips")


def cache_rows(cache: PackedCache) -> list:
    """The cache's manifest records as ManifestRows (their pose files need not exist here)."""
    return [ManifestRow(Path(r["pose"]), r["text"], r["spoken_language"], r["sign_language"],
                        r.get("signer"), r.get("split"), r.get("item"), r.get("weight", 1))
            for r in cache.rows]


def split_indices(rows: list) -> tuple:
    """(training clip numbers, test clip numbers); a row without a split is a training row."""
    train = np.array([i for i, r in enumerate(rows) if (r.split or "train") == "train"], np.int64)
    test = np.array([i for i, r in enumerate(rows) if (r.split or "train") != "train"], np.int64)
    return train, test


def subset_cache(cache: PackedCache, indices, out_dir) -> PackedCache:
    """A cache of clips `indices` of `cache` in out_dir, copied in storage form (no re-encoding)."""
    indices = [int(i) for i in indices]
    key = hashlib.sha256(json.dumps([cache.key, indices]).encode()).hexdigest()
    try:
        existing = PackedCache.open(out_dir)
        if existing.key == key:
            return existing
    except SignclipError:  # none there yet, or unreadable: build it anew
        pass
    texts: dict = {}
    writer = CacheWriter(out_dir, key, cache.dtype)
    try:
        for i in indices:
            text_id = texts.setdefault(cache.texts[cache.text_ids[i]], len(texts))
            writer.add_encoded(*cache.read_stored(i), fps=float(cache.fps[i]),
                               text_id=text_id, origin=cache.origins[i], scale=float(cache.scales[i]),
                               weight=int(cache.weights[i]))
        meta = {"normalization": asdict(cache.normalization), "template": cache.template}
        subset = writer.commit(texts=list(texts), rows=[cache.rows[i] for i in indices], meta=meta)
    except BaseException:
        writer.abort()
        raise
    subset.built = True
    return subset


@torch.no_grad()
def text_embeddings(model, features, texts: list) -> np.ndarray:
    """Unit embeddings [N, D] of prompts from their precomputed features or tokens."""
    model.eval()
    inputs = features.inputs(texts, model.cfg.text, model.log_logit_scale.device)
    if inputs.pooled is not None:
        emb = model.text.project(inputs.pooled)
    else:
        emb = model.text(inputs.input_ids, inputs.attention_mask)
    return emb.float().cpu().numpy()


def embed_cache(model, cache: PackedCache) -> np.ndarray:
    """Unit embeddings [N, D] of every clip of the cache, without augmentation."""
    rng = np.random.default_rng(0)  # unused without augmentation
    inputs = [load_clip(cache, i, normalization=model.cfg.normalization, augment=None, rng=rng,
                        max_frames=model.cfg.pose.max_frames) for i in range(len(cache))]
    return embed_clips(model, inputs)


def held_out_groups(rows: list) -> dict:
    """{group: {name: clip numbers}} for the GROUPS (a group may be empty)."""
    train, test = split_indices(rows)
    languages = {rows[i].sign_language for i in train}
    signers = {rows[i].signer for i in train}
    groups: dict = {name: {} for name in GROUPS}
    for i in test:
        r = rows[i]
        if r.sign_language not in languages:
            groups["leave languages out"].setdefault(r.sign_language, []).append(int(i))
        elif r.signer and r.signer not in signers:
            groups["new signers"].setdefault(r.signer, []).append(int(i))
    if len(train):
        groups["training clips"]["all"] = train.tolist()
    return groups


def held_out_tables(model, cache: PackedCache, features) -> dict:
    """{group: {name: R@1, R@5, chance, median rank, clips}}: within-language V2T per group."""
    rows = cache_rows(cache)
    emb = Embedded(rows, embed_cache(model, cache), list(cache.texts),
                   text_embeddings(model, features, list(cache.texts)), np.asarray(cache.text_ids))
    ranks = within_language(emb)
    return {group: {name: summarize_ranks(ranks["ranks"][idx], ranks["sizes"][idx])
                    for name, idx in members.items()}
            for group, members in held_out_groups(rows).items()}
