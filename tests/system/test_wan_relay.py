"""The WAN link emulator (wan_relay.py) imposes what it is asked to.

Against a small echo/sink server on loopback, with bounded transfers:

* delay: a ping-pong through the relay takes 2 x the one-way delay; on a
  new connection one RTT more (the TCP handshake), unless turned off;
* rate: one 64 KiB write takes 65536 * 8 / rate to cross (serialization,
  not a free burst), a 1 MiB upload and an asymmetric download take
  size / rate, two connections share the link's rate;
* counters: bytes each way equal what was sent; connections counted;
* closes: the server's close reaches the client after the data, an
  unreachable upstream closes the client's connection;
* DCE/RPC calls are counted from PDU headers however the stream is cut;
  a second forward (`also`) shares the line's rate;
* as a process: `--listen 127.0.0.1:0` prints its port, SIGUSR1 prints the
  counters, SIGTERM prints them and exits 0.

Tolerances: never faster than the emulated link (a 5 % allowance for timer
rounding), and at most 30 % + 40 ms slower (a shared machine).

Run:  /usr/bin/python3 -m pytest -q tests/system/test_wan_relay.py
"""

from __future__ import annotations

import json
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from wan_relay import CallCounter, WanRelay, parse_rate

HERE = Path(__file__).resolve().parent


class Peer:
    """A loopback server: 'echo' echoes; 'sink' reads N bytes (N from the
    first 8 bytes) then answers b'k'; 'source' sends N bytes then closes."""

    def __init__(self, mode: str, size: int = 0):
        self.mode = mode
        self.size = size
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.port = self.sock.getsockname()[1]
        self.threads = []
        self.closed = False
        t = threading.Thread(target=self._accept, daemon=True)
        t.start()

    def _accept(self):
        while not self.closed:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            t = threading.Thread(target=self._serve, args=(c,), daemon=True)
            t.start()
            self.threads.append(t)

    def _serve(self, c: socket.socket):
        c.settimeout(30)
        c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        with c:
            try:
                if self.mode == "echo":
                    for _ in range(100000):
                        d = c.recv(65536)
                        if not d:
                            return
                        c.sendall(d)
                elif self.mode == "sink":
                    want = int.from_bytes(recv_exact(c, 8), "big")
                    recv_exact(c, want)
                    c.sendall(b"k")
                    c.recv(1)
                elif self.mode == "source":
                    c.sendall(b"s" * self.size)
            except OSError:
                return

    def close(self):
        self.closed = True
        self.sock.close()


def recv_exact(c: socket.socket, n: int) -> bytes:
    buf = bytearray()
    for _ in range(n + 1):
        if len(buf) >= n:
            break
        d = c.recv(min(1 << 20, n - len(buf)))
        if not d:
            raise EOFError(f"closed after {len(buf)} of {n} bytes")
        buf += d
    return bytes(buf)


def connect(port: int) -> socket.socket:
    c = socket.create_connection(("127.0.0.1", port), timeout=30)
    c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return c


def upload(port: int, size: int) -> float:
    """Seconds from the first byte written to the sink's answer."""
    with connect(port) as c:
        t0 = time.monotonic()
        c.sendall(size.to_bytes(8, "big") + b"u" * size)
        assert c.recv(1) == b"k"
        return time.monotonic() - t0


def within(measured: float, expected: float) -> bool:
    return expected * 0.95 <= measured <= expected * 1.3 + 0.04


@pytest.fixture
def peer():
    made = []

    def make(mode, size=0):
        p = Peer(mode, size)
        made.append(p)
        return p

    yield make
    for p in made:
        p.close()


def test_parse_rate():
    assert parse_rate("10M") == 10e6
    assert parse_rate("10mbit") == 10e6
    assert parse_rate("64k") == 64e3
    assert parse_rate("1.5G") == 1.5e9
    assert parse_rate("800000") == 800000
    assert parse_rate("0") == 0


