"""Hand-offs between the app's threads that drop old frames instead of queueing them.

A worker that falls behind gets the newest frame and the older ones are dropped, so latency stays
bounded. The UI gets a frame only once it has painted the previous one (`DisplayGate`).
"""

from __future__ import annotations

import threading

from signclip.runtime.capture.sources import FrameSlot

__all__ = ["DisplayGate", "FrameSlot"]  # FrameSlot lives in the runtime: its video reader uses it too


class DisplayGate:
    """Lets one frame at a time go to the UI: `offer` is True when the UI painted the previous one
    (the caller then emits), else the frame is counted as dropped for display."""

    def __init__(self):
        self._free = threading.Event()
        self._free.set()
        self.dropped = 0

    def offer(self) -> bool:
        if self._free.is_set():
            self._free.clear()
            return True
        self.dropped += 1
        return False

    def done(self) -> None:
        self._free.set()
