"""The personal vocabulary on disk: labels, the lock, the last good copy, recovery, and many writers
at once (threads here; processes, and a writer killed by SIGKILL, in the slow tests)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from filelock import FileLock

from signclip.runtime.errors import SignclipError
from signclip.runtime.vocabulary.personal import (
    PersonalVocabulary,
    clean_label,
    clean_language,
    read_personal,
)
from signclip.runtime.vocabulary.personal_store import PersonalStore

DATA = Path(__file__).resolve().parents[1] / "data"
DIM, HASH = 8, "0123456789abcdef" * 4


def unit_rows(n, d=DIM, seed=0):
    x = np.random.default_rng(seed).standard_normal((n, d)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def teach(store: PersonalStore, label: str, seed: int = 0) -> PersonalVocabulary:
    return store.change(lambda v: v.with_examples(label, unit_rows(1, seed=seed), [f"{label}.pose"]))


@pytest.fixture
def store(tmp_path) -> PersonalStore:
    return PersonalStore(tmp_path / "personal" / f"d{DIM}-{HASH[:16]}.npz", DIM, HASH)


# ---------------------------------------------------------------- labels


def test_labels_are_nfc_trimmed_and_bounded():
    assert clean_label("  caf\u00e9 ") == "caf\u00e9"
    assert clean_label("cafe\u0301") == "caf\u00e9"                  # decomposed: the same sign
    assert clean_label("x" * 64) == "x" * 64
    assert clean_label("\U0001f44b\u200d hello") == "\U0001f44b\u200d hello"  # joiners are text
    with pytest.raises(SignclipError, match="cannot be empty"):
        clean_label(" \t ")
    with pytest.raises(SignclipError, match="is 65 characters long; at most 64"):
        clean_label("x" * 65)
    with pytest.raises(SignclipError, match="is 5000 characters long"):
        clean_label("y" * 5000)
    for bad, code in [("a\nb", "000A"), ("a\x1b[31mb", "001B"), ("a\u202eb", "202E"), ("a\x85b", "0085"),
                      ("a\u2028b", "2028"), ("a\udcffb", "DCFF")]:
        with pytest.raises(SignclipError, match=f"control character \\(U\\+{code} at position 2\\)"):
            clean_label(bad)
    assert clean_language(None) == clean_language(" ") == ""
    with pytest.raises(SignclipError, match="language"):
        clean_language("a" * 17)


def test_two_spellings_are_one_sign_and_forget_finds_either():
    v = PersonalVocabulary.empty(DIM, HASH)
    v = v.with_examples("caf\u00e9", unit_rows(1), ["a"])
    v = v.with_examples("cafe\u0301", unit_rows(1, seed=1), ["b"])
    assert v.signs() == [("caf\u00e9", "", 2)]
    assert len(v.without("cafe\u0301 ")) == 0
    with pytest.raises(SignclipError, match="control character"):
        v.with_examples("bad\x00", unit_rows(1), ["c"])


# ---------------------------------------------------------------- store


def test_change_writes_the_file_and_its_last_good_copy_and_other_stores_see_it(store):
    other = PersonalStore(store.path, DIM, HASH)
    assert len(other.current()) == 0 and other.problem is None
    teach(store, "SOUP")
    assert other.current().signs() == [("SOUP", "", 1)]       # re-read: the file changed
    assert store.last_good_path.read_bytes() == store.path.read_bytes()
    teach(other, "TREE")                                        # reads afresh under the lock
    assert [s[0] for s in store.current().signs()] == ["SOUP", "TREE"]
    cached = store.current()
    assert store.current() is cached                            # unchanged file: not re-read


def test_threads_with_their_own_stores_lose_no_sign(store):
    stores = [PersonalStore(store.path, DIM, HASH) for _ in range(16)]
    errors = []

    def one(i):
        try:
            teach(stores[i], f"T{i}", seed=i)
        except Exception as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=one, args=(i,)) for i in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert sorted(s[0] for s in store.current().signs()) == sorted(f"T{i}" for i in range(16))


def test_unreadable_file_warns_refuses_changes_and_restores_the_last_good_version(store):
    teach(store, "SOUP")
    teach(store, "TREE")
    good = store.path.read_bytes()
    store.path.write_bytes(good[: len(good) // 2])             # e.g. a copy cut short
    reader = PersonalStore(store.path, DIM, HASH)
    assert len(reader.current()) == 0                           # lookups go on without taught signs
    message = reader.problem.message("the bundle answers alone")
    assert message.startswith(f"{store.path}: personal vocabulary is unreadable (not a complete .npz")
    assert "the bundle answers alone; restore the last good version (2 signs) with: signclip teach " \
           "--restore" in message and "\n" not in message
    with pytest.raises(SignclipError, match="unreadable.*nothing was changed.*--restore"):
        teach(reader, "HOUSE")
    assert store.path.read_bytes() == good[: len(good) // 2]   # refused: untouched
    vocab, kept = reader.restore()
    assert [s[0] for s in vocab.signs()] == ["SOUP", "TREE"]
    assert kept.read_bytes() == good[: len(good) // 2] and kept.parent == store.path.parent
    assert [s[0] for s in read_personal(store.path, DIM, HASH).signs()] == ["SOUP", "TREE"]
    with pytest.raises(SignclipError, match="is readable \\(2 taught signs\\); nothing to restore"):
        reader.restore()


def test_a_missing_file_with_signs_in_its_copy_is_not_started_over(store):
    teach(store, "SOUP")
    store.path.unlink()
    assert len(store.current()) == 0
    assert "personal vocabulary is missing;" in store.problem.message("x")
    with pytest.raises(SignclipError, match="missing"):
        teach(store, "TREE")
    assert store.restore()[0].signs() == [("SOUP", "", 1)] and store.problem is None


def test_without_a_readable_copy_the_message_says_so(store):
    teach(store, "SOUP")
    store.path.write_bytes(b"PK\x03\x04 not really")
    store.last_good_path.write_bytes(b"")
    store.current()
    assert "no earlier copy is kept: move the file away" in store.problem.message("x")
    with pytest.raises(SignclipError, match="last good copy is unreadable too \\(the file is empty"):
        store.restore()


def test_other_models_file_is_unreadable_not_overwritten(store):
    teach(store, "SOUP")
    bigger = PersonalStore(store.path, DIM * 2, HASH)
    assert len(bigger.current()) == 0
    assert "holds 8-dim embeddings but the bundle's model makes 16-dim" in bigger.problem.reason
    with pytest.raises(SignclipError, match="nothing was changed"):
        bigger.change(lambda v: v)


def test_killed_writers_temporaries_are_removed_by_the_next_change(store):
    teach(store, "SOUP")
    stale = store.path.parent / f".{store.path.name}.abc123.tmp"
    stale.write_bytes(b"half a file")
    teach(store, "TREE")
    assert not stale.exists()
    left = {p.name for p in store.path.parent.iterdir()} - {store.path.name + ".lock"}  # kept or not
    assert left == {store.path.name, store.last_good_path.name}


def test_a_held_lock_is_waited_for_then_named(tmp_path):
    store = PersonalStore(tmp_path / "p.npz", DIM, HASH, timeout=0.2)
    with FileLock(f"{store.path}.lock"):
        with pytest.raises(SignclipError, match="another signclip process has been changing it for 0.2 s"):
            teach(store, "SOUP")
    teach(store, "SOUP")  # released: goes through


def test_a_full_disk_is_one_line_and_leaves_the_vocabulary_as_it_was(store, monkeypatch):
    import errno

    from signclip.runtime.vocabulary import personal_store

    teach(store, "SOUP")
    before = store.path.read_bytes()

    def full(path, data):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(personal_store, "atomic_write_bytes", full)
    with pytest.raises(SignclipError, match="cannot save the personal vocabulary \\(No space left on "
                                            "device\\); it is unchanged"):
        teach(store, "TREE")
    assert store.path.read_bytes() == before
    monkeypatch.undo()
    teach(store, "TREE")  # the lock was released


# ---------------------------------------------------------------- many processes


def cli(*args, env):
    return subprocess.Popen([sys.executable, "-m", "signclip.runtime.cli", *args], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


@pytest.fixture
def cli_env(signclip_home):
    from signclip.runtime.model.bundle import default_bundle_path

    env = {**os.environ, "SIGNCLIP_HOME": str(signclip_home)}
    env["SIGNCLIP_BUNDLE"] = str(default_bundle_path())  # pose-only, no torch: runs under 3.10 too
    return env


@pytest.mark.slow
def test_16_teach_processes_at_once_leave_16_findable_signs(cli_env, tmp_path):
    from signclip.runtime.pose.io import read_pose, write_pose

    source = read_pose(DATA / "poses" / "reduced178_278f.pose")
    clips = []
    for i in range(16):  # 16 different stretches of one signing clip
        clips.append(tmp_path / f"clip{i:02d}.pose")
        write_pose(source.slice(i * 16, i * 16 + 24), clips[-1])
    procs = [cli("teach", f"SIGN{i:02d}", str(c), env=cli_env) for i, c in enumerate(clips)]
    outs = [(p.wait(timeout=600), *p.communicate()) for p in procs]
    assert [code for code, _, _ in outs] == [0] * 16, [err for _, _, err in outs]
    assert all(out.startswith("taught SIGN") and not err for _, out, err in outs)
    listing = subprocess.run([sys.executable, "-m", "signclip.runtime.cli", "teach", "--list"], env=cli_env,
                             capture_output=True, text=True, check=True).stdout
    assert "16 taught signs" in listing.splitlines()[0]
    found = cli("lookup", *map(str, clips), "--json", "-k", "20", env=cli_env)
    out, err = found.communicate(timeout=600)
    assert found.returncode == 0 and not err
    for i, record in enumerate(json.loads(line) for line in out.splitlines()):
        personal = [r["label"] for r in record["results"] if r["source"] == "personal"]
        assert personal[0] == f"SIGN{i:02d}", personal  # each clip finds its own sign first


KILLED_WRITER = textwrap.dedent("""
    import sys, numpy as np
    from signclip.runtime.vocabulary.personal import PersonalVocabulary
    from signclip.runtime.vocabulary.personal_store import PersonalStore
    path, round_ = sys.argv[1], int(sys.argv[2])
    store = PersonalStore(path, 384, "h")
    rng = np.random.default_rng(round_)
    big = rng.standard_normal((8000, 384)).astype(np.float32)    # ~12 MB per write: slow enough to hit
    if round_ == 0:
        store.change(lambda v: v.with_examples("BIG", big, ["x"] * len(big)))
    for i in range(10 ** 6):
        label = f"R{round_}-{i}"
        store.change(lambda v: v.with_examples(label, big[:1], ["y"]))
        print(label, flush=True)                                   # taught: must survive any kill
