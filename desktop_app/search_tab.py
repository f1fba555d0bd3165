"""The Search tab: signs found for a typed word."""

from __future__ import annotations

from PySide6.QtCore import Signal, Slot
from PySide6.QtWidgets import QHBoxLayout, QLabel, QLineEdit, QPushButton, QVBoxLayout, QWidget

from .sign_player import SignPlayer
from .tables import fill_results, results_table


class SearchTab(QWidget):
    """A search line whose text goes out in `search_requested`; `show_matches` fills the table."""

    search_requested = Signal(str)

    def __init__(self, k: int, parent: QWidget | None = None):
        super().__init__(parent)
        self.box = QLineEdit(placeholderText="a word, e.g. house")
        self.box.returnPressed.connect(self.search)
        self.results = results_table(k, ("Sign", "Language", "Score", "Text"))
        self.status = QLabel()
        self.player = SignPlayer()   # how the first match is signed, from the bundle's reference clip
        row = QHBoxLayout()
        row.addWidget(self.box, 1)
        row.addWidget(QPushButton("Search", clicked=self.search))
        v = QVBoxLayout(self)
        v.addLayout(row)
        v.addWidget(self.results)
        v.addWidget(self.status)
        v.addWidget(self.player)
        v.addStretch(1)

    @Slot()
    def search(self) -> None:
        text = self.box.text().strip()
        if text:
            self.status.setText("searching…")
            self.search_requested.emit(text)

    @Slot(str, list)
    def show_matches(self, text: str, matches: list) -> None:
        fill_results(self.results, [(m.label, m.language or "any", f"{m.score:.3f}", m.text)
                                    for m in matches])
        self.status.setText(f"{len(matches)} matches for '{text}'")

    @Slot(str)
    def failed(self, message: str) -> None:
        self.status.setText(message)
