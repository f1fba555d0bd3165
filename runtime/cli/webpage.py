"""The web page as a static folder: the page's sources, its npm packages and a bundle's web format.

The web format is what the page reads of a bundle: `model/manifest.json` (layout, normalization,
segmenter thresholds, vocabulary texts, file hashes), the pose encoder's ONNX as it is, and the
vocabulary embeddings as little-endian float32 files, computed in advance. The npm packages
(MediaPipe's web Holistic with its models, ONNX Runtime Web) come from the registry through the
page's lockfile (`npm ci`), once, into `web/node_modules`; only the files the page loads are copied.
The folder is built beside the output and renamed into place, so a failed build changes nothing.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import http.server
import json
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np

from ..atomic import make_publishable, replace_folder
from ..errors import SignclipError
from ..model.bundle import Bundle, sha256_file
from ..model.references import load_references, pack_clips
from ..pose.layouts import HAND_POINTS, HOLISTIC_543, MODEL_203, flip_permutation
from ..pose.normalize import face_indices, leg_indices
from ..recognition.segmentation import SegmenterConfig

CREDITS_FILE = "CREDITS.md"  # a bundle's training-data credits (CC BY data): they ship with the model
WEB_FORMAT = "signclip-web"
WEB_SCHEMA_VERSION = 1
MANIFEST = "manifest.json"
MODEL_DIR = "model"
# spoken languages whose word lists the page ships for its Spell mode's prior (English: ASL's)
DEFAULT_WORDS = ("en",)
SITE_MARK = "signclip-web.json"  # written last into every built folder: what the page was built from
WEB_SOURCES = Path(__file__).resolve().parents[2] / "web"  # the page's own files in a checkout
PAGE_FILES = ("index.html", "app.css")
LOCK_STAMP = ".signclip-lock-sha256"
PACKAGE_GRAPH = "holistic.binarypb"  # the npm package's graph: one HolisticLandmarkGpu node
GRAPH_WITHOUT_FACE = "holistic_without_face.binarypb"
# npm package -> the files of it the page loads (the rest of each package stays in node_modules)
VENDOR_FILES = {
    "@mediapipe/holistic": (
        "holistic.js", "holistic_solution_packed_assets.data",  # its graph: holistic_graph()
        "holistic_solution_packed_assets_loader.js", "holistic_solution_simd_wasm_bin.js",
        "holistic_solution_simd_wasm_bin.wasm", "holistic_solution_simd_wasm_bin.data",
        "holistic_solution_wasm_bin.js", "holistic_solution_wasm_bin.wasm",
        "pose_landmark_full.tflite",  # model complexity 1, as the Python capture (only it ships there)
    ),
    "@mediapipe/drawing_utils": ("drawing_utils.js",),
    "onnxruntime-web": ("dist/ort.wasm.min.mjs", "dist/ort-wasm-simd-threaded.mjs",
                        "dist/ort-wasm-simd-threaded.wasm"),
}


# ---------------------------------------------------------------- the bundle's web format


def _file(folder: Path, name: str, data: bytes) -> dict:
    """Write `data` as `name`; what the manifest says of it (the page checks the sha256)."""
    (folder / name).write_bytes(data)
    return {"file": name, "sha256": hashlib.sha256(data).hexdigest()}


def _float32_file(folder: Path, name: str, rows: np.ndarray) -> dict:
    """Rows [N, D] as raw little-endian float32; what the manifest says of them."""
    data = np.ascontiguousarray(rows, dtype="<f4").tobytes()
    return {**_file(folder, name, data), "shape": list(rows.shape)}


def _word_lists(folder: Path, languages) -> dict:
    """Each spoken language's word list for the Spell mode's prior, as JSON files; what the manifest
    says of them. Written only for the languages asked for: a list is about 0.9 MB."""
    from ..recognition.word_prior import WordPriorConfig, word_list

    out = {}
    for language in languages:
        words, zipf = word_list(language, WordPriorConfig())
        data = json.dumps({"language": language, "words": words, "zipf": zipf}, ensure_ascii=False)
        out[language] = _file(folder, f"words-{language}.json", data.encode("utf-8"))
    return out


def _spelling(folder: Path, words, signs=frozenset()) -> dict:
    """The Spell mode's settings (runtime/recognition/spelling.py, holds.py, word_prior.py), word
    lists, and the vocabulary's lexical signs (never letters)."""
    from ..recognition.spelling import MAX_LETTER_CHARS, MOVING_LETTERS, SpellConfig
    from ..recognition.word_prior import WordPriorConfig

    return {"config": dataclasses.asdict(SpellConfig()), "max_letter_chars": MAX_LETTER_CHARS,
            "moving_letters": {k: sorted(v) for k, v in MOVING_LETTERS.items()},
            "hand_points": list(HAND_POINTS), "word_prior": dataclasses.asdict(WordPriorConfig()),
            "words": _word_lists(folder, words), "signs": sorted(list(s) for s in signs)}


