"""Push notifications: mapiclient watch, mapiserver's EcDoAsyncWaitEx, mapiproxy.

bob runs `mapiclient watch` (RopRegisterNotification on his Inbox,
EcDoAsyncConnectEx, EcDoAsyncWaitEx on a second association to
AsyncEMSMDB); alice sends him a message; the `new ...` line must say it
came by notification and appear well within the 10 s polling interval of
the send (under 5 s, with room for loaded sanitizer runs; it takes ~20 ms):

* directly against mapiserver, through a pass-through mapiproxy relaying
  the four Exchange interfaces, and through a terminating mapiproxy;
* `--for` ends a quiet watch on time, `--count` after N messages;
* a proxy that does not relay AsyncEMSMDB: watch says so (-v) and polls;
* mapiserver's drain on SIGTERM answers a parked wait (ecExiting) at once
  instead of waiting out the drain timeout;
* clients that vanish while their wait is parked leave nothing behind
  (run with an ASan build: the teardown checks the logs for reports).

Run:  /usr/bin/python3 -m pytest -q tests/system/test_notifications.py
      MAPICLIENT_BIN=... MAPISERVER_BIN=... MAPIPROXY_BIN=... to pick binaries
"""

from __future__ import annotations

import json
import os
import queue
import re
import signal
import struct
import subprocess
import threading
import time

from impacket.dcerpc.v5 import rpcrt, transport
from impacket.dcerpc.v5.dtypes import STR, ULONG, USHORT
from impacket.dcerpc.v5.ndr import NDRCALL, NDRSTRUCT, NDRUniConformantArray
from impacket.uuid import uuidtup_to_bin

from mapi_env import (MAPICLIENT_BIN, MAPISERVER_BIN, NEED_BINARIES, ORG_DN, PASSWORDS,  # noqa: F401
                      _env, client, direct, mapiserver, ok, relay, srv, terminating)

pytestmark = NEED_BINARIES

READY = "with push notifications"
PARKED = "EcDoAsyncWaitEx parked"
GONE = "parked EcDoAsyncWaitEx went with the association"


class Watcher:
    """A running `mapiclient -v --json watch ...` with its output lines timed."""

    def __init__(self, server: str, *args, user: str = "bob"):
        env = _env()
        env["MAPICLIENT_PASSWORD"] = PASSWORDS[user]
        self.p = subprocess.Popen([MAPICLIENT_BIN, "-s", server, "-u", user, "-v", "--json",
                                   "--timeout", "15", "watch", *args],
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                  stdin=subprocess.DEVNULL, env=env)
        self.out: "queue.Queue[tuple[float, dict]]" = queue.Queue()
        self.err_lines: list = []
        self.err_seen = threading.Event()
        self.needle = READY
        threading.Thread(target=self._read_out, daemon=True).start()
        threading.Thread(target=self._read_err, daemon=True).start()

    def _read_out(self):
        for line in self.p.stdout:
            self.out.put((time.monotonic(), json.loads(line)))

    def _read_err(self):
        for line in self.p.stderr:
            text = line.decode(errors="replace")
            self.err_lines.append(text)
            if self.needle in text:
                self.err_seen.set()

    def stderr(self) -> str:
        return "".join(self.err_lines)

    def wait_stderr(self, needle: str, timeout: float = 20) -> bool:
        self.needle = needle
        if any(needle in x for x in self.err_lines):
            return True
        self.err_seen.clear()
        return self.err_seen.wait(timeout) or any(needle in x for x in self.err_lines)

    def ready(self, timeout: float = 20):
        assert self.wait_stderr(READY, timeout), \
            f"watch did not start with push notifications:\n{self.stderr()}"

    def next(self, timeout: float = 20):
        try:
            return self.out.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError(f"no notification line within {timeout}s; stderr:\n"
                                 f"{self.stderr()}") from None

    def finish(self, timeout: float = 20) -> int:
        try:
            return self.p.wait(timeout=timeout)
        finally:
            self.stop()

    def stop(self):
        if self.p.poll() is None:
            self.p.kill()
            self.p.wait(timeout=10)
        err = self.stderr()
        assert "ERROR: AddressSanitizer" not in err and "runtime error" not in err, err


def send(server: str, subject: str, user: str = "alice", to: str = "bob") -> float:
    """Send; returns when the send finished (time.monotonic())."""
    ok(client(server, "send", "--to", to, "--subject", subject, "--body", "ping"))
    return time.monotonic()


