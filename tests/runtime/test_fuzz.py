"""Fuzz the .pose reader and the bundle loader with mutated real files: only SignclipError comes out."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from signclip.runtime import bundle as B
from signclip.runtime.errors import SignclipError
from signclip.runtime.pose_io import read_pose

DATA = Path(__file__).resolve().parents[1] / "data"
SEEDS = [DATA / "poses" / "holistic586_5f.pose", DATA / "poses" / "openpose137_93f.pose",
         DATA / "poses" / "right_hand21_170f.pose", next((DATA / "lexicon" / "gss").glob("*.pose"))]
SEED_BYTES = [p.read_bytes() for p in SEEDS]


def fast(n: int):
    return settings(deadline=None, suppress_health_check=list(HealthCheck), derandomize=True,
                    database=None, max_examples=n)


@st.composite
def mutated(draw, seeds: list, header_bias: int = 2048):
    """A seed file with byte flips (mostly in the header, where the parser decides), a truncation,
    or inserted/removed runs."""
    data = bytearray(draw(st.sampled_from(seeds)))
    for _ in range(draw(st.integers(1, 6))):
        op = draw(st.sampled_from(["flip", "truncate", "insert", "delete", "set"]))
        limit = min(len(data), header_bias) if draw(st.booleans()) else len(data)
        if not data:
            break
        i = draw(st.integers(0, max(0, limit - 1)))
        if op == "flip":
            data[i] ^= 1 << draw(st.integers(0, 7))
        elif op == "set":
            data[i] = draw(st.sampled_from([0, 0xFF, 0x7F, 0x80]))
        elif op == "truncate":
            del data[i:]
        elif op == "insert":
            data[i:i] = draw(st.binary(min_size=1, max_size=16))
        else:
            del data[i:i + draw(st.integers(1, 64))]
    return bytes(data)


def only_signclip_errors(fn) -> None:
    try:
        fn()
    except SignclipError:
        pass


@fast(1200)
@given(data=mutated(SEED_BYTES))
def test_read_pose_raises_only_signclip_error(tmp_path_factory, data):
    path = tmp_path_factory.getbasetemp() / "fuzz.pose"
    path.write_bytes(data)
    only_signclip_errors(lambda: read_pose(path))


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
