"""Lexical signs: the converters on real samples of each source (tests/data/words), the shipped word
files they made, manifest rows with provenance, and the held-out word signers' protocol."""

import json
from pathlib import Path

import numpy as np
import pytest

from signclip.runtime.errors import SignclipError
from signclip.runtime.pose.layouts import BODY_HANDS_75, MODEL_203
from signclip.trainer.clips import credits, read_clip
from signclip.trainer.data import read_manifest, write_manifest
from signclip.trainer.handshapes import load_set
from signclip.trainer.lexicon import import_lexicon
from signclip.trainer.words import (
    WORD_SETS,
    asset_path,
    gloss,
    read_asl_app,
    read_islr,
    word_clip,
    word_rows,
    write_word_set,
)

WORDS = Path(__file__).parents[1] / "data" / "words"
LEXICON = Path(__file__).parents[1] / "data" / "lexicon"
FLOAT16_STEP = 0.002   # the shipped files round image fractions to float16


def shipped(name: str) -> dict:
    """{source_id: points} of a shipped word file."""
    z = load_set(str(asset_path(name)))
    o = z["offsets"]
    return {str(s): z["points"][o[i]:o[i + 1]].astype(np.float32) for i, s in enumerate(z["source_id"])}


@pytest.mark.parametrize("word, vocabulary", [("hello", "HELLO"), ("thankyou", "THANK-YOU"),
                                              ("thank_you", "THANK-YOU"), ("one", "1"), ("ten", "10"),
                                              ("a", "A"), ("good morning", "GOOD MORNING")])
def test_a_source_word_is_written_as_the_vocabulary_writes_it(word, vocabulary):
    assert gloss(word) == vocabulary


def test_the_islr_converter_reads_the_corpus_parquet_as_the_shipped_file_holds_it():
    clips = read_islr(WORDS / "islr_sample")
    assert [(c.label, c.signer) for c in clips] == [
        ("HELLO", "2044"), ("HELLO", "4718"), ("HELLO", "16069"),
        ("THANK-YOU", "2044"), ("THANK-YOU", "4718"), ("THANK-YOU", "16069")]
    reference = shipped("islr")
    for c in clips:
        assert c.points.shape[1:] == (BODY_HANDS_75.size, 3)
        ours = reference[c.source_id]
        assert np.array_equal(np.isnan(ours), np.isnan(c.points))         # the same points missing
        assert np.nanmax(np.abs(ours - c.points)) < FLOAT16_STEP
    hands = np.concatenate([c.points[:, 33:] for c in clips])
    assert np.isnan(hands).any() and not np.isnan(hands).all()            # a hand out of view is NaN


def test_the_asl_app_converter_reads_its_json_absent_hands_as_missing():
    clips = {c.label: c for c in read_asl_app(WORDS / "asl_app")}
    assert sorted(clips) == ["HELLO", "MOTHER", "WATER"]
    reference = shipped("asl-app")
    raw = json.loads((WORDS / "asl_app" / "hello.json").read_text())
    assert len(clips["HELLO"].points) == raw["frame_count"]
    left_absent = [i for i, f in enumerate(raw["frames"]) if f["left_hand"][0] is None]
    assert left_absent and np.isnan(clips["HELLO"].points[left_absent, 33:54]).all()
    for source_id, c in (("hello", clips["HELLO"]), ("water", clips["WATER"])):
        assert np.nanmax(np.abs(reference[source_id] - c.points)) < FLOAT16_STEP


def test_bad_source_folders_are_one_clear_error(tmp_path):
    with pytest.raises(SignclipError, match="no train.csv"):
        read_islr(tmp_path)
    with pytest.raises(SignclipError, match="no <sign>.json"):
        read_asl_app(tmp_path)
    (tmp_path / "broken.json").write_text('{"frames": [{"pose": [1, 2]}]}')
    with pytest.raises(SignclipError, match="broken.json: not an ASL-App sign file"):
        read_asl_app(tmp_path)


def test_a_word_file_round_trips_to_a_clip_in_pixels(tmp_path):
    clips = read_asl_app(WORDS / "asl_app")
    path = tmp_path / "words.npz"
    write_word_set(clips, path, {"set": "asl-app", "license": "MIT", "sign_language": "ase",
                                 "width": 1280, "height": 720, "fps": 29.97})
    clip = word_clip(path, 1)                                                # MOTHER
    points = clips[1].points
    seen = ~np.isnan(points).any(-1)
    assert clip.layout is BODY_HANDS_75 and np.array_equal(clip.mask, seen) and clip.fps == 29.97
    np.testing.assert_allclose(clip.frames[seen][:, :2], points[seen][:, :2] * [1280, 720], atol=1.5)
    assert (clip.frames[~seen] == 0).all()
    model = clip.to_layout(MODEL_203)                                        # face: masked, not zero-filled
    assert not model.mask[:, [i for i, (c, _) in enumerate(MODEL_203.points) if c == "FACE_LANDMARKS"]].any()
    with pytest.raises(SignclipError, match="no clip 3"):
        word_clip(path, 3)


