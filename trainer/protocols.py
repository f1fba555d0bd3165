"""Held-out protocols on the fingerspelling lexicon (issue: honest numbers, chance beside each).

(a) leave-languages-out: V2T within each held-out language's own alphabet;
(b) robustness: each clip changed the ways real cameras and signers change it, against the clean clip;
(c) a new signer and camera: real letter videos through video -> pose -> lookup;
(d) retrieval on the training clips under fresh augmentation (a sanity check only);
(e) new signers: ASL-HG's photos of 2 signers by a model trained without them, 5 folds;
(g) held-out word signers: lexical signs of people the model never saw, among the whole vocabulary.
"""

from __future__ import annotations

import shutil
from collections import Counter
from dataclasses import replace
from pathlib import Path

import numpy as np

from signclip.runtime.errors import SignclipError
from signclip.runtime.pose.clip import PoseClip
from signclip.runtime.pose.io import read_pose
from signclip.runtime.pose.layouts import FACE, LEFT_HAND, RIGHT_HAND, flip_permutation
from signclip.runtime.pose.normalize import ModelInput, normalize_frames, preprocess

from .augment import AugmentConfig, NoiseBank, augment_normalized, augment_raw
from .clips import is_word_row, read_clip
from .config import run_config_from_dict, to_dict
from .data import ManifestRow, prompt
from .embed import embed_clips, embed_texts
from .evaluate import embed_rows, summarize_ranks, within_language

HELD_OUT = ("asq", "bzs", "mfs")  # chosen before training: each has a relative among the rest
LETTER_VIDEOS = ("A", "B", "C", "L")


# ---------------------------------------------------------------- (b) changes of camera and signer


def _points(clip: PoseClip, component: str) -> np.ndarray:
    return np.array([i for i, (c, _) in enumerate(clip.layout.points) if c == component])


def half_frame_rate(clip: PoseClip, rng) -> PoseClip:
    return replace(clip, frames=clip.frames[::2].copy(), mask=clip.mask[::2].copy(), fps=clip.fps / 2)


def double_frame_rate(clip: PoseClip, rng) -> PoseClip:
    """Linear interpolation between frames; a point missing on either side stays missing."""
    f, m = clip.frames, clip.mask
    mid = (f[:-1] + f[1:]) / 2
    mid_mask = m[:-1] & m[1:]
    frames = np.empty((2 * len(f) - 1,) + f.shape[1:], np.float32)
    mask = np.empty((2 * len(f) - 1,) + m.shape[1:], bool)
    frames[0::2], frames[1::2] = f, np.where(mid_mask[..., None], mid, 0)
    mask[0::2], mask[1::2] = m, mid_mask
    return replace(clip, frames=frames, mask=mask, fps=clip.fps * 2)


def mirrored(clip: PoseClip, rng) -> PoseClip:
    """The video flipped left to right: what a left-handed signer of the same letter looks like."""
    perm = flip_permutation(clip.layout)
    frames, mask = clip.frames[:, perm].copy(), clip.mask[:, perm].copy()
    frames[..., 0] = np.where(mask, clip.width - frames[..., 0], 0)
    return replace(clip, frames=frames, mask=mask)


def _affine(clip: PoseClip, matrix: np.ndarray, shift: np.ndarray) -> PoseClip:
    xy = clip.frames[..., :2] @ matrix.T + shift
    frames = clip.frames.copy()
    frames[..., :2] = xy
    frames[~clip.mask] = 0
    return replace(clip, frames=frames)


def zoomed_out_off_centre(clip: PoseClip, rng) -> PoseClip:
    s = 0.5
    frames = _affine(clip, np.eye(2) * s, np.array([0.4 * clip.width, 0.3 * clip.height])).frames
    frames[..., 2] *= s
    return replace(clip, frames=np.where(clip.mask[..., None], frames, 0).astype(np.float32))


def tilted_camera(clip: PoseClip, rng) -> PoseClip:
    a = np.deg2rad(10)
    rot = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
    centre = np.array([clip.width / 2, clip.height / 2])
    return _affine(clip, rot, centre - rot @ centre)


def _drop(clip: PoseClip, frames_idx, points) -> PoseClip:
    mask = clip.mask.copy()
    mask[np.ix_(frames_idx, points)] = False
    return replace(clip, frames=np.where(mask[..., None], clip.frames, 0).astype(np.float32), mask=mask)


