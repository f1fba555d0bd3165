# Sourced by the GPU scripts: a venv with torch 2.13.0 (CUDA) and the train extra; sets PY.
# Needs VENV and start (the script's start time) set by the caller.
# --system-site-packages: reuse an image's CUDA torch 2.13.0 when it has one (saves the download)
python3 -m venv --system-site-packages "$VENV"
PY="$VENV/bin/python"
if ! "$PY" -c "import sys, torch; sys.exit(not (torch.__version__.startswith('2.13.0') and torch.cuda.is_available()))" 2>/dev/null; then
    "$PY" -m pip install --quiet "torch==2.13.0"      # the PyPI wheel is the CUDA build on Linux x86_64
fi
"$PY" -m pip install --quiet -e ".[train]"
"$PY" - <<'EOF'
import sys, torch
if not torch.cuda.is_available():
    sys.exit("torch sees no CUDA GPU; nothing to measure")
p = torch.cuda.get_device_properties(0)
print(f"torch {torch.__version__} (CUDA {torch.version.cuda}) on {p.name}, {p.total_memory / 2**30:.0f} GiB")
EOF
echo "setup: $(( $(date +%s) - start )) s"
