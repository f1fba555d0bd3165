#!/usr/bin/env bash
# Screenshot of the running app (docs/app.png) under a virtual X server, after it has shown frames and
# recognized signs.
#
#   scripts/screenshot_app.sh                         # the C-A-B video, $SIGNCLIP_BUNDLE or the default bundle
#   BUNDLE=path/to/bundle SOURCE=video.mp4 OUT=docs/app.png SIGNS=2 LANGUAGE=ase scripts/screenshot_app.sh
#
# Needs Xvfb: on Debian/Ubuntu `sudo apt-get install -y xvfb xauth` (gives xvfb-run). Without a bundle
# anywhere it builds the tests' tiny random-weight bundle (needs torch): its results mean nothing.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}
SOURCE=${SOURCE:-tests/data/videos/asl_letters_CAB.mp4}
OUT=${OUT:-docs/app.png}
SIGNS=${SIGNS:-2}
LANGUAGE=${LANGUAGE:-ase}          # the letters are American Sign Language
BUNDLE=${BUNDLE:-${SIGNCLIP_BUNDLE:-}}
if ! command -v xvfb-run >/dev/null; then
    echo "screenshot_app.sh: xvfb-run not found; install it: sudo apt-get install -y xvfb xauth" >&2
    exit 2
fi
mkdir -p "$(dirname "$OUT")"
export SIGNCLIP_HOME=${SIGNCLIP_HOME:-$(mktemp -d)}  # a fresh personal vocabulary, not the user's
export GLOG_minloglevel=2 QT_QPA_PLATFORM=xcb
xvfb-run -a -s "-screen 0 1280x800x24" "$PY" - "$SOURCE" "$OUT" "$SIGNS" "$BUNDLE" "$LANGUAGE" <<'PYTHON'
import sys
import tempfile
from pathlib import Path

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication
from signclip.app.main import AppOptions, build_window
from signclip.runtime.recognition.engine import Engine
from signclip.runtime.errors import SignclipError
from signclip.runtime.pose.layouts import HOLISTIC_576, RIGHT_HAND

source, out, signs, bundle = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4] or None
language = sys.argv[5] or None
try:
    Engine(bundle, personal=False)
except SignclipError as e:
    print(f"no bundle ({e}); building the tests' tiny random-weight bundle", file=sys.stderr)
    sys.path.insert(0, "tests")
    from tiny_bundle import make_tiny_bundle
    bundle = str(make_tiny_bundle(Path(tempfile.mkdtemp()) / "tiny"))

app = QApplication(["signclip"])
window = build_window(AppOptions(source=source, bundle=bundle, loop=True, language=language))
window.show()
waited = [0]
HAND = [i for i, (c, _) in enumerate(HOLISTIC_576.points) if c == RIGHT_HAND]

def shoot():
    waited[0] += 1
    # a sign in the history, a painted frame, and the skeleton of a raised hand on screen
    frame = window.view.frame
    ready = (len(window.recognitions) >= signs and frame is not None and window.capturing
             and frame.mask[HAND].all())
    if not ready and waited[0] < 1200:
        QTimer.singleShot(50, shoot)
        return
    picture = window.screen().grabWindow(window.winId())
    picture.save(out)
    print(f"{out}: {picture.width()}x{picture.height()}, {window.view.paints} frames painted, "
          f"{len(window.recognitions)} signs")
    window.close()
    app.quit()

QTimer.singleShot(500, shoot)
sys.exit(app.exec())
PYTHON
