"""Sign segmentation from hand activity (hysteresis, gaps, min/max length) and windows, on real data."""

import dataclasses

import numpy as np
import pytest
from streaming_data import CAB_TRUTH, cab_clip, hand_at, lexicon_clips, lexicon_stream, rest_frame

from signclip.runtime.errors import SignclipError
from signclip.runtime.pose.clip import PoseClip
from signclip.runtime.pose.layouts import MODEL_203, REDUCED_178
from signclip.runtime.recognition.segmentation import (
    FrameCounts,
    HandActivitySegmenter,
    SegmenterConfig,
    WindowConfig,
    segment_clip,
    window_clip,
)

CONFIG = SegmenterConfig()


@pytest.fixture(scope="session")
def cab():
    return cab_clip()


@pytest.fixture(scope="module")
def base():
    """A real body (the ASL letter A clip's first frame) to pose hands on."""
    clip = lexicon_clips()[0][1]
    return clip.frames[0], clip.mask[0], clip.layout, clip.fps


def clip_of(base, heights) -> PoseClip:
    """One frame per height: the right wrist that far below the shoulders; None = hands resting in
    the lap; "away" = no hand or arm point seen at all."""
    frame, mask, layout, fps = base
    frames, masks = [], []
    for h in heights:
        if h is None or h == "away":
            f, m = rest_frame(frame, mask, layout, away=h == "away")
        else:
            f, m = hand_at(frame, mask, layout, h)
        frames.append(f)
        masks.append(m)
    return PoseClip(layout, np.stack(frames), np.stack(masks), fps)


def test_cab_video_gives_three_signs_in_order_and_nothing_in_the_rests(cab):
    found = segment_clip(cab)
    assert len(found) == 3, found
    for (letter, rise, back), (start, end) in zip(CAB_TRUTH, found, strict=True):
        assert abs(start - rise) <= 8, (letter, start, rise)
        assert abs(end - back) <= 8, (letter, end, back)
    # the rests between letters (hands in the lap) stay outside every segment
    assert found[0][1] <= CAB_TRUTH[1][1] and found[1][1] <= CAB_TRUTH[2][1]


def test_lexicon_stream_boundaries_within_a_few_frames_of_the_truth():
    stream = lexicon_stream()
    found = segment_clip(stream.clip)
    assert len(found) == len(stream.truth) == 12
    counts = FrameCounts.of(CONFIG, stream.clip.fps)
    for (label, first, end), (s, e) in zip(stream.truth, found, strict=True):
        # the pre- and post-roll are the only differences here: 2 frames each at 25 fps
        assert first - counts.pre_roll - 1 <= s <= first, (label, s, first)
        assert end <= e <= end + counts.post_roll + 1, (label, e, end)


def test_missed_detections_inside_a_sign_do_not_split_it(base):
    gap = FrameCounts.of(CONFIG, base[3]).max_gap
    heights = [None] * 20 + [0.0] * 10 + ["away"] * gap + [0.0] * 10 + [None] * 20
    assert segment_clip(clip_of(base, heights)) == [(18, 20 + 10 + gap + 10 + 2)]


def test_hands_leaving_the_frame_end_the_sign_where_they_were_last_seen(base):
    heights = [None] * 20 + [0.0] * 15 + ["away"] * 40
    (start, end), = segment_clip(clip_of(base, heights))
    assert (start, end) == (18, 37)  # 35 + the post-roll of 2 frames


def test_hysteresis_between_the_lines(base):
    between = (CONFIG.rise_line + CONFIG.rest_line) / 2
    # slowly up from the lap to between the lines and still there: not a sign ...
    ramp = list(np.linspace(1.6, between, 30))
    assert segment_clip(clip_of(base, [None] * 10 + ramp + [between] * 40 + [None] * 20)) == []
    # ... but it keeps a started sign going
    (start, end), = segment_clip(clip_of(base, [None] * 10 + [0.0] * 10 + [between] * 30 + [None] * 20))
    assert (start, end) == (8, 52)
    # resting in the lap after the sign ends it after end_s
    assert segment_clip(clip_of(base, [None] * 10 + [0.0] * 10 + [None] * 30)) == [(8, 22)]


def test_a_hand_moving_low_in_the_signing_space_starts_a_sign(base):
    low = CONFIG.rise_line + 0.05
    ramp = list(np.linspace(1.6, low, 30))  # slowly up from the lap (0.5 widths/s)
    wiggle = [low + (0.1 if i % 2 else 0.0) for i in range(20)]  # 2.5 widths/s
    assert len(segment_clip(clip_of(base, [None] * 10 + ramp + wiggle + [None] * 20))) == 1
    slow = [low + 0.002 * i for i in range(20)]
    assert segment_clip(clip_of(base, [None] * 10 + ramp + slow + [None] * 20)) == []


def test_blips_shorter_than_min_sign_are_dropped(base):
    assert segment_clip(clip_of(base, [None] * 10 + [0.0] * 3 + [None] * 30)) == []


def test_a_long_sign_is_cut_at_max_sign(base):
    config = dataclasses.replace(CONFIG, max_sign_s=2.0)
    heights = [None] * 10 + [0.0] * 210 + [None] * 20
    found = segment_clip(clip_of(base, heights), config)
    limit = FrameCounts.of(config, base[3]).max_sign
    assert len(found) == 5
    assert all(e - s <= limit for s, e in found)
    assert all(found[i][1] == found[i + 1][0] for i in range(len(found) - 1))  # contiguous
    assert found[0][0] == 8 and found[-1][1] == 222


def test_model_layout_and_reduced_layout_segment_alike(cab):
    expected = segment_clip(cab)
    assert segment_clip(cab.to_layout(MODEL_203)) == expected
    assert segment_clip(cab.to_layout(REDUCED_178)) == expected


def test_sliding_windows_cover_the_clip_at_every_hop(cab):
    windows = window_clip(cab, WindowConfig(window_s=1.0, hop_s=0.5))
    assert windows[0] == (0, 30) and windows[1] == (15, 45)
    assert all(e - s == 30 for s, e in windows)
    assert windows[-1][1] > cab.num_frames - 15


def test_per_frame_work_is_constant(base):
    """The segmenter keeps a fixed-size state: no array grows with the stream."""
    frame, mask, layout, fps = base
    segmenter = HandActivitySegmenter(layout, fps)
    up, up_mask = hand_at(frame, mask, layout, 0.0)
    for t in range(5000):
        segmenter.step(*((up, up_mask) if (t // 50) % 2 else (frame, mask)))
    assert segmenter._state.shape == (12,) and segmenter.t == 5000


@pytest.mark.parametrize("change, message", [
    (dict(rest_line=0.5), "rest line"),
    (dict(post_roll_s=1.0), "post_roll_s"),
    (dict(shoulder_smoothing=0.0), "smoothing"),
    (dict(min_sign_s=9.0), "min_sign_s"),
])
def test_bad_config_is_a_clear_error(change, message):
    with pytest.raises(SignclipError, match=message):
        HandActivitySegmenter(MODEL_203, 30.0, dataclasses.replace(CONFIG, **change))


def test_a_layout_without_shoulders_cannot_be_segmented():
    from signclip.runtime.pose.layouts import HAND_POINTS, RIGHT_HAND, Layout

    hand_only = Layout("hand", tuple((RIGHT_HAND, p) for p in HAND_POINTS))
    with pytest.raises(SignclipError, match="no shoulders"):
        HandActivitySegmenter(hand_only, 30.0)
