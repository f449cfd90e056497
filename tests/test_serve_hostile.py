"""`lstm-sweep serve` against hostile inputs and clients, over real sockets on 127.0.0.1: what
lies in the checkpoint folder (a FIFO, links) and in the store's plan and claim rows (non-finite
and junk numbers), and clients that speak HTTP/0.9, send two ``Host`` headers or too many query
fields, reset their connections, stay idle or leave an event stream. The server must keep
answering, with its security headers on every answer, a bounded number of threads, no
traceback. Every wait is for an event, with a deadline that is a hang guard, never a timing."""

from __future__ import annotations

import json
import logging
import os
import select
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from helpers import LSTM_SWEEP, cli, examples, trial
from lstm_sweep import Store
from lstm_sweep.errors import ConfigError
from lstm_sweep.serve import server as server_module
from lstm_sweep.serve.server import serve_store
from lstm_sweep.serve.state import Watcher, to_json
from lstm_sweep.store.claims import Driver
from lstm_sweep.study.config import TrialConfig
from lstm_sweep.study.live import checkpoint_dir, encode_live, live_path, read_live

DEADLINE_S = 60.0  # a hang guard: nothing here waits this long unless it is broken
SECURITY = (
    "content-security-policy",
    "x-content-type-options",
    "x-frame-options",
    "referrer-policy",
    "cache-control",
)


def _store(path: Path, widths=(16, 32), lrs=(1e-3, 1e-2)) -> Path:
    with Store(path) as s:
        for h in widths:
            for lr in lrs:
                s.save(trial(h, lr, 0.9))
    return path


def _save_from_another_process(db: Path, hidden: int) -> None:
    code = (
        "import sys; sys.path.insert(0, sys.argv[1]); from helpers import trial; "
        "from lstm_sweep import Store; s = Store(sys.argv[2]); "
        "s.save(trial(int(sys.argv[3]), 0.01, 0.9)); s.close()"
    )
    subprocess.run(
        [sys.executable, "-c", code, str(Path(__file__).parent), str(db), str(hidden)],
        check=True,
        timeout=DEADLINE_S,
    )


def _strict_json(body: bytes):
    def refuse(name):
        raise AssertionError(f"{name} in the JSON")

    return json.loads(body, parse_constant=refuse)


# ----------------------------------------------------------------------------- raw HTTP


def _exchange(port: int, data: bytes, *, until_eof: bool = True) -> bytes:
    """Send ``data`` on a fresh connection and read the answer until the server closes (a
    reset after the answer, for bytes the server did not read, ends it too)."""
    with socket.create_connection(("127.0.0.1", port), timeout=DEADLINE_S) as s:
        s.sendall(data)
        out = b""
        while True:
            try:
                chunk = s.recv(65536)
            except ConnectionResetError:
                break
            if not chunk:
                break
            out += chunk
            if not until_eof and b"\r\n\r\n" in out:
                break
        return out


def _parse(answer: bytes) -> tuple[int, dict[str, str], bytes]:
    head, _, body = answer.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    assert lines[0].startswith(("HTTP/1.0 ", "HTTP/1.1 ")), answer[:200]
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return int(lines[0].split()[1]), headers, body


def _assert_guarded(answer: bytes) -> int:
    """An answer with a status line and every security header (never a bare body)."""
    status, headers, body = _parse(answer)
    for name in SECURITY:
        assert name in headers, (name, answer[:300])
    assert "'unsafe-inline'" not in headers["content-security-policy"]
    assert b"Traceback" not in body
    assert status == 200 or b"<!DOCTYPE" not in body  # an error answer is never the page
    return status


def _handler_threads(port: int) -> list[threading.Thread]:
    """The threads of the in-process server on ``port``, one per open connection."""
    return [
        t for t in threading.enumerate() if t.name == f"lstm-sweep-connection-{port}" or _of_port(t, port)
    ]


def _of_port(t: threading.Thread, port: int) -> bool:
    """A connection's thread that has not named itself yet (its arguments: the socket)."""
    args = getattr(t, "_args", ())
    try:
        return bool(args) and isinstance(args[0], socket.socket) and args[0].getsockname()[1] == port
    except OSError:
        return False


