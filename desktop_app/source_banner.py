"""The banner over the window when the source fails, is lost or ends: what happened, and what to do."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QWidget


class SourceBanner(QFrame):
    """A message with "Open video…" and a retry button; hidden until `show_message`."""

    open_requested = Signal()
    retry_requested = Signal()

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setStyleSheet("QFrame { background: #fff3cd; } QLabel { color: #664d03; }")
        self.text = QLabel()
        self.text.setWordWrap(True)
        self.open_button = QPushButton("Open video…")
        self.open_button.clicked.connect(self.open_requested)
        self.retry_button = QPushButton("Retry")
        self.retry_button.clicked.connect(self.retry_requested)
        row = QHBoxLayout(self)
        row.addWidget(self.text, 1)
        row.addWidget(self.open_button)
        row.addWidget(self.retry_button)
        self.hide()

    def show_message(self, text: str, *, offer_video: bool, offer_retry: bool,
                     retry_text: str = "Retry") -> None:
        self.text.setText(text)
        self.open_button.setVisible(offer_video)
        self.retry_button.setText(retry_text)
        self.retry_button.setVisible(offer_retry)
        self.show()
