"""The built page in a real browser: headless Chromium, its camera a fake device playing the C-A-B
video, the page served from 127.0.0.1. It must show the signs it finds with their top-5 (sign
language filter ase), compute for each sign what the Python runtime computes from the same
keypoints, and request nothing outside its own origin. Whether the top-1s read C, A, B is the
model's business: that signer is one the model never saw (xfail while a run can misread them)."""

from __future__ import annotations

import numpy as np
import pytest
from page_driver import CHROMIUM, drive_page, served

from signclip.runtime.cli.webpage import GRAPH_WITHOUT_FACE, SITE_MARK, build_site
from signclip.runtime.pose.clip import PoseClip
from signclip.runtime.pose.layouts import MODEL_203
from signclip.runtime.pose.normalize import face_indices, preprocess

CAB_VIDEO = "asl_letters_CAB.mp4"
EXPECTED = ("C", "A", "B")
# The camera plays the video this many times slower than it was recorded. MediaPipe's web build
# takes 250-450 ms a frame on this shared 2-core CPU, so in real time the page would see only 4-6
# frames of a 1.2 s letter, where a phone's page sees several times more; slowed down, it sees about
# as many per sign as such a device (the motion is the same, only spread over more wall time).
SLOWDOWN = 3
SEARCH = "B"  # typed into the Search tab afterwards


@pytest.fixture(scope="module")
def site(engine, tmp_path_factory):
    out = tmp_path_factory.mktemp("site") / "web"
    build_site(engine.bundle, out, log=lambda _: None)
    return out


@pytest.fixture(scope="module")
def camera(videos_dir, tmp_path_factory):
    """The C-A-B video as the fake camera's Y4M file, played SLOWDOWN times slower."""
    if CHROMIUM is None:
        pytest.skip("Chromium is not installed (make test installs Debian's chromium with apt where it can)")
    from fake_camera import write_y4m

    path = tmp_path_factory.mktemp("camera") / "cab.y4m"
    write_y4m(videos_dir / CAB_VIDEO, path, slowdown=SLOWDOWN)
    return path


@pytest.fixture(scope="module")
def page(site, camera, tmp_path_factory):
    folder = tmp_path_factory.mktemp("browser")
    with served(site) as url:
        result = drive_page(f"{url}?language=ase&keypoints", camera, folder / "result.json", expect=EXPECTED,
                            timeout_s=400, screenshot=folder / "page.png", search=SEARCH)
    result["screenshot"] = folder / "page.png"
    return result


@pytest.fixture(scope="module")
def spelled(site, camera, tmp_path_factory):
    """The same camera video in the page's Spell mode: the letters and words it reads."""
    folder = tmp_path_factory.mktemp("spell")
    with served(site) as url:
        return drive_page(f"{url}?language=ase&mode=spell", camera, folder / "result.json", expect=EXPECTED,
                          timeout_s=400, words=len(EXPECTED))


@pytest.mark.slow
def test_the_page_spells_in_its_spell_mode(spelled, engine):
    """Each letter of the video is held, then the hand drops: three one-letter words, each read from
    its hold among ASL's letters (the prior has no word to put there: a letter stands as read)."""
    assert spelled["status"] == "running", spelled["error"]
    words = [w["word"] for w in spelled["words"]]
    print(f"words spelled: {' '.join(words)}; letters {[x['letter'] for x in spelled['letters']]}")
    assert len(words) >= len(EXPECTED), words
    v = engine.vocabulary
    letters = {str(label) for label, lang in zip(v.labels, v.languages, strict=True) if lang == "ase"}
    for x in spelled["letters"]:
        assert x["letter"] in letters and all(label in letters for label, _ in x["candidates"])
        assert x["startS"] < x["endS"]
    assert spelled["words"][0]["letters"] and spelled["foreign_requests"] == []
    assert spelled["console_errors"] == []
    assert spelled["found"], f"the page spelled {words}"


@pytest.mark.slow
def test_the_page_shows_the_signs_of_the_camera_video(page):
    assert page["status"] == "running", page["error"]
    tops = [s["top5"][0]["label"] for s in page["signs"]]
    print(f"signs shown (top-1): {' '.join(tops)}; {page['fps']:.1f} frames/s")
    assert len(page["signs"]) >= len(EXPECTED), f"top-1 of the signs shown: {tops}"
    for sign in page["signs"]:
        assert len(sign["top5"]) == 5 and {m["language"] for m in sign["top5"]} == {"ase"}
    assert page["screenshot_error"] is None and page["screenshot"].stat().st_size > 10_000


