"""Handshape photos as training clips: layout, rows, credit, weights, cache, transplant, new signers."""

import dataclasses
import shutil
from pathlib import Path

import numpy as np
import pytest

from signclip.export.data import looked_up
from signclip.export.data import read_manifest as read_entries
from signclip.runtime.errors import SignclipError
from signclip.runtime.pose.layouts import LEFT_HAND, MODEL_203, RIGHT_HAND
from signclip.runtime.pose.normalize import NormalizationConfig, preprocess
from signclip.trainer.augment import AugmentConfig, transplant_hand
from signclip.trainer.cache import build_cache
from signclip.trainer.clips import read_clip
from signclip.trainer.data import read_manifest, write_manifest
from signclip.trainer.handshapes import (
    ASL_HG_SIGNERS,
    STATIC_LETTERS,
    UNSPECIFIED,
    asset_path,
    credits,
    handshape_rows,
    load_set,
    photo_clip,
)
from signclip.trainer.lexicon import import_lexicon, lexicon_rows
from signclip.trainer.loader import load_clip, make_loader, set_epoch, transplant_hosts
from signclip.trainer.sampler import BucketBatchSampler

LEXICON = Path(__file__).parents[1] / "data" / "lexicon"
CONFIG = NormalizationConfig(hand_3d=True, hands_alone=True, photo_frames=4)
HANDS = np.array([c in (LEFT_HAND, RIGHT_HAND) for c, _ in MODEL_203.points])
RIGHT = np.array([c == RIGHT_HAND for c, _ in MODEL_203.points])


def test_the_sets_hold_ten_named_signers_and_many_students():
    hg, digits = load_set(str(asset_path("asl-hg"))), load_set(str(asset_path("digits")))
    assert sorted(set(hg["signer"].tolist())) == sorted(ASL_HG_SIGNERS)
    assert len(set(hg["label"].tolist())) == 36 and len(hg["label"]) == 3598
    assert set(digits["label"].tolist()) == set("0123456789") and set(digits["signer"].tolist()) == {""}


def test_a_photo_is_a_held_hands_only_clip_in_pixels():
    z = load_set(str(asset_path("asl-hg")))
    i = int(np.flatnonzero(z["handedness"] == "Left")[0])          # MediaPipe's "Left": a right hand
    clip = photo_clip(asset_path("asl-hg"), i, 4)
    assert clip.layout is MODEL_203 and clip.num_frames == 4 and clip.fps > 0
    assert clip.mask[:, RIGHT].all() and not clip.mask[:, ~RIGHT].any()
    np.testing.assert_array_equal(clip.frames[0], clip.frames[3])
    start = MODEL_203.index[(RIGHT_HAND, "WRIST")]
    size = [z["width"][i], z["height"][i]]
    np.testing.assert_allclose(clip.frames[0, start, :2], z["image"][i, 0, :2] * size)
    two = int(np.flatnonzero(z["hands_found"] == 2)[0])            # the two-handed zero: both sides
    both = photo_clip(asset_path("asl-hg"), two, 1)
    assert both.mask[0, RIGHT].all() and both.mask[0, HANDS & ~RIGHT].all()


def test_rows_hold_out_signers_and_refuse_unknown_ones():
    rows = handshape_rows("asl-hg", hold_out_signers=("P1", "P2"))
    assert len(rows) == 3598 and all(r.item is not None and r.sign_language == "ase" for r in rows)
    assert {r.signer for r in rows if r.split == "test"} == {"P1", "P2"}
    with pytest.raises(SignclipError, match="P11"):
        handshape_rows("asl-hg", hold_out_signers=("P11",))
    digits = handshape_rows("digits", hold_out_signers=("P1",))  # anonymous: nobody to hold out
    assert {r.sign_language for r in digits} == {UNSPECIFIED} and {r.split for r in digits} == {"train"}


def test_a_manifest_of_both_sets_holds_out_named_signers_only(tmp_path):
    rows = import_lexicon(tmp_path / "m.csv", root=LEXICON, handshapes=("asl-hg", "digits"),
                          hold_out_signers=("P3",), lexicon_weight=12)
    test = [r for r in rows if r.split == "test"]
    assert test and {r.signer for r in test} == {"P3"}
    assert sum(r.sign_language == UNSPECIFIED for r in rows) == 1823
    with pytest.raises(SignclipError, match="P11"):
        import_lexicon(tmp_path / "n.csv", root=LEXICON, handshapes=("digits",), hold_out_signers=("P11",))
    # the digits taught hand shapes only: the export ships neither their prompts nor their photos
    entries = read_entries(tmp_path / "m.csv")
    kept = looked_up(entries)
    assert len(kept) == len(entries) - 1823 and UNSPECIFIED not in {e.sign_language for e in kept}