def taught_entries(folder: Path, taught, calibration, fps: float) -> dict | None:
    """Taught signs (`Engine.taught()`: (source, vocabulary) pairs) as the page's `vocabulary.taught`:
    one prototype per sign, which rows the calibration reads (`Engine.calibration_rows`), and the
    kept takes, shaped as the reference clips (`web_references`) and named by their sign."""
    taught = [(source, vocab) for source, vocab in taught if len(vocab)]
    if not taught:
        return None
    prototypes = np.concatenate([vocab.prototypes for _, vocab in taught])
    takes = [(str(vocab.labels[row]), str(vocab.languages[row]), t)
             for _, vocab in taught for row in range(len(vocab)) for t in vocab.takes_of(row)]
    kept = (_clips_file(folder, "taught-takes.f16", *pack_clips([t for _, _, t in takes]),
                        [la for la, _, _ in takes], [lg for _, lg, _ in takes], fps) if takes else None)
    return {"labels": [str(x) for _, vocab in taught for x in vocab.labels],
            "languages": [str(x) for _, vocab in taught for x in vocab.languages],
            "sources": [source for source, vocab in taught for _ in vocab.labels],
            "embeddings": _float32_file(folder, "taught.f32", prototypes),
            "calibration": None if calibration is None else {"clip_rows": calibration[0].tolist(),
                                                             "text_rows": calibration[1].tolist()},
            "takes": kept}


def _clips_file(folder: Path, name: str, frames: np.ndarray, offsets: np.ndarray, labels: list,
                languages: list, fps: float) -> dict:
    """Stored clips (`pack_clips`: float16 [sum T, 75, 2], NaN = not seen, and their offsets) as one raw
    little-endian file, with where each starts and what each is of: the page's References."""
    return {**_file(folder, name, np.ascontiguousarray(frames, dtype="<f2").tobytes()),
            "shape": list(frames.shape), "offsets": offsets.tolist(), "labels": list(labels),
            "languages": list(languages), "fps": float(fps)}


def web_references(folder: Path, bundle: Bundle) -> dict | None:
    """The bundle's reference clips for the page's Search panel: raw little-endian float16 [sum T,
    75, 2] (NaN = not seen) with where each clip starts; None where the bundle has none."""
    refs = load_references(bundle.path)
    if refs is None:
        return None
    return _clips_file(folder, "references.f16", refs.frames, refs.offsets, refs.labels.tolist(),
                       refs.languages.tolist(), refs.fps)


def write_web_model(bundle: Bundle, folder: Path, words=DEFAULT_WORDS, taught=(), calibration=None,
                    capture_graph: str = PACKAGE_GRAPH) -> dict:
    """The bundle's web format into `folder` (with the word lists of the spoken languages `words`,
    and the `taught` signs of packs, calibrated on the `calibration` rows; `capture_graph`: the
    MediaPipe graph file the page runs); returns the manifest."""
    from ..recognition.engine import spoken_languages  # the engine's reading of the prompts, not a second one
    from ..recognition.kinds import KindHead, entry_kinds

    folder.mkdir(parents=True, exist_ok=True)
    meta, v = bundle.meta, bundle.vocabulary()
    encoder = bundle.encoder_file("pose")
    encoder_name = "pose_encoder" + encoder.suffix  # .onnx, or .ort (ONNX Runtime Web reads both)
    shutil.copyfile(encoder, folder / encoder_name)
    vocabulary = {"texts": v.texts.tolist(), "labels": v.labels.tolist(), "languages": v.languages.tolist(),
                  "kinds": entry_kinds(v.labels, v.languages, bundle.signs).tolist(),
                  "embeddings": _float32_file(folder, "vocabulary.f32", v.embeddings)}
    if v.has_clips:
        vocabulary["clips"] = {"labels": v.clip_labels.tolist(), "languages": v.clip_languages.tolist(),
                               "texts": v.clip_texts.tolist(),
                               "embeddings": _float32_file(folder, "clips.f32", v.clip_embeddings)}
    if (entries := taught_entries(folder, taught, calibration, meta["fps"])) is not None:
        vocabulary["taught"] = entries
    if (bundle.path / CREDITS_FILE).is_file():
        shutil.copyfile(bundle.path / CREDITS_FILE, folder / CREDITS_FILE)
    references = web_references(folder, bundle)
    manifest = {
        "format": WEB_FORMAT, "schema_version": WEB_SCHEMA_VERSION,
        "source": {"bundle": str(bundle.path), "model": meta["model"].get("name"),
                   "format": meta.get("format"), "pose_encoder": encoder.name,
                   "vocabulary_sha256": meta["vocabulary"]["sha256"]},
        # layout tables, so that the page declares no point names of its own: the model's points,
        # the 543 that MediaPipe's web Holistic returns, and the indices normalization needs
        "layout": meta["layout"],
        "capture_layout": [list(p) for p in HOLISTIC_543.points],
        "capture_graph": capture_graph,
        "flip_permutation": flip_permutation(MODEL_203).tolist(),  # needs pose-format's face table
        "leg_indices": leg_indices(MODEL_203).tolist(),
        "face_indices": face_indices(MODEL_203).tolist(),
        "normalization": meta["normalization"],
        "segmenter": dataclasses.asdict(SegmenterConfig()),
        "spelling": _spelling(folder, words, bundle.signs),
        "fps": meta["fps"], "max_frames": meta["max_frames"], "embedding_dim": meta["embedding_dim"],
        "prompt_template": meta["prompt_template"],
        "spoken_languages": spoken_languages(meta["prompt_template"], v.texts, v.languages),
        "encoder": {"file": encoder_name, "sha256": sha256_file(folder / encoder_name)},
        "vocabulary": vocabulary,
        "kind_head": head.to_meta() if (head := KindHead.from_meta(meta)) is not None else None,
        "references": references,
        "training_data": meta.get("training_data", []),  # name, license, credit: shown by the page
        "credits": CREDITS_FILE if (folder / CREDITS_FILE).is_file() else None,
    }
    (folder / MANIFEST).write_text(json.dumps(manifest, ensure_ascii=False), encoding="utf-8")
    return manifest


