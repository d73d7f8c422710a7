"""Relaying real traffic: impacket / raw clients through mapiproxy to Samba,
results compared with the same calls made directly to Samba."""

from __future__ import annotations

import struct
import threading
import time

import pytest
from impacket.dcerpc.v5 import epm, samr, wkst
from impacket.dcerpc.v5.rpcrt import DCERPCException

import rpc_clients as rc
from conftest import free_port
from dcerpc_wire import (BIND_ACK, BTFN3, EPM, NDR, NDR64, RESPONSE, SAMR, UNKNOWN,
                         WKSSVC, RawClient, raw_bind_results)
from fake_upstream import OP_BIG, OP_ECHO, pattern
from samba_dc import KNOWN_IFACES, epm_lookup, port_open

SAMR_UUID = KNOWN_IFACES["samr"]
DSSETUP_UUID = KNOWN_IFACES["dssetup"]
EPM_UUID = KNOWN_IFACES["epmapper"]
EPT_S_NOT_REGISTERED = 0x16C9A0D6


# ---------------------------------------------------------------- endpoint mapper

def test_epm_lookup_on_port_135(mapiproxy, samba_dc):
    if port_open("127.0.0.1", 135, 0.2):
        pytest.skip("127.0.0.1:135 is taken")
    ds_port = free_port()
    px = mapiproxy(interfaces="samr, lsarpc_ds", epm_port=135, iface_ports={"lsarpc_ds": ds_port})
    got = set(epm_lookup("127.0.0.1", 135))
    assert got == {
        (EPM_UUID, "3.0", "ncacn_ip_tcp", "135"),
        (SAMR_UUID, "1.0", "ncacn_ip_tcp", str(px.port)),
        (DSSETUP_UUID, "0.0", "ncacn_ip_tcp", str(ds_port)),
    }
    # Every relayed interface is one Samba registers itself (same uuid/version).
    direct = {(u, v) for u, v, p, _e in samba_dc.endpoints if p == "ncacn_ip_tcp"}
    assert {(SAMR_UUID, "1.0"), (DSSETUP_UUID, "0.0")} <= direct
    # impacket's own lookup loop works against the proxy too
    d = rc.connect("ncacn_ip_tcp:127.0.0.1[135]", None)  # hept_lookup binds
    try:
        entries = epm.hept_lookup(None, dce=d)
    finally:
        d.disconnect()
    bindings = {epm.PrintStringBinding(e["tower"]["Floors"]) for e in entries}
    assert f"ncacn_ip_tcp:127.0.0.1[{px.port}]" in bindings
    assert f"ncacn_ip_tcp:127.0.0.1[{ds_port}]" in bindings


def _hept_map(binding, iface):
    """hept_map over an existing connection; impacket names the host it was
    given, i.e. the binding's, in the answer."""
    d = rc.connect(binding, None)  # hept_map binds
    host = binding.split(":", 1)[1].split("[", 1)[0]
    try:
        return epm.hept_map(host, iface, protocol="ncacn_ip_tcp", dce=d)
    finally:
        d.disconnect()


def test_hept_map_through_proxy(mapiproxy, samba_dc):
    px = mapiproxy(interfaces="samr, lsarpc_ds", listen="127.0.0.5")
    epm_binding = px.binding(px.epm_port)
    assert _hept_map(epm_binding, samr.MSRPC_UUID_SAMR) == f"ncacn_ip_tcp:127.0.0.5[{px.port}]"
    direct = _hept_map(samba_dc.string_binding("epmapper"), samr.MSRPC_UUID_SAMR)
    assert direct == f"ncacn_ip_tcp:{samba_dc.ip}[{samba_dc.tcp_port('samr')}]"
    # The binding the proxy hands out really serves the interface.
    assert rc.samr_enum_domains(_hept_map(epm_binding, samr.MSRPC_UUID_SAMR)) == \
        rc.samr_enum_domains(direct)
    # An interface Samba has but the proxy does not relay is not registered here.
    from impacket.dcerpc.v5 import nrpc
    assert _hept_map(samba_dc.string_binding("epmapper"), nrpc.MSRPC_UUID_NRPC)
    with pytest.raises(DCERPCException) as ei:
        _hept_map(epm_binding, nrpc.MSRPC_UUID_NRPC)
    assert ei.value.get_error_code() == EPT_S_NOT_REGISTERED
    # The towers carry the address the client reached the proxy on.
    d = rc.connect(epm_binding, None)
    try:
        entries = epm.hept_lookup(None, dce=d)
    finally:
        d.disconnect()
    assert {epm.PrintStringBinding(e["tower"]["Floors"]) for e in entries} == {
        f"ncacn_ip_tcp:127.0.0.5[{px.epm_port}]", f"ncacn_ip_tcp:127.0.0.5[{px.port}]"}


