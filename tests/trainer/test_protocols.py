"""The signer-held-out protocols on a tiny random model: who is tested, against what, and chance."""

import copy
import dataclasses
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

from signclip.runtime.errors import SignclipError
from signclip.runtime.model.encoders import unit
from signclip.runtime.pose.normalize import hands_view, preprocess
from signclip.trainer.clips import read_clip
from signclip.trainer.config import ModelCfg, PoseTowerCfg, TextTowerCfg, load_config
from signclip.trainer.embed import embed_clips
from signclip.trainer.handshapes import UNSPECIFIED, handshape_rows
from signclip.trainer.lexicon import lexicon_rows
from signclip.trainer.model import SignCLIP
from signclip.trainer.protocols import fold_rows, new_body, new_signers

LEXICON = Path(__file__).parents[1] / "data" / "lexicon"   # ase A, gss Α and Β, ise vv
TINY = dataclasses.replace(
    ModelCfg(), embed_dim=16, normalization=load_config("edge-small").model.normalization,
    pose=PoseTowerCfg(width=16, layers=1, heads=2, mlp_ratio=2.0, dropout=0.0, max_frames=64),
    text=TextTowerCfg(pretrained=None, hidden=16, layers=1, heads=2, intermediate=32, frozen=False))
LABELS = set("ABCLJ17")  # static letters, a moving one (J) and digits


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    return SignCLIP(TINY).eval()


def photos(hold_out=("P1",)) -> list:
    return handshape_rows("asl-hg", hold_out_signers=hold_out, labels=LABELS)


def test_a_fold_tests_its_signers_photos_and_trains_on_everything_else():
    rows = lexicon_rows(LEXICON) + photos(()) + handshape_rows("digits", labels={"3"})
    train, test = fold_rows(rows, ("P1", "P2"))
    assert test and {r.signer for r in test} == {"P1", "P2"} and all(r.item is not None for r in test)
    assert len(train) + len(test) == len(rows) and {r.split for r in train} == {"train"}
    assert not {r.signer for r in train} & {"P1", "P2"}
    assert sum(r.sign_language == UNSPECIFIED for r in train) == len(handshape_rows("digits", labels={"3"}))


def test_new_signers_ranks_each_photo_among_the_classes_with_chance_beside(model):
    test = [r for r in photos() if r.split == "test"]
    result = new_signers(model, test)
    static = [r for r in test if r.text in "ABCL"]
    assert result["static letters"]["clips"] == len(static)
    assert result["static letters"]["chance R@1"] == pytest.approx(1 / 4)   # A B C L among themselves
    assert result["all classes"]["clips"] == len(test)
    assert result["all classes"]["chance R@1"] == pytest.approx(1 / len(LABELS))
    assert result["all classes"]["chance R@5"] == pytest.approx(5 / len(LABELS))
    assert 0 <= result["all classes"]["R@1"] <= result["all classes"]["R@5"] <= 1


def test_new_body_puts_held_out_hands_into_held_out_languages(model):
    lexicon = [replace(r, split="test") if r.sign_language == "ise" else r for r in lexicon_rows(LEXICON)]
    test = [r for r in photos() if r.split == "test"]
    result = new_body(model, lexicon + photos())
    assert result["all classes"]["clips"] == len(test)
    assert result == new_body(model, lexicon + photos())   # seeded: the same bodies each time
    with pytest.raises(SignclipError, match="held-out sign languages"):
        new_body(model, lexicon_rows(LEXICON) + photos())    # no held-out language: no new body


def with_hand_view(model, weight: float):
    other = copy.copy(model)
    other.cfg = replace(model.cfg, normalization=replace(model.cfg.normalization, hand_view=weight))
    return other


def test_evaluation_embeds_as_the_runtime_does_with_the_hand_view(model):
    """A clip with a body: whole and hands alone, mixed by the config's weight; a photo: once."""
    norm = model.cfg.normalization
    clip, photo = lexicon_rows(LEXICON)[0], photos()[0]
    inputs = [preprocess(read_clip(r, norm.photo_frames), norm) for r in (clip, photo)]
    whole = embed_clips(with_hand_view(model, 0.0), inputs + [hands_view(inputs[0])])
    mixed = embed_clips(with_hand_view(model, 0.25), inputs)
    np.testing.assert_allclose(mixed[0], unit(0.75 * whole[0] + 0.25 * whole[2]), atol=1e-6)
    np.testing.assert_allclose(mixed[1], whole[1], atol=1e-6)
    assert norm.hand_view == load_config("edge-small").model.normalization.hand_view > 0


def test_fold_models_are_reused_only_when_trained_with_the_same_config(tmp_path):
    from signclip.trainer.config import RunCfg, TrainCfg
    from signclip.trainer.protocols import new_signers_protocol

    rows = lexicon_rows(LEXICON) + photos(())
    cfg = RunCfg(model=TINY, train=TrainCfg(batch_size=4, steps=1, warmup_steps=1, checkpoint_every=1))
    said = []
    first = new_signers_protocol(cfg, rows, tmp_path, folds=[("P1", "P2")], progress=said.append)
    assert len(said) == 1 and "training without P1+P2" in said[0]
    said.clear()
    again = new_signers_protocol(cfg, rows, tmp_path, folds=[("P1", "P2")], progress=said.append)
    assert said == [] and again == first                         # the same model, not retrained
    other = replace(cfg, train=replace(cfg.train, lr=cfg.train.lr / 2))
    new_signers_protocol(other, rows, tmp_path, folds=[("P1", "P2")], progress=said.append)
    assert "another config" in said[0] and "training without P1+P2" in said[1]