def dominant_hand_missed(clip: PoseClip, rng) -> PoseClip:
    """The dominant hand undetected in 30% of frames, in runs (motion blur)."""
    model = preprocess(clip)
    side = "left" if model.flipped else "right"
    hand = _points(clip, LEFT_HAND if side == "left" else RIGHT_HAND)
    t = clip.num_frames
    run = max(1, int(round(0.3 * t)))
    start = int(rng.integers(0, t - run + 1))
    return _drop(clip, np.arange(start, start + run), hand)


def other_hand_never_seen(clip: PoseClip, rng) -> PoseClip:
    model = preprocess(clip)
    other = _points(clip, RIGHT_HAND if model.flipped else LEFT_HAND)
    return _drop(clip, np.arange(clip.num_frames), other)


def face_missed(clip: PoseClip, rng) -> PoseClip:
    return _drop(clip, np.arange(clip.num_frames), _points(clip, FACE))


def jitter(clip: PoseClip, rng) -> PoseClip:
    """Keypoint noise of 2% of the shoulder width (a cheap camera, a low-resolution stream)."""
    noise = rng.normal(0, 0.02 * _shoulder_width(clip), clip.frames.shape).astype(np.float32)
    return replace(clip, frames=np.where(clip.mask[..., None], clip.frames + noise, 0).astype(np.float32))


def _shoulder_width(clip: PoseClip) -> float:
    a = clip.layout.index[("POSE_LANDMARKS", "RIGHT_SHOULDER")]
    b = clip.layout.index[("POSE_LANDMARKS", "LEFT_SHOULDER")]
    both = clip.mask[:, a] & clip.mask[:, b]
    return float(np.linalg.norm(clip.frames[both, a] - clip.frames[both, b], axis=-1).mean())


def trimmed(clip: PoseClip, rng) -> PoseClip:
    """Recording starts late and stops early: 15% of the frames cut at each end."""
    cut = int(0.15 * clip.num_frames)
    return clip.slice(cut, max(cut + 1, clip.num_frames - cut))


CHANGES = {
    "half frame rate": half_frame_rate,
    "double frame rate": double_frame_rate,
    "left-handed (mirrored)": mirrored,
    "zoomed out, off centre": zoomed_out_off_centre,
    "camera tilted 10 deg": tilted_camera,
    "dominant hand missed 30%": dominant_hand_missed,
    "other hand never seen": other_hand_never_seen,
    "face not detected": face_missed,
    "keypoint jitter 2%": jitter,
    "trimmed 15% each end": trimmed,
}


def robustness(model, rows: list, seed: int = 0) -> dict:
    """Within-language top-1 / top-5 of every clip under each change, beside the clean clips."""
    clips = [read_pose(r.pose) for r in rows]
    clean = embed_rows(model, rows, clips)
    results = {"clean": summarize_ranks(**within_language(clean))}
    for name, change in CHANGES.items():
        rng = np.random.default_rng(seed)
        inputs = [preprocess(change(c, rng), model.cfg.normalization) for c in clips]
        ranks = within_language(clean, embed_clips(model, inputs))
        results[name] = summarize_ranks(**ranks)
    return results


# ---------------------------------------------------------------- (a) and (d)


def held_out(model, rows: list, languages=HELD_OUT) -> dict:
    """V2T within each held-out language's own alphabet, with chance."""
    out = {}
    for lang in languages:
        lang_rows = [r for r in rows if r.sign_language == lang]
        emb = embed_rows(model, lang_rows)
        out[lang] = summarize_ranks(**within_language(emb))
    return out


def augmented(model, rows: list, seed: int = 0) -> dict:
    """Training clips under a fresh draw of the training augmentation (sanity check only)."""
    rng = np.random.default_rng(seed)
    cfg, bank = AugmentConfig(flip_p=0.0), NoiseBank(seed=seed)
    clean = embed_rows(model, rows)
    inputs = []
    for r in rows:
        model_clip = read_pose(r.pose)
        base = preprocess(model_clip, replace(model.cfg.normalization, canonical_hand=False))
        frames, mask = augment_raw(base.frames, base.mask, rng, cfg, model.cfg.pose.max_frames)
        frames = augment_normalized(frames, mask, np.array([len(frames)]), rng, cfg, bank)
        inputs.append(_renormalized(frames, mask, model.cfg.normalization))
    return summarize_ranks(**within_language(clean, embed_clips(model, inputs)))


