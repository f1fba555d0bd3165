"""Make `photos/`: still photos cut from the letter video C, the way a user would photograph a sign.

- `asl_letter_C_frame.jpg`: frame 90 of `videos/asl_letter_C.mp4` (the letter held, whole signer),
  halved to 540x960, JPEG quality 90;
- `asl_letter_C_hand.jpg`: the same frame cropped around the right hand (a close-up: no shoulders
  in the picture, so only MediaPipe's Hands solution finds the hand).

Run from the repository root:

    python tests/data/make_photos.py
"""

from __future__ import annotations

from pathlib import Path

import cv2

DATA = Path(__file__).resolve().parent
FRAME = 90
HAND_BOX = (130, 420, 540, 860)  # x0, y0, x1, y1 in the full 1080x1920 frame: the held C


def main() -> None:
    capture = cv2.VideoCapture(str(DATA / "videos" / "asl_letter_C.mp4"))
    capture.set(cv2.CAP_PROP_POS_FRAMES, FRAME)
    ok, frame = capture.read()
    capture.release()
    if not ok:
        raise SystemExit("cannot read the letter video")
    out = DATA / "photos"
    out.mkdir(exist_ok=True)
    half = cv2.resize(frame, (frame.shape[1] // 2, frame.shape[0] // 2), interpolation=cv2.INTER_AREA)
    cv2.imwrite(str(out / "asl_letter_C_frame.jpg"), half, [cv2.IMWRITE_JPEG_QUALITY, 90])
    x0, y0, x1, y1 = HAND_BOX
    cv2.imwrite(str(out / "asl_letter_C_hand.jpg"), frame[y0:y1, x0:x1], [cv2.IMWRITE_JPEG_QUALITY, 90])


if __name__ == "__main__":
    main()
