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
if [[ ",${EXTRAS:-}," == *",test,"* ]]; then
    # pyproject's test-no-deps extra (microsoft/mup, which the tests compare our per-tensor rates
    # with), without its declared dependencies: they include torchvision and seaborn, and
    # torchvision pulls another (CUDA) build of torch; mup's optimizers and layers need only torch
    # and pyyaml (in the test extra).
    mapfile -t no_deps < <(.venv/bin/python -c 'import tomllib
print(*tomllib.load(open("pyproject.toml", "rb"))["project"]["optional-dependencies"]["test-no-deps"], sep="\n")')
    .venv/bin/pip install -q --no-deps "${no_deps[@]}"
fi
