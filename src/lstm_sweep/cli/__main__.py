"""``python -m lstm_sweep.cli``: the ``lstm-sweep`` command."""

import sys

from .app import main

sys.exit(main())