def wait_count(px, needle: str, n: int, timeout: float = 10) -> bool:
    """Wait until the daemon's log holds `needle` at least n times."""
    deadline = time.monotonic() + timeout
    while px.log_text().count(needle) < n and time.monotonic() < deadline:
        time.sleep(0.05)
    return px.log_text().count(needle) >= n


def need_emsmdb(s):
    r = client(direct(s), "folders")
    assert r.returncode == 0, r.stderr.decode(errors="replace")


def check_push(watch_server: str, send_server: str, srv_log_proxy=None):
    """bob watches on watch_server; alice sends twice; both lines come quickly."""
    before = srv_log_proxy.log_text().count(PARKED) if srv_log_proxy else 0
    w = Watcher(watch_server, "--count", "2", "--for", "120")
    try:
        w.ready()
        if srv_log_proxy is not None:  # the send finds the wait parked
            assert wait_count(srv_log_proxy, PARKED, before + 1), "the wait was never parked"
        sent = send(send_server, "pushed one")
        at, line = w.next()
        assert line["subject"] == "pushed one" and line["via"] == "notification", line
        assert line["from"] == "Alice Liddell"
        # The line may even precede the end of the send; polling would need its interval.
        assert at - sent < 5.0, f"notification came {at - sent:.2f}s after the send"
        sent = send(send_server, "pushed two")
        at, line = w.next()
        assert line["subject"] == "pushed two" and at - sent < 5.0, (line, at - sent)
        assert w.finish() == 0, w.stderr()  # --count 2 reached
    finally:
        w.stop()


def test_push_direct(srv):
    need_emsmdb(srv)
    check_push(direct(srv), direct(srv), srv.p)


def test_push_through_pass_through_proxy(srv, mapiproxy):
    need_emsmdb(srv)
    check_push(relay(mapiproxy, srv), direct(srv), srv.p)


def test_push_through_terminating_proxy(srv, mapiproxy):
    need_emsmdb(srv)
    px = terminating(mapiproxy, srv, user="bob")
    check_push(f"127.0.0.1:{px.port}", direct(srv), srv.p)
    # The proxy relayed EcDoAsyncWaitEx upstream (decoded: it holds the calls clear).
    assert px.wait_log("exchange_async_emsmdb", 5), px.log_text()[-3000:]


def test_push_through_a_module_in_front_of_the_server(mapiserver):
    """A stackable module sees the calls mapiserver answers: the parked wait
    resumes in the module pipeline (its response hooks) when it is answered."""
    moddir = os.path.join(os.path.dirname(MAPISERVER_BIN), "modules")
    if not os.path.exists(os.path.join(moddir, "dummy.so")):
        import pytest
        pytest.skip(f"{moddir}/dummy.so not built")
    s = mapiserver({"dcerpc_mapiproxy:modules": "dummy", "mapiproxy:modules dir": moddir})
    need_emsmdb(s)
    check_push(direct(s), direct(s), s.p)
    log = s.p.log_text()
    hooks = re.findall(r"module dummy: session \d+ call \d+ exchange_async_emsmdb "
                       r"EcDoAsyncWaitEx: (\w+)", log)
    assert hooks.count("push") >= 2 and "dispatch" in hooks, log[-3000:]


def test_quiet_waits_keep_the_watch_alive(mapiserver):
    """A wait the server ends without a notification (5 minutes; 1 s here)
    is followed by another; the EMSMDB association stays in use meanwhile, so
    an idle timeout shorter than the quiet spell does not cut the watch."""
    s = mapiserver({"mapiserver:async wait": "1", "mapiproxy:idle timeout": "2"})
    need_emsmdb(s)
    w = Watcher(direct(s), "--count", "1", "--for", "60")
    try:
        w.ready()
        time.sleep(4.5)
        assert w.stderr().count("waiting again") >= 3, w.stderr()
        # (The NSPI association, unused after the logon, may go idle: fine.)
        sent = send(direct(s), "after a quiet spell")
        at, line = w.next()
        assert line["subject"] == "after a quiet spell" and line["via"] == "notification"
        assert at - sent < 5.0
        assert w.finish() == 0, w.stderr()
    finally:
        w.stop()


def test_watch_usage_errors():
    env = _env()
    for args, msg in ((["watch", "--count", "0"], b"bad --count"),
                      (["watch", "--for", "x"], b"bad --for"),
                      (["watch", "--poll", "0"], b"bad --poll"),
                      (["ls", "--for", "3"], b"are for watch")):
        r = subprocess.run([MAPICLIENT_BIN, "-s", "127.0.0.1:1", "-u", "bob", *args],
                           capture_output=True, env=env, timeout=10)
        assert r.returncode == 2 and msg in r.stderr, (args, r.stderr)