def _wait(test, what: str):
    give_up = time.monotonic() + DEADLINE_S
    while not (got := test()):
        assert time.monotonic() < give_up, f"never happened: {what}"
        time.sleep(0.05)
    return got


@pytest.fixture
def server(tmp_path):
    servers = []

    def start(db=None, **kw):
        s = serve_store(db or _store(tmp_path / "s.db"), port=0, **kw)
        servers.append(s)
        return s

    yield start
    for s in servers:
        s.close()


def _get(port: int, path: str, host: str | None = None, extra: str = "") -> bytes:
    host = f"127.0.0.1:{port}" if host is None else host
    return _exchange(
        port, f"GET {path} HTTP/1.1\r\nHost: {host}\r\n{extra}Connection: close\r\n\r\n".encode()
    )


def test_every_error_answer_carries_the_security_headers(server):
    """The standard parser's own refusals (400, 414, 431, 505), HTTP/0.9 and two Host headers:
    a status line, the security headers, no page."""
    s = server()
    p = s.port
    cases = {
        b"GET /\r\n\r\n": 400,  # HTTP/0.9: would be the page without a status or headers
        b"POST /\r\n\r\n": 400,  # an HTTP/0.9 POST
        b"GARBAGE\r\n": 400,
        b"GET / HTTP/1.x\r\n": 400,
        b"GET / HTTP/2.0\r\n": 505,
        b"GET /" + b"a" * (65537 - 5): 414,  # exactly the bytes the server reads: no reset
        b"GET / HTTP/1.1\r\n" + b"".join(b"X-%d: 1\r\n" % i for i in range(101)): 431,
        b"GET / HTTP/1.1\r\nX-Long: " + b"a" * 70000: 431,
        f"GET / HTTP/1.1\r\nHost: 127.0.0.1:{p}\r\nHost: evil.example\r\n\r\n".encode(): 400,
        f"GET / HTTP/1.1\r\nHost: 127.0.0.1:{p}\r\nHost: 127.0.0.1:{p}\r\n\r\n".encode(): 400,
        f"GET / HTTP/1.1\r\nHost: evil.example\r\nHost: 127.0.0.1:{p}\r\n\r\n".encode(): 400,
        f"DELETE / HTTP/1.1\r\nHost: 127.0.0.1:{p}\r\n\r\n".encode(): 405,
        b"GET / HTTP/1.1\r\nHost: evil.example\r\nConnection: close\r\n\r\n": 421,
    }
    for request, code in cases.items():
        answer = _exchange(p, request)
        assert answer, request[:60]
        assert _assert_guarded(answer) == code, (request[:60], answer[:200])
    # a HEAD refused by the parser: headers, no body
    status, headers, body = _parse(_exchange(p, b"HEAD / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n"))
    assert status == 400 and body == b""
    assert _assert_guarded(_get(p, "/")) == 200  # and the page itself, of course


def test_too_many_query_fields_is_a_400_not_a_traceback(server, caplog):
    s = server()
    for path in ("/api/changes", "/api/curves", "/", "/events"):
        query = "&".join(f"f{i}=1" for i in range(9))
        assert _assert_guarded(_get(s.port, f"{path}?{query}")) == 400, path
        assert _assert_guarded(_get(s.port, f"{path}?{'&' * 20}")) in (200, 400), path
    assert _assert_guarded(_get(s.port, "/api/changes?since=0&a=1")) == 200
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


@settings(max_examples=examples(60))
@given(
    method=st.sampled_from(["GET", "HEAD", "POST", "get", "G\x00T", "", "PRI"]),
    path=st.one_of(
        st.sampled_from(
            ["/", "/api/changes", "/api/curves", "/static/app.js", "/events", "//x", "*", "http://evil/"]
        ),
        st.text(st.characters(min_codepoint=33, max_codepoint=126), max_size=40),
    ),
    query=st.lists(
        st.sampled_from(
            ["since=1", "since=-1", "keys=abcdef12", "keys=", "a", "=", "since=1e999", "since=nan", "%zz"]
        ),
        max_size=12,
    ),
    version=st.sampled_from(
        ["HTTP/1.1", "HTTP/1.0", "", "HTTP/0.9", "HTTP/2.0", "HTTP/1", "http/1.1", "HTTP/1.1 x", "HTTP/01.01"]
    ),
    hosts=st.lists(st.sampled_from(["ok", "evil.example", "", "ok:1"]), max_size=3),
)
def test_any_request_gets_a_guarded_answer_or_none(tmp_path_factory, method, path, query, version, hosts):
    """Whatever the request line and Host headers: either no answer (a connection the server
    could not read a request from) or one with a status line and the security headers, and
    never a 500."""
    s = _shared_server(tmp_path_factory)
    target = path + ("?" + "&".join(query) if query else "")
    head = "".join(f"Host: {f'127.0.0.1:{s.port}' if h == 'ok' else h}\r\n" for h in hosts)
    line = " ".join(w for w in (method, target, version) if w)
    answer = _exchange(
        s.port,
        f"{line}\r\n{head}Connection: close\r\n\r\n".encode("latin-1"),
        until_eof=not path.startswith("/events"),
    )
    if answer:
        assert _assert_guarded(answer) != 500