def _renormalized(frames, mask, config) -> ModelInput:
    from signclip.runtime.pose.layouts import MODEL_203
    from signclip.runtime.pose.normalize import finish

    return finish(normalize_frames(frames, mask, MODEL_203), mask, config)


# ---------------------------------------------------------------- (c) a new signer and camera


def new_signer(model, videos_dir, vocabulary_rows: list, language: str = "ase") -> dict:
    """Rank of the right letter for each real letter video, among the language's alphabet."""
    from signclip.runtime.capture.holistic import video_to_clip
    from signclip.runtime.recognition.segmentation import trim_rest

    rows = [r for r in vocabulary_rows if r.sign_language == language]
    texts = [prompt(r, model.cfg.prompt_template) for r in rows]
    text_emb = embed_texts(model, texts)
    out = {}
    for letter in LETTER_VIDEOS:
        path = Path(videos_dir) / f"asl_letter_{letter}.mp4"
        clip = trim_rest(video_to_clip(path))  # as `signclip lookup` does with a video
        emb = embed_clips(model, [preprocess(clip, model.cfg.normalization)])[0]
        scores = text_emb @ emb
        order = np.argsort(-scores)
        right = [i for i, r in enumerate(rows) if r.text == letter][0]
        out[letter] = {"rank": int(1 + (scores > scores[right]).sum()), "of": len(rows),
                       "top5": [rows[i].text for i in order[:5]]}
    return out


# ---------------------------------------------------------------- (e) new signers


NEW_SIGNER_FOLDS = (("P1", "P2"), ("P3", "P4"), ("P5", "P6"), ("P7", "P8"), ("P9", "P10"))


def _ranks(scores: np.ndarray, right: np.ndarray) -> np.ndarray:
    """1-based rank of column right[i] in each row of scores [N, C] (ties count against)."""
    own = scores[np.arange(len(right)), right]
    return 1 + (scores > own[:, None]).sum(axis=1)


def new_signers(model, test_rows: list, language: str | None = None) -> dict:
    """Clips (or photos) of signers the model never saw, each looked up among the prompts of every
    class the test rows hold, in their sign language (the most common one where `language` is None).

    "static letters": photos of the 24 letters that do not move, among those 24 prompts (where the
    classes hold them); "all classes": every clip among every class (ASL-HG's 36: letters and digits).
    """
    if language is None:
        language = Counter(r.sign_language for r in test_rows).most_common(1)[0][0]
    frames = model.cfg.normalization.photo_frames
    inputs = [preprocess(read_clip(r, frames), model.cfg.normalization) for r in test_rows]
    return _handshape_lookup(model, test_rows, inputs, language)


def manifest_folds(rows: list, count: int = 5) -> tuple:
    """The folds of signers to hold out: ASL-HG's five pairs where the manifest has their photos,
    else the manifest's own signer ids dealt round-robin into `count` folds (WLASL, ASL Citizen...)."""
    signers = sorted({r.signer for r in rows if r.signer})
    if {s for fold in NEW_SIGNER_FOLDS for s in fold} <= set(signers):
        return NEW_SIGNER_FOLDS
    return tuple(tuple(signers[i::count]) for i in range(min(count, len(signers))))


def new_body(model, rows: list, language: str = "ase", seed: int = 0) -> dict:
    """A new hand in a new body: each held-out photo's hand put into a video clip of a held-out sign
    language (a body the model never saw), then looked up as `new_signers` does. The nearest this
    data comes to a new person on video; rows of split "test" give both, the model saw neither."""
    from .augment import transplant_hand

    photos = [r for r in rows if r.split == "test" and r.item is not None and r.sign_language == language
              and not is_word_row(r)]
    hosts = [r for r in rows if r.split == "test" and r.item is None]
    if not photos or not hosts:
        raise SignclipError("the new-body protocol needs held-out photos and held-out sign languages: "
                            "signclip lexicon --hold-out asq,bzs,mfs --handshapes asl-hg "
                            "--hold-out-signers P1,P2")
    norm = model.cfg.normalization
    rng = np.random.default_rng(seed)
    bodies = [preprocess(read_clip(r, 1), norm) for r in hosts]
    inputs = [transplant_hand(bodies[rng.integers(len(bodies))],
                              preprocess(read_clip(r, norm.photo_frames), norm)) for r in photos]
    return _handshape_lookup(model, photos, inputs, language)


