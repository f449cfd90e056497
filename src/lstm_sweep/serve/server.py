"""The HTTP side of ``lstm-sweep serve``: the standard library's ``ThreadingHTTPServer``, GET and
HEAD only, a fixed map of in-package assets, JSON endpoints and one Server-Sent Events stream
per page (capped), every response (errors included) with a strict Content-Security-Policy.
It trusts no client: HTTP/1.0 or 1.1 only, one ``Host`` naming this server, connections capped
(one thread each) and closed when idle, a client gone ends its stream at once and quietly.

Routes: ``/`` the page (its first state inside, as JSON data), ``/static/<name>`` the script and
styles, ``/api/changes?since=V`` what changed after version V (the polling fallback),
``/api/curves?keys=K1,K2`` learning curves, ``/events?since=V`` the push stream.
"""

from __future__ import annotations

import html
import ipaddress
import logging
import os
import re
import select
import socket
import sys
import threading
import time
from collections.abc import Sequence
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from ..errors import ConfigError
from ..reporting import COLS, ROWS, pairs, printable
from .state import Watcher, to_json

log = logging.getLogger(__name__)

# The only files the server sends besides its own JSON: name -> (package file, content type).
ASSETS = {
    "app.js": ("app.js", "text/javascript; charset=utf-8"),
    "style.css": ("style.css", "text/css; charset=utf-8"),
}
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
    "Cross-Origin-Resource-Policy": "same-origin",
}
MAX_STREAMS = 64  # open event streams at once; a page beyond it polls instead
MAX_CONNECTIONS = 256  # open connections at once (a thread each); beyond it: 503, closed
REQUEST_TIMEOUT_S = 30.0  # a connection silent (or not reading) this long is closed
MAX_QUERY_FIELDS = 8
MAX_CURVE_KEYS = 64
KEEPALIVE_S = 15.0
STREAM_POLL_S = 0.5  # how often a stream looks whether its client left
_KEY = re.compile(r"^[0-9a-f]{8,64}$")
_QUIET = (ConnectionError, TimeoutError)  # a client that left or went silent: not an error


def _asset(name: str) -> bytes:
    return resources.files(__package__).joinpath("assets", ASSETS[name][0]).read_bytes()


def page(watcher: Watcher, title: str) -> bytes:
    """The page: a fixed shell, its first state as JSON data (not a script)."""
    state = to_json(watcher.changes(0))
    return (
        f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<link rel="icon" href="data:,">'
        f"<title>{html.escape(title)}</title>"
        '<link rel="stylesheet" href="/static/style.css"></head><body>'
        f'<header><h1>{html.escape(title)}</h1><p id="status" class="status">loading…</p>'
        '<p id="error" class="error" hidden></p></header>'
        '<section id="progress-section"><h2>Progress</h2><div id="progress"></div>'
        '<details id="running-details"><summary>Trials being trained now</summary>'
        '<div id="running"></div></details></section>'
        '<section><h2>Test accuracy</h2><p class="note">Each cell is the mean ± std over '
        "seeds, coloured from the table's worst (dark) to its best (bright); click a "
        'cell for its learning curves.</p><div id="tables"></div></section>'
        '<section><h2>Charts</h2><div class="charts">'
        "<figure><figcaption>Accuracy by learning rate, one line per row of the first "
        'table</figcaption><div id="chart-lr"></div></figure>'
        '<figure><figcaption id="curves-caption">Learning curves (accuracy on the batch just trained on) '
        'of the selected cell</figcaption><div id="chart-curves"></div></figure>'
        "<figure><figcaption>Test accuracy against wall time per trial</figcaption>"
        '<div id="chart-time"></div></figure></div></section>'
        '<section><h2>Findings</h2><div id="findings"></div></section>'
        '<section><h2>Trials</h2><div class="filters">'
        '<input id="filter" type="search" placeholder="filter: any field, e.g. 128 or gru">'
        '<select id="status-filter"><option value="">every status</option></select>'
        '<button id="cell-filter" type="button" hidden></button>'
        '<span id="trial-count"></span></div><div id="trials"></div></section>'
        f'<script type="application/json" id="initial-state">{state}</script>'
        '<script src="/static/app.js"></script></body></html>\n'
    ).encode()