_SHARED: dict = {}


def _shared_server(tmp_path_factory):
    """One server for every example of the property above (started once, closed at exit)."""
    if "server" not in _SHARED:
        db = _store(tmp_path_factory.mktemp("shared") / "s.db")
        _SHARED["server"] = serve_store(db, port=0)
    return _SHARED["server"]


@pytest.fixture(autouse=True, scope="module")
def _close_shared():
    yield
    if "server" in _SHARED:
        _SHARED.pop("server").close()


# ----------------------------------------------------------------------------- connections


def _reset(sock: socket.socket) -> None:
    """Close with a TCP reset (SO_LINGER 0), as a client that vanished does."""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


def test_clients_that_reset_their_connections_leave_no_traceback(server, capfd, caplog):
    s = server()
    request = f"GET / HTTP/1.1\r\nHost: 127.0.0.1:{s.port}\r\n\r\n".encode()
    for how in (
        "after an answer, kept alive",
        "mid-request",
        "before a word",
        "while reading an event stream",
    ):
        sock = socket.create_connection(("127.0.0.1", s.port), timeout=DEADLINE_S)
        if how == "after an answer, kept alive":
            sock.sendall(request)
            got = b""
            while b"</html>" not in got:
                chunk = sock.recv(65536)
                assert chunk
                got += chunk
        elif how == "mid-request":
            sock.sendall(request[:20])
        elif how == "while reading an event stream":
            sock.sendall(request.replace(b"GET / ", b"GET /events "))
            assert sock.recv(4096).startswith(b"HTTP/1.1 200")
        _reset(sock)
    # every connection's thread has seen its reset and ended (the slots are back)
    _wait(lambda: not _handler_threads(s.port), "the handler threads end")
    assert _assert_guarded(_get(s.port, "/")) == 200
    _wait(lambda: not _handler_threads(s.port), "the handler threads end")
    err = capfd.readouterr().err
    assert "Traceback" not in err and "ConnectionResetError" not in err, err
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


def test_connections_are_capped_and_idle_ones_closed(server):
    """More connections than the cap: a 503 with the security headers for those beyond it,
    never more handler threads than the cap; a silent connection is closed, its slot free."""
    cap = 4
    s = server(max_connections=cap, request_timeout=3600)
    idle = [socket.create_connection(("127.0.0.1", s.port), timeout=DEADLINE_S) for _ in range(cap)]
    try:
        for _ in range(30):  # accepted in order after the idle ones: each is refused
            answer = _exchange(s.port, b"")
            assert _assert_guarded(answer) == 503
            assert len(_handler_threads(s.port)) <= cap
        assert len(_handler_threads(s.port)) == cap
        idle.pop().close()  # one leaves: its slot is free again
        _wait(lambda: _get(s.port, "/").startswith(b"HTTP/1.1 200"), "a slot is free")
    finally:
        for sock in idle:
            sock.close()
    _wait(lambda: not _handler_threads(s.port), "the handler threads end")

    quick = server(request_timeout=0.5)  # a connection silent longer than this is closed
    for data in (
        b"",
        b"GET / HTTP/1.1\r\n",  # idle, half a request, kept alive after one
        f"GET /static/style.css HTTP/1.1\r\nHost: 127.0.0.1:{quick.port}\r\n\r\n".encode(),
    ):
        with socket.create_connection(("127.0.0.1", quick.port), timeout=DEADLINE_S) as sock:
            sock.sendall(data)
            got = b""
            while chunk := sock.recv(65536):  # until the server closes it (a hang without)
                got += chunk
            assert got == b"" or _assert_guarded(got) == 200
    assert _assert_guarded(_get(quick.port, "/")) == 200


