#!/usr/bin/env bash
# paper-base in bf16 on one GPU through the real loader, with and without length bucketing.
# Unattended, under 8 minutes: venv + install (~2-3 min), a synthetic packed cache with the
# Spreadthesign length distribution (16,384 clips, float16, seconds), then two runs of STEPS steps
# (torch.compile included). Prints clips/s, peak GPU memory and the share of time spent waiting
# for data. Every Python step here is tested on a CPU by tests/trainer/test_train.py (--tiny).
#
#   bash bench/gpu_train.sh                 # from the repository root
#   STEPS=300 WORKERS=14 bash bench/gpu_train.sh
set -euo pipefail
cd "$(dirname "$0")/.."

STEPS=${STEPS:-150}
WORKERS=${WORKERS:-12}
CLIPS=${CLIPS:-16384}
VENV=${VENV:-.venv-gpu}
OUT=${OUT:-/tmp/signclip_gpu_train}
export TQDM_MININTERVAL=15            # a progress line every 15 s, not a flood in a log
export TOKENIZERS_PARALLELISM=false   # the loader forks workers
start=$(date +%s)

source bench/gpu_setup.sh   # venv with CUDA torch 2.13.0 and the train extra; sets PY

rm -rf "$OUT/bucketed" "$OUT/unbucketed"   # fresh runs; the cache is reused when present
timeout 390 "$PY" bench/gpu_train.py --config paper-base --steps "$STEPS" --clips "$CLIPS" \
    --workers "$WORKERS" --out "$OUT" --device cuda
echo "total: $(( $(date +%s) - start )) s"
