"""The app reads signs and fingerspelling as the command line does: the same reader options
(runtime/recognition/reading.py `reader_options`), so the same letters on the fixture letter videos
and on a word with a moving letter, with and without a sign language chosen."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "runtime"))
from spelling_data import join_word, lexicon_letters  # noqa: E402
from streaming_data import cab_clip  # noqa: E402

from signclip.runtime.pose.clip import PoseClip  # noqa: E402
from signclip.runtime.pose.layouts import HOLISTIC_576, conversion_plan, convert  # noqa: E402
from signclip.runtime.recognition.reading import reader_options  # noqa: E402
from signclip.runtime.recognition.spelling import read_clip  # noqa: E402


@pytest.fixture(scope="module")
def engines(tmp_path_factory):
    from signclip.app.engine_service import LockedEngine
    from signclip.runtime.recognition.engine import Engine

    engine = Engine(personal=False)  # the default bundle: real letters
    return engine, LockedEngine(engine)


def as_576(clip: PoseClip) -> PoseClip:
    """The clip in the Holistic layout the app's MediaPipe worker produces."""
    frames, mask = convert(clip.frames, clip.mask, conversion_plan(clip.layout, HOLISTIC_576))
    return PoseClip(HOLISTIC_576, frames, mask, clip.fps, clip.width, clip.height)


def app_letters(locked, clip: PoseClip, language) -> list:
    """The letters the app's recognition worker reads in Spell mode, frame by frame."""
    from signclip.app.recognition import RecognitionWorker
    from signclip.app.slots import FrameSlot

    worker = RecognitionWorker(locked, FrameSlot())
    reader = worker._new_recognizer(clip.fps, (True, language))
    events = []
    for t in range(clip.num_frames):
        events += reader.push(clip.frames[t], clip.mask[t])
    events += reader.finish()
    return [e.letter for e in events if hasattr(e, "letter")]


def test_app_reader_has_the_cli_options(engines):
    """Without a language chosen the app used no moving letters, with one the same letters: each of
    the options now comes from one place."""
    from signclip.app.recognition import RecognitionWorker
    from signclip.app.slots import FrameSlot

    engine, locked = engines
    worker = RecognitionWorker(locked, FrameSlot())
    for language in (None, "ase", "gsg"):
        reader = worker._new_recognizer(30.0, (True, language))
        options = reader_options(engine, language)
        assert reader.letters == options["letters"] and reader.moving == options["moving"]
        assert reader.config == options["config"]
    assert {"J", "Z"} <= worker._new_recognizer(30.0, (True, None)).moving


def test_the_sign_reader_searches_the_language_chosen_now(engines):
    """In Signs mode a new language choice applies from the next sign on, without a new reader."""
    from signclip.app.recognition import RecognitionWorker
    from signclip.app.slots import FrameSlot

    engine, locked = engines
    worker = RecognitionWorker(locked, FrameSlot(), k=3, language="ase")
    reader = worker._new_recognizer(30.0, worker._mode())
    embedding = engine.vocabulary.embeddings[0]
    assert {m.language for m in reader.search(embedding)} == {"ase"}
    worker.language = "gsg"
    assert worker._mode() == (False, None) and {m.language for m in reader.search(embedding)} == {"gsg"}


def cli_letters(engine, clip: PoseClip, language) -> list:
    options = reader_options(engine, language)
    options.pop("correct")
    return [e.letter for e in read_clip(clip, **options) if hasattr(e, "letter")]


@pytest.mark.slow  # the C-A-B video through MediaPipe (shared with the streaming tests)
@pytest.mark.parametrize("language", [None, "ase"])
def test_app_and_cli_read_the_same_letters(engines, language):
    engine, locked = engines
    joke = as_576(join_word("JOKE", lexicon_letters("ase")).clip)  # J moves
    for clip in (cab_clip(), joke):
        cli = cli_letters(engine, clip, language)
        assert cli and app_letters(locked, clip, language) == cli


def app_signs(locked, clip: PoseClip, language) -> list:
    """(start frame, end frame, top labels) of each sign the app's worker reads in Signs mode."""
    from signclip.app.recognition import RecognitionWorker
    from signclip.app.slots import FrameSlot

    worker = RecognitionWorker(locked, FrameSlot(), k=3, language=language)  # as the window sets it
    reader = worker._new_recognizer(clip.fps, worker._mode())
    events = []
    for t in range(clip.num_frames):
        events += reader.push(clip.frames[t], clip.mask[t])
    events += reader.finish()
    return [(e.start_frame, e.end_frame, [m.label for m in e.results]) for e in events]


@pytest.mark.slow  # the C-A-B video through MediaPipe (shared with the streaming tests)
def test_app_and_cli_read_the_same_signs(engines, tmp_path, capsys, monkeypatch):
    """`signclip stream --json` on the C-A-B video's poses and the app's worker in Signs mode: the
    same signs, frames and top 3."""
    import json

    from signclip.runtime.cli.main import main
    from signclip.runtime.pose.io import write_pose

    engine, locked = engines
    monkeypatch.setenv("SIGNCLIP_HOME", str(tmp_path / "home"))  # no taught signs: the bundle alone
    clip = cab_clip()
    write_pose(clip, tmp_path / "cab.pose")
    assert main(["stream", "--source", str(tmp_path / "cab.pose"), "--json", "--language", "ase",
                 "--top-k", "3"]) == 0
    cli = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    cli = [(s["start_frame"], s["end_frame"], [r["label"] for r in s["results"]]) for s in cli]
    assert len(cli) == 3 and app_signs(locked, clip, "ase") == cli