def test_for_ends_a_quiet_watch(srv):
    need_emsmdb(srv)
    w = Watcher(direct(srv), "--for", "3")
    try:
        w.ready()
        t0 = time.monotonic()
        rc = w.finish(timeout=20)
        took = time.monotonic() - t0
        assert rc == 0, w.stderr()
        assert took < 5, f"--for 3 took {took:.1f}s after the watch started"
        assert w.out.empty()
    finally:
        w.stop()


def test_polls_when_the_proxy_refuses_async_emsmdb(srv, mapiproxy):
    need_emsmdb(srv)
    px = mapiproxy(interfaces="exchange_emsmdb, exchange_nsp, exchange_ds_rfr",
                   binding=f"ncacn_ip_tcp:127.0.0.1[{srv.port}]",
                   options={"mapiproxy:auth passthrough": "yes"})
    w = Watcher(f"127.0.0.1:{px.port}", "--count", "1", "--for", "60")
    try:
        assert w.wait_stderr("polling every 10 s"), w.stderr()
        assert "push notifications unavailable" in w.stderr()
        assert "exchange_async_emsmdb" in w.stderr()
        time.sleep(0.5)  # the first poll lists what is there already
        send(direct(srv), "found by polling")
        _, line = w.next(timeout=25)
        assert line["subject"] == "found by polling" and line["via"] == "poll", line
        assert w.finish() == 0
    finally:
        w.stop()


def test_drain_answers_a_parked_wait(mapiserver):
    s = mapiserver({"mapiproxy:drain timeout": "30"})
    need_emsmdb(s)
    w = Watcher(direct(s), "--for", "120")
    try:
        w.ready()
        assert wait_count(s.p, PARKED, 1), s.p.log_text()[-2000:]
        t0 = time.monotonic()
        rc = s.p.stop(signal.SIGTERM, timeout=20)
        took = time.monotonic() - t0
        assert rc == 0, s.p.stderr_text()[-2000:]
        assert took < 10, f"the drain took {took:.1f}s (a parked wait held it?)"
        # The wait came back with ecExiting: watch falls back to polling, which
        # then finds the server gone.
        w.finish(timeout=30)
        assert "ecExiting" in w.stderr() or "0x000003ed" in w.stderr(), w.stderr()
    finally:
        w.stop()


def test_clients_vanishing_while_parked(srv):
    need_emsmdb(srv)
    for i in range(3):
        w = Watcher(direct(srv), "--for", "120")
        try:
            w.ready()
            assert wait_count(srv.p, PARKED, i + 1), "the wait was never parked"
        finally:
            w.p.send_signal(signal.SIGKILL)
            w.stop()
    # Each parked wait went with its association (not left for its 5-minute timer).
    assert wait_count(srv.p, GONE, 3), srv.p.log_text()[-3000:]
    assert srv.p.log_text().count(GONE) == 3
    # New mail for bob with no one waiting wakes nothing that is gone.
    send(direct(srv), "after the watchers left")
    check_push(direct(srv), direct(srv))
    # The teardown stops the server and checks its logs for sanitizer reports.


# ---- the wire rules, with impacket ----

EMSMDB = uuidtup_to_bin(("a4f1db00-ca47-1067-b31f-00dd010662da", "0.81"))
ASYNC_EMSMDB = uuidtup_to_bin(("5261574a-4572-206e-b268-6b199213b4e4", "0.1"))
EC_REJECTED = 0x7EE


class WORD3(NDRSTRUCT):
    structure = (("w0", USHORT), ("w1", USHORT), ("w2", USHORT))


class BYTES(NDRUniConformantArray):
    item = "c"


class EcDoConnectEx(NDRCALL):
    opnum = 10
    structure = (("szUserDN", STR), ("ulFlags", ULONG), ("ulConMod", ULONG), ("cbLimit", ULONG),
                 ("ulCpid", ULONG), ("ulLcidString", ULONG), ("ulLcidSort", ULONG),
                 ("ulIcxrLink", ULONG), ("usFCanConvertCodePages", USHORT),
                 ("rgwClientVersion", WORD3), ("pulTimeStamp", ULONG), ("rgbAuxIn", BYTES),
                 ("cbAuxIn", ULONG), ("pcbAuxOut", ULONG))