def _handshape_lookup(model, photos: list, inputs: list, language: str) -> dict:
    """Rank summaries of the photos' model inputs among the language's prompts of the photo classes."""
    from .handshapes import STATIC_LETTERS

    classes = sorted({r.text for r in photos})
    template = model.cfg.prompt_template
    texts = [prompt(ManifestRow(Path(), c, "en", language), template) for c in classes]
    scores = embed_clips(model, inputs) @ embed_texts(model, texts).T              # (N, C)
    right = np.array([classes.index(r.text) for r in photos])
    static = np.array([classes.index(c) for c in STATIC_LETTERS if c in classes])
    rows = np.flatnonzero(np.isin(right, static))
    static_right = np.searchsorted(static, right[rows])   # static is sorted like classes
    out = {}
    if len(rows):
        out["static letters"] = summarize_ranks(_ranks(scores[np.ix_(rows, static)], static_right),
                                                np.full(len(rows), len(static)))
    out["all classes"] = summarize_ranks(_ranks(scores, right), np.full(len(right), len(classes)))
    return out


def fold_rows(rows: list, signers) -> tuple:
    """(train rows, test rows): the clips and photos of `signers` are the test; everything else trains."""
    test = [r for r in rows if r.signer in signers]
    held = set(map(id, test))
    return [replace(r, split="train") for r in rows if id(r) not in held], test


def new_signers_protocol(run_cfg, rows: list, runs_dir, folds=None, progress=print) -> dict:
    """Train one model per fold without its signers (reused when already trained), test each;
    `folds` None: the manifest's (manifest_folds)."""
    from .checkpoint import load_checkpoint
    from .data import write_manifest
    from .train import train

    results = {}
    folds = manifest_folds(rows) if folds is None else folds
    if not folds:
        raise SignclipError("no row of the manifest names its signer: the new-signers protocol holds "
                            "signers out (the signer column; signclip lexicon --handshapes asl-hg, or "
                            "signclip dataset for a corpus)")
    for fold in folds:
        name = "+".join(fold)
        out = Path(runs_dir) / name
        train_rows, test_rows = fold_rows(rows, fold)
        if not test_rows:
            raise SignclipError(f"no clips of {', '.join(fold)} in the manifest: the new-signers "
                                f"protocol tests the signers it holds out")
        saved = _saved_run(out)
        if saved is not None and saved[0] != to_dict(run_cfg):
            progress(f"new signers: {out} holds a model of another config; training it anew")
            shutil.rmtree(out / "checkpoint")
            shutil.rmtree(out / "checkpoints", ignore_errors=True)
            (out / "metrics.csv").unlink(missing_ok=True)
            saved = None
        if saved is None or saved[1] < run_cfg.train.steps:
            progress(f"new signers: training without {name} in {out}")
            write_manifest(train_rows, out / "train.csv")
            train(run_cfg, out / "train.csv", out, resume=True)
        model, _, _, _ = load_checkpoint(out / "checkpoint")
        results[name] = new_signers(model.eval(), test_rows)
    keys = results[next(iter(results))].keys()
    results["mean"] = {k: _mean([results[f][k] for f in results]) for k in keys}
    return results


def _saved_run(out: Path) -> tuple | None:
    """(config as a dict, step) of the checkpoint in `out`, or None when there is none. The config is
    read back through RunCfg: a run saved before a setting existed has that setting's default."""
    import json

    from .checkpoint import META

    try:
        meta = json.loads((out / "checkpoint" / META).read_text())
        return to_dict(run_config_from_dict(meta["config"])), int(meta["state"]["step"])
    except (OSError, ValueError, KeyError, SignclipError):
        return None