class Handler(BaseHTTPRequestHandler):
    server: Server
    protocol_version = "HTTP/1.1"
    server_version = "lstm-sweep"
    sys_version = ""

    def log_message(self, fmt: str, *args) -> None:  # quiet; debug logging has them
        log.debug("%s " + fmt, self.address_string(), *args)

    def setup(self) -> None:
        super().setup()
        self.connection.settimeout(self.server.request_timeout)  # every read and write

    def handle(self) -> None:
        try:
            super().handle()
        except _QUIET as e:
            log.debug("%s: %s", self.client_address, e)

    def parse_request(self) -> bool:
        """The standard parse, then refuse what it lets through: HTTP/0.9 (an answer without
        status or headers) and more than one ``Host`` header (which one would be checked?)."""
        if not super().parse_request():
            return False
        if self.request_version == "HTTP/0.9":
            self.send_error(HTTPStatus.BAD_REQUEST, "HTTP/0.9 is not served")
            return False
        if len(self.headers.get_all("Host") or ()) > 1:
            self.send_error(HTTPStatus.BAD_REQUEST, "more than one Host header")
            return False
        return True

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """Every error answer (the standard parse's 400, 414, 431, 505 too) as plain text with
        the security headers, the connection closed; the reason in the debug log only."""
        if self.request_version in ("HTTP/0.9", "", None):
            self.request_version = "HTTP/1.0"  # a status line and headers, whatever was asked
        self.close_connection = True
        try:
            phrase = HTTPStatus(code).phrase
        except ValueError:
            phrase = "error"
        log.debug("%s: %d %s", self.address_string(), code, message or phrase)
        self._send(
            code,
            f"{int(code)} {phrase}\n".encode(),
            "text/plain; charset=utf-8",
            {"Connection": "close"},
            head=self.command == "HEAD",
        )

    # every method but GET and HEAD: 405
    def __getattr__(self, name: str):
        if name.startswith("do_"):
            return self._not_allowed
        raise AttributeError(name)

    def _not_allowed(self) -> None:  # its body unread: the connection ends with the answer
        self.close_connection = True
        self._send(
            405,
            b"only GET and HEAD\n",
            "text/plain; charset=utf-8",
            {"Allow": "GET, HEAD", "Connection": "close"},
        )

    def do_HEAD(self) -> None:
        self._route(head=True)

    def do_GET(self) -> None:
        self._route(head=False)

    def _send(
        self, code: int, body: bytes, ctype: str, extra: dict | None = None, head: bool = False
    ) -> None:
        self.send_response(code)
        for k, v in {**HEADERS, **(extra or {})}.items():
            self.send_header(k, v)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if not head:
            self.wfile.write(body)

    def _json(self, value: object, head: bool) -> None:
        self._send(200, to_json(value).encode(), "application/json; charset=utf-8", head=head)

    def _route(self, head: bool) -> None:
        try:
            if not self.server.host_allowed(self.headers.get("Host")):
                name = printable(str(self.headers.get("Host")))[:80]
                self._send(
                    421,
                    f"this server answers to its own names and addresses, not to Host {name!r}; "
                    "if that name is yours, start serve with --allow-host NAME\n".encode(),
                    "text/plain; charset=utf-8",
                    head=head,
                )
                return
            url = urlsplit(self.path)
            try:
                query = parse_qs(url.query, max_num_fields=MAX_QUERY_FIELDS)
            except ValueError:  # too many fields
                self._send(
                    400,
                    f"at most {MAX_QUERY_FIELDS} query fields\n".encode(),
                    "text/plain; charset=utf-8",
                    head=head,
                )
                return
            path = url.path
            if path in ("/", "/index.html"):
                self._send(
                    200, page(self.server.watcher, self.server.title), "text/html; charset=utf-8", head=head
                )
            elif path.startswith("/static/") and path[len("/static/") :] in ASSETS:
                name = path[len("/static/") :]
                self._send(200, _asset(name), ASSETS[name][1], head=head)
            elif path == "/api/changes":
                self._json(self.server.watcher.changes(_since(query)), head)
            elif path == "/api/curves":
                keys = [k for k in ",".join(query.get("keys", [])).split(",") if k]
                if len(keys) > MAX_CURVE_KEYS or not all(_KEY.match(k) for k in keys):
                    self._send(
                        400,
                        f"keys: up to {MAX_CURVE_KEYS} trial keys (hex), comma-separated\n".encode(),
                        "text/plain; charset=utf-8",
                        head=head,
                    )
                    return
                try:
                    self._json(self.server.watcher.curves(keys), head)
                except Exception as e:  # a store gone meanwhile: the page says so
                    self._json({"error": printable(str(e))[:300]}, head)
            elif path == "/events" and not head:
                self._events(_since(query, self.headers.get("Last-Event-ID")))
            else:
                self._send(404, b"not found\n", "text/plain; charset=utf-8", head=head)
        except _QUIET:
            self.close_connection = True
        except Exception:  # never a traceback to the client
            log.exception("error answering %s", printable(self.path)[:200])
            try:
                self._send(
                    500, b"internal error (see the server's log)\n", "text/plain; charset=utf-8", head=head
                )
            except OSError:
                pass

    def _events(self, since: int) -> None:
        if not self.server.streams.acquire(blocking=False):
            self._send(
                503,
                b"too many event streams; poll /api/changes\n",
                "text/plain; charset=utf-8",
                {"Retry-After": "5"},
            )
            return
        try:
            self.send_response(200)
            for k, v in HEADERS.items():
                self.send_header(k, v)
            self.send_header("Content-Type", "text/event-stream; charset=utf-8")
            self.send_header("Connection", "close")
            self.end_headers()
            self.close_connection = True
            watcher = self.server.watcher
            self.wfile.write(b"retry: 2000\n\n")
            self.wfile.flush()
            while not self._stream_over():
                if watcher.version != since:
                    change = watcher.changes(since)
                    since = change["version"]
                    self.wfile.write(f"id: {since}\nevent: change\ndata: {to_json(change)}\n\n".encode())
                else:
                    self.wfile.write(b": keepalive\n\n")
                self.wfile.flush()
                # until a change or the next keepalive, looking in short slices whether the
                # client left, so that its slot is free at once, not at the next write
                next_keepalive = time.monotonic() + KEEPALIVE_S
                while (
                    watcher.wait(since, STREAM_POLL_S) == since
                    and not self._stream_over()
                    and time.monotonic() < next_keepalive
                ):
                    pass
        finally:
            self.server.streams.release()

    def _stream_over(self) -> bool:
        """The server closes, or the client left (an EventSource sends nothing once it asked:
        anything readable is its end of the connection, or junk)."""
        if self.server.watcher.stopped or self.server.closing.is_set():
            return True
        try:
            if hasattr(select, "poll"):  # any descriptor number (select stops at 1024)
                poll = select.poll()
                poll.register(self.connection, select.POLLIN | select.POLLPRI)
                return bool(poll.poll(0))  # hang-ups and errors are always reported
            return bool(select.select([self.connection], [], [], 0)[0])
        except (OSError, ValueError):
            return True


