#!/usr/bin/env bash
# One call on a bare, offline GPU machine (README, GPU): an environment from what the machine has plus
# the wheelhouse, then bench/gpu_run.py (throughput through the real loader; the lexicon on the GPU).
# Nothing is downloaded: pip reads only .gpu/wheels, and no torch is installed.
#
#   bash bench/gpu_run.sh                     # on the GPU machine, with .gpu carried (make gpu-wheelhouse gpu-data)
#   make gpu-check                            # here: the same script with DEVICE=cpu STEPS=5 PIP_NO_INDEX=1
#
# PYTHON   the machine's interpreter that holds torch (default: python3; for DEVICE=cpu the stand-in of
#          `make gpu-image` when it exists). DEVICE cuda (default) or cpu. STEPS steps per run (default:
#          gpu_run.py's, sized for an H200). OUT results (the device tool sets it; default runs/gpu_run).
# TINY     1 (the default on a CPU): tiny towers, the same code path; TINY=0 runs the full sizes there
#          (a paper-base step of batch 8 took 80-110 s on this project's busy 2-core machine).
set -euo pipefail
cd "$(dirname "$0")/.."
start=$(date +%s)
DEVICE=${DEVICE:-cuda}
if [ -z "${PYTHON:-}" ]; then
    PYTHON=python3
    if [ "$DEVICE" = cpu ] && [ -x .venv-gpu-image/bin/python ]; then PYTHON=.venv-gpu-image/bin/python; fi
fi
GPU_DIR=${GPU_DIR:-.gpu}
OUT=${OUT:-runs/gpu_run}
VENV=${VENV:-.venv-gpu}
fail() { echo "gpu_run.sh: $*" >&2; exit 2; }

# pip sees the wheelhouse and nothing else: no index, and none of this machine's pip settings
unset PIP_INDEX_URL PIP_EXTRA_INDEX_URL PIP_FIND_LINKS PIP_CONSTRAINT PIP_REQUIRE_VIRTUALENV
export PIP_CONFIG_FILE=/dev/null PIP_NO_INDEX=1 PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
[ -d "$GPU_DIR/wheels" ] || fail "no wheelhouse in $GPU_DIR/wheels: run 'make gpu-wheelhouse' and carry $GPU_DIR"
"$PYTHON" -c 'import pip, sys; sys.exit(tuple(map(int, pip.__version__.split(".")[:2])) < (22, 3))' \
    2>/dev/null || fail "$PYTHON has no pip >= 22.3 (its --python option installs into the venv)"
"$PYTHON" -c "import torch" 2>/dev/null || fail "$PYTHON cannot import torch (the GPU image's python3 can; \
here use PYTHON=.venv-gpu-image/bin/python from 'make gpu-image')"

# A venv that sees the machine's packages. --system-site-packages reaches only the base interpreter's
# site-packages; the image's python3 is itself a venv (/opt/torch/.venv), so a .pth adds its folders.
# No pip inside (ensurepip may be missing there): the machine's own pip installs into it (--python).
rm -rf "$VENV"
"$PYTHON" -m venv --system-site-packages --without-pip "$VENV"
PY="$VENV/bin/python"
"$PYTHON" -c 'import site; print("\n".join(site.getsitepackages()))' \
    >"$("$PY" -c 'import sysconfig; print(sysconfig.get_path("purelib"))')/machine-site-packages.pth"
pip_install() {
    "$PYTHON" -m pip --python "$PY" install --quiet --no-index --find-links "$GPU_DIR/wheels" --no-deps \
        --no-compile "$@"
}
pip_install --ignore-installed -r bench/gpu-wheels.txt   # into the venv, whatever the image holds
# the project without its dependencies (mediapipe would need numpy < 2), built by the wheelhouse's setuptools
pip_install --no-build-isolation .
"$PY" - <<'EOF'
import sys
import numpy, torch
import signclip.trainer.train  # noqa: F401 - the training path imports without the missing packages
print(f"python {sys.version.split()[0]}, torch {torch.__version__} from {torch.__file__.rsplit('/', 2)[0]}, "
      f"numpy {numpy.__version__}, CUDA {torch.version.cuda}, GPU: "
      f"{torch.cuda.get_device_name() if torch.cuda.is_available() else 'none'}")
EOF
df -h /dev/shm | tail -1 | awk '{print "/dev/shm: " $4 " free"}' || true
if [ "$DEVICE" != cpu ]; then
    nvidia-smi --query-gpu=name,driver_version,memory.used,memory.total --format=csv,noheader || true
fi
echo "environment: $(( $(date +%s) - start )) s"

export TQDM_MININTERVAL=15 TOKENIZERS_PARALLELISM=false PYTHONUNBUFFERED=1
args=(--device "$DEVICE" --data "$GPU_DIR/data" --out "$OUT")
if [ -n "${STEPS:-}" ]; then args+=(--steps "$STEPS" --lexicon-steps "$STEPS"); fi
if [ "${TINY:-$([ "$DEVICE" = cpu ] && echo 1 || echo 0)}" = 1 ]; then args+=(--tiny); fi
"$PY" bench/gpu_run.py "${args[@]}"
echo "total: $(( $(date +%s) - start )) s"
