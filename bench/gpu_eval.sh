#!/usr/bin/env bash
# Issue 10's protocols for a paper-base model trained on one GPU in a few minutes (no GPU on this
# project's own machines: prepared for a lent one). Unattended, under 8 minutes: venv + install
# (~2-3 min), then a model without asq/bzs/mfs for (a) and one on all 600 lexicon clips for (b)-(d),
# STEPS steps each in bf16, evaluated on the GPU.
#
#   bash bench/gpu_eval.sh                               # from the repository root
#   CONFIG=edge-small DEVICE=cpu STEPS=5 bash bench/gpu_eval.sh   # the same steps on a CPU, quickly
set -euo pipefail
cd "$(dirname "$0")/.."

CONFIG=${CONFIG:-paper-base}
STEPS=${STEPS:-600}
DEVICE=${DEVICE:-cuda}
VENV=${VENV:-.venv-gpu}
OUT=${OUT:-/tmp/signclip_gpu_eval}
export TQDM_MININTERVAL=15
start=$(date +%s)
if [ "$DEVICE" = cpu ]; then PY=${PYTHON:-.venv/bin/python}; else source bench/gpu_setup.sh; fi
SIGNCLIP="$PY -m signclip.runtime.cli"
mkdir -p "$OUT"

# the config's model, with a schedule that fits a few minutes on 600 clips
"$PY" - "$CONFIG" "$STEPS" "$OUT/config.yaml" <<'PY'
import sys, yaml
from signclip.trainer.config import load_config, to_dict
cfg = to_dict(load_config(sys.argv[1]))
cfg["train"].update(steps=int(sys.argv[2]), batch_size=128, warmup_steps=min(100, int(sys.argv[2]) // 5),
                    checkpoint_every=10 ** 9, compile=False, lr=3e-4 if sys.argv[1] == "paper-base" else 1e-3)
yaml.safe_dump(cfg, open(sys.argv[3], "w"))
PY

$SIGNCLIP lexicon -o "$OUT/heldout.csv" --hold-out asq,bzs,mfs
$SIGNCLIP train "$OUT/config.yaml" --data "$OUT/heldout.csv" --out "$OUT/heldout" --device "$DEVICE"
$SIGNCLIP evaluate "$OUT/heldout/checkpoint" --protocol held-out --data "$OUT/heldout.csv" --device "$DEVICE"
echo "held-out done: $(( $(date +%s) - start )) s"

$SIGNCLIP lexicon -o "$OUT/lexicon.csv"
$SIGNCLIP train "$OUT/config.yaml" --data "$OUT/lexicon.csv" --out "$OUT/all" --device "$DEVICE"
for protocol in metrics robustness new-signer augmented; do
    $SIGNCLIP evaluate "$OUT/all/checkpoint" --protocol "$protocol" --data "$OUT/lexicon.csv" \
        --videos tests/data/videos --plot "$OUT/embeddings.png" --device "$DEVICE"
done
echo "total: $(( $(date +%s) - start )) s"
