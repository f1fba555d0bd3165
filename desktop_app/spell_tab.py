"""The Spell tab: fingerspelled letters typed into a line (Spell mode is on while the tab is shown)."""

from __future__ import annotations

from PySide6.QtCore import Slot
from PySide6.QtWidgets import QHBoxLayout, QLabel, QLineEdit, QListWidget, QPushButton, QVBoxLayout, QWidget

from signclip.runtime.recognition.spelling import Letter, WordEnd

from .tables import add_to_history


class SpellTab(QWidget):
    """Each letter read is typed at the end of the line, a space when the hand drops."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.line = QLineEdit(placeholderText="fingerspell: letters appear here")
        self.line.setStyleSheet("font-size: 20pt; font-family: monospace;")
        self.status = QLabel("Hold each letter briefly; drop the hand to end a word.")
        self.status.setWordWrap(True)
        self.history = QListWidget()
        row = QHBoxLayout()
        row.addWidget(QPushButton("Backspace", clicked=self.backspace))
        row.addWidget(QPushButton("Clear", clicked=self.line.clear))
        v = QVBoxLayout(self)
        v.addWidget(self.line)
        v.addLayout(row)
        v.addWidget(self.status)
        v.addWidget(QLabel("Letters read"))
        v.addWidget(self.history, 1)

    @Slot(object)
    def show_event(self, event: Letter | WordEnd) -> None:
        line = self.line
        # typed at the end even if the user moved the cursor: letters arrive in reading order
        if isinstance(event, Letter):
            line.end(False)
            line.insert(event.letter)
            self.status.setText(f"{event.letter}   score {event.score:.2f}")
            add_to_history(self.history, f"{event.start_s:6.1f}-{event.end_s:5.1f} s   {event.letter}   "
                                         f"{event.score:.2f}")
        elif isinstance(event, WordEnd) and line.text() and not line.text().endswith(" "):
            line.end(False)
            line.insert(" ")
            self.status.setText(f"word: {event.word}")

    @Slot()
    def backspace(self) -> None:
        self.line.end(False)
        self.line.backspace()
