"""The main window: lays out the video, the source banner, the language choice and the tabs
(`signs_tab`, `teach_tab`, `search_tab`, `spell_tab`), opens sources, and routes the pipeline's and
the engine service's signals to the widget that shows them.

Every computation runs in the workers of `signclip.app.pipeline`; the window keeps what came
(recognitions, photos, stats, the last search) for whoever drives it.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Signal, Slot
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QFormLayout,
    QMainWindow,
    QSplitter,
    QTabWidget,
    QToolBar,
    QVBoxLayout,
    QWidget,
)

from .engine_service import PhotoLookup, PhotoTeach, TeachExamples, TeachRequest
from .frames import PosedFrame, SourceInfo, SourceSpec
from .pipeline import Pipeline
from .recognition import Recognition, Stats
from .search_tab import SearchTab
from .signs_tab import SignsTab
from .source_banner import SourceBanner
from .spell_tab import SpellTab
from .teach_tab import TeachTab
from .video_panel import VideoPanel, VideoView

__all__ = ["ALL_LANGUAGES", "MainWindow", "VideoView"]  # VideoView: bench/app.py imports it from here

ALL_LANGUAGES = "All languages"
VIDEO_FILTER = "Videos (*.mp4 *.mov *.avi *.mkv *.webm *.m4v *.mpg *.mpeg);;All files (*)"
IMAGE_FILTER = "Photos (*.jpg *.jpeg *.png *.bmp *.webp);;All files (*)"


class MainWindow(QMainWindow):
    """The app's window over one `Pipeline`; `choose_video` and `choose_photos` ask for files (tests
    replace them)."""

    search_requested = Signal(str)
    reference_requested = Signal(object, str)   # a match, and the tab that plays its reference clip
    photo_requested = Signal(str)
    teach_photos_requested = Signal(PhotoTeach)
    teach_requested = Signal(TeachExamples)
    forget_requested = Signal(str, str)
    signs_requested = Signal()

    def __init__(self, pipeline: Pipeline, spec: SourceSpec | None = None, *,
                 choose_video: Callable[[], str | None] | None = None, countdown_s: int = 3,
                 choose_photos: Callable[[], list] | None = None):
        super().__init__()
        self.setWindowTitle("SignCLIP")
        self.resize(1180, 720)
        self.pipeline, self.engine, self.k = pipeline, pipeline.engine, pipeline.k
        self.choose_video = choose_video or self._ask_for_video
        self.choose_photos = choose_photos or self._ask_for_photos
        self.countdown_s = countdown_s
        self.spec: SourceSpec | None = None
        self.recognitions: list = []
        self.photos: list = []
        self.closed_cleanly: bool | None = None
        self._build()
        self._connect_service()
        self.signs_requested.emit()
        warning = self.engine.personal_warning()  # an unreadable vocabulary: recognition goes on without it
        if warning:
            self.teach_tab.status.setText(warning)
        if spec is not None:
            self.open_source(spec)

    @property
    def _pending_request(self) -> TeachRequest | None:
        """The Teach tab's recording that waits for its countdown (None once refused or closed)."""
        return self.teach_tab.pending

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

        self.banner = SourceBanner()
        self.banner.open_requested.connect(self.open_video)
        self.banner.retry_requested.connect(self.retry)
        self.video = VideoPanel()
        self._set_indicator(False)

        self.language = QComboBox()
        self.language.addItem(ALL_LANGUAGES)
        for lang in self.engine.languages():
            self.language.addItem(lang)
        self.language.currentTextChanged.connect(self._language_changed)
        self.signs_tab = SignsTab(self.k)
        # through the attribute, so that replacing `choose_photos` reaches the Teach tab too
        self.teach_tab = TeachTab(self.pipeline, lambda: self.choose_photos(), self.countdown_s)
        self.search_tab = SearchTab(self.k)
        self.spell_tab = SpellTab()
        self.tabs = QTabWidget()
        self.tabs.addTab(self.signs_tab, "Signs")
        self.tabs.addTab(self.teach_tab, "Teach")
        self.tabs.addTab(self.search_tab, "Search")
        self.tabs.addTab(self.spell_tab, "Spell")
        self.tabs.currentChanged.connect(self._tab_changed)
        right = QWidget()
        form = QFormLayout()
        form.addRow("Sign language", self.language)
        rv = QVBoxLayout(right)
        rv.addLayout(form)
        rv.addWidget(self.tabs, 1)

        split = QSplitter()
        split.addWidget(self.video)
        split.addWidget(right)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 2)
        central = QWidget()
        cv = QVBoxLayout(central)
        cv.addWidget(self.banner)
        cv.addWidget(split, 1)
        self.setCentralWidget(central)
        self._name_widgets()

    def _name_widgets(self) -> None:
        """The widgets of the banner, video and tabs under the window's own names, which tests and
        scripts use."""
        self.banner_text, self.banner_open, self.banner_retry = (
            self.banner.text, self.banner.open_button, self.banner.retry_button)
        self.view, self.indicator, self.readouts = self.video.view, self.video.indicator, self.video.readouts
        self.results, self.history = self.signs_tab.results, self.signs_tab.history
        t = self.teach_tab
        self.teach_label, self.teach_count, self.teach_mode, self.teach_seconds = (
            t.label, t.count, t.mode, t.seconds)
        self.teach_button, self.teach_photos_button, self.teach_status = (
            t.record_button, t.photos_button, t.status)
        self.personal, self.forget_button = t.signs_list, t.forget_button
        s = self.search_tab
        self.search_box, self.search_results, self.search_status = s.box, s.results, s.status
        self.spell_line, self.spell_status, self.spell_history = (
            self.spell_tab.line, self.spell_tab.status, self.spell_tab.history)
        self._spelled, self.spell_backspace = self.spell_tab.show_event, self.spell_tab.backspace

    def _connect_service(self) -> None:
        service = self.pipeline.service
        self.search_tab.search_requested.connect(self.search_requested)
        self.teach_tab.teach_photos_requested.connect(self.teach_photos_requested)
        self.teach_tab.forget_requested.connect(self.forget_requested)
        self.search_requested.connect(service.search)
        self.photo_requested.connect(service.look_up_photo)
        self.teach_photos_requested.connect(service.teach_photos)
        service.photo.connect(self._photo)
        self.teach_requested.connect(service.teach)
        self.forget_requested.connect(service.forget)
        self.signs_requested.connect(service.list_signs)
        self.tabs.currentChanged.connect(lambda _: self.signs_requested.emit())  # taught elsewhere too
        service.searched.connect(self._searched)
        service.reference.connect(self._reference)
        self.reference_requested.connect(service.show_reference)
        service.taught.connect(self.teach_tab.taught)
        service.signs.connect(self._signs)
        service.pack_signs.connect(self.teach_tab.show_pack_signs)
        service.failed.connect(self.teach_tab.failed)
        service.failed.connect(self.search_tab.failed)

    # ------------------------------------------------------------ source

    def open_source(self, spec: SourceSpec) -> None:
        """Stop the current source (if any) and start `spec`."""
        self.spec = spec
        self.banner.hide()
        self.video.view.clear(f"opening {spec.name}…")
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
        p.recognition.recording.connect(self.teach_tab.show_progress)
        p.recognition.recorded.connect(self.teach_requested)
        p.recognition.failed.connect(self._source_failed)
        p.recognition.spelled.connect(self.spell_tab.show_event)
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
        self.video.view.clear(f"reading {paths[0]}…")
        self.photo_requested.emit(str(paths[0]))

    @Slot(PhotoLookup)
    def _photo(self, photo: PhotoLookup) -> None:
        self.photos.append(photo)
        frame = PosedFrame(0, 0, 0.0, photo.rgb, photo.keypoints, photo.mask, 0.0, 0, 0.0, 0.0)
        self.video.view.set_frame(frame)
        self.signs_tab.show_photo(photo)
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

    @Slot(SourceInfo)
    def _opened(self, info: SourceInfo) -> None:
        self.banner.hide()
        self.statusBar().showMessage(f"{info.name}: {info.width}x{info.height} at {info.fps:.1f} FPS")

    @Slot(str)
    def _source_failed(self, message: str) -> None:
        camera = self.spec is not None and self.spec.is_camera
        hint = " Open a video file instead?" if camera else ""
        self.banner.show_message(message + hint, offer_video=True, offer_retry=True)
        self.video.view.clear("no video")

    @Slot(str)
    def _source_lost(self, message: str) -> None:
        self.banner.show_message(message, offer_video=True, offer_retry=False)

    @Slot()
    def _ended(self) -> None:
        self.banner.show_message("The video ended.", offer_video=True, offer_retry=True,
                                 retry_text="Play again")

    # ------------------------------------------------------------ pipeline and service output

    @Slot(PosedFrame)
    def _posed(self, frame: PosedFrame) -> None:
        self.video.view.set_frame(frame)
        self.pipeline.gate.done()  # the next frame may come; update() coalesces repaints

    @Slot(Recognition)
    def _recognized(self, r: Recognition) -> None:
        self.recognitions.append(r)
        self.signs_tab.show_recognition(r)
        if r.matches:  # beside the camera, how the matched sign is made: the learner compares
            self.reference_requested.emit(r.matches[0], "signs")

    @Slot(str, str, object, float)
    def _reference(self, target: str, caption: str, frames, fps: float) -> None:
        tab = self.search_tab if target == "search" else self.signs_tab
        tab.player.show(caption, frames, fps)

    @Slot(bool)
    def _set_indicator(self, on: bool) -> None:
        self.capturing = on
        self.video.show_capturing(on)

    @Slot(Stats)
    def _stats(self, s: Stats) -> None:
        self.last_stats = s
        self.video.show_stats(s)

    @Slot(str, list)
    def _searched(self, text: str, matches: list) -> None:
        self.search_matches = matches
        self.search_tab.show_matches(text, matches)

    @Slot(list)
    def _signs(self, signs: list) -> None:
        self.personal_signs = signs
        self.teach_tab.show_signs(signs)

    @Slot(str)
    def _language_changed(self, text: str) -> None:
        self.pipeline.language = None if text == ALL_LANGUAGES else text

    @Slot(int)
    def _tab_changed(self, index: int) -> None:
        self.pipeline.spelling = self.tabs.widget(index) is self.spell_tab

    # ------------------------------------------------------------ close

    def closeEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        self.teach_tab.pending = None
        self.closed_cleanly = self.pipeline.stop()
        super().closeEvent(event)
