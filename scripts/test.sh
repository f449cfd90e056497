#!/usr/bin/env bash
# Set up (venv, CPU PyTorch, lstm-sweep with its test extras) and run lint, format and type
# checks, then the test suite.
# MNIST comes from $LSTM_SWEEP_DATA_DIR if set, else the per-user cache (downloaded once).
#
# Usage: bash scripts/test.sh [--fast] [PYTEST ARGS...]
#   bash scripts/test.sh                   the full suite, as CI runs it (Hypothesis profile "ci")
#   bash scripts/test.sh --fast            the fast tier (-m "not slow" -n 2, Hypothesis profile
#                                          "dev"): about 90 s on 2 cores, for every change
#   bash scripts/test.sh -m "not slow"     the fast tier with CI's (derandomized) examples
#   bash scripts/test.sh -x tests/test_store.py    any pytest arguments
# The tiers and the Hypothesis profiles ($HYPOTHESIS_PROFILE: ci, dev, thorough) are described
# at the top of tests/conftest.py.
args=()
profile=ci
for arg in "$@"; do
    if [ "$arg" = "--fast" ]; then
        args+=(-m "not slow" -n 2)  # two pytest-xdist workers: the suite is mostly subprocesses
        profile=dev
    else
        args+=("$arg")
    fi
done
export HYPOTHESIS_PROFILE="${HYPOTHESIS_PROFILE:-$profile}"
EXTRAS=test
source "$(dirname "${BASH_SOURCE[0]}")/_venv.sh"
.venv/bin/ruff check src tests benchmarks
.venv/bin/ruff format --check src tests benchmarks
.venv/bin/mypy  # the package's types (pyproject's [tool.mypy]: src/lstm_sweep)
exec .venv/bin/python -m pytest -q "${args[@]}"