# ---------------------------------------------------------------- samr / dssetup

def test_samr_same_as_direct(mapiproxy, samba_dc):
    px = mapiproxy(interfaces="samr, lsarpc_ds")
    direct = rc.samr_snapshot(samba_dc.string_binding("samr"))
    relayed = rc.samr_snapshot(px.binding())
    assert relayed == direct
    assert b"M\0A\0P\0I\0" in direct["enum_domains"]
    log = px.log_text()
    assert "samr=relay" in log
    assert f"port {samba_dc.tcp_port('samr')}" in log  # found through Samba's endpoint mapper


def test_dssetup_same_as_direct(mapiproxy, samba_dc):
    px = mapiproxy(interfaces="samr, lsarpc_ds")
    direct = rc.dssetup_info(samba_dc.string_binding("dssetup"))
    assert rc.dssetup_info(px.binding()) == direct
    assert "M\0A\0P\0I".encode() in direct


def test_explicit_upstream_port(mapiproxy, samba_dc):
    sp = samba_dc.tcp_port("samr")
    px = mapiproxy(interfaces="samr", binding=f"ncacn_ip_tcp:{samba_dc.ip}[{sp}]")
    assert rc.samr_snapshot(px.binding()) == rc.samr_snapshot(samba_dc.string_binding("samr"))
    assert f"connecting upstream {samba_dc.ip} port {sp}" in px.log_text()


def test_upstream_max_frag_2048_large_calls(mapiproxy, samba_dc, many_users):
    """Requests larger than the upstream's 2048-byte fragments are reassembled
    and cut again; multi-fragment responses come back intact."""
    px = mapiproxy(interfaces="samr", options={"mapiproxy:upstream max frag": "2048"})
    names = many_users[:100] + [f"nosuchuser{i:04d}" for i in range(200)] + ["Administrator"]
    direct_b = samba_dc.string_binding("samr")
    snap_direct = rc.samr_snapshot(direct_b, lookup_names=names)
    snap_proxy = rc.samr_snapshot(px.binding(), lookup_names=names)
    assert snap_proxy == snap_direct
    # the calls were big enough to need several fragments both ways
    assert sum(len(x) for x in snap_direct["enum_users"]) > 2 * 2048
    assert isinstance(snap_direct["lookup_names"], tuple)  # STATUS_SOME_NOT_MAPPED + data
    assert len(snap_direct["lookup_names"][2]) > 2048
    assert rc.lookup_names_data(px.binding(), names) == rc.lookup_names_data(direct_b, names)
    req_sizes = [int(line.split("request ")[1].split(" B")[0])
                 for line in px.log_text().splitlines() if "samr opnum 17:" in line]
    assert req_sizes and max(req_sizes) > 3 * 2048, req_sizes


def test_refragmentation_both_ways(mapiproxy, fake_upstream):
    """Fake upstream records fragment sizes: a 5840-byte-fragment client,
    an upstream limited to 2048."""
    fu = fake_upstream()
    px = mapiproxy(interfaces="samr", binding=fu.binding,
                   options={"mapiproxy:upstream max frag": "2048"})
    with RawClient(px.listen, px.port) as c:
        ack = c.bind([(0, SAMR, [NDR])], max_xmit=5840, max_recv=5840)
        assert ack["ptype"] == BIND_ACK and ack["max_recv"] == 5840
        assert fu.binds[0]["max_xmit"] <= 2048 and fu.binds[0]["max_recv"] <= 2048
        stub = pattern(12000)
        r = c.call(0, OP_ECHO, stub, call_id=2, max_frag=5840)
        assert r["ptype"] == RESPONSE and r["stub"] == stub
        assert fu.requests[-1]["stub"] == stub
        assert max(fu.requests[-1]["frags"]) <= 2048 and len(fu.requests[-1]["frags"]) >= 6
        r = c.call(0, OP_BIG, struct.pack("<I", 30000), call_id=3)
        assert r["stub"] == pattern(30000) and max(r["frags"]) <= 2048
        # small calls take the same path
        r = c.call(0, OP_ECHO, b"abc", call_id=4)
        assert r["stub"] == b"abc"
    assert not fu.errors


@pytest.mark.parametrize("upstream_frag", [5840, 2048], ids=["fast_path", "reassembled"])
def test_object_uuid_preserved(mapiproxy, fake_upstream, upstream_frag):
    """Requests carrying an object UUID keep it on both paths."""
    fu = fake_upstream()
    px = mapiproxy(interfaces="samr", binding=fu.binding,
                   options={"mapiproxy:upstream max frag": str(upstream_frag)})
    obj = "0badc0de-1234-5678-9abc-def012345678"
    with RawClient(px.listen, px.port) as c:
        c.bind([(0, SAMR, [NDR])])
        stub = pattern(9000)
        r = c.call(0, OP_ECHO, stub, call_id=2, obj=obj)
        assert r["ptype"] == RESPONSE and r["stub"] == stub
    req = fu.requests[-1]
    assert req["stub"] == stub and req["objects"][0] == obj
    assert set(req["objects"]) == {obj}, req["objects"]
    assert not fu.errors


