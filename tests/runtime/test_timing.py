"""Frame rates: clips and cameras are read at the bundle's rate, offline and streamed alike."""

from pathlib import Path

import numpy as np
import pytest

from signclip.runtime.pose.timing import frame_repeats, rate_indices

VIDEOS = Path(__file__).parents[1] / "data" / "videos"


@pytest.mark.parametrize("source_fps", [15.0, 24.0, 25.0, 29.97, 30.0, 50.0, 60.0])
def test_each_output_frame_is_the_source_frame_nearest_in_time(source_fps):
    n = 97
    idx = rate_indices(n, source_fps, 25.0)
    if source_fps in (25.0,):
        assert (idx == np.arange(n)).all()
        return
    times = np.arange(len(idx)) / 25.0
    assert np.abs(idx / source_fps - times).max() <= 0.5 / source_fps + 1e-9
    assert abs(len(idx) - n * 25.0 / source_fps) <= 1
    # a stream deciding frame by frame repeats exactly these frames
    assert (np.repeat(np.arange(n), [frame_repeats(i, source_fps, 25.0) for i in range(n)]) == idx).all()


def rate_copy(video: Path, out: Path, fps: float) -> Path:
    """`video` re-encoded at `fps`: the same scene over the same time, frames dropped or repeated."""
    import cv2

    capture = cv2.VideoCapture(str(video))
    frames = []
    while True:
        ok, frame = capture.read()
        if not ok:
            break
        frames.append(frame)
    source_fps = capture.get(cv2.CAP_PROP_FPS)
    capture.release()
    h, w = frames[0].shape[:2]
    writer = cv2.VideoWriter(str(out), cv2.VideoWriter_fourcc(*"mp4v"), fps, (w, h))
    for i in rate_indices(len(frames), source_fps, fps):
        writer.write(frames[i])
    writer.release()
    return out


@pytest.mark.slow
def test_a_clip_at_15_30_and_60_fps_reads_the_same(tmp_path, signclip_home):
    from signclip.runtime.recognition.engine import Engine

    engine = Engine()
    for name in ("asl_soup.mp4", "asl_letter_C.mp4"):
        original = VIDEOS / name
        copies = [rate_copy(original, tmp_path / f"{fps:g}-{name}", fps) for fps in (15.0, 30.0, 60.0)]
        clips = [engine.read(p) for p in (original, *copies)]
        assert {c.fps for c in clips} == {engine.bundle.fps}     # every copy at the model's rate
        assert max(c.num_frames for c in clips) - min(c.num_frames for c in clips) <= 2
        embeddings = engine.embed_clips(clips)
        cosines = embeddings[1:] @ embeddings[0]
        tops = [engine.lookup_embedding(e, 1, "ase")[0].label for e in embeddings]
        print(name, "cosine to the original at 15, 30, 60 fps:", np.round(cosines, 4), tops)
        assert cosines.min() >= 0.99 and len(set(tops)) == 1
