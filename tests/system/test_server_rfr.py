"""Server modules: interfaces the daemon answers itself (the original's
dcerpc_mapiproxy:server and :rfr_server). RFR, tested with impacket's own
MS-OXABREF client, refers the client to our FQDN — in server mode (no
upstream at all) and in a hybrid proxy that relays samr to Samba."""

from __future__ import annotations

import json

import pytest
from impacket.dcerpc.v5 import oxabref, transport

import rpc_clients as rc
from test_dump import wait_for
from test_daemon import conf_file, run

FQDN = "mail.example.test"
SERVER_DN = "/o=First Organization/ou=Exchange Administrative Group/cn=Servers/cn=MAIL"


def rfr_session(px):
    t = transport.DCERPCTransportFactory(px.binding())
    t.set_connect_timeout(10)
    d = t.get_dce_rpc()
    d.connect()
    d.bind(oxabref.MSRPC_UUID_OXABREF)
    return d


def test_server_mode_answers_rfr(mapiproxy, tmp_path):
    jl = tmp_path / "calls.jsonl"
    px = mapiproxy(interfaces="exchange_ds_rfr", binding="",
                   options={"dcerpc_mapiproxy:server": "yes", "mapiproxy:fqdn": FQDN,
                            "mpm_dump:json file": str(jl)})
    d = rfr_session(px)
    try:
        r = oxabref.hRfrGetNewDSA(d, "/o=First Organization/cn=Recipients/cn=alice\0")
        assert r["ppszServer"].rstrip("\0") == FQDN
        r = oxabref.hRfrGetFQDNFromServerDN(d, SERVER_DN + "\0")
        assert r["ppszServerFQDN"].rstrip("\0") == FQDN
    finally:
        d.disconnect()
    assert px.wait_log(f"mapiproxy ready: serving 1 interface(s) here as {FQDN}")
    assert "exchange_ds_rfr=served" in px.log_text()
    # Served calls are dumped like relayed ones (once answered: wait for both).
    assert wait_for(lambda: jl.exists() and len(jl.read_text().splitlines()) >= 2)
    calls = [json.loads(x)["call"] for x in jl.read_text().splitlines()]
    assert [c["name"] for c in calls] == ["RfrGetNewDSA", "RfrGetFQDNFromServerDN"]
    assert all(c["outcome"] == "ok" for c in calls)


def test_hybrid_relays_samr_and_serves_rfr(mapiproxy, samba_dc):
    px = mapiproxy(interfaces="samr, exchange_ds_rfr",
                   options={"dcerpc_mapiproxy:rfr_server": "yes", "mapiproxy:fqdn": FQDN})
    assert rc.samr_enum_domains(px.binding()) == ["MAPI", "BUILTIN"]
    d = rfr_session(px)
    try:
        assert oxabref.hRfrGetNewDSA(d, "x\0")["ppszServer"].rstrip("\0") == FQDN
    finally:
        d.disconnect()
    log = px.log_text()
    assert "relaying 1 interface(s)" in log and "serving 1 here" in log


def test_unknown_rfr_opnum_gets_op_rng_error(mapiproxy):
    import dcerpc_wire as w
    px = mapiproxy(interfaces="exchange_ds_rfr", binding="",
                   options={"dcerpc_mapiproxy:server": "yes"})
    rfr = ("1544f5e0-613c-11d1-93df-00c04fd7bd09", 1, 0)
    with w.RawClient(px.listen, px.port) as c:
        assert c.bind([(0, rfr, [w.NDR])])["ptype"] == w.BIND_ACK
        d = c.xchg(w.request_pdu(0, 7, b"\0" * 8, call_id=2))
        assert d["ptype"] == w.FAULT and d["status"] == w.NCA_S_OP_RNG_ERROR, d
        # A stub that is not an RfrGetNewDSA request: proto error, session goes on.
        d = c.xchg(w.request_pdu(0, 0, b"\1\2", call_id=3))
        assert d["ptype"] == w.FAULT and d["status"] == w.NCA_S_PROTO_ERROR, d


@pytest.mark.parametrize("lines,message", [
    (["dcerpc_mapiproxy:interfaces = samr", "dcerpc_mapiproxy:server = yes"],
     "no server module answers samr"),
    (["dcerpc_mapiproxy:interfaces = samr", "dcerpc_mapiproxy:rfr_server = yes",
      "dcerpc_mapiproxy:binding = ncacn_ip_tcp:127.0.0.2"],
     "add exchange_ds_rfr to dcerpc_mapiproxy:interfaces"),
    (["dcerpc_mapiproxy:interfaces = samr, exchange_ds_rfr",
      "dcerpc_mapiproxy:rfr_server = yes"],
     "dcerpc_mapiproxy:binding is not set"),
])
def test_server_config_errors(tmp_path, lines, message):
    p = conf_file(tmp_path, lines + ["mapiproxy:auth required = no"])
    r = run("-c", str(p), "--check-config")
    assert r.returncode == 1 and message in r.stderr, r.stderr


def test_check_config_shows_served_interfaces(tmp_path):
    p = conf_file(tmp_path, ["dcerpc_mapiproxy:interfaces = exchange_ds_rfr",
                             "dcerpc_mapiproxy:server = yes", "mapiproxy:auth required = no"])
    r = run("-c", str(p), "--check-config")
    assert r.returncode == 0, r.stderr
    assert "upstream            (none: every interface is served here)" in r.stdout
    assert "served here" in r.stdout


def test_tshark_decodes_rfr_like_impacket(mapiproxy, tmp_path):
    """A capture of impacket's RFR calls to our RFR server: Wireshark's RFR
    dissector reads the same strings, with no malformed packet."""
    import shutil
    import subprocess
    from test_auth_wire import LoCapture
    tshark = shutil.which("tshark")
    if not tshark:
        pytest.skip("tshark not installed")
    px = mapiproxy(interfaces="exchange_ds_rfr", binding="",
                   options={"dcerpc_mapiproxy:server": "yes", "mapiproxy:fqdn": FQDN})
    pcap = tmp_path / "rfr.pcap"
    cap = LoCapture(pcap, f"tcp port {px.port}")
    try:
        d = rfr_session(px)
        try:
            oxabref.hRfrGetNewDSA(d, "/o=Org/cn=Recipients/cn=alice\0")
            oxabref.hRfrGetFQDNFromServerDN(d, SERVER_DN + "\0")
        finally:
            d.disconnect()
        assert cap.sync()
    finally:
        cap.stop()
    r = subprocess.run([tshark, "-r", str(pcap), "-d", f"tcp.port=={px.port},dcerpc", "-T",
                        "fields", "-E", "separator=|", "-e", "rfr.opnum",
                        "-e", "rfr.RfrGetNewDSA.pUserDN", "-e", "rfr.RfrGetNewDSA.ppszServer",
                        "-e", "rfr.RfrGetFQDNFromLegacyDN.szMailboxServerDN",
                        "-e", "rfr.RfrGetFQDNFromLegacyDN.ppszServerFQDN",
                        "-e", "_ws.malformed", "-Y", "rfr"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    rows = [line.split("|") for line in r.stdout.splitlines()]
    assert len(rows) == 4, r.stdout  # two requests, two responses
    assert all(row[5] == "" for row in rows), r.stdout  # nothing malformed
    fields = " ".join(r.stdout.split("|"))
    assert "/o=Org/cn=Recipients/cn=alice" in fields
    assert fields.count(FQDN) == 2  # both answers carry our FQDN
    assert SERVER_DN in fields
