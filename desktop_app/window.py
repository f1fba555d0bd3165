"""The main window: video with skeleton, top-5 and history, language filter, readouts, teach, search
and Spell mode (fingerspelled letters typed into a line).

The window only paints and forwards requests: every computation runs in the workers of
`signclip.app.pipeline` and reaches the window through their signals.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
from PySide6.QtCore import QLineF, QRectF, Qt, QTimer, Signal, Slot
from PySide6.QtGui import QAction, QColor, QImage, QPainter, QPen
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QFrame,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QListWidget,
    QMainWindow,
    QPushButton,
    QSpinBox,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QToolBar,
    QVBoxLayout,
    QWidget,
)

from signclip.runtime.errors import SignclipError
from signclip.runtime.pose.layouts import HOLISTIC_576
from signclip.runtime.recognition.spelling import Letter, WordEnd
from signclip.runtime.vocabulary.personal import LABEL_MAX, clean_label

from .engine_service import LockedEngine, PhotoLookup, PhotoTeach, TeachExamples, TeachRequest
from .frames import PosedFrame, SourceInfo, SourceSpec
from .overlay import COLORS, skeleton, visible_segments
from .pipeline import Pipeline
from .recognition import Recognition, Stats

ALL_LANGUAGES = "All languages"
VIDEO_FILTER = "Videos (*.mp4 *.mov *.avi *.mkv *.webm *.m4v *.mpg *.mpeg);;All files (*)"
IMAGE_FILTER = "Photos (*.jpg *.jpeg *.png *.bmp *.webp);;All files (*)"
HISTORY_SIZE = 50


class VideoView(QWidget):
    """Paints the newest frame, scaled to fit, with the skeleton of that same frame on top."""

    def __init__(self, parent=None):
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


class MainWindow(QMainWindow):
    """The app's window over one `Pipeline`; `choose_video` and `choose_photos` ask for files (tests
    replace them)."""

    search_requested = Signal(str)
    photo_requested = Signal(str)
    teach_photos_requested = Signal(PhotoTeach)
    teach_requested = Signal(TeachExamples)
    forget_requested = Signal(str, str)
    signs_requested = Signal()

    def __init__(self, engine: LockedEngine, spec: SourceSpec | None = None, *, k: int = 5,
                 choose_video: Callable[[], str | None] | None = None, countdown_s: int = 3,
                 pipeline: Pipeline | None = None, choose_photos: Callable[[], list] | None = None):
        super().__init__()
        self.setWindowTitle("SignCLIP")
        self.resize(1180, 720)
        self.engine, self.k = engine, k
        self.pipeline = pipeline or Pipeline(engine, k=k, normalization=engine.engine.bundle.normalization)
        self.choose_video = choose_video or self._ask_for_video
        self.choose_photos = choose_photos or self._ask_for_photos
        self.countdown_s = countdown_s
        self.spec: SourceSpec | None = None
        self.recognitions: list = []
        self.photos: list = []
        self.closed_cleanly: bool | None = None
        self._countdown_left = 0
        self._pending_request: TeachRequest | None = None
        self._build()
        self._connect_service()
        self.signs_requested.emit()
        warning = engine.personal_warning()  # an unreadable vocabulary: recognition goes on without it
        if warning:
            self.teach_status.setText(warning)
        if spec is not None:
            self.open_source(spec)

    # ------------------------------------------------------------ layout

    def _build(self) -> None:
        bar = QToolBar("Source")
        self.addToolBar(bar)
        self.open_action = QAction("Open video…", self, triggered=self.open_video)
        self.photo_action = QAction("Open photo…", self, triggered=self.open_photo)
        self.camera_action = QAction("Camera 0", self, triggered=lambda: self.open_source(
            SourceSpec(0, loop=self.loop_action.isChecked())))
        self.loop_action = QAction("Loop video", self, checkable=True, checked=True)
        for action in (self.open_action, self.photo_action, self.camera_action, self.loop_action):
            bar.addAction(action)

        self.banner = QFrame()
        self.banner.setStyleSheet("QFrame { background: #fff3cd; } QLabel { color: #664d03; }")
        self.banner_text = QLabel()
        self.banner_text.setWordWrap(True)
        self.banner_open = QPushButton("Open video…", clicked=self.open_video)
        self.banner_retry = QPushButton("Retry", clicked=self.retry)
        row = QHBoxLayout(self.banner)
        row.addWidget(self.banner_text, 1)
        row.addWidget(self.banner_open)
        row.addWidget(self.banner_retry)
        self.banner.hide()

        self.view = VideoView()
        self.indicator = QLabel()
        self.readouts = QLabel("waiting for frames")
        self.readouts.setStyleSheet("font-family: monospace;")
        self._set_indicator(False)
        under = QHBoxLayout()
        under.addWidget(self.indicator)
        under.addWidget(self.readouts, 1)
        left = QWidget()
        lv = QVBoxLayout(left)
        lv.addWidget(self.view, 1)
        lv.addLayout(under)

        self.language = QComboBox()
        self.language.addItem(ALL_LANGUAGES)
        for lang in self.engine.languages():
            self.language.addItem(lang)
        self.language.currentTextChanged.connect(self._language_changed)
        self.tabs = QTabWidget()
        self.tabs.addTab(self._signs_tab(), "Signs")
        self.tabs.addTab(self._teach_tab(), "Teach")
        self.tabs.addTab(self._search_tab(), "Search")
        self.spell_tab = self._spell_tab()
        self.tabs.addTab(self.spell_tab, "Spell")
        self.tabs.currentChanged.connect(self._tab_changed)
        right = QWidget()
        form = QFormLayout()
        form.addRow("Sign language", self.language)
        rv = QVBoxLayout(right)
        rv.addLayout(form)
        rv.addWidget(self.tabs, 1)

        split = QSplitter()
        split.addWidget(left)
        split.addWidget(right)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 2)
        central = QWidget()
        cv = QVBoxLayout(central)
        cv.addWidget(self.banner)
        cv.addWidget(split, 1)
        self.setCentralWidget(central)

    def _signs_tab(self) -> QWidget:
        self.results = results_table(self.k, ("Sign", "Language", "Score"))
        self.history = QListWidget()
        tab = QWidget()
        v = QVBoxLayout(tab)
        v.addWidget(QLabel("Last sign: top matches"))
        v.addWidget(self.results)
        v.addWidget(QLabel("Recent signs"))
        v.addWidget(self.history, 1)
        return tab

    def _teach_tab(self) -> QWidget:
        self.teach_label = QLineEdit(placeholderText="label, e.g. hello", maxLength=LABEL_MAX)
        self.teach_count = QSpinBox(minimum=1, maximum=20, value=3)
        self.teach_mode = QComboBox()
        self.teach_mode.addItems(["one recognized sign", "fixed length"])
        self.teach_seconds = QDoubleSpinBox(minimum=0.3, maximum=10.0, value=2.0, suffix=" s")
        self.teach_button = QPushButton("Record", clicked=self.start_teaching)
        self.teach_photos_button = QPushButton("From photos…", clicked=self.teach_from_photos)
        self.teach_status = QLabel("Type a label, then record examples.")
        self.teach_status.setWordWrap(True)
        self.personal = QListWidget()
        self.forget_button = QPushButton("Delete selected sign", clicked=self.forget_selected)
        tab = QWidget()
        form = QFormLayout()
        form.addRow("Label", self.teach_label)
        form.addRow("Examples", self.teach_count)
        form.addRow("Each example", self.teach_mode)
        form.addRow("Length", self.teach_seconds)
        v = QVBoxLayout(tab)
        v.addLayout(form)
        row = QHBoxLayout()
        row.addWidget(self.teach_button)
        row.addWidget(self.teach_photos_button)
        v.addLayout(row)
        v.addWidget(self.teach_status)
        v.addWidget(QLabel("Your signs"))
        v.addWidget(self.personal, 1)
        v.addWidget(self.forget_button)
        return tab

    def _search_tab(self) -> QWidget:
        self.search_box = QLineEdit(placeholderText="a word, e.g. house")
        self.search_box.returnPressed.connect(self.search)
        self.search_results = results_table(self.k, ("Sign", "Language", "Score", "Text"))
        self.search_status = QLabel()
        tab = QWidget()
        v = QVBoxLayout(tab)
        row = QHBoxLayout()
        row.addWidget(self.search_box, 1)
        row.addWidget(QPushButton("Search", clicked=self.search))
        v.addLayout(row)
        v.addWidget(self.search_results)
        v.addWidget(self.search_status)
        v.addStretch(1)
        return tab

    def _spell_tab(self) -> QWidget:
        """Spell mode (on while this tab is shown): each letter read is typed at the end of the line,
        a space when the hand drops."""
        self.spell_line = QLineEdit(placeholderText="fingerspell: letters appear here")
        self.spell_line.setStyleSheet("font-size: 20pt; font-family: monospace;")
        self.spell_status = QLabel("Hold each letter briefly; drop the hand to end a word.")
        self.spell_status.setWordWrap(True)
        self.spell_history = QListWidget()
        row = QHBoxLayout()
        row.addWidget(QPushButton("Backspace", clicked=self.spell_backspace))
        row.addWidget(QPushButton("Clear", clicked=self.spell_line.clear))
        tab = QWidget()
        v = QVBoxLayout(tab)
        v.addWidget(self.spell_line)
        v.addLayout(row)
        v.addWidget(self.spell_status)
        v.addWidget(QLabel("Letters read"))
        v.addWidget(self.spell_history, 1)
        return tab

    def _connect_service(self) -> None:
        service = self.pipeline.service
        self.search_requested.connect(service.search)
        self.photo_requested.connect(service.look_up_photo)
        self.teach_photos_requested.connect(service.teach_photos)
        service.photo.connect(self._photo)
        self.teach_requested.connect(service.teach)
        self.forget_requested.connect(service.forget)
        self.signs_requested.connect(service.list_signs)
        self.tabs.currentChanged.connect(lambda _: self.signs_requested.emit())  # taught elsewhere too
        service.searched.connect(self._searched)
        service.taught.connect(self._taught)
        service.signs.connect(self._signs)
        service.failed.connect(self._service_failed)

    # ------------------------------------------------------------ source

    def open_source(self, spec: SourceSpec) -> None:
        """Stop the current source (if any) and start `spec`."""
        self.spec = spec
        self.banner.hide()
        self.view.clear(f"opening {spec.name}…")
        p = self.pipeline
        p.open(spec)
        p.capture.opened.connect(self._opened)
        p.capture.failed.connect(self._source_failed)
        p.capture.lost.connect(self._source_lost)
        p.capture.ended.connect(self._ended)
        p.pose.posed.connect(self._posed)
        p.pose.failed.connect(self._source_failed)
        p.recognition.recognized.connect(self._recognized)
        p.recognition.capturing.connect(self._set_indicator)
        p.recognition.stats.connect(self._stats)
        p.recognition.recording.connect(self._recording)
        p.recognition.recorded.connect(self.teach_requested)
        p.recognition.failed.connect(self._source_failed)
        p.recognition.spelled.connect(self._spelled)
        p.start()

    def _ask_for_video(self) -> str | None:
        path, _ = QFileDialog.getOpenFileName(self, "Open a video", "", VIDEO_FILTER)
        return path or None

    def _ask_for_photos(self) -> list:
        paths, _ = QFileDialog.getOpenFileNames(self, "Open photos", "", IMAGE_FILTER)
        return list(paths)

    @Slot()
    def open_photo(self) -> None:
        """Stop the video or camera and look up one photo (MediaPipe runs off the UI thread)."""
        paths = self.choose_photos()
        if not paths:
            return
        self.pipeline.stop_source()
        self.spec = None
        self.banner.hide()
        self.view.clear(f"reading {paths[0]}…")
        self.photo_requested.emit(str(paths[0]))

    @Slot(PhotoLookup)
    def _photo(self, photo: PhotoLookup) -> None:
        self.photos.append(photo)
        self.view.set_frame(PosedFrame(0, 0, 0.0, photo.rgb, photo.keypoints, photo.mask, 0.0, 0, 0.0, 0.0))
        fill_results(self.results, [(m.label, m.language or "any", f"{m.score:.3f}") for m in photo.matches])
        best = f"{photo.matches[0].label} ({photo.matches[0].score:.2f})" if photo.matches else "(none)"
        self.history.insertItem(0, f"photo {Path(photo.path).name}   {best}")
        self.statusBar().showMessage(f"{photo.path}: {photo.rgb.shape[1]}x{photo.rgb.shape[0]} photo")

    @Slot()
    def open_video(self) -> None:
        path = self.choose_video()
        if path:
            self.open_source(SourceSpec(str(path), loop=self.loop_action.isChecked()))

    @Slot()
    def retry(self) -> None:
        if self.spec is not None:
            self.open_source(self.spec)

    def show_banner(self, text: str, *, offer_video: bool, offer_retry: bool,
                    retry_text: str = "Retry") -> None:
        self.banner_text.setText(text)
        self.banner_open.setVisible(offer_video)
        self.banner_retry.setText(retry_text)
        self.banner_retry.setVisible(offer_retry)
        self.banner.show()

    @Slot(SourceInfo)
    def _opened(self, info: SourceInfo) -> None:
        self.banner.hide()
        self.statusBar().showMessage(f"{info.name}: {info.width}x{info.height} at {info.fps:.1f} FPS")

    @Slot(str)
    def _source_failed(self, message: str) -> None:
        camera = self.spec is not None and self.spec.is_camera
        hint = " Open a video file instead?" if camera else ""
        self.show_banner(message + hint, offer_video=True, offer_retry=True)
        self.view.clear("no video")

    @Slot(str)
    def _source_lost(self, message: str) -> None:
        self.show_banner(message, offer_video=True, offer_retry=False)

    @Slot()
    def _ended(self) -> None:
        self.show_banner("The video ended.", offer_video=True, offer_retry=True, retry_text="Play again")

    # ------------------------------------------------------------ pipeline output

    @Slot(PosedFrame)
    def _posed(self, frame: PosedFrame) -> None:
        self.view.set_frame(frame)
        self.pipeline.gate.done()  # the next frame may come; update() coalesces repaints

    @Slot(Recognition)
    def _recognized(self, r: Recognition) -> None:
        self.recognitions.append(r)
        fill_results(self.results, [(m.label, m.language or "any", f"{m.score:.3f}") for m in r.matches])
        best = f"{r.matches[0].label} ({r.matches[0].score:.2f})" if r.matches else "(no shoulders seen)"
        self.history.insertItem(0, f"{r.start_s:6.1f}-{r.end_s:5.1f} s   {best}")
        while self.history.count() > HISTORY_SIZE:
            self.history.takeItem(self.history.count() - 1)

    @Slot(bool)
    def _set_indicator(self, on: bool) -> None:
        self.capturing = on
        self.indicator.setText("● capturing sign" if on else "○ waiting for a sign")
        self.indicator.setStyleSheet("color: #d00; font-weight: bold;" if on else "color: #888;")

    @Slot(Stats)
    def _stats(self, s: Stats) -> None:
        self.last_stats = s
        self.readouts.setText(
            f"{s.fps:5.1f} FPS | MediaPipe {s.mediapipe_ms:5.1f} ms | norm+seg {s.segment_us:6.1f} µs | "
            f"encoder {s.encode_ms:5.1f} ms | lookup {s.lookup_ms:5.2f} ms | "
            f"dropped {s.dropped_capture}/{s.dropped_recognition}")

    @Slot(str)
    def _language_changed(self, text: str) -> None:
        self.pipeline.language = None if text == ALL_LANGUAGES else text

    # ------------------------------------------------------------ spell

    @Slot(int)
    def _tab_changed(self, index: int) -> None:
        self.pipeline.spelling = self.tabs.widget(index) is self.spell_tab

    @Slot(object)
    def _spelled(self, event) -> None:
        line = self.spell_line
        if isinstance(event, Letter):
            line.end(False)
            line.insert(event.letter)
            self.spell_status.setText(f"{event.letter}   score {event.score:.2f}")
            self.spell_history.insertItem(0, f"{event.start_s:6.1f}-{event.end_s:5.1f} s   {event.letter}   "
                                             f"{event.score:.2f}")
            while self.spell_history.count() > HISTORY_SIZE:
                self.spell_history.takeItem(self.spell_history.count() - 1)
        elif isinstance(event, WordEnd) and line.text() and not line.text().endswith(" "):
            line.end(False)
            line.insert(" ")
            self.spell_status.setText(f"word: {event.word}")

    @Slot()
    def spell_backspace(self) -> None:
        self.spell_line.end(False)
        self.spell_line.backspace()

    # ------------------------------------------------------------ teach

    def _label(self) -> str | None:
        """The label typed, checked before anything is recorded or read; None (said why) if refused."""
        if not self.teach_label.text().strip():
            self.teach_status.setText("Type a label first.")
            return None
        try:
            return clean_label(self.teach_label.text())
        except SignclipError as e:
            self.teach_status.setText(str(e))
            return None

    @Slot()
    def start_teaching(self) -> None:
        label = self._label()
        if label is None:
            return
        seconds = self.teach_seconds.value() if self.teach_mode.currentIndex() == 1 else None
        self._pending_request = TeachRequest(label, self.teach_count.value(), self.pipeline.language, seconds)
        self._countdown_left = self.countdown_s
        self.teach_button.setEnabled(False)
        self._countdown()

    def _countdown(self) -> None:
        if self._countdown_left > 0:
            self.teach_status.setText(f"Get ready: recording in {self._countdown_left}…")
            self._countdown_left -= 1
            QTimer.singleShot(1000, self._countdown)
            return
        request = self._pending_request
        if request is None or self.pipeline.recognition is None:
            self.teach_button.setEnabled(True)
            return
        self.pipeline.recognition.record(request)
        what = "sign" if request.seconds is None else f"{request.seconds:g} s"
        self.teach_status.setText(
            f"Recording {request.count} examples of '{request.label}' (one {what} each)…")

    @Slot()
    def teach_from_photos(self) -> None:
        label = self._label()
        if label is None:
            return
        paths = self.choose_photos()
        if paths:
            self.teach_button.setEnabled(False)
            self.teach_status.setText(f"Reading {len(paths)} photo(s) of '{label}'…")
            request = PhotoTeach(label, self.pipeline.language, tuple(map(str, paths)))
            self.teach_photos_requested.emit(request)

    @Slot(int, int)
    def _recording(self, done: int, total: int) -> None:
        if done:
            self.teach_status.setText(f"Recorded {done} of {total} examples.")

    @Slot(str, int)
    def _taught(self, label: str, count: int) -> None:
        self.teach_button.setEnabled(True)
        self.teach_status.setText(f"Learned '{label}' ({count} examples): it is searchable now.")

    @Slot(list)
    def _signs(self, signs: list) -> None:
        self.personal_signs = signs
        self.personal.clear()
        for label, language, count in signs:
            self.personal.addItem(f"{label}   [{language or 'any'}]   {count} examples")

    @Slot()
    def forget_selected(self) -> None:
        row = self.personal.currentRow()
        if 0 <= row < len(getattr(self, "personal_signs", [])):
            label, language, _ = self.personal_signs[row]
            self.forget_requested.emit(label, language)

    # ------------------------------------------------------------ search

    @Slot()
    def search(self) -> None:
        text = self.search_box.text().strip()
        if text:
            self.search_status.setText("searching…")
            self.search_requested.emit(text)

    @Slot(str, list)
    def _searched(self, text: str, matches: list) -> None:
        self.search_matches = matches
        fill_results(self.search_results, [(m.label, m.language or "any", f"{m.score:.3f}", m.text)
                                           for m in matches])
        self.search_status.setText(f"{len(matches)} matches for '{text}'")

    @Slot(str)
    def _service_failed(self, message: str) -> None:
        self.teach_button.setEnabled(True)
        self.search_status.setText(message)
        self.teach_status.setText(message)

    # ------------------------------------------------------------ close

    def closeEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        self._pending_request = None
        self.closed_cleanly = self.pipeline.stop(timeout_s=5.0)
        super().closeEvent(event)


def results_table(rows: int, headers: tuple) -> QTableWidget:
    table = QTableWidget(rows, len(headers))
    table.setHorizontalHeaderLabels(list(headers))
    table.verticalHeader().setVisible(False)
    table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
    return table


def fill_results(table: QTableWidget, rows: list) -> None:
    table.clearContents()
    for r, values in enumerate(rows[: table.rowCount()]):
        for c, value in enumerate(values):
            table.setItem(r, c, QTableWidgetItem(str(value)))