def test_the_shipped_sets_hold_what_the_readme_says():
    islr, app = word_rows("islr"), word_rows("asl-app", lexical_only=False)
    assert len(islr) == 747 and {r.text for r in islr} == {"HELLO", "THANK-YOU"}
    assert len({r.signer for r in islr}) == 21
    assert len(app) == 100 and len({r.text for r in app} - set("ABCDEFGHIJKLMNOPQRSTUVWXYZ")
                                   - {str(n) for n in range(11)}) == 64   # 52 words and 12 months
    # a manifest takes the lexical signs: ASL-App's letters and digits 1-9 are left out, TEN stays
    lexical = {r.text for r in word_rows("asl-app")}
    assert len(lexical) == 65 and "10" in lexical and not lexical & set("ABC123")
    assert {r.license for r in islr} == {"CC-BY-4.0"} and {r.license for r in app} == {"MIT"}
    assert islr[0].source.startswith("islr ") and app[0].weight == WORD_SETS["asl-app"].weight


def test_a_manifest_holds_out_word_signers_with_provenance_and_credit(tmp_path):
    out = tmp_path / "train.csv"
    rows = import_lexicon(out, root=LEXICON, words=("islr", "asl-app"), hold_out_word_signers=("4718",))
    test = [r for r in rows if r.split == "test"]
    assert test and {r.signer for r in test} == {"4718"} and {r.text for r in test} == {"HELLO", "THANK-YOU"}
    back = read_manifest(out)
    assert [(r.source, r.license, r.split) for r in back] == [(r.source, r.license, r.split) for r in rows]
    names = [c["name"] for c in credits([r.to_record() for r in back])]
    assert names == [WORD_SETS["islr"].title, WORD_SETS["asl-app"].title]
    with pytest.raises(SignclipError, match="99 not in islr"):
        import_lexicon(tmp_path / "x.csv", root=LEXICON, words=("islr",), hold_out_word_signers=("99",))


def test_manifest_rows_read_back_as_the_same_clips(tmp_path):
    rows = word_rows("islr")[:2] + word_rows("asl-app")[:1]
    write_manifest(rows, tmp_path / "m.jsonl")
    for row, back in zip(rows, read_manifest(tmp_path / "m.jsonl"), strict=True):
        a, b = read_clip(row, 8), read_clip(back, 8)
        assert np.array_equal(a.frames, b.frames) and a.layout is BODY_HANDS_75


def test_the_words_protocol_ranks_held_out_clips_among_the_whole_vocabulary():
    import torch
    from test_protocols import TINY  # noqa: F401  (the tiny model's config)

    from signclip.trainer.lexicon import lexicon_rows
    from signclip.trainer.model import SignCLIP
    from signclip.trainer.protocols import held_out_words

    torch.manual_seed(0)
    model = SignCLIP(TINY).eval()
    rows = lexicon_rows(LEXICON) + word_rows("islr", hold_out_signers=("4718",))[:60] + word_rows("asl-app")
    rows = [r for r in rows if r.split != "test"] + [r for r in word_rows("islr", hold_out_signers=("4718",))
                                                     if r.split == "test"]
    result = held_out_words(model, rows)
    ase = {r.text for r in rows if r.sign_language == "ase"}
    assert set(result) == {"HELLO", "THANK-YOU", "all", "among these words only",
                           "one-clip words, on their own clips"}
    assert result["all"]["signers"] == ["4718"] and result["among these words only"]["chance R@1"] == 0.5
    assert result["all"]["clips"] == 20 and result["all"]["chance R@5"] == pytest.approx(5 / len(ase))
    with pytest.raises(SignclipError, match="needs word clips of held-out signers"):
        held_out_words(model, lexicon_rows(LEXICON))


def test_the_words_command_converts_and_lists_in_one_line_each(tmp_path, capsys):
    from signclip.runtime.cli.main import main

    out = tmp_path / "islr.npz"
    assert main(["words", "convert", "islr", str(WORDS / "islr_sample"), "-o", str(out)]) == 0
    assert capsys.readouterr().out.strip() == f"wrote {out}: 6 clips of 2 words by 3 signers (CC-BY-4.0)"
    assert [r.text for r in word_rows("islr", path=out)] == ["HELLO"] * 3 + ["THANK-YOU"] * 3
    assert main(["words", "list"]) == 0
    assert "a manifest takes the 65 of lexical signs" in capsys.readouterr().out
    assert main(["words", "convert", "asl-app", str(tmp_path / "none"), "-o", str(out)]) == 2
    assert capsys.readouterr().err.count("\n") == 1
