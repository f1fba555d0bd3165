"""The streaming recognizer: frames in, signs out; each sign equals the offline lookup of its frames."""

import numpy as np
import pytest
from streaming_data import cab_clip, lexicon_stream

from signclip.runtime.capture.sources import PoseFileSource
from signclip.runtime.pose.io import write_pose
from signclip.runtime.pose.normalize import NormalizationConfig, preprocess
from signclip.runtime.recognition.recognizer import Recognizer, SignEvent, lookup_segments
from signclip.runtime.recognition.segmentation import SegmenterConfig, WindowConfig, segment_clip


@pytest.fixture(scope="session")
def cab():
    return cab_clip()


@pytest.fixture(scope="module")
def engine(tiny_bundle):
    from signclip.runtime.recognition.engine import Engine

    return Engine(tiny_bundle, personal=False)


@pytest.fixture(scope="module")
def stream():
    return lexicon_stream()


def lookup(engine):
    """The engine's two stages, as the recognizer takes them."""
    return engine.pose_encoder.embed_one, lambda e: engine.lookup_embedding(e, 5)


def run(recognizer, clip, keep=None) -> list:
    events = []
    for t in range(clip.num_frames):
        if keep is None or keep(t):
            events += recognizer.push(clip.frames[t], clip.mask[t], index=t, time_s=t / clip.fps)
    return events + recognizer.finish()


def identity(x):
    return x


def test_cab_video_three_signs_each_equal_to_the_offline_lookup(cab, engine):
    encode, search = lookup(engine)
    events = run(Recognizer(cab.layout, cab.fps, encode, search), cab)
    assert [(e.start_frame, e.end_frame) for e in events] == segment_clip(cab)
    assert len(events) == 3
    for e in events:
        offline = search(encode(preprocess(cab.slice(e.start_frame, e.end_frame))))
        assert e.results == offline
        assert len(e.results) == 5 and all(m.source == "bundle" for m in e.results)
        assert e.start_s == pytest.approx(e.start_frame / cab.fps)
        assert e.end_s == pytest.approx(e.end_frame / cab.fps)
        assert e.timings.encode_ms > 0 and e.timings.lookup_ms > 0 and e.timings.frame_us > 0
        # decided once the rest lasted end_s, not later
        assert e.end_frame <= e.decided_frame <= e.end_frame + 10


def test_streamed_model_input_is_exactly_the_offline_preprocess(stream):
    """Normalization per segment from the stream equals preprocess of the same frames, bit for bit."""
    clip = stream.clip
    events = run(Recognizer(clip.layout, clip.fps, identity), clip)
    assert len(events) == len(stream.truth)
    for e in events:
        offline = preprocess(clip.slice(e.start_frame, e.end_frame))
        assert np.array_equal(e.results.frames, offline.frames)
        assert np.array_equal(e.results.mask, offline.mask)
        assert e.results.flipped == offline.flipped
    # the left-handed letter (vv) is mirrored to the right hand, in the stream as offline
    assert [e.results.flipped for e in events] == [label == "vv" for label, _, _ in stream.truth]


def test_lexicon_stream_results_equal_lookup_segments(stream, engine):
    encode, search = lookup(engine)
    clip = stream.clip
    events = run(Recognizer(clip.layout, clip.fps, encode, search), clip)
    offline = lookup_segments(clip, encode, search)
    assert [(e.start_frame, e.end_frame) for e in events] == [(o.start, o.end) for o in offline]
    assert [e.results for e in events] == [o.results for o in offline]


def test_sliding_windows_equal_the_offline_windows(stream, engine):
    encode, search = lookup(engine)
    clip, windows = stream.clip, WindowConfig(window_s=1.0, hop_s=0.4)
    events = run(Recognizer(clip.layout, clip.fps, encode, search, windows=windows), clip)
    offline = lookup_segments(clip, encode, search, windows=windows)
    assert len(events) == len(offline) > 20
    assert [(e.start_frame, e.end_frame) for e in events] == [(o.start, o.end) for o in offline]
    assert [e.results for e in events] == [o.results for o in offline]


