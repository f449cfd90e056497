#!/usr/bin/env bash
# Set up (venv, CPU PyTorch, lstm-sweep with its test extras) and run lint + the test suite.
# MNIST comes from $LSTM_SWEEP_DATA_DIR if set, else the per-user cache (downloaded once).
EXTRAS=test
source "$(dirname "${BASH_SOURCE[0]}")/_venv.sh"
.venv/bin/ruff check src tests
exec .venv/bin/python -m pytest -q "$@"