@pytest.mark.slow
@pytest.mark.xfail(strict=False, reason="the page sees 4-6 frames of each letter on this shared CPU; "
                                       "this signer's A, read first by the runtime (A 0.467, S 0.338), "
                                       "has been read as S in some runs")
def test_the_page_reads_c_a_b(page):
    assert page["found"], f"top-1 of the signs shown: {[s['top5'][0]['label'] for s in page['signs']]}"


@pytest.mark.slow
def test_in_the_browser_the_page_computes_what_the_runtime_computes(page, engine):
    """Each sign's keypoints as the page's MediaPipe found them, through the Python runtime: the same
    normalized frames, embedding and top-5 as the page computed in Chromium."""
    assert page["signs"]
    for sign in page["signs"]:
        k = sign["keypoints"]
        frames = np.array(k["raw"], np.float32).reshape(-1, MODEL_203.size, 3)
        clip = PoseClip(MODEL_203, frames, np.array(k["rawMask"], bool).reshape(frames.shape[:2]), 30.0)
        x = preprocess(clip, engine.bundle.normalization)
        assert k["flipped"] == x.flipped
        np.testing.assert_array_equal(np.array(k["mask"], bool).reshape(x.mask.shape), x.mask)
        assert np.abs(np.array(k["frames"], np.float32).reshape(x.frames.shape) - x.frames).max() <= 1e-5
        py = engine.embed_inputs([x])[0]
        js = np.array(k["embedding"], np.float32)
        assert float(py @ js / np.linalg.norm(js)) >= 0.999  # exact INT8 products on both: test_parity.py
        top5 = engine.lookup_embedding(py, 5, "ase")
        # the same first, and the same scores: candidates closer than the two embeddings' difference
        # may trade places (a whole-suite run saw S and Y swap)
        assert sign["top5"][0]["label"] == top5[0].label
        np.testing.assert_allclose([m["score"] for m in sign["top5"]], [m.score for m in top5], atol=2e-3)


@pytest.mark.slow
def test_the_page_runs_mediapipe_without_the_face_the_bundle_hides(page, site, engine):
    """The shipped bundle hides the face: the page's MediaPipe graph has no face mesh (as the Python
    capture), so no face point is ever found, while the body and the hands are."""
    assert engine.bundle.normalization.hide_face
    assert page["stats"]["mediapipe_graph"] == GRAPH_WITHOUT_FACE
    assert (site / "vendor" / "holistic" / GRAPH_WITHOUT_FACE).is_file()
    face = face_indices(MODEL_203)
    for sign in page["signs"]:
        found = np.array(sign["keypoints"]["rawMask"], bool).reshape(-1, MODEL_203.size)
        assert not found[:, face].any()
        assert found[:, ~np.isin(np.arange(MODEL_203.size), face)].any()


@pytest.mark.slow
def test_text_search_in_the_page_shows_what_the_runtime_finds(page, engine):
    expected = engine.lookup_text(SEARCH, 5, "ase")
    assert page["search"] == [{"label": m.label, "language": m.language} for m in expected]


@pytest.mark.slow
def test_the_page_requests_nothing_outside_its_origin(page):
    assert page["requests"] > 10  # the page, its modules, MediaPipe's files, the model
    assert page["foreign_requests"] == []
    assert page["failed_requests"] == []
    assert page["console_errors"] == []


def test_the_built_folder_holds_only_what_the_page_loads(site):
    files = {p.relative_to(site).as_posix() for p in site.rglob("*") if p.is_file()}
    assert {"index.html", "app.css", "src/app.js", SITE_MARK, "model/manifest.json",
            "model/pose_encoder.onnx", "model/vocabulary.f32", "vendor/holistic/holistic.js",
            "vendor/onnxruntime-web/ort-wasm-simd-threaded.wasm"} <= files
    assert not any("node_modules" in f or f.endswith(".map") for f in files)
    assert not any("pose_landmark_heavy" in f or "pose_landmark_lite" in f for f in files)
