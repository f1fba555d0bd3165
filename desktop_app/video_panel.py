"""The video side of the window: the newest frame with its own skeleton, the capturing indicator and
the pipeline readouts under it."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QLineF, QRectF, Qt, Slot
from PySide6.QtGui import QColor, QImage, QPainter, QPen
from PySide6.QtWidgets import QHBoxLayout, QLabel, QVBoxLayout, QWidget

from signclip.runtime.pose.layouts import HOLISTIC_576

from .frames import PosedFrame
from .overlay import COLORS, skeleton, visible_segments
from .recognition import Stats


class VideoView(QWidget):
    """Paints the newest frame, scaled to fit, with the skeleton of that same frame on top."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setMinimumSize(320, 240)
        self.skeleton = skeleton(HOLISTIC_576)
        self.frame: PosedFrame | None = None
        self._image: QImage | None = None
        self.painted_index = -1   # frame index of the image last painted
        self.overlay_index = -1   # frame index of the keypoints last painted
        self.paints = 0
        self.placeholder = "No video"

    def set_frame(self, frame: PosedFrame) -> None:
        rgb = np.ascontiguousarray(frame.rgb)
        h, w = rgb.shape[:2]
        # QImage borrows the buffer: keep the frame (and its array) alive with it
        self._image = QImage(rgb.data, w, h, 3 * w, QImage.Format.Format_RGB888)
        self.frame = frame
        self.update()

    def clear(self, placeholder: str) -> None:
        self.frame, self._image, self.placeholder = None, None, placeholder
        self.update()

    def paintEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        painter = QPainter(self)
        painter.fillRect(self.rect(), QColor(20, 20, 20))
        frame, image = self.frame, self._image
        if frame is None or image is None:
            painter.setPen(QColor(180, 180, 180))
            painter.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, self.placeholder)
            return
        w, h = image.width(), image.height()
        scale = min(self.width() / w, self.height() / h)
        target = QRectF((self.width() - w * scale) / 2, (self.height() - h * scale) / 2, w * scale, h * scale)
        painter.drawImage(target, image)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        offset = np.array([target.x(), target.y(), target.x(), target.y()])
        for part, edges in self.skeleton.parts.items():
            segments = visible_segments(frame.keypoints, frame.mask, edges) * scale + offset  # (S, 4)
            if len(segments) == 0:
                continue
            painter.setPen(QPen(QColor(*COLORS[part]), 1.2 if part == "face" else 2.0))
            painter.drawLines([QLineF(*s) for s in segments.tolist()])
        self.painted_index = self.overlay_index = frame.index
        self.paints += 1


class VideoPanel(QWidget):
    """The `VideoView` above a line with the capturing indicator and the readouts."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.view = VideoView()
        self.indicator = QLabel()
        self.readouts = QLabel("waiting for frames")
        self.readouts.setStyleSheet("font-family: monospace;")
        under = QHBoxLayout()
        under.addWidget(self.indicator)
        under.addWidget(self.readouts, 1)
        v = QVBoxLayout(self)
        v.addWidget(self.view, 1)
        v.addLayout(under)

    @Slot(bool)
    def show_capturing(self, on: bool) -> None:
        self.indicator.setText("● capturing sign" if on else "○ waiting for a sign")
        self.indicator.setStyleSheet("color: #d00; font-weight: bold;" if on else "color: #888;")

    @Slot(Stats)
    def show_stats(self, s: Stats) -> None:
        self.readouts.setText(
            f"{s.fps:5.1f} FPS | MediaPipe {s.mediapipe_ms:5.1f} ms | norm+seg {s.segment_us:6.1f} µs | "
            f"encoder {s.encode_ms:5.1f} ms | lookup {s.lookup_ms:5.2f} ms | "
            f"dropped {s.dropped_capture}/{s.dropped_recognition}")
