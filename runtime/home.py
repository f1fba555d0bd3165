"""Where signclip keeps a user's files (taught signs, packs, TensorRT engines): one folder, shared by
every stage of the runtime."""

from __future__ import annotations

import os
from pathlib import Path

HOME_ENV = "SIGNCLIP_HOME"   # overrides the user data folder (tests, portable installs)
APP_NAME = "signclip-edge"


def data_dir() -> Path:
    """$SIGNCLIP_HOME, else the platform's user data folder for signclip-edge."""
    if os.environ.get(HOME_ENV):
        return Path(os.environ[HOME_ENV])
    from platformdirs import user_data_dir

    return Path(user_data_dir(APP_NAME, appauthor=False))
