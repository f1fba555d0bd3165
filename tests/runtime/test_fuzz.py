"""Property-based fuzzing (hypothesis) of the .pose reader, lookup and the bundle loader: a clip that
keeps read_pose's promises, finite scores, or one line that says what is wrong; nothing else printed.

A fast profile runs in `make test`; `python bench/fuzz.py` runs the same strategies (pose_fuzz.py)
for thousands of cases and prints a table.
"""

from __future__ import annotations

import json
import re
import shutil
import warnings
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pose_fuzz import KINDS, SEED_BYTES, check_clip, check_matches, check_refusal, crafted, fields, mutated

from signclip.runtime.errors import SignclipError
from signclip.runtime.model import bundle as B
from signclip.runtime.pose.io import read_pose


def fast(n: int):
    return settings(deadline=None, suppress_health_check=list(HealthCheck), derandomize=True,
                    database=None, max_examples=n)


def only_signclip_errors(fn) -> None:
    try:
        fn()
    except SignclipError:
        pass


def read_or_refuse(path: Path, capfd):
    """read_pose's clip (checked), or None after a one-line refusal; nothing else may be printed."""
    capfd.readouterr()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a library warning on the terminal is noise too
        try:
            clip = read_pose(path)
        except SignclipError as e:
            check_refusal(e, path)
            clip = None
    assert capfd.readouterr() == ("", ""), "a library printed while reading"
    if clip is not None:
        check_clip(clip)
    return clip


@pytest.mark.parametrize("kind,examples", [("crafted", 300), ("truncated", 200), ("fields", 200),
                                           ("mutated", 800)])
def test_read_pose_reads_or_refuses_in_one_line(tmp_path_factory, capfd, kind, examples):
    path = tmp_path_factory.getbasetemp() / f"fuzz-{kind}.pose"

    @fast(examples)
    @given(data=KINDS[kind])
    def one(data):
        path.write_bytes(data)
        read_or_refuse(path, capfd)

    one()


@pytest.fixture(scope="module")
def default_engine():
    from signclip.runtime.recognition.engine import Engine

    return Engine(personal=False)  # the shipped bundle: pose-only, no torch needed


@fast(150)
@given(data=st.one_of(crafted(), fields()))
def test_lookup_answers_with_finite_scores_or_refuses_in_one_line(default_engine, tmp_path_factory, capfd,
                                                                    data):
    path = tmp_path_factory.getbasetemp() / "fuzz-lookup.pose"
    path.write_bytes(data)
    clip = read_or_refuse(path, capfd)
    if clip is None:
        return
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        try:
            check_matches(default_engine.lookup_clips([clip], k=3))
        except SignclipError as e:
            check_refusal(e)
    assert capfd.readouterr() == ("", "")


def test_a_name_with_control_characters_stays_on_one_line(tmp_path):
    from pose_fuzz import body_bytes, header_bytes

    path = tmp_path / "odd.pose"
    data = np.zeros((2, 1, 3, 3), np.float32)
    path.write_bytes(header_bytes(0.2, (1, 1, 0), [("\x10\r\nX", "XYZC", ["a", "b", "c"], [], [])])
                     + body_bytes(0.2, 25.0, 2, data, np.ones((2, 1, 3), np.float32)))
    with pytest.raises(SignclipError, match=re.escape("found components '\\x10\\r\\nX'; need at least one")):
        read_or_refuse_strict(path)


def read_or_refuse_strict(path):
    try:
        return read_pose(path)
    except SignclipError as e:
        check_refusal(e, path)
        raise


@pytest.mark.parametrize("cut,message", [
    (0, "empty file"),
    (3, "header cut at byte 3: the file is shorter than its 4-byte version number"),
    (100, "header cut at byte 100: the header goes on past the end of the file"),
    (14887, "body cut at byte 14887: the file ends right after its 14887-byte header"),
    (20000, "body shorter than the header says: 5 frames x 1 person x 586 points need 46,880 bytes "
            "after byte 14897, the file has 5,103")])
def test_refusals_say_what_is_wrong_and_where(tmp_path, cut, message):
    path = tmp_path / "cut.pose"
    path.write_bytes(SEED_BYTES[0][:cut])
    with pytest.raises(SignclipError, match=re.escape(message)):
        read_pose(path)


def json_mutations():
    leaf = st.one_of(st.none(), st.booleans(), st.integers(-3, 10 ** 12), st.floats(allow_nan=True),
                     st.text(max_size=8), st.just([]), st.just({}), st.just([["a", "b"]]))
    return st.recursive(leaf, lambda c: st.one_of(st.lists(c, max_size=3),
                                                  st.dictionaries(st.text(max_size=6), c, max_size=3)),
                        max_leaves=6)


@pytest.fixture(scope="module")
def fuzz_bundle(tiny_bundle, tmp_path_factory):
    folder = tmp_path_factory.mktemp("fuzzb") / "b"
    shutil.copytree(tiny_bundle, folder)
    return folder


@fast(600)
@given(key=st.sampled_from([*B.REQUIRED_META, "schema_version", "files.*", "encoders.pose",
                            "vocabulary.sha256", "model.text"]),
       value=json_mutations(), drop=st.booleans())
def test_load_bundle_with_mutated_json(fuzz_bundle, key, value, drop):
    original = json.loads((fuzz_bundle / B.META_FILE).read_text())
    meta = json.loads(json.dumps(original))
    head, _, tail = key.partition(".")
    if tail == "*":
        meta[head] = {str(k): value for k in meta[head]}
    elif tail and isinstance(meta.get(head), dict):
        meta[head][tail] = value
    elif drop:
        meta.pop(head, None)
    else:
        meta[head] = value
    try:
        (fuzz_bundle / B.META_FILE).write_text(json.dumps(meta))
        only_signclip_errors(lambda: B.load_bundle(fuzz_bundle).vocabulary())
    finally:
        (fuzz_bundle / B.META_FILE).write_text(json.dumps(original))


@fast(800)
@given(target=st.sampled_from([B.META_FILE, B.VOCABULARY_FILE]), data=st.data(), hashes=st.booleans())
def test_load_bundle_with_mutated_bytes(fuzz_bundle, target, data, hashes):
    """Byte-level damage to signclip.json or vocabulary.npz (hash checks on or off, so the
    damaged vocabulary reaches the npz reader)."""
    original = (fuzz_bundle / target).read_bytes()
    try:
        (fuzz_bundle / target).write_bytes(data.draw(mutated([original], header_bias=400)))
        only_signclip_errors(lambda: B.load_bundle(fuzz_bundle, verify_hashes=hashes).vocabulary())
    finally:
        (fuzz_bundle / target).write_bytes(original)
