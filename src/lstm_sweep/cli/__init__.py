"""The ``lstm-sweep`` command: a thin shell over the public API (``import lstm_sweep``).

One module per command or family, over a small dispatcher (:mod:`.app`): :mod:`.sweeps`
(``run``, ``plan``), :mod:`.search`, :mod:`.reports` (``table``, ``findings``, ``compare``,
``plot``, ``report``, ``export``), :mod:`.serve`, :mod:`.coordcheck`, :mod:`.checks`
(``check``, ``data``). Beside them: :mod:`.params` (parameter types), :mod:`.options` (the
options that several commands share, each declared once), :mod:`.console` (progress and
printing), :mod:`.guard` (errors, Ctrl-C and SIGTERM: how a command ends) and :mod:`.reference`
(``docs/cli.md``, generated from the commands).
"""

from .app import cli, main
from .guard import RESUMABLE, interrupted_message

__all__ = ["RESUMABLE", "cli", "interrupted_message", "main"]