def test_delay_each_way(peer):
    p = peer("echo")
    with WanRelay(("127.0.0.1", 0), ("127.0.0.1", p.port), delay_ms=40) as r:
        with connect(r.port) as c:
            t0 = time.monotonic()
            c.sendall(b"ping")  # handshake, data, echo: 4 one-way delays
            assert recv_exact(c, 4) == b"ping"
            assert within(time.monotonic() - t0, 0.160)
            rtts = []
            for _ in range(4):
                t0 = time.monotonic()
                c.sendall(b"ping")
                assert recv_exact(c, 4) == b"ping"
                rtts.append(time.monotonic() - t0)
        assert within(statistics.median(rtts), 0.080), rtts
        assert r.counters()["up"] == 20 and r.counters()["down"] == 20
    # Asymmetric: 10 ms out, 60 ms back; no handshake delay.
    with WanRelay(("127.0.0.1", 0), ("127.0.0.1", p.port), delay_ms=10, delay_down_ms=60,
                  handshake=False) as r:
        with connect(r.port) as c:
            t0 = time.monotonic()
            c.sendall(b"x")
            assert recv_exact(c, 1) == b"x"
            assert within(time.monotonic() - t0, 0.070)


def test_64k_burst_is_serialized(peer):
    p = peer("sink")
    rate = 4e6
    with WanRelay(("127.0.0.1", 0), ("127.0.0.1", p.port), delay_ms=10, rate_bps=rate) as r:
        took = upload(r.port, 65536)
        # 65544 bytes out at 4 Mbit/s, one delay there, one back (1 byte).
        expected = 65544 * 8 / rate + 0.040  # and the handshake's RTT first
        assert within(took, expected), (took, expected)
        c = r.counters()
        assert c["up"] == 65544 and c["down"] == 1 and c["connections"] == 1