def association(port: int, iface: bytes):
    t = transport.DCERPCTransportFactory(f"ncacn_ip_tcp:127.0.0.1[{port}]")
    t.set_connect_timeout(10)
    t.set_credentials("bob", PASSWORDS["bob"], "")
    d = t.get_dce_rpc()
    d.set_auth_level(rpcrt.RPC_C_AUTHN_LEVEL_PKT_PRIVACY)
    d.connect()
    d.get_rpc_transport().get_socket().settimeout(20)
    d.bind(iface)
    return d


def bob_session(port: int):
    """EcDoConnectEx as bob, then EcDoAsyncConnectEx: (association, CXH, ACXH)."""
    em = association(port, EMSMDB)
    r = EcDoConnectEx()
    r["szUserDN"] = f"{ORG_DN}/cn=Recipients/cn=bob\0"
    r["ulFlags"] = r["ulConMod"] = r["cbLimit"] = r["pulTimeStamp"] = 0
    r["ulCpid"] = 1252
    r["ulLcidString"] = r["ulLcidSort"] = 0x409
    r["ulIcxrLink"] = 0xFFFFFFFF
    r["usFCanConvertCodePages"] = 1
    v = WORD3()
    v["w0"], v["w1"], v["w2"] = 0x000C, 0x9917, 0x03E8
    r["rgwClientVersion"] = v
    r["rgbAuxIn"] = []
    r["cbAuxIn"] = 0
    r["pcbAuxOut"] = 0x1008
    em.call(10, r)
    ans = em.recv()
    assert ans[-4:] == b"\0\0\0\0", ans[-4:].hex()
    cxh = ans[:20]
    em.call(14, cxh)  # EcDoAsyncConnectEx
    ans = em.recv()
    assert len(ans) == 24 and ans[20:] == b"\0\0\0\0", ans.hex()
    return em, cxh, ans[:20]


def wait_answer(d):
    """(pulFlagsOut, result) of the next EcDoAsyncWaitEx answer on d."""
    ans = d.recv()
    assert len(ans) == 8, ans.hex()
    return struct.unpack("<II", ans)


def test_wait_rules_on_the_wire(srv):
    need_emsmdb(srv)
    em, cxh, acxh = bob_session(srv.port)
    wait = acxh + struct.pack("<I", 0)
    a = association(srv.port, ASYNC_EMSMDB)
    b = association(srv.port, ASYNC_EMSMDB)
    try:
        a.call(0, wait)
        assert wait_count(srv.p, PARKED, 1)
        # A second wait on the same handle and association: ecRejected at once;
        # the first stays parked (MS-OXCNOTIF 3.1.5.3).
        a.call(0, wait)
        assert wait_answer(a) == (0, EC_REJECTED)
        # On another association (a client that came back): the old wait is
        # completed, without the flag, and the new one parks.
        b.call(0, wait)
        assert wait_answer(a) == (0, 0)
        assert wait_count(srv.p, PARKED, 2)
        # An unknown handle: answered at once with NotificationPending (3.3.4.1).
        a.call(0, bytes(4) + os.urandom(16) + struct.pack("<I", 0))
        assert wait_answer(a) == (1, 0)
        # The session disconnects: its handle is no longer valid, the wait
        # on it answers now, with NotificationPending.
        em.call(1, cxh)  # EcDoDisconnect
        assert em.recv()[-4:] == b"\0\0\0\0"
        assert wait_answer(b) == (1, 0)
    finally:
        for d in (a, b, em):
            d.get_rpc_transport().disconnect()


def test_a_parked_wait_outlasts_the_idle_timeout(mapiserver):
    """A parked call is a call in flight: its association is not idle."""
    s = mapiserver({"mapiproxy:idle timeout": "1", "mapiserver:async wait": "3"})
    need_emsmdb(s)
    em, cxh, acxh = bob_session(s.port)
    a = association(s.port, ASYNC_EMSMDB)
    got = {}

    def waiter():
        got["answer"] = wait_answer(a)
        got["at"] = time.monotonic()

    try:
        t0 = time.monotonic()
        a.call(0, acxh + struct.pack("<I", 0))
        th = threading.Thread(target=waiter, daemon=True)
        th.start()
        # Keep the EMSMDB association busy (EcDummyRpc): its end would wake the wait.
        while th.is_alive() and time.monotonic() - t0 < 10:
            em.call(6, b"")
            em.recv()
            time.sleep(0.3)
        th.join(5)
        assert got.get("answer") == (0, 0), got
        assert got["at"] - t0 >= 2.5, f"answered after {got['at'] - t0:.1f}s, not the 3 s held"
    finally:
        for d in (a, em):
            d.get_rpc_transport().disconnect()