def test_an_event_stream_slot_is_free_as_soon_as_its_client_left(server, monkeypatch):
    monkeypatch.setattr(server_module, "KEEPALIVE_S", 3600.0)  # no write will reveal it
    s = server(max_streams=1)

    def stream():
        sock = socket.create_connection(("127.0.0.1", s.port), timeout=DEADLINE_S)
        sock.sendall(f"GET /events HTTP/1.1\r\nHost: 127.0.0.1:{s.port}\r\n\r\n".encode())
        got = b""
        while b"\r\n\r\n" not in got:
            chunk = sock.recv(4096)
            assert chunk
            got += chunk
        return sock, _parse(got)[0]

    def served():
        sock, status = stream()
        if status != 200:
            sock.close()
            return None
        return sock

    sock = _wait(served, "a stream")
    for leave in (socket.socket.close, _reset):
        other, status = stream()
        assert status == 503  # the one slot is taken
        other.close()
        leave(sock)
        sock = _wait(served, "a new stream once the client left")
    sock.close()
    closed_at = time.monotonic()
    s.close()  # streams notice the server closing too (not only at a keepalive)
    assert time.monotonic() - closed_at < DEADLINE_S


# ----------------------------------------------------------------------------- the listen address


def test_the_listen_address_is_resolved(server, tmp_path, capfd):
    """``127.1`` and ``localhost`` are 127.0.0.1: that is the URL, no warning, and a browser's
    ``Host: 127.0.0.1:P`` (or the name given) is this server."""
    db = _store(tmp_path / "s.db")
    for name in ("127.1", "localhost", "127.0.0.1", "2130706433"):
        s = server(db, host=name)
        assert s.host == "127.0.0.1" and s.loopback and s.url == f"http://127.0.0.1:{s.port}/"
        for host in (
            f"127.0.0.1:{s.port}",
            f"localhost:{s.port}",
            f"{name}:{s.port}",
            f"LOCALHOST:{s.port}",
            f"127.0.0.1:{s.port + 1}",
            "127.0.0.1",
        ):
            assert _assert_guarded(_get(s.port, "/", host)) == 200, (name, host)
        for host in (f"evil.example:{s.port}", f"{socket.gethostname()}x:{s.port}"):
            assert _assert_guarded(_get(s.port, "/", host)) == 421, (name, host)
    if socket.has_ipv6:
        try:
            s = server(db, host="0:0:0:0:0:0:0:1")
        except ConfigError:  # no IPv6 loopback here
            pass
        else:
            assert s.host == "::1" and s.loopback and s.url == f"http://[::1]:{s.port}/"
            with socket.create_connection(("::1", s.port), timeout=DEADLINE_S) as sock:
                sock.sendall(f"GET / HTTP/1.1\r\nHost: [::1]:{s.port}\r\nConnection: close\r\n\r\n".encode())
                assert sock.recv(100).startswith(b"HTTP/1.1 200")

    proc = subprocess.Popen(
        [LSTM_SWEEP, "serve", "--db", str(db), "--port", "0", "--host", "127.1"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        url = _line_within(proc, DEADLINE_S)
        assert url.startswith("http://127.0.0.1:"), url
        port = int(url.rsplit(":", 1)[1].strip("/"))
        assert _assert_guarded(_get(port, "/", f"127.0.0.1:{port}")) == 200
    finally:
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=DEADLINE_S)
    assert "warning" not in err.decode() and "anyone" not in err.decode(), err


def test_a_tunnel_a_wide_bind_and_the_allow_list_reach_the_page(server, tmp_path):
    """The usual remote ways reach the page over real HTTP: an SSH tunnel (``ssh -L
    9999:localhost:P`` sends ``Host: localhost:9999``), the machine's own names and addresses
    when it listens on every address, names the user allows; the DNS-rebinding defence holds:
    any other name (a page of another site whose name points here) gets 421."""
    db = _store(tmp_path / "s.db")
    me = socket.gethostname()
    s = server(db)
    tunnel = ("localhost:9999", "127.0.0.1:9999", "[::1]:9999", "app.localhost:9999", "LocalHost.:80")
    for host in (*tunnel, "10.1.2.3:8000", "[fe80::1%25eth0]:1"):
        assert _assert_guarded(_get(s.port, "/", host)) == 200, host
    hostile = (
        "evil.example",
        "evil.example:9999",
        "localhost.evil.example:9999",
        "127.0.0.1.nip.io",
        f"{me}-x",
        "local host",
        "localhost:abc",
        "localhost:1234567",
        "[::1",
        "[zz]:1",
        "a..b",
        "",
        "localhost:80:80",
    )
    for host in hostile:
        assert _assert_guarded(_get(s.port, "/", host)) == 421, host
    if not me.startswith("localhost"):  # a loopback page is not reached by the machine's name
        assert _assert_guarded(_get(s.port, "/", f"{me}:{s.port}")) == 421

    wide = server(db, host="0.0.0.0")
    assert not wide.loopback
    for host in (f"{me}:{wide.port}", f"{me}:443", f"{socket.getfqdn()}:1", "192.0.2.7:8000", *tunnel):
        assert _assert_guarded(_get(wide.port, "/", host)) == 200, host
    for host in hostile:
        assert _assert_guarded(_get(wide.port, "/", host)) == 421, host

    allowed = server(db, allow_hosts=["Lab.Example.org", ".tunnel.example"])
    for host in ("lab.example.org:443", "x.tunnel.example", "a.b.tunnel.example:1", "tunnel.example"):
        assert _assert_guarded(_get(allowed.port, "/", host)) == 200, host
    for host in ("example.org", "evil.example", "xtunnel.example", "lab.example.org.evil"):
        assert _assert_guarded(_get(allowed.port, "/", host)) == 421, host
    anyone = server(db, allow_hosts=["*"])
    assert _assert_guarded(_get(anyone.port, "/", "evil.example:1")) == 200
    assert _assert_guarded(_get(anyone.port, "/", "")) == 421  # still a name, not none


@pytest.mark.parametrize("bad", ["", " ", "a b", "<x>", "http://x", "a:80", "..x", "x/y", "*.x"])
def test_a_bad_allowed_host_is_refused_before_listening(tmp_path, bad):
    db = _store(tmp_path / "s.db")
    with pytest.raises(ConfigError, match="is not a host name"):
        serve_store(db, port=0, allow_hosts=[bad])
    given = f"ok.example,{bad}" if bad.strip() else "\x00"
    o = cli("serve", "--db", db, "--port", "0", "--allow-host", given)
    assert "is not a host name" in o.error_line(), o.err


def test_serve_refuses_an_unknown_where_axis(tmp_path):
    db = _store(tmp_path / "s.db")
    table = cli("table", "--db", db, "--where", "junk=x")
    o = _in_thread(cli, "serve", "--db", db, "--port", "0", "--where", "junk=x")  # or serves
    assert o.error_line().startswith("Error: unknown axis 'junk'"), o.err
    assert table.error_line() == o.error_line()
    with pytest.raises(ConfigError, match="unknown axis"):
        serve_store(db, port=0, where=[("cell", "gru"), ("nope", "1")])
    s = serve_store(db, port=0, where=[("cell", "gru")])  # a value no trial has yet: fine
    try:
        assert _strict_json(_parse(_get(s.port, "/api/changes"))[2])["rows"] == []
    finally:
        s.close()


# ----------------------------------------------------------------------------- the checkpoint folder


def _line_within(proc: subprocess.Popen, timeout: float) -> str:
    """The first line ``proc`` writes on stdout, or fail when none comes in ``timeout`` s."""
    ready, _, _ = select.select([proc.stdout], [], [], timeout)
    assert ready, "the server never said where it listens"
    return proc.stdout.readline().decode().strip()


def _claimed_with_fifo(tmp_path: Path) -> tuple[Path, TrialConfig]:
    """A store with a live claim whose curve file is a FIFO (nothing ever writes it)."""
    db = _store(tmp_path / "s.db")
    config = TrialConfig(hidden=8, lr=0.1, steps=30)
    with Store(db) as s:
        s.claim([config.key()], Driver())
    folder = checkpoint_dir(db)
    folder.mkdir()
    os.mkfifo(live_path(folder, config.key()))
    return db, config


def _in_thread(fn, *args):
    """``fn(*args)`` in a daemon thread: its result, or fail if it is still blocked after the
    deadline (a blocked open of a FIFO would hang the test otherwise)."""
    out = []
    t = threading.Thread(target=lambda: out.append(fn(*args)), daemon=True)
    t.start()
    t.join(DEADLINE_S)
    assert not t.is_alive(), f"{fn.__name__} blocked"
    return out[0]


def test_a_curve_file_that_is_no_regular_file_reads_as_no_curve(tmp_path):
    db, config = _claimed_with_fifo(tmp_path)
    folder = checkpoint_dir(db)
    path = live_path(folder, config.key())
    elsewhere = tmp_path / "elsewhere.json"
    elsewhere.write_bytes(encode_live(config, 10, [(10, 1.0, 0.5)]))

    def follow() -> bool:  # one thread: the watcher's SQLite connection is its thread's
        assert read_live(folder, config.key()) is None  # the FIFO
        w = Watcher(db)
        try:
            assert "curve" not in w.snapshot.summary["claims"][0] and w.snapshot.error is None
            for target in (elsewhere, Path("/dev/zero"), tmp_path / "missing", path):
                path.unlink()
                path.symlink_to(target)  # a link is never followed (nor a loop a problem)
                assert read_live(folder, config.key()) is None, target
                w.refresh()
                assert "curve" not in w.snapshot.summary["claims"][0], target
            path.unlink()
            path.write_bytes(elsewhere.read_bytes())  # the real thing reads
            assert read_live(folder, config.key())["step"] == 10
            assert w.refresh() and w.snapshot.summary["claims"][0]["step"] == 10
        finally:
            w.stop()
        return True

    assert _in_thread(follow)


def test_a_fifo_as_a_curve_file_never_freezes_serve(tmp_path):
    """``serve`` starts beside a FIFO in the checkpoint folder, the page still follows the
    store (a trial committed by another process appears), and SIGTERM stops it."""
    db, _ = _claimed_with_fifo(tmp_path)
    proc = subprocess.Popen(
        [LSTM_SWEEP, "serve", "--db", str(db), "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        url = _line_within(proc, DEADLINE_S)
        port = int(url.rsplit(":", 1)[1].strip("/"))

        def changes():
            return _strict_json(_parse(_get(port, "/api/changes"))[2])

        first = changes()
        assert first["summary"]["trials"] == 4 and first["error"] is None
        assert "curve" not in first["summary"]["claims"][0]
        _save_from_another_process(db, 128)
        _wait(lambda: {r["hidden"] for r in changes()["rows"]} >= {128}, "the new trial shown")
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=DEADLINE_S)
        assert proc.returncode in (0, 130, -signal.SIGTERM, 128 + signal.SIGTERM), err
        assert b"Traceback" not in err, err
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


# ----------------------------------------------------------------------------- plan and claim rows


_NUMBERS = st.one_of(
    st.sampled_from(
        [
            float("nan"),
            float("inf"),
            float("-inf"),
            1e308,
            -1e308,
            0,
            -1,
            True,
            10**400,
            -(10**400),
            2**63,
            "1e999",
            "NaN",
            None,
            [],
            {},
        ]
    ),
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(),
)


def _plan_json(**fields) -> str:
    """A plan row's JSON (NaN and Infinity written the way Python's json writes them)."""
    plan = {"host": "h", "pid": 1, "started_at": 1000.0, "keys": [], "pending": 0, "eta_s": 10.0, **fields}
    return json.dumps(plan, allow_nan=True)


def _write_rows(db: Path, plan: str | None, claim: tuple | None) -> None:
    with Store(db) as s:
        conn = s.connection
        conn.execute("DELETE FROM meta WHERE name LIKE 'plan:%'")
        conn.execute("DELETE FROM claims")
        if plan is not None:
            conn.execute("INSERT INTO meta VALUES ('plan:hostile', ?)", (plan,))
        if claim is not None:
            conn.execute(
                "INSERT INTO claims (key, driver, host, pid, pid_start, claimed_at, "
                "heartbeat) VALUES (?, ?, ?, ?, ?, ?, ?)",
                claim,
            )
        conn.commit()


def _sqlite_value(x):
    """What SQLite can hold of ``x`` (an integer beyond 64 bits as text, a list as JSON; no
    NULL for NaN, which SQLite would store as NULL, refused by a NOT NULL column)."""
    if x is None or (isinstance(x, float) and x != x):
        return "NaN"
    if isinstance(x, int) and not isinstance(x, bool) and not -(2**63) <= x < 2**63:
        return str(x)
    return json.dumps(x) if isinstance(x, (list, dict)) else x


@settings(max_examples=examples(80))
@given(
    started_at=_NUMBERS,
    eta_s=_NUMBERS,
    keys=st.one_of(st.lists(st.one_of(st.text(max_size=5), _NUMBERS), max_size=3), _NUMBERS),
    claimed_at=_NUMBERS,
    heartbeat=_NUMBERS,
    pid=_NUMBERS,
    host=st.one_of(st.text(max_size=10), _NUMBERS),
    key=st.one_of(st.text(max_size=70), st.binary(max_size=8)),
)
def test_junk_numbers_in_plan_and_claim_rows_never_break_the_page(
    tmp_path_factory, started_at, eta_s, keys, claimed_at, heartbeat, pid, host, key
):
    """Whatever a plan row's JSON or a claim row holds (NaN, infinities, numbers beyond a float,
    text), the page's state is strict JSON (a bad value reads as absent), never an error."""
    db = _SHARED_DB.get("db") or _SHARED_DB.setdefault("db", _store(tmp_path_factory.mktemp("rows") / "s.db"))
    driver = Driver()
    claim = tuple(_sqlite_value(v) for v in (key, driver.id, host, pid, None, claimed_at, heartbeat))
    _write_rows(db, _plan_json(started_at=started_at, eta_s=eta_s, keys=keys), claim)
    w = Watcher(db)
    try:
        state = _strict_json(to_json(w.changes(0)))
        progress = state["summary"]["progress"]
        if progress is not None:
            for name in ("started_at", "eta_s", "left_s"):
                assert progress[name] is None or isinstance(progress[name], (int, float))
        for c in state["summary"]["claims"]:
            assert c["claimed_at"] is None or isinstance(c["claimed_at"], (int, float))
    finally:
        w.stop()


_SHARED_DB: dict = {}


@pytest.mark.slow
def test_a_non_finite_plan_or_claim_row_never_makes_a_500(tmp_path):
    """The examples the tester found, through the real CLI server: every page and
    /api/changes answer 200 with strict JSON while such rows exist."""
    db = _store(tmp_path / "s.db")
    config = TrialConfig(hidden=8, lr=0.1, steps=30)
    driver = Driver()
    rows = [
        (_plan_json(started_at=float("nan")), None),
        (_plan_json(eta_s=float("inf")), None),
        (_plan_json(started_at=1e308, eta_s=1e308), None),  # the time left overflows
        (_plan_json(started_at=10**400), None),
        (None, (config.key(), driver.id, socket.gethostname(), os.getpid(), None, float("inf"), time.time())),
        (None, (config.key(), driver.id, "h", 1, None, float("-inf"), float("inf"))),
        (
            _plan_json(started_at="NaN", eta_s="x", keys="nope"),
            (config.key(), driver.id, "h", 2**63 - 1, None, -1e308, 1e308),
        ),
    ]
    _write_rows(db, *rows[0])
    proc = subprocess.Popen(
        [LSTM_SWEEP, "serve", "--db", str(db), "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        port = int(_line_within(proc, DEADLINE_S).rsplit(":", 1)[1].strip("/"))
        for i, (plan, claim) in enumerate(rows):
            _write_rows(db, plan, claim)
            _save_from_another_process(db, 100 + i)  # a commit the page must show

            def shown(hidden=100 + i):
                c = _strict_json(_parse(_get(port, "/api/changes"))[2])
                return c if hidden in {r["hidden"] for r in c["rows"]} else None

            state = _wait(shown, f"row set {i} shown")
            assert state["error"] is None, state["error"]
            assert _assert_guarded(_get(port, "/")) == 200
            assert _assert_guarded(_get(port, f"/api/changes?since={state['version']}")) == 200
    finally:
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=DEADLINE_S)
    assert b"Traceback" not in err, err
