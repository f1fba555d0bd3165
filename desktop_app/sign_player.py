"""A widget that plays a sign's reference clip in a loop: how the found word is signed."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt, QTimer, Slot
from PySide6.QtGui import QImage, QPixmap
from PySide6.QtWidgets import QLabel

SIZE = 240  # pixels of the square the sign is shown in


class SignPlayer(QLabel):
    """`play(frames, fps, caption)` shows the frames (RGB [H, W, 3] uint8) one after another, looping."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setFixedSize(SIZE, SIZE)
        self.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.frames: list = []
        self.shown = 0          # frames shown since the last play: tests and the UI read it
        self.caption = ""
        self.timer = QTimer(self)
        self.timer.timeout.connect(self._next)

    def play(self, frames: list, fps: float, caption: str) -> None:
        self.timer.stop()
        self.frames, self.caption, self.shown = list(frames), caption, 0
        self.setToolTip(caption)
        if self.frames:
            self._next()
            self.timer.start(max(1, round(1000 / fps)))

    def show(self, caption: str, frames, fps: float) -> None:
        """Play a sign's reference clip; frames None: the bundle has none of it, say so."""
        if frames:
            self.play(frames, fps, caption)
        else:
            self.stop(f"no reference clip of {caption}")

    def stop(self, message: str = "") -> None:
        self.timer.stop()
        self.frames, self.caption = [], ""
        self.clear()
        self.setText(message)

    @Slot()
    def _next(self) -> None:
        rgb = np.ascontiguousarray(self.frames[self.shown % len(self.frames)])
        h, w = rgb.shape[:2]
        image = QImage(rgb.data, w, h, 3 * w, QImage.Format.Format_RGB888).copy()  # owns its pixels
        self.setPixmap(QPixmap.fromImage(image).scaled(SIZE, SIZE, Qt.AspectRatioMode.KeepAspectRatio,
                                                       Qt.TransformationMode.SmoothTransformation))
        self.shown += 1
