"""Dataset readers on small samples written in each dataset's documented layout, pointing at the
real fixture videos: the right manifest rows, one line for a file in another layout."""

from __future__ import annotations

import csv
import json
import shutil
import subprocess
import sys

import pytest

from signclip.runtime.cli.main import main
from signclip.trainer.data import read_manifest


def place(videos_dir, path, fixture="signer_two_hands.mp4"):
    path.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(videos_dir / fixture, path)
    return path


def rows(path) -> list:
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def convert(*args) -> int:
    return main(["dataset", *map(str, args)])


def picked(records, *columns) -> list:
    return [tuple(r[c] for c in columns) for r in records]


def test_wlasl_glosses_signers_splits_and_frame_ranges(videos_dir, tmp_path, capsys):
    place(videos_dir, tmp_path / "videos" / "00335.mp4", "asl_soup.mp4")
    place(videos_dir, tmp_path / "videos" / "65225.mp4")
    (tmp_path / "WLASL_v0.3.json").write_text(json.dumps([
        {"gloss": "soup", "instances": [
            {"video_id": "00335", "signer_id": 118, "split": "train", "frame_start": 11, "frame_end": 30,
             "fps": 25, "bbox": [0, 0, 320, 240], "instance_id": 0, "source": "aslpro", "url": "x"},
            {"video_id": "99999", "signer_id": 4, "split": "val", "frame_start": 1, "frame_end": -1}]},
        {"gloss": "thank you", "instances": [
            {"video_id": "65225", "signer_id": 7, "split": "test", "frame_start": 1, "frame_end": -1}]}]))
    manifest = tmp_path / "wlasl" / "manifest.csv"
    assert convert("wlasl", tmp_path / "WLASL_v0.3.json", "-o", manifest) == 0
    assert "1 clips listed without their video were left out (e.g. 99999)" in capsys.readouterr().err
    got = rows(manifest)
    assert picked(got, "text", "signer", "split", "sign_language", "spoken_language", "license") == [
        ("SOUP", "118", "train", "ase", "en", "C-UDA-1.0"),
        ("THANK-YOU", "7", "test", "ase", "en", "C-UDA-1.0")]
    assert picked(got, "video", "frame_start", "frame_end", "pose") == [
        ("../videos/00335.mp4", "10", "30", "poses/00335.10-30.pose"),
        ("../videos/65225.mp4", "", "", "poses/65225.pose")]
    assert got[0]["source"] == "wlasl 00335"
    trainer_reads = read_manifest(manifest, check_files=False)
    assert [r.text for r in trainer_reads] == ["SOUP", "THANK-YOU"]

    assert convert("wlasl", tmp_path / "WLASL_v0.3.json", "--videos-are-cut", "-o", manifest) == 0
    assert picked(rows(manifest), "frame_start", "frame_end", "pose")[0] == ("", "", "poses/00335.pose")


