# Sourced by the set-up scripts: make .venv with a CPU build of PyTorch and lstm-sweep installed.
# TORCH_SPEC overrides the torch requirement (default: the 2.13.0 CPU wheel these machines carry;
# elsewhere e.g. TORCH_SPEC="torch --index-url https://download.pytorch.org/whl/cpu").
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
    "$PYTHON" -m venv .venv
fi
if ! .venv/bin/python -c "import torch" 2>/dev/null; then
    # Install torch first, pinned: an unpinned `torch` may pull a multi-GB CUDA build.
    # shellcheck disable=SC2086
    .venv/bin/pip install -q ${TORCH_SPEC:-torch==2.13.0}
fi
spec="."
if [ -n "${EXTRAS:-}" ]; then spec=".[$EXTRAS]"; fi
.venv/bin/pip install -q -e "$spec"