def _since(query: dict, header: str | None = None) -> int:
    text = header or (query.get("since") or ["0"])[0]  # a reconnecting EventSource: its last id
    try:
        value = int(text)
    except ValueError:
        return 0
    return value if 0 <= value < 2**62 else 0


class Server(ThreadingHTTPServer):
    """A live page of the store at ``path`` on ``host``:``port`` (0: any free port).

    ``host`` is resolved as it is bound: :attr:`host` is the address listened on (``127.1`` and
    ``localhost`` are ``127.0.0.1``), :attr:`loopback` whether only this machine can reach it.

    The ``Host`` header must name this server, on any port (an SSH tunnel or a proxy forwards
    another one): any IP address (an address is no name that DNS can re-point: DNS rebinding
    needs a name), ``localhost`` and the names under ``.localhost``, the name it was given,
    this machine's names (host name, FQDN) where it listens beyond loopback, and the names in
    ``allow_hosts`` (``example.org``; ``.example.org`` for it and every name under it; ``*``
    for any name, behind a proxy that checks names itself). Anything else is a page of
    another site reading this one: 421. (Vite's rule, and the machine's names; Jupyter's allows
    only loopback names.)"""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(
        self,
        path: str | Path,
        host: str = "127.0.0.1",
        port: int = 8000,
        *,
        rows: str = ROWS,
        cols: str = COLS,
        where: Sequence[tuple[str, str]] = (),
        interval: float = 0.5,
        max_streams: int = MAX_STREAMS,
        max_connections: int = MAX_CONNECTIONS,
        request_timeout: float = REQUEST_TIMEOUT_S,
        title: str | None = None,
        allow_hosts: Sequence[str] = (),
    ):
        if not isinstance(path, (str, os.PathLike)) or not str(path):
            raise ConfigError(f"a store is a file path, not {path!r:.40}")
        if not isinstance(host, str) or not host or len(host) > 255:
            raise ConfigError(f"host= must be an address or a host name, got {host!r:.40}")
        if not isinstance(port, int) or isinstance(port, bool) or not 0 <= port <= 65535:
            raise ConfigError(f"port= must be 0..65535, got {port!r:.30}")
        if (
            isinstance(interval, bool)
            or not isinstance(interval, (int, float))
            or not (0.01 <= interval <= 3600)
        ):
            raise ConfigError(f"interval must be 0.01..3600 seconds, got {interval!r:.30}")
        if (
            isinstance(max_streams, bool)
            or not isinstance(max_streams, int)
            or not (1 <= max_streams <= 10_000)
        ):
            raise ConfigError(f"max_streams must be 1..10000, got {max_streams!r:.30}")
        if (
            isinstance(max_connections, bool)
            or not isinstance(max_connections, int)
            or not (1 <= max_connections <= 10_000)
        ):
            raise ConfigError(f"max_connections must be 1..10000, got {max_connections!r:.30}")
        if (
            isinstance(request_timeout, bool)
            or not isinstance(request_timeout, (int, float))
            or not 0.01 <= request_timeout <= 3600
        ):
            raise ConfigError(f"request_timeout must be 0.01..3600 seconds, got {request_timeout!r:.30}")
        if title is not None and not isinstance(title, str):
            raise ConfigError(f"title must be text, got {title!r:.30}")
        where = pairs("where", where)
        allowed = _allow_list(allow_hosts)
        self.watcher = Watcher(path, rows=rows, cols=cols, where=where, interval=interval)
        self.title = title or f"lstm-sweep: {printable(Path(path).name)}"
        self.streams = threading.BoundedSemaphore(max_streams)
        self.connections = threading.BoundedSemaphore(max_connections)
        self.request_timeout = float(request_timeout)
        self.closing = threading.Event()
        bind = host[1:-1] if host.startswith("[") and host.endswith("]") else host  # [::1]
        self.address_family = socket.AF_INET6 if ":" in bind else socket.AF_INET
        try:
            super().__init__((bind, port), Handler)
        except (OSError, ValueError, UnicodeError, OverflowError) as e:
            self.watcher.stop()
            raise ConfigError(
                f"cannot listen on {printable(host)[:60]}:{port}: "
                f"{getattr(e, 'strerror', None) or e}; pass "
                "port= with another port (0: any free one)"
            ) from None
        self.host = str(self.server_address[0])  # as bound: resolved and canonical
        self.port = self.server_address[1]
        try:
            address = ipaddress.ip_address(self.host.split("%")[0])
        except ValueError:
            address = None
        self.loopback = address is not None and address.is_loopback
        names = {host, self.host, "localhost", *allowed}
        if not self.loopback:
            names |= {socket.gethostname(), socket.getfqdn()}
        self.any_host = "*" in names
        self.names = {n.strip("[]").lower().rstrip(".") for n in names if n and not n.startswith(".")}
        self.suffixes = tuple(n for n in allowed if n.startswith("."))

    @property
    def url(self) -> str:
        return f"http://{_host_port(self.host, self.port)}/"

    def host_allowed(self, value: str | None) -> bool:
        """A ``Host`` header naming this server on any port (see the class: DNS rebinding)."""
        name = _host_name(value)
        if name is None:
            return False
        if self.any_host or name in self.names or name.endswith(".localhost"):
            return True
        if any(name.endswith(suffix) or name == suffix[1:] for suffix in self.suffixes):
            return True
        try:
            ipaddress.ip_address(name.split("%")[0])
        except ValueError:
            return False
        return True

    # ---------------------------------------------------------------- connections, bounded

    def process_request(self, request, client_address) -> None:
        """A thread for the connection, unless :data:`MAX_CONNECTIONS` are open: then a 503
        (with the security headers) and the connection closed, from this thread, never
        waiting on the client."""
        if not self.connections.acquire(blocking=False):
            self._refuse(request)
            return
        try:
            super().process_request(request, client_address)
        except BaseException:
            self.connections.release()
            raise

    def process_request_thread(self, request, client_address) -> None:
        threading.current_thread().name = f"lstm-sweep-connection-{self.port}"
        try:
            super().process_request_thread(request, client_address)
        finally:
            self.connections.release()

    def _refuse(self, request) -> None:
        body = b"too many connections; try again\n"
        head = "".join(
            f"{k}: {v}\r\n"
            for k, v in {
                **HEADERS,
                "Content-Type": "text/plain; charset=utf-8",
                "Content-Length": str(len(body)),
                "Retry-After": "5",
                "Connection": "close",
            }.items()
        )
        try:
            request.setblocking(False)
            request.send(f"HTTP/1.1 503 Service Unavailable\r\n{head}\r\n".encode() + body)
        except OSError:
            pass
        self.shutdown_request(request)

    def handle_error(self, request, client_address) -> None:
        """A client that reset its connection or went silent is no error (debug log); anything
        else is logged with its traceback, never printed."""
        error = sys.exc_info()[1]
        if isinstance(error, _QUIET):
            log.debug("%s: %s", client_address, error)
        else:
            log.error("error on a connection from %s", client_address, exc_info=True)

    def start(self) -> Server:
        self.watcher.start()
        self._thread = threading.Thread(target=self.serve_forever, name="lstm-sweep-serve", daemon=True)
        self._thread.start()
        return self

    def close(self) -> None:
        self.closing.set()
        self.watcher.stop()
        self.shutdown()
        self.server_close()


