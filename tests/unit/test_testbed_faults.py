# Copyright (c) CloudForge maintainers
# SPDX-License-Identifier: Apache-2.0
"""The fault proxy of the fault-injection tier (tests/testbed/faults.py) against a real echo server on loopback:
each mode is what docs/testing.md says it is."""

import contextlib
import socket
import threading
import time

import pytest
from testbed import faults


@pytest.fixture
def proxy():
    server = socket.create_server(("127.0.0.1", 0))

    def echo(conn):
        with conn, contextlib.suppress(OSError):  # the proxy resets its side on purpose
            while data := conn.recv(1024):
                conn.sendall(data)

    def accept():
        while True:
            try:
                conn, _addr = server.accept()
            except OSError:
                return
            threading.Thread(target=echo, args=(conn,), daemon=True).start()

    threading.Thread(target=accept, daemon=True).start()
    proxy = faults.FaultProxy(f"127.0.0.1:{server.getsockname()[1]}", "echo")
    yield proxy
    proxy.close()
    server.close()


def _connect(proxy, timeout=2.0):
    return socket.create_connection(("127.0.0.1", proxy.port), timeout=timeout)


def _ask(sock, data=b"ping"):
    sock.sendall(data)
    return sock.recv(1024)


def test_pass_forwards_both_ways(proxy):
    with _connect(proxy) as sock:
        assert _ask(sock) == b"ping"


def test_down_refuses_new_connections_resets_open_ones_and_back_listens_again(proxy):
    sock = _connect(proxy)
    assert _ask(sock) == b"ping"
    proxy.set_mode("down")
    with pytest.raises(ConnectionResetError):
        _ask(sock)
    with pytest.raises(ConnectionRefusedError):
        _connect(proxy)
    proxy.set_mode("pass")
    with _connect(proxy) as again:
        assert _ask(again) == b"ping"


def test_hang_accepts_and_never_answers(proxy):
    proxy.set_mode("hang")
    with _connect(proxy, timeout=0.5) as sock, pytest.raises(TimeoutError):
        _ask(sock)


def test_delay_answers_late(proxy):
    proxy.set_mode("delay", 0.3)
    began = time.monotonic()
    with _connect(proxy) as sock:
        assert _ask(sock) == b"ping"
    assert time.monotonic() - began >= 0.6  # one pause each way


def test_cut_after_lets_n_chunks_through_then_runs_the_hook_before_the_next(proxy):
    seen = []
    proxy.cut_after(2, mode="down", hook=lambda: seen.append(proxy.chunks))
    with _connect(proxy) as sock:
        assert _ask(sock, b"one") == b"one"
        assert _ask(sock, b"two") == b"two"
        assert not proxy.cut_done.is_set()
        with pytest.raises(ConnectionResetError):
            _ask(sock, b"three")
    assert proxy.cut_done.is_set() and len(seen) == 1
    assert proxy.mode == "down"


def test_cut_to_pass_forwards_the_held_chunk_after_the_hook(proxy):
    seen = []
    proxy.cut_after(0, mode="pass", hook=lambda: seen.append("hook"))
    with _connect(proxy) as sock:
        assert _ask(sock) == b"ping"
    assert seen == ["hook"] and proxy.cut_done.is_set()