# ---------------------------------------------------------------- npm packages


def graph_without_face(graph: bytes) -> bytes:
    """The npm package's Holistic graph with its HolisticLandmarkGpu node replaced by that subgraph's
    pose and hand nodes (registered in the same WebAssembly), as `runtime/capture/holistic_graph.py`
    does with the wheel's: no face mesh. The face stream that the solution's JavaScript listens to
    stays, gated shut, so that each frame's results come out with no face."""
    from mediapipe.calculators.core import constant_side_packet_calculator_pb2 as constant_pb2
    from mediapipe.framework import calculator_pb2

    Node = calculator_pb2.CalculatorGraphConfig.Node  # noqa: N806 (a protobuf class)
    config = calculator_pb2.CalculatorGraphConfig()
    config.ParseFromString(graph)
    index = next(i for i, n in enumerate(config.node) if n.calculator == "HolisticLandmarkGpu")
    holistic = config.node[index]
    out = dict(s.split(":", 1) for s in holistic.output_stream)
    image = holistic.input_stream[0]
    # named as inside HolisticLandmarkGpu, so that the solution's options that name its nodes
    # (minDetectionConfidence, minTrackingConfidence) find them
    pose = Node(name="holisticlandmarkgpu__poselandmarkgpu", calculator="PoseLandmarkGpu",
                input_stream=[image],
                output_stream=[f"{tag}:{out[key]}" for tag, key in (
                    ("LANDMARKS", "POSE_LANDMARKS"), ("WORLD_LANDMARKS", "WORLD_LANDMARKS"),
                    ("SEGMENTATION_MASK", "SEGMENTATION_MASK"))],
                input_side_packet=[s for s in holistic.input_side_packet
                                   if not s.startswith("REFINE_FACE_LANDMARKS:")])
    hands = Node(name="holisticlandmarkgpu__handlandmarksleftandrightgpu",
                 calculator="HandLandmarksLeftAndRightGpu",
                 input_stream=[image, f"POSE_LANDMARKS:{out['POSE_LANDMARKS']}"],
                 output_stream=[f"{side}:{out[side]}"
                                for side in ("LEFT_HAND_LANDMARKS", "RIGHT_HAND_LANDMARKS")])
    no_face = Node(name="NoFaceConstant", calculator="ConstantSidePacketCalculator",
                   output_side_packet=["PACKET:no_face"])
    constant = no_face.options.Extensions[constant_pb2.ConstantSidePacketCalculatorOptions.ext]
    constant.packet.add().bool_value = False
    shut = Node(calculator="GateCalculator", input_stream=[out["POSE_LANDMARKS"]],
                input_side_packet=["ALLOW:no_face"], output_stream=[out["FACE_LANDMARKS"]])
    nodes = list(config.node)
    nodes[index:index + 1] = [pose, hands, no_face, shut]
    del config.node[:]
    config.node.extend(nodes)
    return config.SerializeToString()


def holistic_graph(modules: Path, face: bool) -> tuple:
    """(file name, bytes) of the MediaPipe graph the page runs: the npm package's Holistic, or the
    same without its face mesh (for a bundle that hides the face, as the Python capture does)."""
    graph = (modules / "@mediapipe" / "holistic" / PACKAGE_GRAPH).read_bytes()
    return (PACKAGE_GRAPH, graph) if face else (GRAPH_WITHOUT_FACE, graph_without_face(graph))