def new_signers_seeds(run_cfg, rows: list, runs_dir, seeds, folds=None,
                      progress=print) -> dict:
    """The new-signers protocol once per training seed (in runs_dir/seed-S), and over the seeds each
    fold's and the mean's top-1 as {"mean": ..., "sd": ...}: a change is real only beyond the sd."""
    per_seed = {}
    for seed in seeds:
        cfg = replace(run_cfg, train=replace(run_cfg.train, seed=int(seed)))
        per_seed[int(seed)] = new_signers_protocol(cfg, rows, Path(runs_dir) / f"seed-{seed}", folds,
                                                   progress)
    first = per_seed[int(seeds[0])]
    spread = {name: {case: _spread([per_seed[s][name][case]["R@1"] for s in per_seed])
                     for case in first[name]} for name in first}
    return {"seeds": per_seed, "over seeds": spread}


def _spread(values) -> dict:
    """Mean and sample sd (0 for one value)."""
    v = np.asarray(values, np.float64)
    return {"mean": float(v.mean()), "sd": float(v.std(ddof=1)) if len(v) > 1 else 0.0}


def _mean(summaries: list) -> dict:
    out = {k: float(np.mean([s[k] for s in summaries])) for k in summaries[0] if k != "clips"}
    out["clips"] = int(sum(s["clips"] for s in summaries))
    return out


__all__ = ["CHANGES", "HELD_OUT", "NEW_SIGNER_FOLDS", "augmented", "held_out", "new_signer",
           "new_signers", "new_signers_protocol", "new_signers_seeds", "robustness"]


# ---------------------------------------------------------------- (g) held-out word signers


def one_clip_words(model, rows: list, language: str = "ase") -> dict:
    """Words with a single training clip (ASL-App's tutorial signer) looked up on that very clip among
    every prompt of the language: whether the model learned them at all (nobody else signs them)."""
    words = [r for r in rows if r.split == "train" and r.sign_language == language and is_word_row(r)]
    counts: dict = {}
    for r in words:
        counts[r.text] = counts.get(r.text, 0) + 1
    tests = [r for r in words if counts[r.text] == 1]
    if not tests:
        raise SignclipError("no word has a single training clip in this manifest")
    vocabulary, scores = _among_prompts(model, rows, tests, language)
    ranks = _ranks(scores, np.array([vocabulary.index(r.text) for r in tests]))
    return summarize_ranks(ranks, np.full(len(tests), len(vocabulary)))


def _among_prompts(model, rows: list, tests: list, language: str) -> tuple:
    """(the language's classes in the manifest, sorted; the test clips' scores against their
    prompts [N, C])."""
    vocabulary = sorted({r.text for r in rows if r.sign_language == language})
    texts = [prompt(ManifestRow(Path(), t, "en", language), model.cfg.prompt_template) for t in vocabulary]
    inputs = [preprocess(read_clip(r, model.cfg.normalization.photo_frames), model.cfg.normalization)
              for r in tests]
    return vocabulary, embed_clips(model, inputs) @ embed_texts(model, texts).T


def held_out_words(model, rows: list, language: str = "ase") -> dict:
    """Word clips of split "test" (signers the model never saw) looked up among every prompt of
    their sign language in the manifest (letters, digits and words): one summary per word and all."""
    tests = [r for r in rows if r.split == "test" and r.sign_language == language and is_word_row(r)]
    if not tests:
        raise SignclipError("the words protocol needs word clips of held-out signers: signclip lexicon "
                            "--words islr --hold-out-word-signers ID,...")
    vocabulary, scores = _among_prompts(model, rows, tests, language)              # (N, C)
    ranks = _ranks(scores, np.array([vocabulary.index(r.text) for r in tests]))
    sizes = np.full(len(tests), len(vocabulary))
    words = np.array([r.text for r in tests])
    out = {w: summarize_ranks(ranks[words == w], sizes[words == w]) for w in sorted(set(words))}
    out["all"] = summarize_ranks(ranks, sizes)
    out["all"]["signers"] = sorted({r.signer for r in tests})
    # the same clips among the held-out words alone: whether the model tells those words apart,
    # not only that the clips look like the set they came from
    tested = sorted(set(words))
    columns = np.array([vocabulary.index(w) for w in tested])
    right = np.array([tested.index(w) for w in words])
    out["among these words only"] = summarize_ranks(_ranks(scores[:, columns], right),
                                                    np.full(len(tests), len(tested)))
    if any(r.split == "train" and is_word_row(r) for r in rows):
        out["one-clip words, on their own clips"] = one_clip_words(model, rows, language)
    return out