def test_fold_models_per_seed_live_apart_and_a_run_saved_before_a_setting_is_reused(tmp_path):
    import json

    from signclip.trainer.checkpoint import META
    from signclip.trainer.config import RunCfg, TrainCfg
    from signclip.trainer.protocols import new_signers_protocol, new_signers_seeds

    rows = lexicon_rows(LEXICON) + photos(())
    cfg = RunCfg(model=TINY, train=TrainCfg(batch_size=4, steps=1, warmup_steps=1, checkpoint_every=1))
    said = []
    result = new_signers_seeds(cfg, rows, tmp_path, [3, 4], folds=[("P1", "P2")], progress=said.append)
    assert [s.split(" in ")[-1] for s in said] == [str(tmp_path / "seed-3" / "P1+P2"),
                                                   str(tmp_path / "seed-4" / "P1+P2")]
    spread = result["over seeds"]["P1+P2"]["static letters"]
    each = [result["seeds"][s]["P1+P2"]["static letters"]["R@1"] for s in (3, 4)]
    assert spread == pytest.approx({"mean": np.mean(each), "sd": np.std(each, ddof=1)})
    # a checkpoint written before vocabulary_margin existed: the same model as margin 0, not retrained
    meta = tmp_path / "seed-3" / "P1+P2" / "checkpoint" / META
    saved = json.loads(meta.read_text())
    del saved["config"]["train"]["vocabulary_margin"]
    meta.write_text(json.dumps(saved))
    said.clear()
    new_signers_protocol(replace(cfg, train=replace(cfg.train, seed=3)), rows, tmp_path / "seed-3",
                         folds=[("P1", "P2")], progress=said.append)
    assert said == []


def test_signclip_evaluate_refuses_unknown_folds_seeds_and_settings_in_one_line(tmp_path, capsys):
    from signclip.runtime.cli.main import main
    from signclip.trainer.checkpoint import save_checkpoint
    from signclip.trainer.config import RunCfg
    from signclip.trainer.data import write_manifest

    torch.manual_seed(0)
    save_checkpoint(tmp_path / "run", SignCLIP(TINY), RunCfg(model=TINY), {"step": 0})
    data = tmp_path / "rows.csv"
    write_manifest(lexicon_rows(LEXICON), data)
    base = ["evaluate", str(tmp_path / "run"), "--data", str(data), "--protocol", "new-signers",
            "--runs", str(tmp_path / "runs")]
    for extra, message in [(["--folds", "P1+P3"], "--folds: no signer 'P1' in the manifest"),
                           (["--seeds", "0,x"], "--seeds 0,x: whole numbers"),
                           (["--set", "train.sead=1"], "--set train.sead=1: expected KEY=VALUE"),
                           (["--set", "train.augmentation.nope=1"], "expected KEY=VALUE")]:
        assert main(base + extra) == 2
        err = capsys.readouterr().err.strip()
        assert message in err and "Traceback" not in err and len(err.splitlines()) == 1
    assert main(base[:-4] + ["--set", "train.seed=1"]) == 2
    assert "--set changes the training of the new-signers folds" in capsys.readouterr().err


def test_settings_from_the_command_line_reach_nested_configs():
    from signclip.runtime.errors import SignclipError
    from signclip.trainer.config import RunCfg, with_overrides

    cfg = with_overrides(RunCfg(), ["train.seed=2", "train.augmentation.finger_length_std=0.1",
                                    "train.vocabulary_margin=0.2", "model.normalization.hand_view=0"])
    assert (cfg.train.seed, cfg.train.augmentation.finger_length_std, cfg.train.vocabulary_margin,
            cfg.model.normalization.hand_view) == (2, 0.1, 0.2, 0)
    assert cfg.train.augmentation.flip_p == RunCfg().train.augmentation.flip_p
    with pytest.raises(SignclipError, match="expected KEY=VALUE"):
        with_overrides(RunCfg(), ["train.augmentation=1"])      # a whole section, not a setting


def test_new_signers_holds_out_the_signers_of_any_manifest(tmp_path):
    """A corpus with signer ids but no ASL-HG photos (ISLR's word clips here): folds from its own
    signers, each fold's clips looked up among the word classes by a model trained without them."""
    from signclip.trainer.config import RunCfg, TrainCfg
    from signclip.trainer.protocols import manifest_folds, new_signers_protocol
    from signclip.trainer.words import word_rows

    rows = word_rows("islr")
    signers = sorted({r.signer for r in rows})
    folds = manifest_folds(rows, count=5)
    assert len(folds) == 5 and sorted(s for f in folds for s in f) == signers
    assert manifest_folds(lexicon_rows(LEXICON) + photos(())) == manifest_folds(photos(()))
    cfg = RunCfg(model=TINY, train=TrainCfg(batch_size=4, steps=1, warmup_steps=1, checkpoint_every=1))
    result = new_signers_protocol(cfg, rows + lexicon_rows(LEXICON), tmp_path, folds=folds[:1],
                                  progress=lambda _: None)
    fold = "+".join(folds[0])
    tested = [r for r in rows if r.signer in folds[0]]
    assert result[fold]["all classes"]["clips"] == len(tested) and "static letters" not in result[fold]
    assert result[fold]["all classes"]["chance R@1"] == 0.5          # HELLO or THANK-YOU
    with pytest.raises(SignclipError, match="no row of the manifest names its signer"):
        new_signers_protocol(cfg, lexicon_rows(LEXICON), tmp_path)