def lock_digest(web: Path) -> str:
    lock = web / "package-lock.json"
    if not lock.is_file():
        raise SignclipError(f"{lock}: missing; the web page's packages are pinned by it")
    return sha256_file(lock)


def node_modules(web: Path = WEB_SOURCES, log=print) -> Path:
    """`web/node_modules` as the lockfile pins it: `npm ci` when it is missing or stale."""
    modules = web / "node_modules"
    digest = lock_digest(web)
    stamp = modules / LOCK_STAMP
    if stamp.is_file() and stamp.read_text().strip() == digest:
        return modules
    npm = shutil.which("npm")
    if npm is None:
        raise SignclipError("the web page's packages are installed with npm, which is not on PATH; "
                            "install Node.js 18 or newer with npm (e.g. apt-get install nodejs npm)")
    log("installing the web page's npm packages (npm ci, from the lockfile)")
    done = subprocess.run([npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=web,
                          capture_output=True, text=True)
    if done.returncode != 0:
        last = (done.stderr.strip() or done.stdout.strip() or "no output").splitlines()[-1]
        raise SignclipError(f"npm ci in {web} failed: {last}")
    stamp.write_text(digest + "\n")
    return modules


def package_versions(modules: Path) -> dict:
    return {name: json.loads((modules / name / "package.json").read_text())["version"]
            for name in VENDOR_FILES}


# ---------------------------------------------------------------- the site


def check_out_folder(out: Path) -> None:
    """`out` may be new, empty, or a folder this command built before (which is replaced)."""
    if out.exists() and (not out.is_dir() or (any(out.iterdir()) and not (out / SITE_MARK).is_file())):
        raise SignclipError(f"--out {out} exists and is not a web page built by signclip web; give a new "
                            f"or empty folder (a page built before is replaced)")


def build_site(bundle: Bundle, out, web: Path = WEB_SOURCES, log=print, words=DEFAULT_WORDS, taught=(),
               calibration=None, face: bool | None = None) -> dict:
    """The static page for `bundle` (and the `taught` signs of packs) at `out`: what the page is
    built from (also in SITE_MARK). `face`: whether the page's MediaPipe computes the face mesh
    (default: where the bundle reads it)."""
    from ..capture.holistic import capture_for

    out = Path(out).absolute()
    check_out_folder(out)
    if not (web / "src").is_dir():
        raise SignclipError(f"{web}: the web page's sources are not here; `signclip web` builds the page "
                            f"from a checkout of signclip-edge (its web/ folder)")
    modules = node_modules(web, log)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        for name in PAGE_FILES:
            shutil.copyfile(web / name, tmp / name)
        shutil.copytree(web / "src", tmp / "src")
        for package, files in VENDOR_FILES.items():
            for f in files:
                target = tmp / "vendor" / package.split("/")[-1] / Path(f).name
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(modules / package / f, target)
        face = capture_for(bundle.normalization).face if face is None else face
        graph, data = holistic_graph(modules, face)
        (tmp / "vendor" / "holistic" / graph).write_bytes(data)
        manifest = write_web_model(bundle, tmp / MODEL_DIR, words, taught, calibration, graph)
        mark = {"bundle": str(bundle.path), "model": manifest["source"]["model"],
                "packs": sorted({source for source, _ in taught}),
                "packages": package_versions(modules),
                "bytes": sum(p.stat().st_size for p in tmp.rglob("*") if p.is_file())}
        (tmp / SITE_MARK).write_text(json.dumps(mark, indent=1) + "\n")
        make_publishable(tmp)
        replace_folder(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return mark


# ---------------------------------------------------------------- serving


class _Handler(http.server.SimpleHTTPRequestHandler):
    """Static files with the types ES modules and WebAssembly need, and no request log per file."""

    extensions_map = {**http.server.SimpleHTTPRequestHandler.extensions_map,
                      ".js": "text/javascript", ".mjs": "text/javascript", ".wasm": "application/wasm",
                      ".json": "application/json", ".data": "application/octet-stream",
                      ".f32": "application/octet-stream", ".onnx": "application/octet-stream"}

    def log_message(self, format, *args):  # noqa: A002 (the base class's name)
        pass


def make_server(folder, host: str = "127.0.0.1", port: int = 8000) -> http.server.ThreadingHTTPServer:
    """An HTTP server for a built page (port 0: any free one); serve_forever() runs it."""
    handler = functools.partial(_Handler, directory=str(folder))
    try:
        return http.server.ThreadingHTTPServer((host, port), handler)
    except OSError as e:
        raise SignclipError(f"cannot serve on {host}:{port} ({e.strerror or e})") from e
