"""`signclip spell` and `signclip stream --spell` with the shipped model on real letters."""

from __future__ import annotations

import json

import pytest
from spelling_data import DATA, join_word, lexicon_letters
from streaming_data import cab_clip

from signclip.runtime.cli.main import main
from signclip.runtime.pose.io import write_pose

VIDEOS = DATA / "videos"


@pytest.fixture(scope="module")
def job(tmp_path_factory):
    """A word with a moving letter; its letters' recognition is tested in test_spelling.py."""
    path = tmp_path_factory.mktemp("spell") / "job.pose"
    write_pose(join_word("JOB", lexicon_letters("ase", DATA / "spelling")).clip, path)
    return path


def json_lines(text: str) -> list:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def test_spell_json_is_one_object_per_input(job, capsys):
    assert main(["spell", str(job), "--language", "ase", "--json"]) == 0
    (record,) = json_lines(capsys.readouterr().out)
    assert set(record) == {"input", "text", "letters"}
    assert record["input"] == str(job) and record["text"] == "JOB"
    assert [x["letter"] for x in record["letters"]] == list("JOB")
    for x in record["letters"]:
        assert set(x) == {"letter", "start_s", "end_s", "score"} and x["start_s"] < x["end_s"]
    starts = [x["start_s"] for x in record["letters"]]
    assert starts == sorted(starts)


def test_spell_text_and_word_prior(job, capsys):
    pytest.importorskip("wordfreq")
    assert main(["spell", str(job), "-l", "ase"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == f"{job}: JOB" and len(out) == 4 and out[1].split()[0] == "J"
    assert main(["spell", str(job), "-l", "ase", "--words", "en", "--json"]) == 0
    (record,) = json_lines(capsys.readouterr().out)
    assert record["text"] == "JOB" and record["raw"] == "JOB"


def test_spell_refuses_in_one_line(job, tmp_path, capsys):
    missing = tmp_path / "missing.mp4"
    assert main(["spell", str(missing), str(job), "-l", "ase", "--json"]) == 2
    records = json_lines(capsys.readouterr().out)
    assert records[0] == {"input": str(missing), "error": f"{missing}: no such file"}
    assert records[1]["text"] == "JOB"  # the other input is still read
    assert main(["spell", str(job), "-l", "xyz"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "language 'xyz' is not in the vocabulary" in err[0]
    assert main(["spell", str(job), "--words", "xx"]) == 2
    assert "no word list" in capsys.readouterr().err


def test_stream_spell_prints_letters_then_the_word(job, capsys):
    assert main(["stream", "--source", str(job), "--spell", "-l", "ase", "--json"]) == 0
    records = json_lines(capsys.readouterr().out)
    assert [r["letter"] for r in records[:-1]] == list("JOB")
    assert records[-1] == {"word": "JOB", "raw": "JOB"}
    assert main(["stream", "--source", str(job), "--spell", "-l", "ase"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[-1] == "word: JOB" and lines[0].split()[-2] == "J"
    assert main(["stream", "--source", str(job), "--spell", "--window", "1.0"]) == 2
    assert main(["stream", "--source", str(job), "--words", "en"]) == 2


@pytest.mark.slow
def test_spell_reads_the_cab_video(tmp_path, capsys):
    path = tmp_path / "cab.pose"
    write_pose(cab_clip(), path)  # MediaPipe over CAB_VIDEO, shared with the streaming tests
    assert main(["spell", str(path), "--json", "--language", "ase"]) == 0
    (record,) = json_lines(capsys.readouterr().out)
    assert record["text"] == "CAB"


@pytest.mark.slow
def test_spell_reads_a_word_joined_from_the_letter_videos(tmp_path, capsys):
    from signclip.runtime.capture.holistic import video_to_clip

    letters = {x: video_to_clip(VIDEOS / f"asl_letter_{x}.mp4") for x in "ABC"}
    path = tmp_path / "cab.pose"
    write_pose(join_word("CAB", letters).clip, path)
    assert main(["spell", str(path), "--json", "--language", "ase"]) == 0
    (record,) = json_lines(capsys.readouterr().out)
    assert record["text"] == "CAB"