def test_bulk_rate_each_direction(peer):
    size = 1 << 20
    sink, source = peer("sink"), peer("source", size // 2)
    with WanRelay(("127.0.0.1", 0), ("127.0.0.1", sink.port), delay_ms=5, rate_bps=20e6) as r:
        took = upload(r.port, size)
        assert within(took, (size + 8) * 8 / 20e6 + 0.020), took
    # Downstream at 8 Mbit/s while upstream is unlimited.
    with WanRelay(("127.0.0.1", 0), ("127.0.0.1", source.port), delay_ms=5, rate_bps=0,
                  rate_down_bps=8e6) as r:
        with connect(r.port) as c:
            t0 = time.monotonic()
            got = recv_exact(c, size // 2)
            took = time.monotonic() - t0
            assert c.recv(1) == b""  # the server's close crossed after its data
        assert got == b"s" * (size // 2)
        # The server sends 1.5 RTT after the connect, its bytes take one delay.
        assert within(took, (size // 2) * 8 / 8e6 + 0.020), took
        assert r.counters()["down"] == size // 2 and r.counters()["up"] == 0


def test_connections_share_the_link(peer):
    p = peer("sink")
    size = 256 * 1024
    with WanRelay(("127.0.0.1", 0), ("127.0.0.1", p.port), delay_ms=5, rate_bps=8e6) as r:
        out = []
        ts = [threading.Thread(target=lambda: out.append(upload(r.port, size))) for _ in range(2)]
        t0 = time.monotonic()
        for t in ts:
            t.start()
        for t in ts:
            t.join(30)
        took = time.monotonic() - t0
        assert len(out) == 2
        # Both uploads over one 8 Mbit/s line: twice the time of one.
        assert within(took, 2 * (size + 8) * 8 / 8e6 + 0.020), (took, out)
        assert r.counters()["connections"] == 2 and r.counters()["up"] == 2 * (size + 8)


def test_unreachable_upstream_closes_client():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    dead = s.getsockname()[1]
    s.close()
    with WanRelay(("127.0.0.1", 0), ("127.0.0.1", dead), delay_ms=5) as r:
        with connect(r.port) as c:
            c.settimeout(10)
            try:
                assert c.recv(1) == b""
            except ConnectionResetError:
                pass
        deadline = time.monotonic() + 5
        while r.counters()["failed"] < 1 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert r.counters()["failed"] == 1 and r.counters()["active"] == 0


def test_as_a_process(peer):
    p = peer("sink")
    proc = subprocess.Popen([sys.executable, str(HERE / "wan_relay.py"), "--listen",
                             "127.0.0.1:0", "--connect", f"127.0.0.1:{p.port}", "--delay-ms",
                             "5", "--rate", "16M"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()
        assert line.startswith("listening 127.0.0.1:"), line + proc.stderr.read()
        port = int(line.split(":")[-1])
        took = upload(port, 200000)
        assert within(took, 200008 * 8 / 16e6 + 0.020), took
        proc.send_signal(signal.SIGUSR1)
        snap = json.loads(proc.stdout.readline())
        assert snap == {"up": 200008, "down": 1, "calls": 0, "connections": 1,
                        "active": snap["active"], "failed": 0, "final": False}
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=15)
        assert proc.returncode == 0, err
        last = json.loads(out.strip().splitlines()[-1])
        assert last["final"] is True and last["up"] == 200008 and last["down"] == 1
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)


def test_bad_arguments():
    r = subprocess.run([sys.executable, str(HERE / "wan_relay.py"), "--listen", "nope",
                        "--connect", "127.0.0.1:1"], capture_output=True, text=True, timeout=30)
    assert r.returncode == 2 and "HOST:PORT" in r.stderr


def pdu(ptype: int, flags: int, body: int, little: bool = True) -> bytes:
    n = 16 + body
    drep = b"\x10\x00\x00\x00" if little else b"\x00\x00\x00\x00"
    return (bytes([5, 0, ptype, flags]) + drep + n.to_bytes(2, "little" if little else "big")
            + b"\x00\x00" + b"\x01\x00\x00\x00" + b"\xaa" * body)


def test_call_counter():
    # bind, 3 calls (one in 3 fragments: first, middle, last), a big-endian call.
    stream = (pdu(11, 3, 56) + pdu(0, 3, 30) + pdu(0, 1, 5000) + pdu(0, 0, 5000)
              + pdu(0, 2, 100) + pdu(0, 3, 8, little=False) + pdu(0, 3, 0))
    assert CallCounter().feed(stream) == 4
    for cut in (1, 3, 7, 10, 11, 1448):
        c = CallCounter()
        assert sum(c.feed(stream[i:i + cut]) for i in range(0, len(stream), cut)) == 4, cut
    c = CallCounter()
    assert c.feed(b"GET / HTTP/1.1\r\n" + pdu(0, 3, 4)) == 0 and not c.ok


def test_second_forward_shares_the_line(peer):
    p, q = peer("sink"), peer("echo")
    size = 256 * 1024
    with WanRelay(("127.0.0.1", 0), ("127.0.0.1", p.port), delay_ms=5, rate_bps=8e6,
                  also=[(("127.0.0.1", 0), ("127.0.0.1", q.port))]) as r:
        assert len(r.ports) == 2 and r.ports[0] == r.port
        with connect(r.ports[1]) as c:
            c.sendall(b"hello")
            assert recv_exact(c, 5) == b"hello"
        out = []
        ts = [threading.Thread(target=lambda port=port: out.append(upload(port, size)))
              for port in (r.ports[0], r.ports[0])]
        t0 = time.monotonic()
        for t in ts:
            t.start()
        with connect(r.ports[1]) as c:  # the echo, sending meanwhile
            c.sendall(b"e" * size)
            recv_exact(c, size)
        for t in ts:
            t.join(30)
        took = time.monotonic() - t0
        assert len(out) == 2
        assert within(took, 3 * size * 8 / 8e6 + 0.020), took
        assert r.counters()["up"] == 5 + 2 * (size + 8) + size
