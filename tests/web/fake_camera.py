"""A video as Chromium's fake camera reads it (`--use-file-for-fake-video-capture`): YUV4MPEG2.

Y4M is a header line, then per frame a `FRAME` line and the raw I420 planes; OpenCV decodes the
video and converts each frame to I420 (so no ffmpeg is needed). Chromium plays the file in a loop at
the header's frame rate.
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path


def write_y4m(video, out, slowdown: float = 1.0) -> dict:
    """Every frame of `video` into `out` (.y4m), to be played `slowdown` times slower than recorded;
    returns {frames, width, height, fps} (fps: the recording's)."""
    import cv2

    capture = cv2.VideoCapture(str(video))
    if not capture.isOpened():
        raise ValueError(f"{video}: cannot be opened as a video")
    fps = Fraction(capture.get(cv2.CAP_PROP_FPS) or 30).limit_denominator(1001)
    played = (fps / Fraction(slowdown).limit_denominator(1000)).limit_denominator(1001)
    width, height = int(capture.get(cv2.CAP_PROP_FRAME_WIDTH)), int(capture.get(cv2.CAP_PROP_FRAME_HEIGHT))
    if width % 2 or height % 2:
        raise ValueError(f"{video}: {width}x{height}; I420 needs even sides")
    frames = 0
    tmp = Path(out).with_suffix(".partial")
    with open(tmp, "wb") as f:
        rate = f"F{played.numerator}:{played.denominator}"
        f.write(f"YUV4MPEG2 W{width} H{height} {rate} Ip A1:1 C420jpeg\n".encode())
        while True:
            ok, bgr = capture.read()
            if not ok:
                break
            f.write(b"FRAME\n")
            f.write(cv2.cvtColor(bgr, cv2.COLOR_BGR2YUV_I420).tobytes())  # (H * 3/2, W): Y, U, V planes
            frames += 1
    capture.release()
    tmp.replace(out)
    return {"frames": frames, "width": width, "height": height, "fps": float(fps)}
