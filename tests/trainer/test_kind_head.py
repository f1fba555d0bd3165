"""The kind head's fit (`signclip kinds`): Newton's logistic regression, the grouped errors, and the
shipped head on the lexicon's letters, J and Z included."""

import numpy as np

from signclip.runtime.recognition.engine import Engine
from signclip.trainer.data import ManifestRow
from signclip.trainer.kinds import error_table, fit_head, fit_logistic, row_group


def test_newtons_fit_separates_two_clouds_and_weighs_classes_evenly():
    rng = np.random.default_rng(0)
    x = np.vstack([rng.normal(1, 0.3, (200, 4)), rng.normal(-1, 0.3, (20, 4))])
    y = np.r_[np.zeros(200, bool), np.ones(20, bool)]
    head = fit_head(x, y)
    assert [head.kind(e) for e in (x[0], x[-1])] == ["letters", "signs"]
    assert np.mean([head.kind(e) == "signs" for e in x[y]]) == 1.0
    w, b = fit_logistic(x, y.astype(float), np.ones(len(y)), l2=1e6)  # all shrunk: the bias alone
    assert np.abs(w).max() < 1e-3 and b < 0


def test_errors_are_counted_both_ways_by_source(tmp_path):
    rows = [ManifestRow(tmp_path / "a.pose", "A", "en", "ase", source="spoken-to-signed ase/a"),
            ManifestRow(tmp_path / "z.pose", "Z", "en", "ase", source="spoken-to-signed ase/z")]
    table = error_table(rows, np.array([False, False]), np.array([True, False]))
    assert [(r.source, r.target, r.clips, r.wrong) for r in table] == [
        ("lexicon", "letter J/Z", 1, 0), ("lexicon", "letter/digit", 1, 1)]
    assert row_group(rows[0]) == "language ase"


def test_the_shipped_head_reads_the_lexicons_letters_as_letters():
    from signclip.runtime.recognition.kinds import uses_both_hands
    from signclip.trainer.kinds import model_inputs
    from signclip.trainer.lexicon import lexicon_rows

    engine = Engine(personal=False)
    rows = lexicon_rows()
    inputs = model_inputs(engine, rows)
    said = [engine.kind_head.kind(e, uses_both_hands(x), r.sign_language)
            for e, x, r in zip(engine.embed_inputs(inputs), inputs, rows, strict=True)]
    right = np.mean([s == "letters" for s in said])
    jz = [s for r, s in zip(rows, said, strict=True) if r.text in ("J", "Z")]
    print(f"lexicon letters read as letters: {right:.3f} ({len(rows)} clips); J and Z: "
          f"{jz.count('letters')} of {len(jz)}")
    assert right >= 0.98 and len(jz) >= 30 and jz.count("letters") / len(jz) >= 0.95
    assert engine.kind_head.two_handed == {"cse", "csq", "tsm"}   # Czech, Croatian, Turkish alphabets


def test_kinds_refuses_a_manifest_without_words_in_one_line(tmp_path, capsys):
    from signclip.runtime.cli.main import main
    from signclip.trainer.data import write_manifest
    from signclip.trainer.lexicon import lexicon_rows

    manifest = tmp_path / "letters.csv"
    write_manifest(lexicon_rows()[:40], manifest)
    bundle = Engine(personal=False).bundle.path
    before = (bundle / "signclip.json").read_bytes()
    assert main(["kinds", str(bundle), "--data", str(manifest)]) == 2
    err = capsys.readouterr().err
    assert "need both lexical signs" in err and "Traceback" not in err
    assert (bundle / "signclip.json").read_bytes() == before
