"""The Teach tab: record examples of a new sign (after a countdown) or read them from photos, and
list or delete the signs taught."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QTimer, Signal, Slot
from PySide6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from signclip.runtime.errors import SignclipError
from signclip.runtime.vocabulary.personal import LABEL_MAX, clean_label

from .engine_service import PhotoTeach, TeachRequest
from .pipeline import Pipeline


class TeachTab(QWidget):
    """Teaching on `pipeline`: recordings go to its recognition worker, photos and deletions out in
    `teach_photos_requested` and `forget_requested`."""

    teach_photos_requested = Signal(PhotoTeach)
    forget_requested = Signal(str, str)

    def __init__(self, pipeline: Pipeline, choose_photos: Callable[[], list], countdown_s: int,
                 parent: QWidget | None = None):
        super().__init__(parent)
        self.pipeline, self.choose_photos, self.countdown_s = pipeline, choose_photos, countdown_s
        self.pending: TeachRequest | None = None
        self.signs: list = []   # (label, language, examples), in the order of `signs_list`
        self.pack_signs: list = []  # (pack, label, language, examples), listed after them
        self._countdown_left = 0
        self.label = QLineEdit(placeholderText="label, e.g. hello", maxLength=LABEL_MAX)
        self.count = QSpinBox(minimum=1, maximum=20, value=3)
        self.mode = QComboBox()
        self.mode.addItems(["one recognized sign", "fixed length"])
        self.seconds = QDoubleSpinBox(minimum=0.3, maximum=10.0, value=2.0, suffix=" s")
        self.record_button = QPushButton("Record", clicked=self.start_teaching)
        self.photos_button = QPushButton("From photos…", clicked=self.teach_from_photos)
        self.status = QLabel("Type a label, then record examples.")
        self.status.setWordWrap(True)
        self.signs_list = QListWidget()
        self.forget_button = QPushButton("Delete selected sign", clicked=self.forget_selected)
        form = QFormLayout()
        form.addRow("Label", self.label)
        form.addRow("Examples", self.count)
        form.addRow("Each example", self.mode)
        form.addRow("Length", self.seconds)
        row = QHBoxLayout()
        row.addWidget(self.record_button)
        row.addWidget(self.photos_button)
        v = QVBoxLayout(self)
        v.addLayout(form)
        v.addLayout(row)
        v.addWidget(self.status)
        v.addWidget(QLabel("Your signs"))
        v.addWidget(self.signs_list, 1)
        v.addWidget(self.forget_button)

    def _label(self) -> str | None:
        """The label typed, checked before anything is recorded or read; None (said why) if refused."""
        if not self.label.text().strip():
            self.status.setText("Type a label first.")
            return None
        try:
            return clean_label(self.label.text())
        except SignclipError as e:
            self.status.setText(str(e))
            return None

    @Slot()
    def start_teaching(self) -> None:
        label = self._label()
        if label is None:
            return
        seconds = self.seconds.value() if self.mode.currentIndex() == 1 else None
        self.pending = TeachRequest(label, self.count.value(), self.pipeline.language, seconds)
        self._countdown_left = self.countdown_s
        self.record_button.setEnabled(False)
        self._countdown()

    def _countdown(self) -> None:
        if self._countdown_left > 0:
            self.status.setText(f"Get ready: recording in {self._countdown_left}…")
            self._countdown_left -= 1
            QTimer.singleShot(1000, self._countdown)
            return
        request = self.pending
        if request is None or self.pipeline.recognition is None:  # the window closed, or no source
            self.record_button.setEnabled(True)
            return
        self.pipeline.recognition.record(request)
        what = "sign" if request.seconds is None else f"{request.seconds:g} s"
        self.status.setText(f"Recording {request.count} examples of '{request.label}' (one {what} each)…")

    @Slot()
    def teach_from_photos(self) -> None:
        label = self._label()
        if label is None:
            return
        paths = self.choose_photos()
        if paths:
            self.record_button.setEnabled(False)
            self.status.setText(f"Reading {len(paths)} photo(s) of '{label}'…")
            request = PhotoTeach(label, self.pipeline.language, tuple(map(str, paths)))
            self.teach_photos_requested.emit(request)

    @Slot(int, int)
    def show_progress(self, done: int, total: int) -> None:
        if done:
            self.status.setText(f"Recorded {done} of {total} examples.")

    @Slot(str, int)
    def taught(self, label: str, count: int) -> None:
        self.record_button.setEnabled(True)
        self.status.setText(f"Learned '{label}' ({count} examples): it is searchable now.")

    @Slot(list)
    def show_signs(self, signs: list) -> None:
        self.signs = signs
        self._list()

    @Slot(list)
    def show_pack_signs(self, signs: list) -> None:
        """The signs of the vocabulary packs, (pack, label, language, examples): listed after the
        user's own, found by every lookup, changed with `signclip pack`."""
        self.pack_signs = signs
        self._list()

    def _list(self) -> None:
        self.signs_list.clear()
        for label, language, count in self.signs:
            self.signs_list.addItem(f"{label}   [{language or 'any'}]   {count} examples")
        for pack, label, language, count in self.pack_signs:
            self.signs_list.addItem(f"{label}   [{language or 'any'}]   {count} examples, pack {pack}")

    @Slot()
    def forget_selected(self) -> None:
        row = self.signs_list.currentRow()
        if 0 <= row < len(self.signs):
            label, language, _ = self.signs[row]
            self.forget_requested.emit(label, language)
        elif 0 <= row - len(self.signs) < len(self.pack_signs):
            pack, label, _, _ = self.pack_signs[row - len(self.signs)]
            self.status.setText(f"'{label}' belongs to the pack {pack}: `signclip pack remove {pack} "
                                f"{label}` removes it.")

    @Slot(str)
    def failed(self, message: str) -> None:
        self.record_button.setEnabled(True)
        self.status.setText(message)