def test_credit_follows_the_rows_that_need_it():
    photos = [r.to_record() for r in handshape_rows("asl-hg", labels={"A"})]
    lexicon = [r.to_record() for r in lexicon_rows(LEXICON)]
    assert credits(lexicon) == []
    (credit,) = credits(lexicon + photos)
    assert credit["license"] == "CC-BY-4.0" and "Pranto" in credit["credit"]


def test_manifest_round_trip_with_items_and_weights(tmp_path):
    rows = [dataclasses.replace(r, weight=3) for r in lexicon_rows(LEXICON)]
    rows += handshape_rows("asl-hg", labels={"L"})[:5]
    write_manifest(rows, tmp_path / "m.csv")
    assert read_manifest(tmp_path / "m.csv") == rows
    (tmp_path / "bad.csv").write_text("pose,text,spoken_language,sign_language,weight\n"
                                      f"{rows[0].pose},A,en,ase,0\n")
    with pytest.raises(SignclipError, match="weight 0 must be at least 1"):
        read_manifest(tmp_path / "bad.csv")


@pytest.fixture
def mixed_cache(tmp_path):
    shutil.copytree(LEXICON, tmp_path / "lex")
    rows = [dataclasses.replace(r, weight=2) for r in lexicon_rows(tmp_path / "lex")]
    rows += handshape_rows("asl-hg", labels={"A", "L"})[::25]
    return rows, build_cache(rows, tmp_path / "cache", CONFIG, progress=False)


def test_cache_stores_a_photo_as_one_frame_and_the_loader_holds_it(mixed_cache):
    rows, cache = mixed_cache
    assert list(cache.weights) == [2] * 4 + [1] * (len(rows) - 4)
    assert cache.photos.tolist() == [r.item is not None for r in rows]
    rng = np.random.default_rng(0)
    for i, row in enumerate(rows):
        frames, mask = cache.read(i)
        clip = read_clip(row, CONFIG.photo_frames).to_layout(MODEL_203)
        assert len(frames) == (1 if row.item is not None else clip.num_frames)
        np.testing.assert_array_equal(mask, clip.mask[:len(frames)])
        loaded = load_clip(cache, i, normalization=CONFIG, augment=None, rng=rng, max_frames=256)
        expected = preprocess(clip, CONFIG)                  # what the runtime makes of the same clip
        np.testing.assert_array_equal(loaded.mask, expected.mask)
        np.testing.assert_allclose(loaded.frames, expected.frames, atol=1e-5)


def test_photos_need_a_config_that_takes_hands_alone(tmp_path):
    rows = handshape_rows("asl-hg", labels={"A"})[:2]
    with pytest.raises(SignclipError, match="hands_alone"):
        build_cache(rows, tmp_path / "c", NormalizationConfig(hand_3d=True), progress=False)


def test_sampler_draws_each_clip_weight_times_an_epoch():
    lengths = np.array([5, 9, 7, 3])
    sampler = BucketBatchSampler(lengths, 3, seed=1, repeats=[1, 3, 2, 1])
    drawn = np.concatenate([np.asarray(b) for b in sampler])
    assert sorted(drawn.tolist()) == [0, 1, 1, 1, 2, 2, 3] and len(sampler) == 3


def test_transplant_puts_the_photo_hand_into_the_video_body(mixed_cache):
    rows, cache = mixed_cache
    host = preprocess(read_clip(rows[0], 1), CONFIG)
    hand = preprocess(read_clip(rows[5], CONFIG.photo_frames), CONFIG)
    out = transplant_hand(host, hand)
    shown = host.mask[:, RIGHT].any(axis=1)
    assert shown.any() and len(out.frames) == len(host.frames)
    np.testing.assert_array_equal(out.frames[:, ~RIGHT], host.frames[:, ~RIGHT])   # body kept
    held = np.repeat(hand.frames[:1, RIGHT], shown.sum(), axis=0)
    np.testing.assert_array_equal(out.frames[shown][:, RIGHT], held)
    assert transplant_hosts(cache.rows)[5].tolist() == [0]          # an ase photo: the ase video


def test_loader_transplants_photos_into_bodies(mixed_cache):
    rows, cache = mixed_cache
    body = ~HANDS
    photos = [i for i, r in enumerate(rows) if r.item is not None]
    for p, expect_body in ((0.0, False), (1.0, True)):
        loader = make_loader(cache, len(rows), seed=0, augment=AugmentConfig(transplant_p=p))
        set_epoch(loader, 0)
        batch = next(iter(loader))
        for j, i in enumerate(batch.indices.tolist()):
            if i in photos:
                n = int(batch.mask[j].sum())
                points = batch.poses[j, :n].reshape(n, -1, 3).numpy()
                assert bool((points[:, body] != 0).any()) == expect_body


def test_static_letters_are_the_24_that_do_not_move():
    assert len(STATIC_LETTERS) == 24 and "J" not in STATIC_LETTERS and "Z" not in STATIC_LETTERS