""")


@pytest.mark.slow
def test_writer_killed_at_any_moment_leaves_every_sign_taught_before(tmp_path):
    path = tmp_path / "personal" / "d384-h.npz"
    rng = np.random.default_rng(0)
    reported = []
    for round_ in range(4):
        proc = subprocess.Popen([sys.executable, "-c", KILLED_WRITER, str(path), str(round_)],
                                stdout=subprocess.PIPE, text=True)
        reported.append(proc.stdout.readline().strip())         # at least one change done
        time.sleep(float(rng.uniform(0.05, 0.6)))              # then a kill at a random moment
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        reported += [line.strip() for line in proc.stdout if line.strip()]
        proc.stdout.close()
        store = PersonalStore(path, 384, "h", timeout=5)       # the lock died with its holder
        held = {s[0] for s in store.current().signs()}
        assert store.problem is None
        assert set(reported) <= held, set(reported) - held
        copy = {s[0] for s in read_personal(store.last_good_path, 384, "h").signs()}
        assert set(reported) <= copy                           # printed after both files were written
    teach_more = PersonalStore(path, 384, "h", timeout=5)
    teach_more.change(lambda v: v.with_examples("AFTER", unit_rows(1, 384), ["z"]))
    assert not list(path.parent.glob(".*.tmp"))                 # the killed writers' leftovers are gone
