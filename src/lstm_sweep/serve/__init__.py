"""The live page of a store: ``lstm-sweep serve``. It reads the store (never writes it), notices
commits cheaply (SQLite's ``PRAGMA data_version`` and the files' identity), builds the page's
state with :mod:`lstm_sweep.reporting` and pushes what is new to the browsers (Server-Sent
Events, with polling as the fallback). Standard library HTTP only; the page's script and styles
are files of this package, served from a fixed map."""

from .server import Server, serve_store
from .state import Snapshot, Watcher

__all__ = ["Server", "Snapshot", "Watcher", "serve_store"]
