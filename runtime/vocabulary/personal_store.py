"""The personal vocabulary on disk: a lock around every change, the last good copy, and recovery.

    personal/d384-0123456789abcdef.npz            the vocabulary
    personal/d384-0123456789abcdef.last-good.npz  the same content, written after it: what
                                                   `signclip teach --restore` brings back
    personal/d384-0123456789abcdef.npz.lock       filelock's lock, held while a change is written

A change (teach, forget, restore) takes an inter-process lock (`filelock`: the kernel releases it
when its holder dies, even by SIGKILL), reads the file afresh, changes it and writes the file and
then its copy, each atomically: any number of commands and the app can teach at once, and a writer
killed at any moment leaves complete files. Reads take no lock (an atomic rename shows them the old
file or the new one), so a lookup never waits; an unreadable file leaves taught signs out of the
results with one warning (`Unreadable`) instead of stopping the lookup.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from ..atomic import atomic_write_bytes
from ..errors import SignclipError
from .personal import PersonalVocabulary, UnreadableVocabulary, read_personal

LOCK_TIMEOUT_S = 60.0  # a change holds the lock for milliseconds; this long means a hung process
RESTORE_COMMAND = "signclip teach --restore"


@dataclass(frozen=True)
class Unreadable:
    """Why the personal vocabulary cannot be used now, and what its last good copy holds."""

    path: Path
    reason: str              # one line; "missing" when the file is gone but its copy is not
    last_good: int | None    # signs in the last good copy; None when there is no readable copy

    def message(self, outcome: str, restore: str = RESTORE_COMMAND) -> str:
        """One line: the file, what is wrong, `outcome` (what happens now) and how to recover."""
        if self.last_good is None:
            fix = "no earlier copy is kept: move the file away to start a new vocabulary"
        else:
            signs = f"{self.last_good} sign{'s' if self.last_good != 1 else ''}"
            fix = f"restore the last good version ({signs}) with: {restore}"
        return f"{self.path}: personal vocabulary is {self.reason}; {outcome}; {fix}"


def _signature(path: Path) -> tuple | None:
    """What changes whenever the file is replaced (a rename gives a new inode), None if missing."""
    try:
        st = path.stat()
    except FileNotFoundError:
        return None
    except OSError:  # e.g. a folder without permission: read (and fail) once, not at every lookup
        return "not accessible"
    return st.st_ino, st.st_mtime_ns, st.st_size


class PersonalStore:
    """One personal vocabulary file: `current()` for lookups, `change(edit)` and `restore()`."""

    def __init__(self, path: Path, dim: int, model_hash: str, *, timeout: float = LOCK_TIMEOUT_S):
        from filelock import FileLock

        self.path = Path(path)
        self.dim, self.model_hash = dim, model_hash
        self.last_good_path = self.path.with_name(f"{self.path.stem}.last-good{self.path.suffix}")
        self.timeout = timeout
        self._lock = FileLock(f"{self.path}.lock", timeout=timeout)
        self._seen: object = ()  # no signature yet: the first current() reads
        self._vocab = PersonalVocabulary.empty(dim, model_hash)
        self.problem: Unreadable | None = None

    # ------------------------------------------------------------ reading

    def _read(self, path: Path) -> PersonalVocabulary:
        """The vocabulary in `path` (empty when missing); UnreadableVocabulary otherwise."""
        return read_personal(path, self.dim, self.model_hash)

    def _last_good_signs(self) -> int | None:
        if not self.last_good_path.exists():
            return None
        try:
            return len(self._read(self.last_good_path))
        except UnreadableVocabulary:
            return None

    def _check(self) -> tuple:
        """(vocabulary, None) when usable, else (empty vocabulary, Unreadable)."""
        try:
            vocab = self._read(self.path)
        except UnreadableVocabulary as e:
            return PersonalVocabulary.empty(self.dim, self.model_hash), Unreadable(
                self.path, f"unreadable ({e.reason})", self._last_good_signs())
        if not len(vocab) and not self.path.exists():
            kept = self._last_good_signs()
            if kept:  # gone, but its copy holds signs: say so rather than start over silently
                return vocab, Unreadable(self.path, "missing", kept)
        return vocab, None

    def current(self) -> PersonalVocabulary:
        """The vocabulary as the file holds it now, re-read only when the file changed; empty when
        it cannot be used (`problem` then says why). Never raises for the file's sake."""
        seen = _signature(self.path)
        if seen != self._seen:
            self._vocab, self.problem = self._check()
            self._seen = seen
        return self._vocab

    # ------------------------------------------------------------ changing

    @contextlib.contextmanager
    def _locked(self):
        from filelock import Timeout

        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._lock.acquire()
        except Timeout as e:
            raise SignclipError(f"{self.path}: another signclip process has been changing it for "
                                f"{self.timeout:g} s; try again when it is done") from e
        except OSError as e:
            raise SignclipError(f"{self.path}: cannot lock the personal vocabulary for a change "
                                f"({e.strerror or e})") from e
        try:
            yield
        except OSError as e:  # disk full, read-only folder: the atomic writes left the old files
            raise SignclipError(f"{self.path}: cannot save the personal vocabulary ({e.strerror or e}); "
                                f"it is unchanged") from e
        finally:
            self._lock.release()

    def _remove_stale_temporaries(self) -> None:
        """Temporary files of writers that were killed; with the lock held, no live writer owns one."""
        for target in (self.path, self.last_good_path):
            for tmp in self.path.parent.glob(f".{target.name}.*.tmp"):
                with contextlib.suppress(OSError):
                    tmp.unlink()

    def _write(self, vocab: PersonalVocabulary) -> None:
        """The file, then its copy; the caller holds the lock."""
        data = vocab.to_bytes()
        atomic_write_bytes(self.path, data)
        atomic_write_bytes(self.last_good_path, data)
        self._vocab, self.problem, self._seen = vocab, None, _signature(self.path)

    def change(self, edit, restore: str = RESTORE_COMMAND) -> PersonalVocabulary:
        """Under the lock: read the file afresh, apply `edit` (vocabulary -> vocabulary), write it.
        Refused while the file is unreadable or missing with signs in its copy: nothing taught is
        overwritten without being asked."""
        with self._locked():
            vocab, problem = self._check()
            if problem is not None:
                raise SignclipError(problem.message("nothing was changed", restore))
            new = edit(vocab)
            self._write(new)
            self._remove_stale_temporaries()
        return new

    def delete(self) -> None:
        """Remove the file and its last good copy, under the lock."""
        with self._locked():
            for path in (self.path, self.last_good_path):
                path.unlink(missing_ok=True)
            self._seen = ()

    def restore(self) -> tuple:
        """Put the last good copy back: (vocabulary, where the damaged file was kept or None)."""
        with self._locked():
            vocab, problem = self._check()
            if problem is None and (self.path.exists() or not self.last_good_path.exists()):
                raise SignclipError(f"{self.path}: personal vocabulary is readable ({len(vocab)} taught "
                                    f"signs); nothing to restore")
            try:
                good = self._read(self.last_good_path)
            except UnreadableVocabulary as e:
                raise SignclipError(f"{self.last_good_path}: the last good copy is unreadable too "
                                    f"({e.reason}); move {self.path.name} away to start a new "
                                    f"vocabulary") from e
            kept = None
            if self.path.exists():  # keep the damaged file: it is the user's, and may be repairable
                kept = self.path.with_name(f"{self.path.stem}.damaged-{time.strftime('%Y%m%d-%H%M%S')}"
                                           f"-{os.getpid()}{self.path.suffix}")
                shutil.copyfile(self.path, kept)
            self._write(good)
        return good, kept
