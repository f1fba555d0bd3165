"""`signclip app`: the command opens the window on a video and exits 0 once it is closed; user errors
are one line and exit status 2."""

from conftest import SHORT_VIDEO, VIDEOS
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication

from signclip.app.window import MainWindow
from signclip.runtime.cli.main import main


def test_app_command_opens_the_window_and_exits_when_it_closes(qapp, tiny_bundle, signclip_home):
    seen = {}

    def close_when_painted():
        windows = [w for w in QApplication.topLevelWidgets() if isinstance(w, MainWindow)]
        if windows and windows[0].view.paints >= 2:
            seen["loop"] = windows[0].loop_action.isChecked()
            seen["threads"] = windows[0].pipeline.all_threads()
            windows[0].close()
        else:
            QTimer.singleShot(50, close_when_painted)

    QTimer.singleShot(50, close_when_painted)
    code = main(["app", "--source", str(SHORT_VIDEO), "--bundle", str(tiny_bundle), "--stop-at-end"])
    assert code == 0 and seen["loop"] is False
    assert not any(t.isRunning() for t in seen["threads"])


def test_missing_video_is_one_line(tiny_bundle, capsys):
    assert main(["app", "--source", "no/such.mp4", "--bundle", str(tiny_bundle)]) == 2
    err = capsys.readouterr().err
    assert err == "signclip app: error: --source no/such.mp4: no such video file, and not a camera index " \
                  "(0, 1, ...)\n"


def test_no_display_is_one_line(tiny_bundle, capsys, monkeypatch):
    for name in ("QT_QPA_PLATFORM", "DISPLAY", "WAYLAND_DISPLAY"):
        monkeypatch.delenv(name, raising=False)
    assert main(["app", "--source", str(SHORT_VIDEO), "--bundle", str(tiny_bundle)]) == 2
    assert "no display" in capsys.readouterr().err


def test_unknown_language_is_one_line(tiny_bundle, signclip_home, capsys):
    assert main(["app", "--source", str(SHORT_VIDEO), "--bundle", str(tiny_bundle), "-l", "xyz"]) == 2
    assert "language 'xyz' is not in the vocabulary; known: ase, gss, ise" in capsys.readouterr().err


def test_the_app_finds_the_words_of_a_vocabulary_pack(engine):
    """A pack built by `signclip pack` is searched by the app's lookups too (the same engine)."""
    from signclip.runtime.pose.io import read_pose

    clip = read_pose(VIDEOS.parent / "poses" / "reduced178_278f.pose")
    inner = engine.engine
    inner.packs.add("classroom", "TREE", inner.embed_clips([clip]), ["tree.pose"], "ase")
    first = engine.lookup_clip(clip, 3, "ase")[0]
    assert (first.label, first.source) == ("TREE", "pack classroom")
