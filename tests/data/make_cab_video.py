"""Make `videos/asl_letters_CAB.mp4`: the letter videos C, A, B joined the way a person spells at a camera.

Each letter video starts with the hands resting in the lap, raises the right hand and holds the
letter to the end (measured with MediaPipe: the right wrist is 1.5-1.65 shoulder widths below the
shoulders at rest and 0.2-0.45 shoulder widths *above* them while the letter is held). None of them
drops the hand again, so each letter here is followed by its own raise played backwards (a drop back
to the lap, continuous with the hold), and the long holds are cut to about 1.2 s. Frames are halved
to 540x960, at the originals' 30 fps. Run from the repository root:

    python tests/data/make_cab_video.py
"""

from __future__ import annotations

from pathlib import Path

import cv2

VIDEOS = Path(__file__).resolve().parent / "videos"
OUT = VIDEOS / "asl_letters_CAB.mp4"
SIZE = (540, 960)  # (width, height): half of the originals' 1080x1920
HOLD = 36          # frames of the held letter kept after the hand arrives
# letter: (first frame of the raise, first frame of the hold), read off the wrist height per frame
LETTERS = {"C": (18, 39), "A": (15, 39), "B": (42, 60)}
DROP_TO = 6        # the drop ends this many frames before the raise began: back in the lap


def read_frames(path: Path) -> list:
    capture = cv2.VideoCapture(str(path))
    frames = []
    while True:
        ok, bgr = capture.read()
        if not ok:
            break
        frames.append(cv2.resize(bgr, SIZE, interpolation=cv2.INTER_AREA))
    capture.release()
    return frames


def letter_frames(letter: str) -> list:
    """Rest, raise, hold (cut to HOLD frames), then the raise backwards (the drop)."""
    frames = read_frames(VIDEOS / f"asl_letter_{letter}.mp4")
    rise, hold = LETTERS[letter]
    return frames[:hold + HOLD] + frames[hold - 1:rise - DROP_TO - 1:-1]


def main() -> None:
    writer = cv2.VideoWriter(str(OUT), cv2.VideoWriter_fourcc(*"mp4v"), 30.0, SIZE)
    count = 0
    for letter in "CAB":
        for frame in letter_frames(letter):
            writer.write(frame)
            count += 1
    writer.release()
    print(f"{OUT}: {count} frames, {SIZE[0]}x{SIZE[1]} at 30 fps")


if __name__ == "__main__":
    main()
