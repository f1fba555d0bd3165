"""Photos as input: Holistic in static-image mode, Hands for a close-up, refusals in one line."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from signclip.runtime.capture.photo import body_in_picture, hand_side, photo_to_clip, place_hands
from signclip.runtime.cli.main import main
from signclip.runtime.errors import SignclipError
from signclip.runtime.pose.layouts import BODY, FACE, HOLISTIC_576, LEFT_HAND, RIGHT_HAND
from signclip.runtime.pose.normalize import NormalizationConfig

PHOTOS = Path(__file__).resolve().parents[1] / "data" / "photos"
FRAME = PHOTOS / "asl_letter_C_frame.jpg"   # a frame of the letter video C: the whole signer
HAND = PHOTOS / "asl_letter_C_hand.jpg"     # the same frame cropped to the hand
HANDS_CONFIG = NormalizationConfig(hand_3d=True, hands_alone=True, photo_frames=4)

pytest.importorskip("mediapipe")


def rate(clip, component):
    return clip.detection_rate(component)


@pytest.mark.slow
def test_a_frame_of_a_signer_keeps_body_face_and_hand():
    clip = photo_to_clip(FRAME, frames=3)
    assert clip.num_frames == 3 and clip.width == 540 and clip.height == 960
    assert rate(clip, BODY) == rate(clip, FACE) == rate(clip, RIGHT_HAND) == 1.0
    np.testing.assert_array_equal(clip.frames[0], clip.frames[2])


@pytest.mark.slow
def test_a_close_up_is_the_hand_alone():
    clip = photo_to_clip(HAND)
    assert rate(clip, RIGHT_HAND) == 1.0          # Hands found it; "Left" in MediaPipe's mirror
    assert rate(clip, BODY) == rate(clip, FACE) == rate(clip, LEFT_HAND) == 0.0   # no guessed body


def test_no_hand_and_unreadable_photos_are_one_clear_error(tmp_path):
    import cv2

    blank = tmp_path / "wall.png"
    cv2.imwrite(str(blank), np.full((120, 160, 3), 127, np.uint8))
    with pytest.raises(SignclipError, match="no hand found"):
        photo_to_clip(blank)
    (tmp_path / "broken.jpg").write_bytes(b"\xff\xd8\xff not really a jpeg")
    with pytest.raises(SignclipError, match="not a readable image"):
        photo_to_clip(tmp_path / "broken.jpg")
    (tmp_path / "empty.png").write_bytes(b"")
    with pytest.raises(SignclipError, match="empty file"):
        photo_to_clip(tmp_path / "empty.png")


def test_mediapipe_handedness_is_mirrored_and_two_hands_take_both_sides():
    assert hand_side("Left") == RIGHT_HAND and hand_side("Right") == LEFT_HAND
    points = np.arange(63, dtype=np.float32).reshape(21, 3) + 1
    frame, mask = place_hands(HOLISTIC_576, [("Left", points), ("Left", points * 2)])
    right = HOLISTIC_576.index[(RIGHT_HAND, "WRIST")]
    left = HOLISTIC_576.index[(LEFT_HAND, "WRIST")]
    np.testing.assert_array_equal(frame[right:right + 21], points)
    np.testing.assert_array_equal(frame[left:left + 21], points * 2)
    assert mask.sum() == 42


def test_a_guessed_body_outside_the_picture_does_not_count():
    frame = np.zeros((576, 3), np.float32)
    confidence = np.ones(576, np.float32)
    shoulders = [HOLISTIC_576.index[(BODY, "RIGHT_SHOULDER")], HOLISTIC_576.index[(BODY, "LEFT_SHOULDER")]]
    frame[shoulders, :2] = [[100, 300], [250, 300]]
    assert body_in_picture(frame, confidence, 400, 400)
    assert not body_in_picture(frame, confidence, 200, 400)       # the left shoulder is past the edge
    confidence[shoulders[0]] = 0.3
    assert not body_in_picture(frame, confidence, 400, 400)       # barely visible: a guess


@pytest.fixture(scope="module")
def hands_bundle(tmp_path_factory):
    pytest.importorskip("torch", reason="the tiny bundle is exported from torch")
    from tiny_bundle import make_tiny_bundle

    return make_tiny_bundle(tmp_path_factory.mktemp("b") / "hands", normalization=HANDS_CONFIG)


@pytest.mark.slow
def test_lookup_photos_and_a_hand_only_pose_file(hands_bundle, signclip_home, capsys):
    hand_pose = Path(__file__).resolve().parents[1] / "data" / "poses" / "right_hand21_170f.pose"
    inputs = [str(FRAME), str(HAND), str(hand_pose)]
    assert main(["lookup", *inputs, "--bundle", str(hands_bundle), "--json", "--threads", "1"]) == 0
    import json

    records = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["input"] for r in records] == inputs
    assert all(len(r["results"]) == 5 and "error" not in r for r in records)


def test_lookup_refuses_a_photo_without_a_hand_in_one_line(hands_bundle, signclip_home, tmp_path, capsys):
    import cv2

    blank = tmp_path / "wall.jpg"
    cv2.imwrite(str(blank), np.full((120, 160, 3), 200, np.uint8))
    assert main(["lookup", str(blank), "--bundle", str(hands_bundle)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "no hand found in the photo" in err[0]


@pytest.mark.slow
def test_teach_from_a_photo_then_find_it(hands_bundle, signclip_home, capsys):
    assert main(["teach", "MY-C", str(HAND), "--bundle", str(hands_bundle), "--threads", "1"]) == 0
    assert main(["lookup", str(HAND), "--bundle", str(hands_bundle), "--json", "--threads", "1"]) == 0
    import json

    record = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert any(m["label"] == "MY-C" for m in record["results"])
