#!/usr/bin/python3
"""A WAN link emulator for loopback tests: a TCP relay with one-way delay and
a bandwidth cap in each direction, and byte counters.

The kernel here has no netem qdisc, so this is the userspace substitute. Each
direction is one emulated link shared by every connection through the relay
(like the one line between two sites):

* serialization: the link sends one segment (at most `segment` bytes, 1448 by
  default: a TCP MSS on Ethernet) at a time at `rate` bit/s: a token bucket
  one segment deep, so a 64 KiB burst takes 65536 * 8 / rate seconds to
  cross, and connections share the rate;
* propagation: each segment arrives `delay` seconds after its last bit left;
* connection set-up: the relay accepts at once, but the client's bytes
  enter the line only one RTT after it connected (SYN, SYN-ACK), and the
  server's one and a half RTT (the ACK), as over a real line
  (`handshake=False`, `--no-handshake`: no set-up delay); TCP slow start
  and loss are not emulated;
* the byte order of each connection is kept, a FIN (half close) crosses the
  link after the data before it, a reset or close of one side closes the
  other;
* a bounded queue per connection and direction (the link's bandwidth-delay
  product plus 256 KiB): past it the relay stops reading that side, as TCP's
  window would.

Counters (`up` client -> server bytes, `down` server -> client) count
payload bytes as they enter the link; `calls` counts DCE/RPC requests going
up (from the PDU headers, which stay clear under sealing); `connections`.
More forwards can share the line (`also`, `--also`): a file transfer next to
the MAPI traffic competes for the same rate.

In a test (a thread with its own event loop):

    with WanRelay(("127.0.0.1", 0), ("127.0.0.1", port), delay_ms=5,
                  rate_bps=100e6) as r:
        ... connect to r.port ...
        r.counters()  -> {"up": .., "down": .., "connections": .., "active": ..}

As a process (the benchmark):

    wan_relay.py --listen 127.0.0.1:0 --connect 127.0.0.1:6001 \\
                 --delay-ms 25 --rate 10M

prints `listening 127.0.0.1:PORT` (one HOST:PORT per forward) once ready,
one JSON line of counters on SIGUSR1, and a last one on SIGTERM/SIGINT
before it exits 0.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import json
import signal
import socket
import sys
import threading
import time
from typing import Deque, Dict, List, Optional, Sequence, Tuple

SEGMENT = 1448
QUEUE_SLACK = 256 * 1024
READ_SIZE = 65536


def parse_rate(text: str) -> float:
    """'10M', '10mbit', '1.5G', '64k', '800000' -> bit/s (0: unlimited)."""
    t = text.strip().lower()
    for suffix in ("bit/s", "bps", "bit"):
        if t.endswith(suffix):
            t = t[: -len(suffix)]
    mult = {"k": 1e3, "m": 1e6, "g": 1e9}.get(t[-1:], 1)
    if mult != 1:
        t = t[:-1]
    v = float(t) * mult
    if v < 0:
        raise ValueError(f"negative rate {text}")
    return v


class CallCounter:
    """Counts DCE/RPC calls in a connection-oriented byte stream: request
    PDUs with PFC_FIRST_FRAG. Only the 16-byte PDU headers are read, which
    sealing leaves clear; a stream that is not DCE/RPC stops the count."""

    def __init__(self):
        self.hdr = b""
        self.skip = 0
        self.ok = True

    def feed(self, data: bytes) -> int:
        calls = 0
        i, n = 0, len(data)
        for _ in range(n + 1):  # each round consumes at least one byte or stops
            if not self.ok or i >= n:
                break
            if self.skip:
                k = min(self.skip, n - i)
                self.skip -= k
                i += k
                continue
            take = 10 - len(self.hdr)
            self.hdr += data[i:i + take]
            i += min(take, n - i)
            if len(self.hdr) < 10:
                break
            h, self.hdr = self.hdr, b""
            frag = int.from_bytes(h[8:10], "little" if h[4] & 0x10 else "big")
            if h[0] != 5 or frag < 16:
                self.ok = False
                break
            if h[2] == 0 and h[3] & 0x01:  # request, first fragment
                calls += 1
            self.skip = frag - 10
        return calls


class Link:
    """One direction of the emulated line: serialization then propagation."""

    def __init__(self, delay_s: float, rate_bps: float, segment: int = SEGMENT):
        self.delay = delay_s
        self.rate = rate_bps
        self.segment = segment
        self.free_at = 0.0  # monotonic time the line finishes its last segment
        self.bytes = 0
        self.calls = 0      # DCE/RPC calls (requests) that entered the line

    def schedule(self, now: float, size: int) -> float:
        """The arrival time of `size` bytes entering the line at `now`."""
        self.bytes += size
        if self.rate > 0:
            self.free_at = max(now, self.free_at) + size * 8.0 / self.rate
            return self.free_at + self.delay
        return now + self.delay

    def queue_limit(self) -> int:
        bdp = int(self.rate / 8 * self.delay) if self.rate > 0 else 0
        return bdp + QUEUE_SLACK


class _Broken(Exception):
    """One side reset or failed: the relay closes both."""


class _Pipe:
    """One connection's bytes in one direction across a Link."""

    def __init__(self, link: Link, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                 send_after: float = 0.0):
        self.link = link
        self.send_after = send_after  # nothing enters the line before (connection set-up)
        self.counter = CallCounter()
        self.reader = reader
        self.writer = writer
        self.queue: Deque[Tuple[float, Optional[bytes]]] = collections.deque()  # None = FIN
        self.queued = 0
        self.more = asyncio.Event()   # something was queued
        self.room = asyncio.Event()   # the queue went below its limit
        self.room.set()

    async def read_side(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            while True:
                await self.room.wait()
                data = await self.reader.read(READ_SIZE)
                now = loop.time()
                if not data:
                    break
                self.link.calls += self.counter.feed(data)
                seg = self.link.segment
                for i in range(0, len(data), seg):
                    part = data[i:i + seg]
                    due = self.link.schedule(max(now, self.send_after), len(part))
                    self.queue.append((due, part))
                self.queued += len(data)
                if self.queued >= self.link.queue_limit():
                    self.room.clear()
                self.more.set()
        except (ConnectionError, OSError):
            raise _Broken() from None
        # The FIN crosses after the data (it takes no serialization time).
        last = self.queue[-1][0] if self.queue else 0.0
        self.queue.append((max(last, loop.time() + self.link.delay), None))
        self.more.set()

    async def write_side(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            while True:
                while not self.queue:
                    self.more.clear()
                    await self.more.wait()
                due = self.queue[0][0]
                wait = due - loop.time()
                if wait > 0:
                    await asyncio.sleep(wait)
                now = loop.time()
                out = []
                fin = False
                while self.queue and self.queue[0][0] <= now:
                    _, part = self.queue.popleft()
                    if part is None:
                        fin = True
                        break
                    out.append(part)
                if out:
                    n = sum(len(p) for p in out)
                    self.writer.write(b"".join(out))
                    self.queued -= n
                    if self.queued < self.link.queue_limit():
                        self.room.set()
                    await self.writer.drain()
                if fin:
                    if self.writer.can_write_eof():
                        self.writer.write_eof()
                    return
        except (ConnectionError, OSError):
            raise _Broken() from None


class WanRelay:
    """The relay: start() in a thread of its own, or serve() in a running loop."""

    def __init__(self, listen: Tuple[str, int], connect: Tuple[str, int], delay_ms: float = 0.0,
                 rate_bps: float = 0.0, delay_down_ms: Optional[float] = None,
                 rate_down_bps: Optional[float] = None, segment: int = SEGMENT,
                 also: Sequence[Tuple[Tuple[str, int], Tuple[str, int]]] = (),
                 handshake: bool = True):
        """`also`: more (listen, connect) pairs carried by the same line (say,
        a file transfer next to the MAPI traffic); their ports in .ports."""
        self.listen = listen
        self.connect = connect
        self.forwards = [(listen, connect)] + list(also)
        self.handshake = handshake
        self.ports: List[int] = []
        self.up = Link(delay_ms / 1000.0, rate_bps, segment)
        self.down = Link((delay_ms if delay_down_ms is None else delay_down_ms) / 1000.0,
                         rate_bps if rate_down_bps is None else rate_down_bps, segment)
        self.connections = 0
        self.active = 0
        self.failed = 0  # connections whose upstream could not be reached
        self.port = listen[1]
        self._loop: Optional[asyncio.AbstractEventLoop] = None
        self._thread: Optional[threading.Thread] = None
        self._ready = threading.Event()
        self._stop: Optional[asyncio.Event] = None
        self._tasks: set = set()
        self._error: Optional[BaseException] = None

    # -- counters ------------------------------------------------------------
    def counters(self) -> Dict[str, int]:
        """Bytes up (client -> server) and down, DCE/RPC calls up, connections."""
        return {"up": self.up.bytes, "down": self.down.bytes, "calls": self.up.calls,
                "connections": self.connections, "active": self.active, "failed": self.failed}

    def reset(self) -> None:
        self.up.bytes = self.down.bytes = self.up.calls = 0
        self.connections = self.failed = 0

    # -- serving -------------------------------------------------------------
    async def _client(self, connect: Tuple[str, int], c_reader: asyncio.StreamReader,
                      c_writer: asyncio.StreamWriter):
        accepted = asyncio.get_running_loop().time()
        self.connections += 1
        self.active += 1
        task = asyncio.current_task()
        self._tasks.add(task)
        s_writer = None
        try:
            try:
                s_reader, s_writer = await asyncio.wait_for(
                    asyncio.open_connection(*connect), timeout=10)
            except (OSError, asyncio.TimeoutError):
                self.failed += 1
                return
            for w in (c_writer, s_writer):
                sock = w.get_extra_info("socket")
                if sock is not None:
                    with contextlib.suppress(OSError):
                        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            # SYN up, SYN-ACK down: the client sends; the ACK up: the server may.
            rtt = self.up.delay + self.down.delay if self.handshake else 0.0
            up = _Pipe(self.up, c_reader, s_writer, accepted + rtt)
            down = _Pipe(self.down, s_reader, c_writer, accepted + rtt + self.up.delay * bool(rtt))
            jobs = [asyncio.ensure_future(j) for j in
                    (up.read_side(), up.write_side(), down.read_side(), down.write_side())]
            # Until both writers are done (both FINs delivered) or a side broke.
            try:
                pending = set(jobs)
                while not (jobs[1].done() and jobs[3].done()):
                    done, pending = await asyncio.wait(pending,
                                                       return_when=asyncio.FIRST_EXCEPTION)
                    if any(j.exception() for j in done):
                        break
            finally:
                for j in jobs:
                    j.cancel()
                await asyncio.gather(*jobs, return_exceptions=True)
        except asyncio.CancelledError:
            pass
        finally:
            self.active -= 1
            self._tasks.discard(task)
            for w in (c_writer, s_writer):
                if w is not None:
                    with contextlib.suppress(Exception):
                        w.close()

    async def serve(self, on_ready=None) -> None:
        self._stop = asyncio.Event()
        self._loop = asyncio.get_running_loop()
        servers = []
        try:
            for listen, connect in self.forwards:
                srv = await asyncio.start_server(
                    lambda r, w, c=connect: self._client(c, r, w), listen[0], listen[1],
                    reuse_address=True)
                servers.append(srv)
                self.ports.append(srv.sockets[0].getsockname()[1])
            self.port = self.ports[0]
            if on_ready:
                on_ready()
            self._ready.set()
            await self._stop.wait()
        finally:
            for srv in servers:
                srv.close()
                await srv.wait_closed()
        for t in list(self._tasks):
            t.cancel()
        if self._tasks:
            await asyncio.wait(list(self._tasks), timeout=5)

    def request_stop(self) -> None:
        if self._loop and self._stop:
            self._loop.call_soon_threadsafe(self._stop.set)

    # -- in a thread -----------------------------------------------------------
    def start(self, timeout: float = 10.0) -> "WanRelay":
        def run():
            try:
                asyncio.run(self.serve())
            except BaseException as e:  # reported by start()/stop()
                self._error = e
                self._ready.set()

        self._thread = threading.Thread(target=run, name="wan-relay", daemon=True)
        self._thread.start()
        if not self._ready.wait(timeout) or self._error:
            raise RuntimeError(f"wan relay did not start on {self.listen}: {self._error}")
        return self

    def stop(self, timeout: float = 10.0) -> None:
        self.request_stop()
        if self._thread:
            self._thread.join(timeout)
            if self._thread.is_alive():
                raise RuntimeError("wan relay thread did not stop")
            self._thread = None

    def __enter__(self) -> "WanRelay":
        return self.start() if self._thread is None else self

    def __exit__(self, *exc) -> None:
        self.stop()


# ---------------------------------------------------------------- command line

def _hostport(text: str) -> Tuple[str, int]:
    host, sep, port = text.rpartition(":")
    if not sep or not host:
        raise argparse.ArgumentTypeError(f"{text}: use HOST:PORT")
    return host.strip("[]"), int(port)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description="TCP relay emulating a WAN link (delay, rate)")
    ap.add_argument("--listen", type=_hostport, required=True, help="HOST:PORT (port 0: any)")
    ap.add_argument("--connect", type=_hostport, required=True, help="HOST:PORT")
    ap.add_argument("--delay-ms", type=float, default=0.0,
                    help="one-way delay in each direction, ms (RTT = 2 x this)")
    ap.add_argument("--delay-down-ms", type=float, help="server->client delay if different")
    ap.add_argument("--rate", type=parse_rate, default=0.0,
                    help="bit/s in each direction (suffix k, M, G; 0 = unlimited)")
    ap.add_argument("--rate-down", type=parse_rate, help="server->client rate if different")
    ap.add_argument("--segment", type=int, default=SEGMENT, help="bytes per segment")
    ap.add_argument("--no-handshake", action="store_true",
                    help="no connection set-up delay (by default the client's first bytes "
                         "leave one RTT after it connected)")
    ap.add_argument("--also", action="append", default=[], metavar="LISTEN=CONNECT",
                    help="another forward over the same line (repeatable)")
    a = ap.parse_args(argv)
    also = []
    for spec in a.also:
        lst, sep, con = spec.partition("=")
        try:
            also.append((_hostport(lst), _hostport(con)))
        except (argparse.ArgumentTypeError, ValueError):
            sep = ""
        if not sep:
            ap.error(f"--also {spec}: use HOST:PORT=HOST:PORT")
    if a.delay_ms < 0 or a.delay_ms > 10000 or not 64 <= a.segment <= 65536:
        ap.error("--delay-ms 0..10000, --segment 64..65536")
    relay = WanRelay(a.listen, a.connect, a.delay_ms, a.rate, a.delay_down_ms, a.rate_down,
                     a.segment, also, not a.no_handshake)

    def report(final: bool) -> None:
        c = relay.counters()
        c["final"] = final
        print(json.dumps(c), flush=True)

    async def run():
        loop = asyncio.get_running_loop()
        loop.add_signal_handler(signal.SIGTERM, relay.request_stop)
        loop.add_signal_handler(signal.SIGINT, relay.request_stop)
        loop.add_signal_handler(signal.SIGUSR1, report, False)
        await relay.serve(lambda: print("listening " + " ".join(
            f"{lst[0]}:{port}" for (lst, _), port in zip(relay.forwards, relay.ports)),
            flush=True))

    t0 = time.monotonic()
    asyncio.run(run())
    report(True)
    print(f"wan_relay: stopped after {time.monotonic() - t0:.1f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
