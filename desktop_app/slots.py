"""Hand-offs between the app's threads that drop old frames instead of queueing them.

A worker that falls behind gets the newest frame and the older ones are dropped, so latency stays
bounded. The UI gets a frame only once it has painted the previous one (`DisplayGate`).
"""

from __future__ import annotations

import threading


class FrameSlot:
    """One item between two threads. `put` overwrites (dropping the old item) or, with wait=True,
    blocks until the consumer took it; `take` waits for an item; None once closed."""

    def __init__(self):
        self._cond = threading.Condition()
        self._item = None
        self.closed = False
        self.dropped = 0

    def put(self, item, wait: bool = False) -> bool:
        with self._cond:
            while wait and self._item is not None and not self.closed:
                self._cond.wait()
            if self.closed:
                return False
            if self._item is not None:
                self.dropped += 1
            self._item = item
            self._cond.notify_all()
            return True

    def take(self):
        with self._cond:
            while self._item is None and not self.closed:
                self._cond.wait()
            item, self._item = self._item, None
            self._cond.notify_all()
            return item

    def close(self) -> None:
        with self._cond:
            self.closed = True
            self._cond.notify_all()


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
