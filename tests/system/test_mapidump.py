"""mapidump on real traffic, captured on lo.

impacket talks samr through mapiproxy as a user of the proxy's user db (as
in test_auth.py), sealed (PKT_PRIVACY) or signed (PKT_INTEGRITY); dumpcap
records the client leg (and, in one test, the proxy's own upstream leg to
the Samba DC). Then mapidump reads the capture:
- with the user's password (prompted on stdin, from a file among wrong
  ones, or as an NT hash) every samr call appears by opnum and name, both
  halves decrypted / verified, stubs as bytes holding what samr answered
  (the domains, the users);
- without it, or with a wrong one, it says the calls are sealed and why;
- its (call_id, opnum, PDU type) set equals tshark's for the same capture;
- both legs of the proxy decode with one credential each.
Also: the NSPI codec against tshark's NSPI dissector on a capture made from
the NSPI test vectors (see make_nspi_pcap), and usage errors.

Run:  MAPIPROXY_BIN=build/mapiproxy MAPIDUMP_BIN=build/mapidump \
      /usr/bin/python3 -m pytest -q tests/system/test_mapidump.py
"""
from __future__ import annotations

import json
import os
import shutil
import struct
import subprocess
import uuid
from pathlib import Path

import pytest
from impacket.dcerpc.v5 import samr

from auth_helpers import (INTEGRITY, PRIVACY, PROXY_PW, PROXY_USER, authpx,  # noqa: F401
                          dce_bound, nt_hash_hex, user_db)
from test_auth_wire import LoCapture, proxy_tcp_peers

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
MAPIDUMP_BIN = os.environ.get("MAPIDUMP_BIN") or os.path.join(
    os.environ.get("MP_BUILD_DIR") or "build", "mapidump")
if not os.path.isabs(MAPIDUMP_BIN):
    MAPIDUMP_BIN = str(REPO / MAPIDUMP_BIN)

CLIENT_DOMAIN = "ANYDOMAIN"  # the user db entry matches any domain
SAMR_OPS = [(0, "SamrConnect"), (6, "SamrEnumerateDomainsInSamServer"),
            (5, "SamrLookupDomainInSamServer"), (7, "SamrOpenDomain"),
            (13, "SamrEnumerateUsersInDomain"), (1, "SamrCloseHandle"), (1, "SamrCloseHandle")]


def utf16hex(s: str) -> str:
    return s.encode("utf-16-le").hex()


@pytest.fixture(autouse=True)
def _need_tools():
    if not os.path.exists(MAPIDUMP_BIN):
        pytest.skip(f"{MAPIDUMP_BIN} not built")


