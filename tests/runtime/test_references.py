"""See the sign: the bundle's reference clips, and `signclip lookup --show` writing them."""

import numpy as np
import pytest

from signclip.runtime.cli.main import main
from signclip.runtime.model.bundle import load_bundle
from signclip.runtime.model.references import leg_points, load_references, unit_box
from signclip.runtime.pose.io import read_pose
from signclip.runtime.pose.layouts import BODY_HANDS_75


def test_every_vocabulary_entry_has_a_reference_clip_at_the_bundles_rate():
    bundle = load_bundle()
    references = load_references(bundle.path)
    v = bundle.vocabulary()
    entries = set(zip(references.labels.tolist(), references.languages.tolist(), strict=True))
    assert set(zip(v.labels.tolist(), v.languages.tolist(), strict=True)) <= entries
    assert references.fps == bundle.fps and references.frames.dtype == np.float16
    hello = references.clip("HELLO", "ase")
    assert hello.num_frames >= 5 and hello.layout is BODY_HANDS_75 and hello.mask.any()
    assert references.clip("NOT-A-WORD", "ase") is None


def test_a_clip_is_stored_in_its_own_unit_box_without_legs(tmp_path):
    from pathlib import Path

    clip = read_pose(Path(__file__).parents[1] / "data" / "poses" / "holistic576_97f.pose")
    box = unit_box(clip).astype(np.float32)
    seen = ~np.isnan(box).any(axis=2)
    assert box.shape == (clip.num_frames, 75, 2) and seen.any()
    assert np.nanmin(box) == pytest.approx(0, abs=1e-3) and np.nanmax(box) == pytest.approx(1, abs=1e-3)
    assert not seen[:, leg_points()].any()


@pytest.mark.parametrize("suffix", [".gif", ".mp4", ".pose"])
def test_lookup_text_shows_how_the_word_is_signed(tmp_path, signclip_home, capsys, suffix):
    out = tmp_path / f"hello{suffix}"
    assert main(["lookup", "--text", "hello", "--language", "ase", "--show", str(out)]) == 0
    assert "how HELLO (ase) is signed" in capsys.readouterr().err
    frames = load_references(load_bundle().path).clip("HELLO", "ase").num_frames
    if suffix == ".gif":
        from PIL import Image

        with Image.open(out) as gif:
            assert gif.n_frames == frames and gif.info["duration"] == 40     # 25 fps
    elif suffix == ".mp4":
        import cv2

        video = cv2.VideoCapture(str(out))
        assert int(video.get(cv2.CAP_PROP_FRAME_COUNT)) == frames and video.get(cv2.CAP_PROP_FPS) == 25
    else:
        assert read_pose(out).num_frames == frames
    assert [p.name for p in tmp_path.iterdir()] == [out.name]   # no temporary file left


def test_show_refuses_what_it_cannot_write(tmp_path, signclip_home, capsys):
    assert main(["lookup", "--text", "hello", "--show", str(tmp_path / "hello.txt")]) == 2
    assert main(["lookup", "--text", "hello", "--text", "B", "--show", str(tmp_path / "a.gif")]) == 2
    err = capsys.readouterr().err
    assert "write a .gif, .mp4, .pose file" in err and "--show writes one sign" in err
    assert "Traceback" not in err and not list(tmp_path.iterdir())
