"""Check the installation: versions, the CPU's INT8 path, execution providers, GPU and TensorRT,
MediaPipe models, the bundle, and the bundle's self-check clips re-embedded on this machine.

    signclip doctor
    signclip doctor --bundle path/to/bundle --json
"""

from __future__ import annotations

import importlib
import importlib.metadata
import importlib.util
import json
import platform
import shutil
import subprocess
import sys
from dataclasses import asdict

from ..errors import SignclipError

PACKAGES = ("numpy", "numba", "onnxruntime", "onnxruntime-gpu", "tokenizers", "faiss-cpu", "pose-format",
            "mediapipe", "opencv-contrib-python", "platformdirs", "tensorrt", "cuda-python", "torch")


def add_arguments(parser) -> None:
    parser.add_argument("--bundle", metavar="DIR", default=None,
                        help="bundle to check (default: $SIGNCLIP_BUNDLE, else the shipped one)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")


def versions() -> dict:
    out = {"python": platform.python_version(), "platform": platform.platform()}
    for name in PACKAGES:
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            out[name] = None
    return out


def gpu() -> dict:
    """What nvidia-smi reports (name, driver, memory), or why there is no GPU."""
    smi = shutil.which("nvidia-smi")
    if smi is None:
        return {"present": False, "reason": "nvidia-smi not found (no NVIDIA driver)"}
    try:
        out = subprocess.run([smi, "--query-gpu=name,driver_version,memory.total", "--format=csv,noheader"],
                             capture_output=True, text=True, timeout=10, check=True).stdout.strip()
    except (subprocess.SubprocessError, OSError) as e:
        return {"present": False, "reason": f"nvidia-smi failed ({type(e).__name__})"}
    return {"present": bool(out), "gpus": [line.strip() for line in out.splitlines()]}


def tensorrt() -> dict:
    from ..model.tensorrt_runner import tensorrt_status

    return tensorrt_status()


def mediapipe_models() -> dict:
    """Whether the legacy Holistic models ship inside the installed mediapipe wheel."""
    if importlib.util.find_spec("mediapipe") is None:
        return {"installed": False}
    try:
        capture = importlib.import_module("signclip.runtime.capture.holistic")
    except ImportError as e:
        return {"installed": True, "error": f"capture unavailable ({e})"}
    check = getattr(capture, "pose_model_available", None)
    if check is None:
        return {"installed": True}
    return {"installed": True, **{f"pose_complexity_{c}": bool(check(c)) for c in (0, 1, 2)}}


def providers() -> dict:
    from ..model.encoders import available_providers, choose_providers

    available = available_providers()
    return {"available": available, "chosen": choose_providers(available)}


def cpu() -> dict:
    from ..model.int8_path import cpu_name, int8_path

    return {"machine": platform.machine(), "name": cpu_name(), "int8_path": int8_path()}


def selfcheck(b) -> dict:
    """The bundle's example clips re-embedded here against those stored at export (ONNX Runtime on
    the CPU, as the export measured them)."""
    from ..model.encoders import CPU, make_session
    from ..model.selfcheck import SELFCHECK_FILE, run_selfcheck

    if SELFCHECK_FILE not in b.meta["files"]:
        return {"present": False}
    numbers = b.parity.get(b.meta.get("format"), {})
    precision = numbers.get("chosen", {}).get("pose", {}).get("precision")
    floor = numbers.get("gate", {}).get("cosine_floor", {}).get(precision)
    encoder = b.encoder_file("pose")
    if encoder.suffix not in (".onnx", ".ort"):
        return {"present": True, "error": f"{encoder.name} is not an ONNX Runtime graph"}
    try:
        result = run_selfcheck(b.file(SELFCHECK_FILE), make_session(encoder, [CPU]), floor)
    except SignclipError as e:
        return {"present": True, "error": str(e)}
    return {"present": True, "passed": result.passed, "line": result.line(), **asdict(result)}