def mapidump(*args, stdin: str = "", timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run([MAPIDUMP_BIN, *map(str, args)], input=stdin, capture_output=True,
                          text=True, timeout=timeout)


def events(out: str):
    evs = [json.loads(line) for line in out.splitlines() if line.strip()]
    assert evs and evs[-1]["type"] == "summary", out[-2000:]
    return evs


def calls_of(evs, conn=None):
    return [e for e in evs if e["type"] == "call" and (conn is None or e["conn"] == conn)]


def samr_session(binding: str, level: int, during=None) -> None:
    """The calls of SAMR_OPS over an authenticated association; during() is
    called while it is still open."""
    _, d = dce_bound(binding, level, domain=CLIENT_DOMAIN)
    try:
        if during:
            during()
        h = samr.hSamrConnect(d)["ServerHandle"]
        names = [x["Name"] for x in samr.hSamrEnumerateDomainsInSamServer(d, h)["Buffer"]["Buffer"]]
        assert names == ["MAPI", "BUILTIN"]
        sid = samr.hSamrLookupDomainInSamServer(d, h, names[0])["DomainId"]
        dh = samr.hSamrOpenDomain(d, h, domainId=sid)["DomainHandle"]
        users = [u["Name"] for u in
                 samr.hSamrEnumerateUsersInDomain(d, dh)["Buffer"]["Buffer"]]
        assert "Administrator" in users
        samr.hSamrCloseHandle(d, dh)
        samr.hSamrCloseHandle(d, h)
    finally:
        d.disconnect()


@pytest.fixture(params=[PRIVACY, INTEGRITY], ids=["privacy", "integrity"])
def captured(request, authpx, tmp_path):  # noqa: F811
    """(pcap, proxy port, level): one samr session through the proxy, client leg only."""
    px = authpx()
    pcap = tmp_path / "client-leg.pcapng"
    cap = LoCapture(pcap, f"tcp port {px.port}")
    try:
        samr_session(px.binding(), request.param)
        assert px.wait_log("closed: ")
        assert cap.sync(), "the capture stopped seeing packets"
    finally:
        cap.stop()
    return pcap, px.port, request.param


def test_decrypts_with_the_password(captured, tmp_path):
    pcap, port, level = captured
    want = "decrypted" if level == PRIVACY else "verified"

    # --password answered on stdin (not a terminal: one line)
    r = mapidump("-r", pcap, "--json", "--password", stdin=PROXY_PW + "\n")
    assert r.returncode == 0, r.stderr
    assert r.stderr == ""
    evs = events(r.stdout)
    calls = calls_of(evs)
    assert [(c["opnum"], c["name"]) for c in calls] == SAMR_OPS
    for c in calls:
        assert c["interface"] == "samr" and "incomplete" not in c, c
        assert c["uuid"] == "12345778-1234-abcd-ef00-0123456789ac/1.0"
        assert c["server"].endswith(f":{port}")
        assert c["latency_ms"] >= 0
        for half in ("request", "response"):
            h = c[half]
            assert h["protection"] == want, c
            assert h["auth_level"] == ("pkt_privacy" if level == PRIVACY else "pkt_integrity")
            assert h["undecoded"] == "no decoder for samr"
            assert len(h["stub"]) == 2 * h["stub_bytes"]
    assert utf16hex("BUILTIN") in calls[1]["response"]["stub"]
    assert utf16hex("Administrator") in calls[4]["response"]["stub"]
    notes = [e["text"] for e in evs if e["type"] == "note"]
    assert f"NTLMv2 {CLIENT_DOMAIN}\\{PROXY_USER}: keys derived (credential 1)" in \
        " ".join(notes), notes
    summary = evs[-1]
    assert summary["dcerpc"]["bad_signatures"] == 0
    assert summary["dcerpc"]["fragments_sealed"] == 0
    assert summary["warnings"] == 0
    assert PROXY_PW not in r.stdout and nt_hash_hex(PROXY_PW) not in r.stdout

    # The same from a password file (the right one among wrong ones) and as an NT hash.
    pwfile = tmp_path / "passwords"
    pwfile.write_text(f"wrong-one\n{PROXY_PW}\nanother-wrong\n")
    r2 = mapidump("-r", pcap, "--json", "--password-file", pwfile)
    assert r2.returncode == 0, r2.stderr
    c2 = calls_of(events(r2.stdout))
    assert [(c["request"]["stub"], c["response"]["stub"]) for c in c2] == \
        [(c["request"]["stub"], c["response"]["stub"]) for c in calls]
    assert "keys derived (credential 2)" in r2.stdout
    r3 = mapidump("-r", pcap, "--json", "--nt-hash", nt_hash_hex(PROXY_PW).upper())
    assert r3.returncode == 0, r3.stderr
    assert [c["response"]["stub"] for c in calls_of(events(r3.stdout))] == \
        [c["response"]["stub"] for c in calls]

    # Text output: the same calls, one tree each.
    t = mapidump("-r", pcap, "--password-file", pwfile)
    assert t.returncode == 0, t.stderr
    assert "samr SamrEnumerateDomainsInSamServer (opnum 6) call_id" in t.stdout
    lvl = "pkt_privacy" if level == PRIVACY else "pkt_integrity"
    assert t.stdout.count(f", {lvl} {want}\n") == 2 * len(SAMR_OPS)
    assert "\nsummary\n" in t.stdout


def test_without_the_password_calls_stay_sealed(captured, tmp_path):
    pcap, _, level = captured
    for args, why in [((), "no password or NT hash given"),
                      (("--nt-hash", nt_hash_hex("not the password")),
                       "none of the 1 credential(s) given matches")]:
        r = mapidump("-r", pcap, "--json", *args)
        assert r.returncode == 0, r.stderr
        evs = events(r.stdout)
        calls = calls_of(evs)
        assert [(c["opnum"], c["name"]) for c in calls] == SAMR_OPS
        for c in calls:
            for half in ("request", "response"):
                h = c[half]
                if level == PRIVACY:
                    assert h["protection"] == "sealed", c
                    assert "stub" not in h
                else:  # signed only: readable, but nothing vouches for it
                    assert h["protection"] == "unverified", c
                    assert "stub" in h
                assert why in h["problem"], c
        assert any(why in e["text"] for e in evs if e["type"] == "note")
        key = "fragments_sealed" if level == PRIVACY else "fragments_verified"
        assert evs[-1]["dcerpc"][key] == (2 * len(SAMR_OPS) if level == PRIVACY else 0)


def tshark_set(pcap, port):
    """{(call_id, opnum or None, ptype)} of every DCE/RPC PDU tshark sees."""
    r = subprocess.run(["tshark", "-n", "-r", str(pcap), "-d", f"tcp.port=={port},dcerpc",
                        "-T", "json", "-J", "dcerpc"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    out = set()
    for frame in json.loads(r.stdout or "[]"):
        layer = frame["_source"]["layers"].get("dcerpc")
        for p in (layer if isinstance(layer, list) else [layer] if layer else []):
            op = p.get("dcerpc.opnum")
            out.add((int(p["dcerpc.cn_call_id"]), int(op) if op is not None else None,
                     int(p["dcerpc.pkt_type"])))
    return out


def test_same_pdus_as_tshark(captured):
    pcap, port, _ = captured
    if not shutil.which("tshark"):
        pytest.skip("tshark is not installed")
    r = mapidump("-r", pcap, "--json", "--pdus", "--port", port, "--no-detect")
    assert r.returncode == 0, r.stderr
    mine = {(e["call_id"], e.get("opnum"), e["ptype"]) for e in events(r.stdout)
            if e["type"] == "pdu"}
    theirs = tshark_set(pcap, port)
    assert theirs, "tshark decoded no DCE/RPC"
    assert mine == theirs
    assert {p for _, _, p in mine} == {11, 12, 16, 0, 2}  # bind, bind_ack, auth3, calls


def test_both_legs_of_the_proxy(authpx, samba_dc, tmp_path):  # noqa: F811
    """Client leg (proxy user) and upstream leg (the DC's Administrator, on
    Samba's dynamic samr port, found because it starts with a bind): one
    credential each, given together; the same calls on both legs."""
    px = authpx()
    up_port = samba_dc.tcp_port("samr")
    pcap = tmp_path / "legs.pcapng"
    cap = LoCapture(pcap, f"tcp port {px.port} or (host {samba_dc.ip} and tcp port {up_port})")
    up_local = []
    try:
        # Other runs may talk to the same DC: the upstream leg is the proxy's
        # own connection, found by its local port while it is open.
        samr_session(px.binding(), PRIVACY, during=lambda: up_local.extend(
            proxy_tcp_peers(px.pid).get((samba_dc.ip, up_port), [])))
        assert len(up_local) == 1, proxy_tcp_peers(px.pid)
        assert px.wait_log("closed: ")
        assert cap.sync()
    finally:
        cap.stop()
    pwfile = tmp_path / "pw"
    pwfile.write_text(f"{PROXY_PW}\n{samba_dc.admin_password}\n")
    r = mapidump("-r", pcap, "--json", "--password-file", pwfile)
    assert r.returncode == 0, r.stderr
    evs = events(r.stdout)
    by_conn = {}
    for c in calls_of(evs):
        by_conn.setdefault((c["client"], c["server"]), []).append(c)
    client = [v for (cli, srv), v in by_conn.items() if srv.endswith(f":{px.port}")]
    upstream = [v for (cli, srv), v in by_conn.items()
                if srv == f"{samba_dc.ip}:{up_port}" and cli.endswith(f":{up_local[0]}")]
    assert len(client) == 1 and len(upstream) == 1, list(by_conn)
    for leg in (client[0], upstream[0]):
        assert [(c["opnum"], c["name"]) for c in leg] == SAMR_OPS
        for c in leg:
            assert c["request"]["protection"] == c["response"]["protection"] == "decrypted", c
    # the proxy relays the stubs: what the DC answered is what the client got
    assert [c["response"]["stub"] for c in client[0]][1:5] == \
        [c["response"]["stub"] for c in upstream[0]][1:5]
    notes = " ".join(e["text"] for e in evs if e["type"] == "note")
    assert f"{CLIENT_DOMAIN}\\{PROXY_USER}: keys derived (credential 1)" in notes
    assert f"{samba_dc.domain}\\{samba_dc.admin_user}: keys derived (credential 2)" in notes


# --------------------------------------------------------------------------
# NSPI: our codec against tshark's dissector, on a synthetic capture
# --------------------------------------------------------------------------

NDR20 = uuid.UUID("8a885d04-1ceb-11c9-9fe8-08002b104860").bytes_le
NSPI_DATA = REPO / "tests" / "unit" / "data" / "nspi"
NSPI_CALLS = [(0, "bind"), (7, "dn_to_mid"), (9, "get_props"), (3, "query_rows"),
              (16, "query_columns"), (19, "resolve_names")]


def _pdu(ptype, call_id, body):
    return struct.pack("<BBBB4sHHI", 5, 0, ptype, 3, b"\x10\0\0\0", 16 + len(body), 0,
                       call_id) + body


def make_pcap(path, iface: uuid.UUID, version, port: int, calls) -> list:
    """A classic pcap (LINKTYPE_RAW, IPv4) of one connection: a bind to
    `iface` (NDR), then for each (opnum, request stub, response stub) of
    `calls` one request and one response PDU. Returns [(call_id, opnum)]."""
    frames, seq = [], {0: 1000, 1: 5000}
    cli, srv = bytes([127, 0, 0, 1]), bytes([127, 0, 0, 9])

    def tcp(direction, payload, flags=0x18):
        src, dst = (cli, srv) if direction == 0 else (srv, cli)
        sp, dp = (40000, port) if direction == 0 else (port, 40000)
        t = struct.pack(">HHIIBBHHH", sp, dp, seq[direction], 0, 5 << 4, flags, 65535, 0, 0)
        seq[direction] += len(payload)
        ip = struct.pack(">BBHHHBBH4s4s", 0x45, 0, 20 + len(t) + len(payload), 1, 0x4000, 64,
                         6, 0, src, dst)
        frames.append(ip + t + payload)

    ctx = struct.pack("<HBx", 0, 1) + iface.bytes_le + struct.pack("<HH", *version) + NDR20 + \
        struct.pack("<HH", 2, 0)
    tcp(0, _pdu(11, 1, struct.pack("<HHIB3x", 4280, 4280, 0, 1) + ctx))
    ack = struct.pack("<HHIH", 4280, 4280, 0x53f0, len(str(port)) + 1) + f"{port}\0".encode()
    ack += b"\0" * (-(16 + len(ack)) % 4)
    ack += struct.pack("<B3x", 1) + struct.pack("<HH", 0, 0) + NDR20 + struct.pack("<HH", 2, 0)
    tcp(1, _pdu(12, 1, ack))
    done = []
    for i, (opnum, req, rsp) in enumerate(calls):
        call_id = 2 + i
        tcp(0, _pdu(0, call_id, struct.pack("<IHH", len(req), 0, opnum) + req))
        tcp(1, _pdu(2, call_id, struct.pack("<IHBx", len(rsp), 0, 0) + rsp))
        done.append((call_id, opnum))
    out = struct.pack("<IHHiIII", 0xa1b2c3d4, 2, 4, 0, 0, 65535, 101)
    for n, f in enumerate(frames):
        out += struct.pack("<IIII", 1700000000, n, len(f), len(f)) + f
    Path(path).write_bytes(out)
    return done


def make_nspi_pcap(path) -> list:
    """NSPI 56.0 on port 6004 with the stubs of NSPI_CALLS from tests/unit/data/nspi."""
    return make_pcap(path, uuid.UUID("f5cc5a18-4264-101a-8c59-08002b2f8426"), (56, 0), 6004,
                     [(op, (NSPI_DATA / f"{n}_req.bin").read_bytes(),
                       (NSPI_DATA / f"{n}_rsp.bin").read_bytes()) for op, n in NSPI_CALLS])


def tvals(obj, key):
    """Every value of `key` in a tshark JSON tree, in document order."""
    out = []

    def walk(o):
        if isinstance(o, dict):
            for k, v in o.items():
                if k == key:
                    out.extend(v if isinstance(v, list) else [v])
                else:
                    walk(v)
        elif isinstance(o, list):
            for x in o:
                walk(x)
    walk(obj)
    return out


def test_nspi_against_tshark(tmp_path):
    """The same NSPI calls through mapidump's codecs and tshark's (older, partial)
    NSPI dissector: every field tshark decodes for NspiBind, NspiDNToMId
    (its NspiDNToEph), NspiGetProps and NspiQueryRows has the same value."""
    if not (REPO / "src" / "mapi" / "nspi.c").exists() or not NSPI_DATA.is_dir():
        pytest.skip("no NSPI codec or vectors yet")
    if not shutil.which("tshark"):
        pytest.skip("tshark is not installed")
    pcap = tmp_path / "nspi.pcap"
    calls = make_nspi_pcap(pcap)
    r = mapidump("-r", pcap, "--json")
    assert r.returncode == 0, r.stderr
    mine = calls_of(events(r.stdout))
    assert [(c["call_id"], c["opnum"]) for c in mine] == calls
    assert [c["name"] for c in mine] == ["NspiBind", "NspiDNToMId", "NspiGetProps",
                                         "NspiQueryRows", "NspiQueryColumns", "NspiResolveNames"]
    assert all(c["interface"] == "NSPI" for c in mine)
    body = {}
    for c in mine:
        for half in ("request", "response"):
            assert c["name"] in c[half], (c["name"], half, c[half])  # decoded, not bytes
            body[(c["call_id"], half)] = c[half][c["name"]]

    t = subprocess.run(["tshark", "-n", "-r", str(pcap), "-d", "tcp.port==6004,dcerpc",
                        "-T", "json", "--no-duplicate-keys", "-J", "dcerpc nspi"],
                       capture_output=True, text=True, timeout=60)
    assert t.returncode == 0, t.stderr
    ts = {}
    for frame in json.loads(t.stdout):
        lay = frame["_source"]["layers"]
        d, n = lay.get("dcerpc"), lay.get("nspi")
        if d and n:
            half = "request" if d["dcerpc.pkt_type"] == "0" else "response"
            ts[(int(d["dcerpc.cn_call_id"]), half)] = n
    assert ts, "tshark's NSPI dissector decoded nothing"

    def one(call, half, key):
        v = tvals(ts[(call, half)], key)
        assert v, (call, half, key, ts[(call, half)])
        return v[0]

    def guid(s):
        return s.strip("{}").lower()

    # NspiBind (call 2)
    q, a = body[(2, "request")], body[(2, "response")]
    assert int(one(2, "request", "nspi.NspiBind.unknown")) == q["dwFlags"]
    assert int(one(2, "request", "nspi.MAPI_SETTINGS.codepage")) == q["pStat"]["CodePage"]
    assert int(one(2, "request", "nspi.input_locale.language")) == q["pStat"]["TemplateLocale"]
    assert int(one(2, "request", "nspi.input_locale.method")) == q["pStat"]["SortLocale"]
    assert one(2, "request", "nspi.NspiBind.mapiuid") == guid(q["pServerGuid"])
    assert one(2, "response", "nspi.NspiBind.mapiuid") == guid(a["pServerGuid"])
    handle = bytes.fromhex(one(2, "response", "nspi.handle").replace(":", ""))
    assert struct.unpack("<I", handle[:4])[0] == a["contextHandle"]["attributes"]
    assert handle[4:] == uuid.UUID(guid(a["contextHandle"]["uuid"])).bytes_le
    # NspiDNToMId (call 3), tshark's NspiDNToEph
    q, a = body[(3, "request")], body[(3, "response")]
    assert int(one(3, "request", "nspi.NspiDNToEph.flag")) == q["Reserved"]
    assert int(one(3, "request", "nspi.NspiDNToEph.size")) == len(q["pNames"])
    assert tvals(ts[(3, "request")], "nspi.NAME_STRING.str") == q["pNames"]
    assert [int(x) for x in tvals(ts[(3, "response")], "nspi.instance_key.value")] == a["ppMIds"]
    # NspiGetProps (call 4): the request, and the first values of the row
    q, a = body[(4, "request")], body[(4, "response")]
    assert int(one(4, "request", "nspi.NspiGetProps.flag")) == q["dwFlags"]
    assert int(one(4, "request", "nspi.MAPI_SETTINGS.codepage")) == q["pStat"]["CodePage"]
    assert int(one(4, "response", "nspi.SRow.cValues")) == a["ppRows"]["cValues"]
    assert one(4, "response", "nspi.SPropValue_CTR.lpszW") == a["ppRows"]["lpProps"][0]["lpszW"]
    # NspiQueryRows (call 5)
    q, a = body[(5, "request")], body[(5, "response")]
    assert int(one(5, "request", "nspi.NspiQueryRows.flag")) == q["dwFlags"]
    assert int(one(5, "request", "nspi.NspiQueryRows.lRows")) == q["dwETableCount"]
    assert [int(x) for x in tvals(ts[(5, "request")], "nspi.NspiQueryRows.instance_key")] == \
        q["lpETable"]
    assert int(one(5, "request", "nspi.NspiQueryRows.unknown")) == q["Count"]
    assert int(one(5, "request", "nspi.MAPI_SETTINGS.flag")) == q["pStat"]["ContainerID"]
    assert int(one(5, "response", "nspi.SRowSet.cRows")) == len(a["ppRows"])
    # the MAPI status of every response tshark decodes
    for call in (2, 3):
        st = int(one(call, "response", "nspi.MAPISTATUS_status"), 16)
        assert (st == 0) == (body[(call, "response")]["result"] == "ecNone")


EMSMDB_DATA = REPO / "tests" / "unit" / "data" / "emsmdb"
EMSMDB_CALLS = [(10, "connect_ex", "EcDoConnectEx"), (11, "rpc_ext2", "EcDoRpcExt2"),
                (1, "disconnect", "EcDoDisconnect")]


def test_emsmdb_vectors_decode_like_tshark_frames_them(tmp_path):
    """EMSMDB 0.81 on port 6001 with the EMSMDB codec's IDL vectors: every
    call decodes with the codecs (not shown as bytes); tshark sees the same
    PDUs (call_id, opnum, type)."""
    if not (REPO / "src" / "mapi" / "emsmdb.c").exists() or not EMSMDB_DATA.is_dir():
        pytest.skip("no EMSMDB codec or vectors yet")
    pcap = tmp_path / "emsmdb.pcap"
    calls = make_pcap(pcap, uuid.UUID("a4f1db00-ca47-1067-b31f-00dd010662da"), (0, 81), 6001,
                      [(op, (EMSMDB_DATA / f"idl_{n}_req.bin").read_bytes(),
                        (EMSMDB_DATA / f"idl_{n}_rsp.bin").read_bytes())
                       for op, n, _ in EMSMDB_CALLS])
    r = mapidump("-r", pcap, "--json", "--pdus")
    assert r.returncode == 0, r.stderr
    evs = events(r.stdout)
    mine = calls_of(evs)
    assert [(c["call_id"], c["opnum"], c["name"]) for c in mine] == \
        [(cid, op, name) for (cid, op), (_, _, name) in zip(calls, EMSMDB_CALLS)]
    for c in mine:
        assert c["interface"] == "EMSMDB"
        for half in ("request", "response"):
            assert c["name"] in c[half] and "undecoded" not in c[half], c[half]
    if shutil.which("tshark"):
        pdus = {(e["call_id"], e.get("opnum"), e["ptype"]) for e in evs if e["type"] == "pdu"}
        assert pdus == tshark_set(pcap, 6001)


# --------------------------------------------------------------------------
# usage
# --------------------------------------------------------------------------

def test_usage_errors_say_what_to_do(tmp_path):
    r = mapidump("-r", tmp_path / "x.pcap", "Secret-On-Argv")
    assert r.returncode == 2
    assert "passwords are never taken from the command line" in r.stderr
    r = mapidump()
    assert r.returncode == 2 and "use -r FILE" in r.stderr
    r = mapidump("-r", tmp_path / "missing.pcap")
    assert r.returncode == 1 and "missing.pcap" in r.stderr
    r = mapidump("-r", "x", "--nt-hash", "1234")
    assert r.returncode == 2 and "32 hex digits" in r.stderr
    r = mapidump("-r", "x", "--filter", "nosuch")
    assert r.returncode == 2 and "unknown interface" in r.stderr
    r = mapidump("-r", "x", "--port", "0")
    assert r.returncode == 2
    r = mapidump("--help")
    assert r.returncode == 0
    for opt in ("--password", "--password-file", "--nt-hash", "--json", "--quiet", "--port",
                "--filter", "--no-detect", "--pdus"):
        assert opt in r.stdout
    notcp = tmp_path / "empty.pcap"
    notcp.write_bytes(struct.pack("<IHHiIII", 0xa1b2c3d4, 2, 4, 0, 0, 65535, 1))
    r = mapidump("-r", notcp, "--quiet")
    assert r.returncode == 0
    assert "no DCE/RPC connection found" in r.stderr and "--port" in r.stderr
