#!/usr/bin/env bash
# Check that the base install and the `app` extra resolve to binary wheels on a Jetson
# (JetPack 6: Python 3.10, aarch64, glibc 2.35), without a Jetson: pip resolves for that platform.
#   bash scripts/check_jetson_wheels.sh [DEST]
set -euo pipefail
cd "$(dirname "$0")/.."
DEST=${1:-$(mktemp -d)}
mkdir -p "$DEST"
PY=${PYTHON:-python3}
# The runtime's requirements and the app extra, read from pyproject.toml (the project itself is pure Python).
REQS=$("$PY" - <<'PY'
import tomllib
p = tomllib.load(open("pyproject.toml", "rb"))["project"]
print("\n".join(p["dependencies"] + p["optional-dependencies"]["app"]))
PY
)
echo "$REQS" > "$DEST/requirements-jetson.txt"
# pip does not expand a glibc version to the older ones it covers: name each manylinux tag up to 2.35.
PLATFORMS=(--platform manylinux2014_aarch64)
for minor in $(seq 17 35); do PLATFORMS+=(--platform "manylinux_2_${minor}_aarch64"); done
"$PY" -m pip download --quiet --only-binary=:all: --python-version 3.10 --implementation cp \
    "${PLATFORMS[@]}" -r "$DEST/requirements-jetson.txt" -d "$DEST"
echo "resolved for Jetson (cp310, aarch64, glibc <= 2.35):"
ls "$DEST" | grep -E '\.whl$' | grep -iE 'mediapipe|onnxruntime|numba|llvmlite|numpy|faiss|tokenizers|pose_format|opencv|PySide6|shiboken' | sort