def test_dropped_frames_keep_the_source_indices_and_times(stream):
    clip = stream.clip
    events = run(Recognizer(clip.layout, clip.fps, identity), clip, keep=lambda t: t % 3 != 1)
    assert len(events) == len(stream.truth)
    for (label, first, end), e in zip(stream.truth, events, strict=True):
        assert abs(e.start_frame - first) <= 5 and abs(e.end_frame - end) <= 5, label
        assert e.start_s == pytest.approx(e.start_frame / clip.fps)
        assert e.start_frame % 3 != 1 and (e.end_frame - 1) % 3 != 1  # frames that were really seen


def test_state_stays_bounded_over_a_long_stream(stream):
    """Ten repeats of the lexicon stream (about 3 minutes): buffers do not grow with the history."""
    clip = stream.clip
    recognizer = Recognizer(clip.layout, clip.fps, identity)
    ring, capacity, count = recognizer.ring.size, len(recognizer.normalizer._buf), 0
    for _ in range(10):
        for t in range(clip.num_frames):
            count += len(recognizer.push(clip.frames[t], clip.mask[t]))
            assert recognizer.normalizer.count <= 2 * 44  # never more than one sign's frames
    assert count == 10 * len(stream.truth)
    assert recognizer.ring.size == ring and len(recognizer.normalizer._buf) == capacity


def test_a_sign_still_open_at_the_end_is_recognized_by_finish(stream):
    clip = stream.clip
    first, end = stream.truth[0][1], stream.truth[0][2]
    cut = clip.slice(0, end - 3)
    events = run(Recognizer(clip.layout, clip.fps, identity), cut)
    assert len(events) == 1 and events[0].end_frame == end - 3
    assert abs(events[0].start_frame - first) <= 3


def test_frames_from_a_pose_file_source(stream, tmp_path):
    path = tmp_path / "stream.pose"
    write_pose(stream.clip, path)
    source = PoseFileSource(path)
    recognizer = Recognizer(source.layout, source.fps, identity, normalization=NormalizationConfig())
    events = []
    for frame in source:
        events += recognizer.feed(frame)
    events += recognizer.finish()
    assert [(e.start_frame, e.end_frame) for e in events] == segment_clip(source.clip)
    assert all(isinstance(e, SignEvent) for e in events)


def test_min_sign_and_config_are_honoured(stream):
    clip = stream.clip
    longer = SegmenterConfig(min_sign_s=0.6)  # drops the 6-frame Greek letters (10 frames with rolls)
    events = run(Recognizer(clip.layout, clip.fps, identity, segmenter=longer), clip)
    assert len(events) == len(stream.truth) - 6


def test_event_json(cab, engine):
    encode, search = lookup(engine)
    event = run(Recognizer(cab.layout, cab.fps, encode, search), cab)[0]
    data = event.to_json()
    assert set(data) == {"start_frame", "end_frame", "start_s", "end_s", "results", "timings"}
    assert len(data["results"]) == 5 and set(data["results"][0]) >= {"label", "language", "score"}


def test_warm_up_offline_runs_each_stage_once_and_changes_no_answer(engine, cab):
    """The lookup's warm-up (run beside MediaPipe): one made-up clip through segmentation,
    normalization, the encoder and the search; the real clip's answers are the same after it."""
    from signclip.runtime.pose.layouts import HOLISTIC_576
    from signclip.runtime.recognition.recognizer import warm_up_offline

    encode, search = lookup(engine)
    before = lookup_segments(cab, encode, search)
    calls = []
    warm_up_offline(lambda x: calls.append("encode") or encode(x),
                    lambda e: calls.append("search") or search(e), NormalizationConfig(), HOLISTIC_576)
    assert calls == ["encode", "search"]
    after = lookup_segments(cab, encode, search)
    assert [(s.start, s.end, [m.label for m in s.results]) for s in after] == \
        [(s.start, s.end, [m.label for m in s.results]) for s in before]
