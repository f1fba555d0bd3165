"""The Signs tab: the top matches of the last sign or photo, and the recent ones."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Slot
from PySide6.QtWidgets import QLabel, QListWidget, QVBoxLayout, QWidget

from .engine_service import PhotoLookup
from .recognition import Recognition
from .sign_player import SignPlayer
from .tables import add_to_history, fill_results, results_table


class SignsTab(QWidget):
    """The top-`k` table of the last recognition and the history of recent ones."""

    def __init__(self, k: int, parent: QWidget | None = None):
        super().__init__(parent)
        self.results = results_table(k, ("Sign", "Language", "Score"))
        self.history = QListWidget()
        self.player = SignPlayer()   # how the top match is signed: compare your signing with it
        v = QVBoxLayout(self)
        v.addWidget(QLabel("Last sign: top matches"))
        v.addWidget(self.results)
        v.addWidget(QLabel("How the top match is signed"))
        v.addWidget(self.player)
        v.addWidget(QLabel("Recent signs"))
        v.addWidget(self.history, 1)

    def _fill(self, matches) -> None:
        fill_results(self.results, [(m.label, m.language or "any", f"{m.score:.3f}") for m in matches])

    @Slot(Recognition)
    def show_recognition(self, r: Recognition) -> None:
        self._fill(r.matches)
        best = f"{r.matches[0].label} ({r.matches[0].score:.2f})" if r.matches else "(no shoulders seen)"
        add_to_history(self.history, f"{r.start_s:6.1f}-{r.end_s:5.1f} s   {best}")

    @Slot(PhotoLookup)
    def show_photo(self, photo: PhotoLookup) -> None:
        self._fill(photo.matches)
        best = f"{photo.matches[0].label} ({photo.matches[0].score:.2f})" if photo.matches else "(none)"
        self.history.insertItem(0, f"photo {Path(photo.path).name}   {best}")
