#!/bin/bash
# Two more seeds of the shipped recipe (the shipped model is seed 0), each exported as the default
# bundle is, then the templates study on each bundle (docs/evaluation.md). About 12 minutes a seed
# on 2 cores. Needs runs/manifest.csv, the default model's recipe:
#   signclip lexicon -o runs/manifest.csv --handshapes asl-hg,digits --lexicon-weight 12 --words islr,asl-app
set -e
cd "$(dirname "$0")/.."
mkdir -p runs/seeds
for seed in 1 2; do
  out=runs/seeds/s$seed
  if [ ! -f $out/checkpoint/checkpoint.json ]; then
    .venv/bin/signclip train edge-small --data runs/manifest.csv --out $out --set train.seed=$seed > $out.train.log 2>&1
  fi
  rm -rf $out/bundle
  .venv/bin/signclip export $out/checkpoint --format onnx-int8 --no-text-encoder --clips 600 \
    --data runs/manifest.csv --out $out/bundle > $out.export.log 2>&1
  .venv/bin/signclip kinds $out/bundle --data runs/manifest.csv > $out.kinds.log 2>&1
  .venv/bin/python -m signclip.trainer.templates_study --bundle $out/bundle > $out.study.md 2>&1
done
echo done