_NAME = re.compile(r"^[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?(\.[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?)*$")


def _host_name(value: str | None) -> str | None:
    """The name in a ``Host`` header (``name``, ``name:port``, ``[v6]:port``), lower-case,
    without its port, brackets or final dot; None when there is none or it is malformed."""
    if value is None:
        return None
    text = value.strip().lower()
    if text.startswith("["):
        end = text.find("]")
        name, rest = text[1:end], text[end + 1 :]
        if end < 0 or ":" not in name:
            return None
    else:
        name, colon, port = text.partition(":")
        rest = colon + port
    if rest and not (rest[0] == ":" and rest[1:].isascii() and rest[1:].isdigit() and len(rest) <= 6):
        return None
    if ":" in name:  # an IPv6 address in brackets
        try:
            ipaddress.ip_address(name.split("%")[0])
        except ValueError:
            return None
        return name
    name = name.rstrip(".")
    return name if name and len(name) <= 253 and _NAME.match(name) else None


def _allow_list(values: Sequence[str]) -> list[str]:
    """``allow_hosts`` checked: names (``example.org``), suffixes (``.example.org``), ``*``."""
    if isinstance(values, str) or not isinstance(values, (list, tuple)):
        raise ConfigError(f"allow_hosts= must be a list of host names, got {values!r:.40}")
    out = []
    for value in values:
        text = value.strip().lower().rstrip(".") if isinstance(value, str) else None
        name = text[1:] if text and text.startswith(".") else text
        if text is not None and (text == "*" or (name and _host_name(name) == name)):
            out.append(text)
        else:
            raise ConfigError(
                f"allowed host {printable(str(value))[:60]!r} is not a host name: give a name "
                "(example.org), a suffix for every name under one (.example.org), or * for any"
            )
    return out


def _host_port(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def serve_store(path: str | Path, host: str = "127.0.0.1", port: int = 8000, **kw) -> Server:
    """Start serving a live page of the store at ``path`` in background threads (read-only:
    nothing is written, no file is created beside it); ``.url`` says where, ``close()`` stops
    it. Keywords: ``rows``, ``cols``, ``where`` (as ``table``), ``interval`` (seconds between
    looks at the store), ``max_streams``, ``max_connections``, ``request_timeout`` (seconds a
    connection may stay silent), ``title``, ``allow_hosts`` (names besides this machine's that
    a ``Host`` header may give: see :class:`Server`).

    Raises:
        ConfigError: a bad port, axis, ``--where`` axis or allowed host, or the address cannot
            be listened on.
    """
    return Server(path, host, port, **kw).start()
