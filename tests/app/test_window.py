"""The window driven by pytest-qt on real fixture videos, through the real pipeline (MediaPipe, the
streaming recognizer, a tiny real bundle): overlay, results, teach, search, errors, clean close."""

import numpy as np
import pytest
from conftest import CAB_VIDEO, SHORT_VIDEO, VIDEOS
from PySide6.QtCore import Qt

from signclip.app.frames import SourceSpec
from signclip.app.pipeline import Pipeline
from signclip.app.window import ALL_LANGUAGES, MainWindow
from signclip.runtime.vocabulary.personal import vocabulary_path

WAIT_MS = 60000  # MediaPipe is 20-100 ms a frame on a busy 2-core machine


def open_window(qtbot, engine, spec=None, *, k: int = 5, **kwargs) -> MainWindow:
    window = MainWindow(Pipeline(engine, k=k), spec, **kwargs)
    qtbot.addWidget(window)
    window.show()
    return window


def close(window) -> None:
    threads = window.pipeline.all_threads()
    window.close()
    assert window.closed_cleanly is True
    assert threads and not any(t.isRunning() for t in threads)


def test_video_shows_frames_with_their_own_overlay_and_readouts(qtbot, engine):
    window = open_window(qtbot, engine, SourceSpec(str(SHORT_VIDEO), loop=False, paced=False))
    qtbot.waitUntil(lambda: window.view.paints >= 3, timeout=WAIT_MS)
    assert window.view.painted_index == window.view.overlay_index >= 0
    frame = window.view.frame
    assert frame.keypoints.shape == (576, 3) and frame.mask.any()  # a person was found
    qtbot.waitUntil(lambda: window.banner.isVisible(), timeout=WAIT_MS)  # the video ended
    assert "ended" in window.banner_text.text() and window.banner_retry.text() == "Play again"
    assert "FPS" in window.readouts.text() and "MediaPipe" in window.readouts.text()
    assert window.statusBar().currentMessage().endswith("320x240 at 30.0 FPS")
    close(window)


def test_no_camera_offers_a_video_file_and_opens_it(qtbot, engine):
    chosen = []
    window = open_window(qtbot, engine, SourceSpec(97),
                         choose_video=lambda: chosen.append(1) or str(SHORT_VIDEO))
    qtbot.waitUntil(lambda: window.banner.isVisible(), timeout=WAIT_MS)
    assert "camera 97 cannot be opened" in window.banner_text.text()
    assert "Open a video file instead?" in window.banner_text.text()
    assert window.banner_open.isVisible()
    qtbot.mouseClick(window.banner_open, Qt.MouseButton.LeftButton)
    assert chosen == [1] and window.spec.value == str(SHORT_VIDEO)
    qtbot.waitUntil(lambda: window.view.paints >= 1, timeout=WAIT_MS)
    close(window)


def test_closing_during_processing_stops_every_thread(qtbot, engine):
    window = open_window(qtbot, engine, SourceSpec(str(CAB_VIDEO), loop=True, paced=True))
    qtbot.waitUntil(lambda: window.view.paints >= 2, timeout=WAIT_MS)
    assert all(t.isRunning() for t in window.pipeline.all_threads())
    close(window)


def test_text_search_and_language_filter(qtbot, engine):
    window = open_window(qtbot, engine)
    languages = [window.language.itemText(i) for i in range(window.language.count())]
    assert languages == [ALL_LANGUAGES, "ase", "gss", "ise"]
    qtbot.keyClicks(window.search_box, "A")
    qtbot.keyClick(window.search_box, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: hasattr(window, "search_matches"), timeout=WAIT_MS)
    expected = engine.lookup_text("A", 5, None)
    assert window.search_matches == expected and len(expected) == 4  # the tiny bundle has 4 clips
    assert window.search_results.item(0, 0).text() == expected[0].label
    window.language.setCurrentText("gss")
    assert window.pipeline.language == "gss" and window.pipeline.service.language == "gss"
    del window.search_matches
    qtbot.mouseClick(window.search_box, Qt.MouseButton.LeftButton)
    qtbot.keyClick(window.search_box, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: hasattr(window, "search_matches"), timeout=WAIT_MS)
    assert window.search_matches == engine.lookup_text("A", 5, "gss")
    assert {m.language for m in window.search_matches} == {"gss"}
    close(window)


