#!/usr/bin/env bash
# The device check in one command: install what the GPU machine lacks, then gpu_check.py.
#
#   here, once:  .venv/bin/python benchmarks/gpu_check.py --prepare   # song -> .gpucheck/
#   device:      bash benchmarks/gpu_check.sh      # run with carry [".gpucheck"], timeout_s 600
#   rehearsal:   bash benchmarks/gpu_check.sh --dry-run   # no CUDA needed; installs nothing
#
# Results: $OUT/gpu_check.json, gpu_check.md, gpu_check.log, install.log ($OUT defaults to
# ./gpu_check_out). Expected: 4-6 minutes on one GPU; gpu_check.py starts no new work after
# --budget-s (420 s), so the whole call ends inside a 10-minute device command.
#
# Installs (skipped with --dry-run, each allowed to fail; what happened is in install.log):
# - torch==2.13.0 (the project's pin; on Linux the ordinary index's wheel is the CUDA build),
#   only when the Python here has no CUDA-enabled torch. A device image that brings its own
#   CUDA torch is used as it is, and its version is recorded in the results.
# - torch-tensorrt matching the installed torch, from wheels carried in .gpucheck/wheels/ or
#   else the package index; without it the TensorRT rows say why they are missing.
set -u -o pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-$PWD/gpu_check_out}
mkdir -p "$OUT"
DRY=0
for arg in "$@"; do [ "$arg" = "--dry-run" ] && DRY=1; done

if [ -n "${PYTHON:-}" ]; then PY=$PYTHON
elif python3 -c 'import torch' 2>/dev/null; then PY=python3
elif [ -x .venv/bin/python ]; then PY=.venv/bin/python
else PY=python3; fi
PIP=("$PY" -m pip install -q --disable-pip-version-check --retries 0 --timeout 10)
log() { echo "gpu_check.sh: $*" | tee -a "$OUT/install.log"; }
: > "$OUT/install.log"
log "python: $PY ($("$PY" --version 2>&1))"

has_cuda() { "$PY" -c 'import sys, torch; sys.exit(0 if torch.cuda.is_available() else 1)' \
    2>>"$OUT/install.log"; }

if [ "$DRY" = 0 ]; then
    if ! has_cuda; then
        log "no CUDA-enabled torch here: installing torch==2.13.0"
        timeout 300 "${PIP[@]}" "torch==2.13.0" >>"$OUT/install.log" 2>&1 \
            || log "torch install failed (see above)"
    fi
    if ! "$PY" -c 'import torch_tensorrt' 2>/dev/null; then
        TV=$("$PY" -c 'import torch; print(torch.__version__.split("+")[0])' 2>/dev/null)
        if ls .gpucheck/wheels/*.whl >/dev/null 2>&1; then
            log "installing carried wheels from .gpucheck/wheels into /tmp/gpucheck-site"
            "$PY" -m pip install -q --no-index --no-deps --target /tmp/gpucheck-site \
                .gpucheck/wheels/*.whl >>"$OUT/install.log" 2>&1 || log "carried wheels failed"
            export PYTHONPATH=/tmp/gpucheck-site${PYTHONPATH:+:$PYTHONPATH}
        else
            log "installing torch-tensorrt==${TV%.*}.* (keeping torch==$TV)"
            timeout 60 "${PIP[@]}" "torch-tensorrt==${TV%.*}.*" "torch==$TV" \
                >>"$OUT/install.log" 2>&1 || log "torch-tensorrt not installed (see above)"
        fi
    fi
    has_cuda || log "still no CUDA device visible to torch: gpu_check.py will stop"
fi
missing=$("$PY" - <<'EOF' 2>>"$OUT/install.log"
import importlib.util
need = ("numpy", "numba", "scipy", "safetensors", "onnxruntime", "onnx", "torch")
print(" ".join(n for n in need if importlib.util.find_spec(n) is None))
EOF
)
[ -n "$missing" ] && log "missing Python packages (carry them as wheels): $missing"

export PYTHONUNBUFFERED=1 PYTHONPATH=$PWD${PYTHONPATH:+:$PYTHONPATH}
export NUMBA_CACHE_DIR=${NUMBA_CACHE_DIR:-/tmp/gpucheck-numba}
"$PY" benchmarks/gpu_check.py --out "$OUT" "$@" 2>&1 | tee "$OUT/gpu_check.log"