def test_fast_path_keeps_fragments(mapiproxy, fake_upstream):
    """Same fragment size on both legs: fragments are relayed as they are."""
    fu = fake_upstream()
    px = mapiproxy(interfaces="samr", binding=fu.binding)
    with RawClient(px.listen, px.port) as c:
        c.bind([(0, SAMR, [NDR])], max_xmit=4280, max_recv=4280)
        stub = pattern(10000)
        r = c.call(0, OP_ECHO, stub, call_id=7, max_frag=3000)
        assert r["stub"] == stub
        assert fu.requests[-1]["frags"] == [3000, 3000, 3000, 10000 - 3 * 2976 + 24]
        assert r["frags"] == [4280, 4280, 10000 - 2 * 4256 + 24]
    assert not fu.errors


# ---------------------------------------------------------------- concurrency

def test_concurrent_clients(mapiproxy, samba_dc):
    px = mapiproxy(interfaces="samr")
    expected = rc.samr_enum_domains(samba_dc.string_binding("samr"))
    n_threads, n_calls = 20, 20
    errors, counts = [], [0] * n_threads

    def worker(i):
        try:
            with rc.session(px.binding(), samr.MSRPC_UUID_SAMR) as d:
                h = samr.hSamrConnect(d)["ServerHandle"]
                for _ in range(n_calls):
                    assert rc.enum_domains(d, h) == expected
                    counts[i] += 1
        except Exception as e:  # noqa: BLE001
            errors.append(f"thread {i}: {e!r}")

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(n_threads)]
    t0 = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not any(t.is_alive() for t in threads), "workers hung"
    assert not errors, errors[:5]
    assert counts == [n_calls] * n_threads
    assert time.monotonic() - t0 < 100
    log = px.log_text()
    assert log.count("0:samr=relay") == n_threads
    assert log.count("samr opnum 6:") == n_threads * n_calls


# ---------------------------------------------------------------- presentation contexts

def test_multi_context_bind_same_as_direct(mapiproxy, samba_dc):
    """samr + wkssvc (same Samba port) + an unknown interface in one bind."""
    px = mapiproxy(interfaces="samr, wkssvc, lsarpc_ds")
    ctxs = [(0, SAMR, [NDR]), (1, WKSSVC, [NDR]), (2, UNKNOWN, [NDR])]
    via_proxy = raw_bind_results(px.listen, px.port, ctxs)
    direct = raw_bind_results(samba_dc.ip, samba_dc.tcp_port("samr"), ctxs)
    assert via_proxy == direct
    assert [r[:2] for r in direct][0::2] == [(0, 0), (2, 1)]


def test_alter_context_same_as_direct(mapiproxy, samba_dc):
    """impacket alter_ctx: samr bound, wkssvc added, both used afterwards."""
    px = mapiproxy(interfaces="samr, wkssvc")

    def run(binding):
        with rc.session(binding, samr.MSRPC_UUID_SAMR) as d:
            h = samr.hSamrConnect(d)["ServerHandle"]
            before = rc.enum_domains(d, h)
            d2 = d.alter_ctx(wkst.MSRPC_UUID_WKST)
            w = rc.wkssvc_info(d2, 100)
            after = rc.enum_domains(d, h)
            return before, w, after, rc.wkssvc_info(d2, 100)

    direct = run(samba_dc.string_binding("samr"))
    assert run(px.binding()) == direct
    assert direct[0] == direct[2] == ["MAPI", "BUILTIN"]
    assert "altered: 1:wkssvc=relay" in px.log_text()


def test_alter_context_raw_results_same_as_direct(mapiproxy, samba_dc):
    px = mapiproxy(interfaces="samr, wkssvc")

    def run(ip, port):
        with RawClient(ip, port) as c:
            b = c.bind([(0, SAMR, [NDR])])
            a1 = c.bind([(1, WKSSVC, [NDR]), (2, UNKNOWN, [NDR]), (3, SAMR, [NDR64])],
                        ptype=14, call_id=2)
            c.samr_connect_ok(0, call_id=3)
            return b["results"], a1["ptype"], a1["results"]

    assert run(px.listen, px.port) == run(samba_dc.ip, samba_dc.tcp_port("samr"))