def test_teach_fixed_length_examples_then_search_and_delete(qtbot, engine, signclip_home):
    window = open_window(qtbot, engine, SourceSpec(str(SHORT_VIDEO), loop=True, paced=False), countdown_s=0)
    recorded = []
    window.pipeline.recognition.recorded.connect(recorded.append)
    window.teach_label.setText("soup")
    window.teach_count.setValue(2)
    window.teach_mode.setCurrentIndex(1)
    window.teach_seconds.setValue(0.4)
    qtbot.mouseClick(window.teach_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "Learned 'soup'" in window.teach_status.text(), timeout=WAIT_MS)
    assert window.personal_signs == [("soup", "", 2)]
    assert "soup" in window.personal.item(0).text()
    e = engine.engine
    assert vocabulary_path(e.dim, e.bundle.model_hash).is_file()
    clips = recorded[0].clips
    assert [c.num_frames for c in clips] == [10, 10]  # 0.4 s at 30 FPS, taught at the bundle's 25
    assert {c.fps for c in clips} == {e.bundle.fps}
    assert not np.array_equal(clips[0].frames, clips[1].frames)
    # searchable at once: the recorded example finds the taught sign first
    top = engine.lookup_embedding(e.embed_clips([clips[0]])[0], 5, None)[0]
    assert (top.label, top.source) == ("soup", "personal")
    window.personal.setCurrentRow(0)
    qtbot.mouseClick(window.forget_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.personal.count() == 0, timeout=WAIT_MS)
    assert len(engine.engine.personal) == 0
    close(window)


@pytest.mark.slow
def test_cab_video_recognizes_three_signs_and_teaches_from_them(qtbot, engine):
    """C-A-B fingerspelled: three signs appear in the history with five scored results each; the
    first two also become the examples of a taught sign (one recognized sign per example)."""
    window = open_window(qtbot, engine, SourceSpec(str(CAB_VIDEO), loop=False, paced=False), countdown_s=0)
    capturing = []
    window.pipeline.recognition.capturing.connect(capturing.append)
    window.teach_label.setText("letter")
    window.teach_count.setValue(2)
    qtbot.mouseClick(window.teach_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.history.count() == 3, timeout=3 * WAIT_MS)
    truth = ((18, 96), (117, 201), (249, 321))  # tests/data/README.md: hand up and back in the lap
    for r, (up, down) in zip(window.recognitions, truth):
        assert len(r.matches) == 5 and r.matches[0].score >= r.matches[-1].score
        assert up - 15 <= r.start_frame <= up + 15 and down - 25 <= r.end_frame <= down + 25
    assert window.results.item(0, 2).text() == f"{window.recognitions[-1].matches[0].score:.3f}"
    assert capturing[:2] == [True, False]
    qtbot.waitUntil(lambda: "Learned 'letter' (2 examples)" in window.teach_status.text(), timeout=WAIT_MS)
    assert window.personal_signs == [("letter", "", 2)]
    close(window)


PHOTO = VIDEOS.parent / "photos" / "asl_letter_C_frame.jpg"   # a frame of the letter video C


def test_open_a_photo_shows_it_with_its_skeleton_and_matches(qtbot, engine):
    window = open_window(qtbot, engine, choose_photos=lambda: [str(PHOTO)])
    window.photo_action.trigger()
    qtbot.waitUntil(lambda: len(window.photos) == 1, timeout=WAIT_MS)
    photo = window.photos[0]
    assert photo.rgb.shape == (960, 540, 3) and photo.mask.any() and len(photo.matches) == window.k
    assert window.view.frame is not None and window.view.frame.keypoints.shape == (576, 3)
    assert window.results.item(0, 0).text() == photo.matches[0].label
    assert window.history.item(0).text().startswith("photo asl_letter_C_frame.jpg")
    close(window)


