"""The training loop on CPU: a smoke run on real lexicon clips, and an exact resume after Ctrl-C."""

import dataclasses
import json
import math
import os
import signal
from pathlib import Path

import pytest
import torch

from signclip.runtime.errors import SignclipError
from signclip.trainer.checkpoint import load_checkpoint, save_checkpoint, ship_checkpoint
from signclip.trainer.config import ModelCfg, PoseTowerCfg, RunCfg, TextTowerCfg, TrainCfg
from signclip.trainer.data import write_manifest
from signclip.trainer.lexicon import lexicon_rows
from signclip.trainer.metrics_log import read_metrics
from signclip.trainer.model import SignCLIP
from signclip.trainer.schedule import lr_at
from signclip.trainer.sources import SyntheticSource
from signclip.trainer.text_inputs import build_text_inputs, tokenize
from signclip.trainer.train import make_optimizer, train

ROOT = Path(__file__).parents[2]
LEXICON = ROOT / "tests" / "data" / "lexicon"
TINY_POSE = PoseTowerCfg(width=16, layers=1, heads=2, mlp_ratio=2.0, dropout=0.1, max_frames=64)


def tiny_config(text: TextTowerCfg, **train) -> RunCfg:
    """edge-small shrunk for a CPU test, through dataclasses.replace."""
    model = dataclasses.replace(ModelCfg(), embed_dim=16, pose=TINY_POSE, text=text)
    defaults = dict(batch_size=4, steps=8, lr=3e-3, warmup_steps=2, checkpoint_every=2, log_every=1,
                    augment=True)
    return RunCfg(model=model, train=dataclasses.replace(TrainCfg(), **{**defaults, **train}))


RANDOM_TEXT = TextTowerCfg(pretrained=None, hidden=16, layers=1, heads=2, intermediate=32, frozen=True)


