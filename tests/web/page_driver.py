"""The built page in headless Chromium with a fake camera, for the browser test and bench/web.py:
serve the folder on 127.0.0.1, run web/test/browser.mjs, read what the page showed."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import threading
from pathlib import Path

WEB = Path(__file__).resolve().parents[2] / "web"
NODE = shutil.which("node")
CHROMIUM = os.environ.get("CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")


def input_json(x) -> dict:
    """A model input (ModelInput) as the page's scripts take it: flat frames and mask, its length,
    and its frames before the palm frames (`plain`, for the sign templates) where it has them."""
    return {"frames": x.frames.ravel().tolist(), "mask": x.mask.ravel().astype(int).tolist(),
            "length": len(x.frames), "plain": None if x.plain is None else x.plain.ravel().tolist()}


@contextlib.contextmanager
def served(folder):
    """The folder on http://127.0.0.1:PORT/ (a free port) while the block runs; yields the URL."""
    from signclip.runtime.cli.webpage import make_server

    server = make_server(folder, "127.0.0.1", 0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


def drive_page(url: str, camera_y4m, out_json, *, expect=(), timeout_s: float = 240, min_s: float = 0,
               screenshot=None, search=None, words: int = 0) -> dict:
    """Open `url` with `camera_y4m` as the camera until the page has shown as many signs as `expect`
    names (or one; with `words`, until it has spelled that many words), at least `min_s` seconds, at
    most `timeout_s`; then `search` in the Search tab, if given. The driver's JSON."""
    command = [NODE, "test/browser.mjs", "--url", url, "--video", str(camera_y4m), "--out", str(out_json),
               "--expect", ",".join(expect), "--timeout", str(int(timeout_s)), "--min-seconds", str(min_s),
               "--chromium", CHROMIUM]
    if screenshot:
        command += ["--screenshot", str(screenshot)]
    if search:
        command += ["--search", search]
    if words:
        command += ["--words", str(words)]
    done = subprocess.run(command, cwd=WEB, capture_output=True, text=True, timeout=timeout_s + 120)
    if done.returncode != 0:
        raise RuntimeError(f"browser driver failed: {done.stderr.strip()[-1000:]}")
    return json.loads(Path(out_json).read_text())