def test_teach_from_photos_then_the_sign_is_listed(qtbot, engine):
    window = open_window(qtbot, engine, choose_photos=lambda: [str(PHOTO), str(PHOTO)])
    window.teach_label.setText("MY C")
    qtbot.mouseClick(window.teach_photos_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "Learned 'MY C' (2 examples)" in window.teach_status.text(), timeout=WAIT_MS)
    assert window.teach_button.isEnabled()
    # the list of taught signs comes before "Learned" is shown, so a user who reads it finds the sign
    assert [label for label, _, _ in window.personal_signs] == ["MY C"]
    close(window)


def test_bad_label_is_refused_before_recording_and_an_unreadable_vocabulary_is_named(qtbot, tiny_bundle,
                                                                                    signclip_home):
    from signclip.app.engine_service import LockedEngine
    from signclip.runtime.recognition.engine import Engine

    e = Engine(tiny_bundle)
    path = vocabulary_path(e.dim, e.bundle.model_hash)
    path.parent.mkdir(parents=True)
    path.write_bytes(b"not an archive")
    window = open_window(qtbot, LockedEngine(Engine(tiny_bundle)), countdown_s=0)
    assert str(path) in window.teach_status.text() and "unreadable" in window.teach_status.text()
    window.teach_label.setText("tab\there")
    qtbot.mouseClick(window.teach_button, Qt.MouseButton.LeftButton)
    assert "control character (U+0009" in window.teach_status.text()
    assert window.teach_button.isEnabled() and window._pending_request is None
    assert window.teach_label.maxLength() == 64
    close(window)


def test_the_teach_tab_lists_the_packs_signs_and_says_how_to_remove_one(qtbot, engine):
    rows = np.random.default_rng(0).normal(size=(2, engine.engine.dim)).astype(np.float32)
    rows /= np.linalg.norm(rows, axis=1, keepdims=True)
    engine.engine.packs.add("family", "MOTHER", rows, ["m1.pose", "m2.pose"], "ase")
    window = open_window(qtbot, engine)
    qtbot.waitUntil(lambda: window.personal.count() == 1, timeout=WAIT_MS)
    assert window.personal.item(0).text().endswith("2 examples, pack family")
    forgotten = []
    window.forget_requested.connect(lambda *a: forgotten.append(a))
    window.personal.setCurrentRow(0)
    qtbot.mouseClick(window.forget_button, Qt.MouseButton.LeftButton)
    assert "signclip pack remove family MOTHER" in window.teach_status.text() and forgotten == []
    close(window)


def test_search_tab_plays_how_the_found_word_is_signed(qtbot, signclip_home):
    """The default bundle's reference clip of the first match, drawn and played in a loop."""
    from signclip.app.engine_service import LockedEngine
    from signclip.runtime.recognition.engine import Engine

    window = open_window(qtbot, LockedEngine(Engine()))
    window.language.setCurrentText("ase")
    qtbot.keyClicks(window.search_box, "thank you")
    qtbot.keyClick(window.search_box, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: hasattr(window, "search_matches"), timeout=WAIT_MS)
    assert window.search_matches[0].label == "THANK-YOU"
    player = window.search_tab.player
    reference = Engine().reference("THANK-YOU", "ase")
    qtbot.waitUntil(lambda: player.shown > len(player.frames) > 0, timeout=WAIT_MS)  # looped once
    assert len(player.frames) == reference.num_frames and player.caption == "THANK-YOU (ase)"
    assert not player.pixmap().isNull()
    close(window)


def test_signs_tab_plays_the_matched_sign_beside_the_camera(qtbot, signclip_home):
    """After each sign read from the camera, the top match's reference clip plays in the Signs tab,
    so that a learner can compare their signing with it."""
    from signclip.app.engine_service import LockedEngine
    from signclip.runtime.recognition.engine import Engine

    window = open_window(qtbot, LockedEngine(Engine()), SourceSpec(str(CAB_VIDEO), loop=False, paced=False))
    player = window.signs_tab.player
    qtbot.waitUntil(lambda: bool(window.recognitions) and player.shown > 0, timeout=WAIT_MS)
    tops = {f"{r.matches[0].label} ({r.matches[0].language})" for r in window.recognitions if r.matches}
    assert player.caption in tops and player.frames
    close(window)