def test_a_manifest_cut_is_posed_to_its_frames(videos_dir, tmp_path):
    """`signclip pose MANIFEST`: each row's frames to the row's own .pose path."""
    from signclip.runtime.pose.io import read_pose

    place(videos_dir, tmp_path / "videos" / "00335.mp4", "asl_soup.mp4")
    (tmp_path / "WLASL_v0.3.json").write_text(json.dumps([{"gloss": "soup", "instances": [
        {"video_id": "00335", "signer_id": 1, "split": "train", "frame_start": 11, "frame_end": 20}]}]))
    manifest = tmp_path / "wlasl" / "manifest.csv"
    assert convert("wlasl", tmp_path / "WLASL_v0.3.json", "-o", manifest) == 0
    run = subprocess.run([sys.executable, "-m", "signclip.runtime.cli", "pose", manifest,
                          "-o", tmp_path / "wlasl", "--quiet"], capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    assert read_pose(tmp_path / "wlasl" / "poses" / "00335.10-20.pose").num_frames == 10
    assert read_manifest(manifest)[0].pose.name == "00335.10-20.pose"  # the trainer finds it


def test_asl_citizen_participants_and_split_files(videos_dir, tmp_path):
    root = tmp_path / "ASL_Citizen"
    for name in ("a1.mp4", "a2.mp4", "b1.mp4"):
        place(videos_dir, root / "videos" / name)
    header = "Participant ID,Video file,Gloss,ASL-LEX Code\n"
    (root / "splits").mkdir()
    (root / "splits" / "train.csv").write_text(header + "P1,a1.mp4,HELLO,A_01_001\n"
                                                        "P2,a2.mp4,APPLE1,A_01_002\n")
    (root / "splits" / "test.csv").write_text(header + "P3,b1.mp4,HELLO,A_01_001\n"
                                                       "P3,gone.mp4,HELLO,A_01_001\n")
    manifest = tmp_path / "manifest.csv"
    assert convert("asl-citizen", root, "-o", manifest) == 0
    assert picked(rows(manifest), "text", "signer", "split", "video") == [
        ("HELLO", "P3", "test", "ASL_Citizen/videos/b1.mp4"),
        ("HELLO", "P1", "train", "ASL_Citizen/videos/a1.mp4"),
        ("APPLE1", "P2", "train", "ASL_Citizen/videos/a2.mp4")]


def test_lsa64_names_signers_and_the_class_table(videos_dir, tmp_path):
    for name in ("001_001_001.mp4", "001_002_003.mp4", "064_010_005.mp4"):
        place(videos_dir, tmp_path / "all" / name)
    (tmp_path / "classes.csv").write_text("id,gloss\n1,Opaque\n")
    manifest = tmp_path / "manifest.csv"
    assert convert("lsa64", tmp_path / "all", "--classes", tmp_path / "classes.csv", "-o", manifest) == 0
    columns = ("text", "signer", "sign_language", "spoken_language", "source", "license")
    assert picked(rows(manifest), *columns) == [
        ("OPAQUE", "001", "aed", "es", "lsa64 001_001_001", "CC-BY-NC-SA-4.0"),
        ("OPAQUE", "002", "aed", "es", "lsa64 001_002_003", "CC-BY-NC-SA-4.0"),
        ("LSA64-064", "010", "aed", "es", "lsa64 064_010_005", "CC-BY-NC-SA-4.0")]


def test_autsl_labels_class_table_and_split_from_the_file_name(videos_dir, tmp_path):
    place(videos_dir, tmp_path / "train" / "signer0_sample1_color.mp4")
    place(videos_dir, tmp_path / "train" / "signer12_sample40_color.mp4")
    (tmp_path / "train_labels.csv").write_text("signer0_sample1,1\nsigner12_sample40,0\nsigner3_sample9,1\n")
    (tmp_path / "SignList_ClassId_TR_EN.csv").write_text("ClassId,TR,EN\n0,abla,sister\n1,acele,hurry\n")
    manifest = tmp_path / "manifest.csv"
    classes = tmp_path / "SignList_ClassId_TR_EN.csv"
    assert convert("autsl", tmp_path / "train_labels.csv", "--classes", classes, "-o", manifest) == 0
    assert picked(rows(manifest), "text", "signer", "split", "sign_language", "video") == [
        ("HURRY", "signer0", "train", "tsm", "train/signer0_sample1_color.mp4"),
        ("SISTER", "signer12", "train", "tsm", "train/signer12_sample40_color.mp4")]


def test_a_folder_per_word_with_and_without_signer_folders(videos_dir, tmp_path):
    place(videos_dir, tmp_path / "class" / "thank_you" / "maria" / "take1.mp4")
    place(videos_dir, tmp_path / "class" / "hello" / "a.mov")
    manifest = tmp_path / "manifest.csv"
    assert convert("folder", tmp_path / "class", "--sign-language", "ase", "-o", manifest) == 0
    assert picked(rows(manifest), "text", "signer", "sign_language", "pose") == [
        ("HELLO", "", "ase", "poses/hello/a.pose"),
        ("THANK-YOU", "maria", "ase", "poses/thank_you/maria/take1.pose")]


@pytest.mark.parametrize("dataset, make, message", [
    ("wlasl", lambda d: (d / "x.json").write_text('{"gloss": "a"}') and d / "x.json",
     "not WLASL's layout: expected a list of {gloss, instances} objects"),
    ("wlasl", lambda d: (d / "x.json").write_text("gloss,video") and d / "x.json", "not WLASL's JSON"),
    ("asl-citizen", lambda d: (d / "train.csv").write_text("user,file\nP1,a.mp4\n") and d / "train.csv",
     "not ASL Citizen's layout .*: no column 'Participant ID', 'Video file', 'Gloss'"),
    ("lsa64", lambda d: (d / "v").mkdir() or (d / "v" / "hello.mp4").write_bytes(b"x") and d / "v",
     "hello.mp4: not LSA64's layout: its name is not SSS_PPP_RRR"),
    ("autsl", lambda d: (d / "train_labels.csv").write_text("sample,label\n") and d / "train_labels.csv",
     "train_labels.csv:1: not AUTSL's labels layout"),
    ("folder", lambda d: (d / "f").mkdir() or (d / "f" / "loose.mp4").write_bytes(b"x") and d / "f",
     "loose.mp4: not in a folder per word"),
    ("islr", lambda d: d, "ISLR ships landmarks, not videos: `signclip words convert islr"),
])
def test_a_file_in_another_layout_is_one_line(tmp_path, capsys, dataset, make, message):
    import re

    source = make(tmp_path)
    (tmp_path / "classes.csv").write_text("ClassId,TR,EN\n0,abla,sister\n")
    extra = {"autsl": ["--classes", tmp_path / "classes.csv"],
             "folder": ["--sign-language", "ase"]}.get(dataset, [])
    assert convert(dataset, source, "-o", tmp_path / "m.csv", *extra) == 2
    err = capsys.readouterr().err
    assert err.startswith("signclip dataset: error: ") and err.count("\n") == 1, err
    assert re.search(message, err), err
