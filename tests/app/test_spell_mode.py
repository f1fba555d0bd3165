"""Spell mode: the Spell tab switches recognition to letters, which are typed into a line (a space when
the hand drops), with backspace and clear; on the real C-A-B video through the whole pipeline."""

from conftest import CAB_VIDEO
from test_window import WAIT_MS, close, open_window

from signclip.app.frames import SourceSpec
from signclip.runtime.recognition.spelling import Letter, WordEnd


def letter(ch: str) -> Letter:
    return Letter(ch, 0, 10, 0.0, 0.4, 0.5, ((ch, 0.5),), 10, 1.0)


def test_letters_are_typed_and_the_buttons_edit_the_line(qtbot, engine):
    window = open_window(qtbot, engine)
    assert window.pipeline.spelling is False
    window.tabs.setCurrentWidget(window.spell_tab)
    assert window.pipeline.spelling is True
    for ch in "HI":
        window._spelled(letter(ch))
    window._spelled(WordEnd((), "HI", "HI", 20))
    window._spelled(letter("A"))
    assert window.spell_line.text() == "HI A"
    assert window.spell_history.count() == 3 and window.spell_status.text().startswith("A")
    window.spell_backspace()
    window.spell_backspace()
    assert window.spell_line.text() == "HI"
    window.spell_line.clear()
    assert window.spell_line.text() == ""
    window.tabs.setCurrentIndex(0)
    assert window.pipeline.spelling is False
    close(window)


def test_the_cab_video_types_three_letters(qtbot, engine):
    """C, A and B each raised, held and dropped: three letters, each ending a word (tiny random bundle:
    which letters is not the point here; that they are read from the holds is)."""
    window = open_window(qtbot, engine)
    window.tabs.setCurrentWidget(window.spell_tab)
    window.open_source(SourceSpec(str(CAB_VIDEO), loop=False, paced=False))
    qtbot.waitUntil(lambda: window.banner.isVisible(), timeout=WAIT_MS * 3)  # the video ended
    qtbot.waitUntil(lambda: window.spell_history.count() >= 3, timeout=WAIT_MS)
    typed = window.spell_line.text().split()
    assert len(typed) == 3 and window.spell_history.count() == 3, (window.spell_line.text(), typed)
    # the last drop ends the word when recognition reaches the video's end, after the frames that
    # were still in MediaPipe when the video ran out
    qtbot.waitUntil(lambda: window.spell_line.text().endswith(" "), timeout=WAIT_MS)
    close(window)