def bundle(path) -> dict:
    from ..model.bundle import default_bundle_path, load_bundle
    from ..vocabulary.personal import vocabulary_path
    from ..vocabulary.personal_store import PersonalStore

    where = str(path or default_bundle_path())
    try:
        b = load_bundle(path)
    except SignclipError as e:
        return {"path": where, "ok": False, "error": str(e)}
    v = b.vocabulary()
    info = {"path": str(b.path), "ok": True, "model": b.meta["model"].get("name"),
            "embedding_dim": b.embedding_dim, "max_frames": b.max_frames,
            "vocabulary": len(v), "languages": sorted(set(v.languages.tolist())),
            "clips": 0 if v.clip_embeddings is None else len(v.clip_embeddings),
            "encoders": b.meta["encoders"], "tools": b.meta.get("tools", {}), "parity": b.parity,
            "int8": b.meta.get("int8", {}), "selfcheck": selfcheck(b)}
    store = PersonalStore(vocabulary_path(b.embedding_dim, b.model_hash), b.embedding_dim, b.model_hash)
    info["personal"] = {"path": str(store.path), "signs": len(store.current())}
    if store.problem is not None:
        info["personal"]["error"] = store.problem.message("lookups leave taught signs out")
    return info


def report(bundle_path=None) -> dict:
    return {"versions": versions(), "cpu": cpu(), "providers": providers(), "gpu": gpu(),
            "tensorrt": tensorrt(), "mediapipe": mediapipe_models(), "bundle": bundle(bundle_path),
            "torch_imported": "torch" in sys.modules}


def print_report(r: dict) -> None:
    print("versions")
    for k, v in r["versions"].items():
        print(f"  {k:<22} {v or '-'}")
    c = r["cpu"]
    print(f"cpu           {c['name']} ({c['machine']}); INT8 path: {c['int8_path']}")
    print(f"providers     available {', '.join(r['providers']['available'])}; "
          f"used {', '.join(r['providers']['chosen'])}")
    g = r["gpu"]
    print(f"gpu           {', '.join(g['gpus']) if g.get('present') else 'none: ' + g.get('reason', '')}")
    t = r["tensorrt"]
    print(f"tensorrt      {t.get('version') or 'not available: ' + t.get('reason', '')}")
    m = r["mediapipe"]
    shipped = [k.rsplit("_", 1)[1] for k, v in m.items() if k.startswith("pose_complexity_") and v]
    print(f"mediapipe     {'installed' if m.get('installed') else 'not installed'}; pose models in the wheel "
          f"for model complexity {', '.join(shipped) or 'none'} (others would download at first use)")
    b = r["bundle"]
    if not b["ok"]:
        print(f"bundle        {b['path']}: {b['error']}")
    else:
        print(f"bundle        {b['path']}: {b['model']}, {b['embedding_dim']}-dim, {b['vocabulary']} entries "
              f"in {len(b['languages'])} languages, {b['clips']} clips")
        for fmt, numbers in b["parity"].items():
            for tower, p in numbers.get("chosen", {}).items():
                verdict = "pass" if p["passed"] else "FAIL"
                print(f"  parity {fmt} {tower:<4} {p['file']} ({p['variant']}): cosine mean "
                      f"{p['cosine_mean']:.5f}, worst {p['cosine_min']:.5f}, top-1 "
                      f"{p['top1_agreement']:.1%} over {p['inputs']} inputs, {verdict}")
        for tower, scheme in b["int8"].items():
            if scheme["max_abs_weight"] is None:  # blockwise: INT8 weights, products in FP32 on every CPU
                detail = "products in FP32 (the same on every CPU)"
            else:
                detail = (f"weights up to {scheme['max_abs_weight']} (no CPU saturates up to "
                          f"{scheme['safe_abs_weight']})")
            print(f"  int8 {tower:<6} {scheme['scheme']}: {scheme['products']} products, {scheme['weights']} "
                  f"{detail}")
        check = b["selfcheck"]
        print(f"  self-check  {check.get('line') or check.get('error') or 'none in this bundle'}")
        p = b["personal"]
        print(f"  personal    {p['signs']} taught signs in {p['path']}" if "error" not in p
              else f"  personal    {p['error']}")


def run(args) -> int:
    r = report(args.bundle)
    if args.json:
        print(json.dumps(r, indent=1))
    else:
        print_report(r)
    return 0 if r["bundle"]["ok"] and r["bundle"]["selfcheck"].get("passed", True) else 1