@pytest.mark.slow
def test_smoke_training_on_lexicon_clips_writes_checkpoints_metrics_and_curve(tmp_path):
    manifest = tmp_path / "lexicon.csv"
    write_manifest(lexicon_rows(LEXICON), manifest)
    # frozen all-MiniLM-L6-v2 (LiT on cached features), each clip also against its whole language
    cfg = tiny_config(TextTowerCfg(), steps=4, vocabulary_loss=1.0)
    out = tmp_path / "run"
    result = train(cfg, manifest, out, device="cpu")

    assert result.step == 4 and len(result.losses) == 4 and not result.interrupted
    assert all(math.isfinite(x) for x in result.losses)
    assert sorted(p.name for p in (out / "checkpoints").iterdir()) == ["step_00002", "step_00004"]
    model, saved, state, tensors = load_checkpoint(out / "checkpoint")
    assert saved == cfg and state["step"] == 4 and any(k.startswith("optim/") for k in tensors)
    assert (out / "cache" / "index.json").is_file()
    rows = read_metrics(out)
    assert [r["step"] for r in rows] == [1, 2, 3, 4]
    assert [r["loss"] for r in rows] == pytest.approx(result.losses)
    assert rows[0]["lr"] == pytest.approx(1.5e-3) and rows[0]["logit_scale"] > 1
    assert (out / "curve.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


class _CtrlCAfter:
    """A data source that sends this process SIGINT while handing out the n-th batch of a run."""

    def __init__(self, inner, n: int):
        self.inner, self.n, self.given = inner, n, 0
        self.texts, self.text_languages = inner.texts, inner.text_languages

    def loader(self, **kwargs):
        for batch in self.inner.loader(**kwargs):
            self.given += 1
            if self.given == self.n:
                os.kill(os.getpid(), signal.SIGINT)
            yield batch


@pytest.mark.slow
def test_resume_after_ctrl_c_gives_the_same_losses_as_a_straight_run(tmp_path):
    # 32 clips / batch 4 = 8 batches per epoch: the run crosses an epoch after the resume
    cfg = tiny_config(RANDOM_TEXT, steps=12, checkpoint_every=100, vocabulary_loss=0.5)
    data = SyntheticSource(clips=32, n_texts=8, max_frames=16)
    straight = train(cfg, data, tmp_path / "straight", device="cpu")

    out = tmp_path / "interrupted"
    first = train(cfg, _CtrlCAfter(data, 5), out, device="cpu")
    assert first.interrupted and first.step == 5
    assert (out / "checkpoints" / "step_00005").is_dir()  # saved on Ctrl-C
    rest = train(cfg, data, out, resume=True, device="cpu")
    assert rest.step == 12 and len(rest.losses) == 7

    assert first.losses + rest.losses == straight.losses  # bit for bit
    assert [r["step"] for r in read_metrics(out)] == list(range(1, 13))
    # stopping by --steps and resuming is exact as well
    part = train(cfg, data, tmp_path / "steps", steps=9, device="cpu")
    end = train(cfg, data, tmp_path / "steps", resume=True, device="cpu")
    assert part.losses + end.losses == straight.losses


def test_resume_refuses_another_model_config(tmp_path):
    cfg = tiny_config(RANDOM_TEXT, steps=1)
    train(cfg, SyntheticSource(clips=8), tmp_path, device="cpu")
    wider = dataclasses.replace(cfg, model=dataclasses.replace(cfg.model, embed_dim=32))
    with pytest.raises(SignclipError, match="model config differs"):
        train(wider, SyntheticSource(clips=8), tmp_path, resume=True, device="cpu")


def test_bad_batch_size_is_one_clear_error(tmp_path):
    with pytest.raises(SignclipError, match="batch_size=1"):
        train(tiny_config(RANDOM_TEXT, batch_size=1), SyntheticSource(clips=8), tmp_path, device="cpu")


def test_vocabulary_loss_needs_a_frozen_text_tower(tmp_path):
    tuned = dataclasses.replace(RANDOM_TEXT, frozen=False)
    with pytest.raises(SignclipError, match="needs a frozen text tower"):
        train(tiny_config(tuned, vocabulary_loss=1.0), SyntheticSource(clips=8), tmp_path, device="cpu")


def test_frozen_tower_features_are_computed_once_and_tokens_trimmed_when_fine_tuned():
    torch.manual_seed(0)
    texts = ["<en> <ase> a", "<de> <gsg> ein langes wort"]
    model = SignCLIP(dataclasses.replace(ModelCfg(), pose=TINY_POSE, text=RANDOM_TEXT))
    frozen = build_text_inputs(model, texts, "cpu")
    ids, mask = tokenize(texts, RANDOM_TEXT)
    assert ids.shape == (2, RANDOM_TEXT.max_tokens) and mask[0].sum() < mask[1].sum()
    with torch.no_grad():
        expected = model.eval().text.pooled(ids, mask)
    assert torch.allclose(frozen.for_prompts(torch.tensor([1]))["text_pooled"], expected[1:], atol=1e-6)

    tuned = build_text_inputs(SignCLIP(dataclasses.replace(
        ModelCfg(), pose=TINY_POSE, text=dataclasses.replace(RANDOM_TEXT, frozen=False))), texts, "cpu")
    short = tuned.for_prompts(torch.tensor([0]))
    assert short["input_ids"].shape[1] == int(mask[0].sum())  # padded to the batch's longest only


def test_no_weight_decay_on_norms_biases_positions_and_logit_scale():
    model = SignCLIP(dataclasses.replace(ModelCfg(), pose=TINY_POSE, text=RANDOM_TEXT))
    decay, keep = make_optimizer(model, tiny_config(RANDOM_TEXT)).param_groups
    names = {id(p): n for n, p in model.named_parameters()}
    kept = {names[id(p)] for p in keep["params"]}
    assert {"log_logit_scale", "pose.pos", "pose.ln.weight", "pose.head.bias"} <= kept
    assert "pose.head.weight" in {names[id(p)] for p in decay["params"]}
    assert keep["weight_decay"] == 0 and decay["weight_decay"] > 0
    assert not any(n.startswith("text.bert") for n in kept)  # the frozen tower is not optimized


def test_schedule_warms_up_linearly_then_follows_a_cosine_to_zero():
    lr = [lr_at(s, base_lr=1.0, warmup_steps=4, total_steps=12) for s in range(13)]
    assert lr[:4] == [0.25, 0.5, 0.75, 1.0]
    assert lr[8] == pytest.approx(0.5) and lr[12] == pytest.approx(0.0)
    assert all(a >= b for a, b in zip(lr[3:], lr[4:]))


@pytest.mark.slow
def test_signclip_train_command_on_a_yaml_config_and_synthetic_data(tmp_path, capsys):
    from signclip.runtime.cli.main import main
    from signclip.trainer.config import to_dict

    config = tmp_path / "tiny.yaml"
    config.write_text(json.dumps(to_dict(tiny_config(RANDOM_TEXT, steps=3))))  # JSON is YAML
    out = tmp_path / "run"
    args = ["train", str(config), "--data", "synthetic:16", "--out", str(out), "--device", "cpu"]
    assert main(args + ["--steps", "2"]) == 0
    assert main(args + ["--resume"]) == 0
    assert [r["step"] for r in read_metrics(out)] == [1, 2, 3]
    assert main(["train", "no-such-config"]) == 2
    assert "unknown config 'no-such-config'" in capsys.readouterr().err


def test_shipping_a_checkpoint_drops_optimizer_state_and_keeps_the_model_card(tmp_path):
    cfg = tiny_config(RANDOM_TEXT, steps=1)
    torch.manual_seed(0)
    save_checkpoint(tmp_path / "run", SignCLIP(cfg.model), cfg, {"step": 1, "data_credits": ["x"], "rng": 5},
                    tensors={"moment": torch.zeros(3)})
    release = tmp_path / "release"
    release.mkdir()
    (release / "README.md").write_text("# the model card\n")
    ship_checkpoint(tmp_path / "run", release)
    _, _, state, extra = load_checkpoint(release)
    assert state == {"step": 1, "data_credits": ["x"]} and not extra
    assert (release / "README.md").read_text() == "# the model card\n"


def test_signclip_train_refuses_an_unknown_setting_in_one_line(tmp_path, capsys):
    from signclip.runtime.cli.main import main

    assert main(["train", "edge-small", "--out", str(tmp_path), "--set", "train.step=5"]) == 2
    err = capsys.readouterr().err.strip()
    assert "--set train.step=5: expected KEY=VALUE" in err and len(err.splitlines()) == 1
    assert not any(tmp_path.iterdir())                         # refused before anything is written
