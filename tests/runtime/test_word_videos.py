"""Words from real videos, end to end through capture: pose-format's SOUP and FOOTBALL (MIT), signed
by a real signer, taught and then found among the words, at another frame rate too."""

import json
from pathlib import Path

from test_timing import rate_copy

from signclip.runtime.cli.main import main
from signclip.runtime.pose.io import read_pose
from signclip.runtime.recognition.engine import Engine

VIDEOS = Path(__file__).parents[1] / "data" / "videos"


def test_a_word_taught_from_a_video_is_found_from_another_copy(tmp_path, signclip_home, capsys):
    soup, football = VIDEOS / "asl_soup.mp4", VIDEOS / "asl_football.mp4"
    assert main(["teach", "SOUP", str(soup), "--language", "ase"]) == 0
    assert main(["teach", "FOOTBALL", str(football), "--language", "ase"]) == 0
    copies = [rate_copy(soup, tmp_path / "soup-60.mp4", 60.0),
              rate_copy(football, tmp_path / "football-15.mp4", 15.0)]
    capsys.readouterr()
    assert main(["lookup", *map(str, copies), "--language", "ase", "--json", "-k", "3"]) == 0
    records = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["results"][0]["label"] for r in records] == ["SOUP", "FOOTBALL"]
    assert all(r["results"][0]["source"] == "personal" for r in records)
    assert main(["lookup", "--text", "Soup", "--language", "ase", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["results"][0]["label"] == "SOUP"
    # the bundle has no SOUP: --show plays the kept take, as long as the bundle-rate copy of the video
    assert main(["lookup", "--text", "soup", "--language", "ase", "--show", str(tmp_path / "soup.pose")]) == 0
    assert "how SOUP (ase) is signed" in capsys.readouterr().err
    shown = read_pose(tmp_path / "soup.pose")
    assert shown.num_frames == Engine().personal.takes_of(0)[0].shape[0] > 25 and shown.fps == 25