def test_alter_context_after_local_only_bind(mapiproxy, samba_dc):
    """Bind that relays nothing (unknown interface), then alter_context to samr:
    Samba accepts this sequence directly; so must the proxy."""
    px = mapiproxy(interfaces="samr")

    def run(ip, port):
        with RawClient(ip, port) as c:
            b = c.bind([(0, UNKNOWN, [NDR])])
            a = c.bind([(1, SAMR, [NDR])], ptype=14, call_id=2)
            out = (b["ptype"], [r[:2] for r in b["results"]], a["ptype"],
                   [r[:2] for r in a["results"]])
            c.samr_connect_ok(1, call_id=3)
            return out

    assert run(px.listen, px.port) == run(samba_dc.ip, samba_dc.tcp_port("samr"))


NDR64_CASES = {
    "ndr_ndr64_btfn_separate": [(0, SAMR, [NDR]), (1, SAMR, [NDR64]), (2, SAMR, [BTFN3])],
    "all_in_one_ctx": [(0, SAMR, [NDR64, NDR, BTFN3])],
    "ndr64_only": [(0, SAMR, [NDR64])],
    "btfn_only": [(0, SAMR, [BTFN3])],
    "btfn_mask1": [(0, SAMR, [NDR]), (1, SAMR, [("6cb71c2c-9812-4540-0100-000000000000", 1, 0)])],
}


@pytest.mark.parametrize("case", sorted(NDR64_CASES))
def test_ndr64_btfn_bind_same_as_direct(mapiproxy, samba_dc, case):
    px = mapiproxy(interfaces="samr")
    ctxs = NDR64_CASES[case]
    via_proxy = raw_bind_results(px.listen, px.port, ctxs)
    direct = raw_bind_results(samba_dc.ip, samba_dc.tcp_port("samr"), ctxs)
    assert via_proxy == direct
    if case == "ndr_ndr64_btfn_separate":
        assert [r[:2] for r in direct] == [(0, 0), (2, 2), (3, 3)]


def test_ndr64_stripped_before_upstream(mapiproxy, fake_upstream):
    fu = fake_upstream()
    px = mapiproxy(interfaces="samr", binding=fu.binding)
    with RawClient(px.listen, px.port) as c:
        ack = c.bind([(0, SAMR, [NDR64, NDR, BTFN3]), (1, SAMR, [NDR64])])
        assert [r[:2] for r in ack["results"]] == [(0, 0), (2, 2)]
        assert c.call(0, OP_ECHO, b"hello", call_id=2)["stub"] == b"hello"
    fwd = fu.binds[0]["ctxs"]
    assert len(fwd) == 1  # the NDR64-only context never went upstream
    assert [ts[0] for ts in fwd[0][2]] == [NDR[0], BTFN3[0]]


def test_epmapper_local_and_samr_relayed_in_one_bind(mapiproxy, samba_dc):
    """epmapper is served by the proxy, samr relayed, on the same connection."""
    px = mapiproxy(interfaces="samr")
    with RawClient(px.listen, px.port) as c:
        ack = c.bind([(0, SAMR, [NDR]), (1, EPM, [NDR])])
        assert [r[:2] for r in ack["results"]] == [(0, 0), (0, 0)]
        c.samr_connect_ok(0, call_id=2)
    assert "0:samr=relay 1:epmapper=local" in px.log_text()


def test_dssetup_and_samr_distinct_upstream_ports(mapiproxy, samba_dc):
    """Interfaces Samba serves on different ports work on separate connections
    to the same proxy port."""
    px = mapiproxy(interfaces="samr, lsarpc_ds")
    assert rc.dssetup_info(px.binding()) == rc.dssetup_info(samba_dc.string_binding("dssetup"))
    assert rc.samr_enum_domains(px.binding()) == ["MAPI", "BUILTIN"]
    assert rc.dssetup_info(px.binding()) == rc.dssetup_info(samba_dc.string_binding("dssetup"))


def test_rpcclient_same_as_direct(mapiproxy, samba_dc):
    """Samba's own client, anonymous, through the proxy. rpcclient finds each
    pipe through the endpoint mapper on port 135 of the binding's host."""
    import shutil
    import subprocess
    rpcclient = shutil.which("rpcclient")
    if not rpcclient:
        pytest.skip("rpcclient not installed")
    if port_open("127.0.0.6", 135, 0.2):
        pytest.skip("127.0.0.6:135 is taken")
    px = mapiproxy(interfaces="samr, lsarpc_ds", listen="127.0.0.6", epm_port=135)

    def run(binding):
        r = subprocess.run([rpcclient, "-N", "-U%", binding, "-c",
                            "enumdomains;enumdomusers;dsroledominfo"],
                           capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
        assert r.returncode == 0, r.stdout + r.stderr
        return r.stdout

    direct = run(samba_dc.string_binding("samr"))
    assert "name:[MAPI]" in direct and "user:[Administrator]" in direct
    assert run(px.binding()) == direct
    log = px.log_text()
    assert "samr=relay" in log and "lsarpc_ds=relay" in log and "epmapper=local" in log
