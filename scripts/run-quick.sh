#!/usr/bin/env bash
# Set up (venv, CPU PyTorch, lstm-sweep) and run the main job: the `quick` grid on the CPU.
# Extra arguments go to `lstm-sweep run` (e.g. --db my.db, --seeds 0,1,2).
source "$(dirname "${BASH_SOURCE[0]}")/_venv.sh"
exec .venv/bin/lstm-sweep run --preset quick --device cpu "$@"
