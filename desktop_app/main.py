"""Start the app: load the bundle once, open the window on a source, run Qt's event loop."""

from __future__ import annotations

import os
import shlex
import signal
import sys
from dataclasses import dataclass

from signclip.runtime.errors import SignclipError
from signclip.runtime.model.index import check_top_k


@dataclass(frozen=True)
class AppOptions:
    source: str = "0"             # camera index or video path
    bundle: str | None = None     # None: $SIGNCLIP_BUNDLE, else the packaged bundle
    loop: bool = True             # a video restarts at its end (False: it stops)
    language: str | None = None
    k: int = 5
    provider: str = "auto"
    threads: int = 0


def check_display() -> None:
    """A SignclipError when Qt has nowhere to draw (Linux without X11/Wayland and no QT_QPA_PLATFORM)."""
    if not sys.platform.startswith("linux") or os.environ.get("QT_QPA_PLATFORM"):
        return
    if not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        raise SignclipError("no display (DISPLAY and WAYLAND_DISPLAY are unset): run the app on a desktop, "
                            "under xvfb-run, or use `signclip stream` in a terminal")


def check_options(options: AppOptions) -> None:
    check_top_k(options.k)
    text = str(options.source)
    if not text.isdigit() and not os.path.isfile(text):
        raise SignclipError(f"--source {text}: no such video file, and not a camera index (0, 1, ...)")


def build_window(options: AppOptions, **window_kwargs):
    """The engine and a window on `options.source` (a QApplication must exist)."""
    from signclip.runtime.model.encoders import EncoderOptions
    from signclip.runtime.recognition.engine import Engine
    from signclip.runtime.vocabulary.personal_store import RESTORE_COMMAND

    from .engine_service import LockedEngine
    from .frames import SourceSpec
    from .pipeline import Pipeline
    from .window import ALL_LANGUAGES, MainWindow

    check_options(options)
    restore = RESTORE_COMMAND + (f" --bundle {shlex.quote(options.bundle)}" if options.bundle else "")
    engine = Engine(options.bundle, EncoderOptions(provider=options.provider, threads=options.threads),
                    restore_command=restore)
    engine.check_language(options.language)
    window = MainWindow(Pipeline(LockedEngine(engine), k=options.k), None, **window_kwargs)
    window.loop_action.setChecked(options.loop)
    window.language.setCurrentText(options.language or ALL_LANGUAGES)
    window.open_source(SourceSpec.parse(options.source, loop=options.loop))
    return window


def run_app(options: AppOptions) -> int:
    """Open the window and block until it is closed; the exit status."""
    check_display()
    check_options(options)
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication(["signclip"])
    app.setApplicationName("SignCLIP")
    window = build_window(options)
    window.show()
    previous = signal.signal(signal.SIGINT, lambda *_: window.close())  # Ctrl-C closes the window
    ticker = QTimer()
    ticker.timeout.connect(lambda: None)  # Python runs signal handlers only between Qt callbacks
    ticker.start(200)
    try:
        status = app.exec()
    finally:
        ticker.stop()
        signal.signal(signal.SIGINT, previous)
        if window.closed_cleanly is None:  # left without closing the window: stop the threads anyway
            window.closed_cleanly = window.pipeline.stop()
    return status if window.closed_cleanly is not False else 1
