"""The rewrite module (modules/rewrite.c): a client that discovers its
servers through the proxy is shown the proxy's names, never the server's.

mapiserver calls itself exsrv01.corp.mapi.test (DNs: cn=exsrv01); a
terminating mapiproxy in front of it calls itself mproxy.edge.test and loads
`rewrite`, with the dump's JSON output on (the dump prints what the client
receives):

* mapiclient's discovery path (whoami, resolve, gal, folders, ls) through
  the proxy: no reply names the server or its port; the referral, home MDB
  and network addresses name the proxy; everything else equals the direct
  answers. Without the module the same dump names the server (the check
  can fail). With --follow-referral the client lands on the proxy.
* impacket NSPI, the Outlook profile path: home MDB -> server DN ->
  NspiDNToMId -> NspiGetProps(PR_EMS_AB_NETWORK_ADDRESS), in Unicode and
  8-bit strings; the proxy's DN resolves to the server object, the server's
  addresses are replaced by the proxy's.
* impacket RFR: RfrGetNewDSA and RfrGetFQDNFromServerDN answer the proxy's
  FQDN; the server DN goes upstream with the server's name.
* rewrite:server name pins the name before any reply taught it.
* bad options refuse the start with the reason.

Run:  MAPIPROXY_BIN=... MAPISERVER_BIN=... MAPICLIENT_BIN=... \
      /usr/bin/python3 -m pytest -q tests/system/test_module_rewrite.py
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

import pytest
from impacket.dcerpc.v5 import nspi, oxabref, rpcrt, transport

from conftest import MAPIPROXY_BIN, SANITIZER_ENV, free_port, write_config
from mapi_env import (EML, NEED_BINARIES, ORG_DN, PASSWORDS, admin, client, jsn,  # noqa: F401
                      mapiserver, ok, terminating)
from test_dump import wait_for
from test_mapiserver import get_props, plain

pytestmark = NEED_BINARIES

MODULES = str(Path(MAPIPROXY_BIN).parent / "modules")
SERVER_FQDN, SERVER_NAME = "exsrv01.corp.mapi.test", "exsrv01"
PROXY_FQDN, PROXY_NAME = "mproxy.edge.test", "mproxy"
SERVERS = ORG_DN + "/cn=Configuration/cn=Servers/cn="
PRIVACY = rpcrt.RPC_C_AUTHN_LEVEL_PKT_PRIVACY

PR_EMAIL_ADDRESS = 0x3003001F
PR_HOME_MDB_W, PR_HOME_MDB_A = 0x8006001F, 0x8006001E
PR_NETWORK_ADDRESS_W, PR_NETWORK_ADDRESS_A = 0x8170101F, 0x8170101E
PR_DISPLAY_NAME = 0x3001001F


@pytest.fixture
def srv(mapiserver, tmp_path):
    s = mapiserver({"mapiproxy:fqdn": SERVER_FQDN})
    eml = tmp_path / "q1.eml"
    eml.write_bytes(EML)
    admin(s.conf, "import", "--user", "alice", str(eml))
    return s


def proxy(mapiproxy, srv, tmp_path, modules="rewrite", fqdn=PROXY_FQDN, **options):
    jl = tmp_path / f"dump-{free_port()}.jsonl"
    opts = {"mapiproxy:modules dir": MODULES, "mapiproxy:fqdn": fqdn,
            "mpm_dump:json file": str(jl)}
    opts.update(options)
    px = terminating(mapiproxy, srv, modules=modules, options=opts)
    px.dump = jl
    return px


def calls(px, want):
    """The dumped calls, once every name in `want` is there."""
    def read():
        if not px.dump.exists():
            return []
        return [json.loads(x)["call"] for x in px.dump.read_text().splitlines()]
    assert wait_for(lambda: want <= {c["name"] for c in read()}), [c["name"] for c in read()]
    return read()


def strings(node):
    """Every string in a decoded structure (the dump's JSON)."""
    if isinstance(node, str):
        yield node
    elif isinstance(node, dict):
        for k, v in node.items():
            yield k
            yield from strings(v)
    elif isinstance(node, list):
        for v in node:
            yield from strings(v)


def leaks(call, port):
    """Strings of a reply that name the server (name, FQDN) or its port."""
    bad = re.compile(rf"{SERVER_NAME}|\b{port}\b", re.IGNORECASE)
    return [s for s in strings(call.get("response", {})) if bad.search(s)]


def discovery(server):
    """mapiclient's discovery path as a user runs it, JSON answers."""
    out = {"whoami": jsn(client(server, "--json", "whoami"))}
    for cmd in (["resolve", "bob"], ["gal"], ["folders"], ["ls"]):
        out[cmd[0]] = jsn(client(server, "--json", *cmd))
    return out


def test_discovery_never_names_the_server(srv, mapiproxy, tmp_path):
    px = proxy(mapiproxy, srv, tmp_path)
    direct = discovery(f"127.0.0.1:{srv.port}")
    via = discovery(f"127.0.0.1:{px.port}")
    # What the module changes: the proxy's names in place of the server's.
    d, v = direct.pop("whoami"), via.pop("whoami")
    assert d["rfr_server"] == SERVER_FQDN and v["rfr_server"] == PROXY_FQDN
    assert d["home_mdb"] == SERVERS + SERVER_NAME + "/cn=Microsoft Private MDB"
    assert v["home_mdb"] == SERVERS + PROXY_NAME + "/cn=Microsoft Private MDB"
    assert d["network_addresses"] == ["ncacn_ip_tcp:" + SERVER_FQDN]
    assert v["network_addresses"] == ["ncacn_ip_tcp:" + PROXY_FQDN]
    for k in ("rfr_server", "home_mdb", "network_addresses"):
        d.pop(k), v.pop(k)
    assert v == d
    # Everything else is what the server says.
    assert via == direct
    assert len(via["ls"]["messages"]) == 1 and via["resolve"]["display_name"] == "Bob Builder"

    dumped = calls(px, {"RfrGetNewDSA", "NspiResolveNamesW", "NspiGetProps", "EcDoConnectEx",
                        "EcDoRpcExt2"})
    assert all(c["outcome"] == "ok" for c in dumped)
    for c in dumped:
        assert not leaks(c, srv.port), (c["name"], leaks(c, srv.port))
    shown = [s for c in dumped for s in strings(c["response"])]
    assert PROXY_FQDN in shown and "ncacn_ip_tcp:" + PROXY_FQDN in shown
    assert any(f"cn=Servers/cn={PROXY_NAME}/" in s for s in shown)

    # Control: the same path through a proxy without the module names the
    # server in the replies this test checks.
    plain_px = proxy(mapiproxy, srv, tmp_path, modules="")
    ok(client(f"127.0.0.1:{plain_px.port}", "whoami"))
    named = {c["name"] for c in calls(plain_px, {"RfrGetNewDSA", "NspiGetProps"})
             if leaks(c, srv.port)}
    assert named == {"RfrGetNewDSA", "NspiGetProps"}


def test_follow_referral_lands_on_the_proxy(mapiserver, mapiproxy, tmp_path):
    """A client that follows RfrGetNewDSA binds NSPI where it points: on the
    proxy (named localhost here, so that the name resolves), not on the
    server (whose name does not)."""
    s = mapiserver({"mapiproxy:fqdn": "exsrv01.invalid"})
    for modules, lands in (("rewrite", True), ("", False)):
        px = proxy(mapiproxy, s, tmp_path, modules=modules, fqdn="localhost")
        r = client(f"127.0.0.1:{px.port}", "-v", "--follow-referral", "--json", "whoami")
        j, err = jsn(r), r.stderr.decode()
        if lands:
            assert j["rfr_server"] == "localhost" and j["nspi_host"] == "localhost"
            assert f"exchange_nsp: bound on localhost port {px.port}" in err, err
        else:
            assert j["rfr_server"] == "exsrv01.invalid" and j["nspi_host"] == "127.0.0.1"
            assert "referral exsrv01.invalid not usable" in err, err


def nspi_session(port):
    t = transport.DCERPCTransportFactory(f"ncacn_ip_tcp:127.0.0.1[{port}]")
    t.set_connect_timeout(10)
    t.set_credentials("alice", PASSWORDS["alice"], "")
    d = t.get_dce_rpc()
    d.set_auth_level(PRIVACY)
    d.connect()
    d.bind(nspi.MSRPC_UUID_NSPI)
    return d, nspi.hNspiBind(d)["contextHandle"]


def dn_to_mid(d, h, dns):
    r = nspi.hNspiDNToMId(d, h, [x + "\0" for x in dns])
    return [m["Data"] for m in r["ppOutMIds"]["aulPropTag"]]


def props(d, h, mid, tags):
    r = get_props(d, h, mid, tags)
    assert r["ErrorCode"] == 0, hex(r["ErrorCode"])
    return plain(nspi.simplifyPropertyRow(r["ppRows"]))


def profile_path(port):
    """Outlook's profile path: the user's home MDB, the server DN made from
    it, its MId, its network addresses (Unicode and 8-bit)."""
    d, h = nspi_session(port)
    try:
        alice = dn_to_mid(d, h, [ORG_DN + "/cn=Recipients/cn=alice"])[0]
        home = props(d, h, alice, [PR_HOME_MDB_W, PR_HOME_MDB_A])
        server_dn = home[PR_HOME_MDB_W].rsplit("/", 1)[0]
        mid = dn_to_mid(d, h, [server_dn])[0]
        srv = props(d, h, mid, [PR_DISPLAY_NAME, PR_EMAIL_ADDRESS, PR_NETWORK_ADDRESS_W,
                                PR_NETWORK_ADDRESS_A])
        rows = nspi.hNspiQueryRows(d, h, pPropTags=[PR_DISPLAY_NAME, PR_HOME_MDB_A], Count=10)
        table = [plain(r) for r in nspi.simplifyPropertyRowSet(rows["ppRows"])]
        return {"home": home, "server_dn": server_dn, "mid": mid, "server": srv,
                "table": table}
    finally:
        nspi.hNspiUnbind(d, h)
        d.disconnect()


def test_nspi_profile_path_through_the_proxy(srv, mapiproxy, tmp_path):
    px = proxy(mapiproxy, srv, tmp_path)
    direct = profile_path(srv.port)
    via = profile_path(px.port)
    mdb = "/cn=Microsoft Private MDB"
    assert direct["home"] == {PR_HOME_MDB_W: SERVERS + SERVER_NAME + mdb,
                              PR_HOME_MDB_A: SERVERS + SERVER_NAME + mdb}
    assert via["home"] == {PR_HOME_MDB_W: SERVERS + PROXY_NAME + mdb,
                           PR_HOME_MDB_A: SERVERS + PROXY_NAME + mdb}
    # The proxy's DN resolves: to the server object the server's DN names.
    assert via["server_dn"] == SERVERS + PROXY_NAME
    assert direct["mid"] != 0 and via["mid"] == direct["mid"]
    assert direct["server"][PR_NETWORK_ADDRESS_W] == ["ncacn_ip_tcp:" + SERVER_FQDN]
    assert direct["server"][PR_NETWORK_ADDRESS_A] == ["ncacn_ip_tcp:" + SERVER_FQDN]
    assert direct["server"][PR_DISPLAY_NAME] == SERVER_NAME
    assert via["server"] == {PR_DISPLAY_NAME: PROXY_NAME,
                             PR_EMAIL_ADDRESS: SERVERS + PROXY_NAME,
                             PR_NETWORK_ADDRESS_W: ["ncacn_ip_tcp:" + PROXY_FQDN],
                             PR_NETWORK_ADDRESS_A: ["ncacn_ip_tcp:" + PROXY_FQDN]}
    assert [r[PR_HOME_MDB_A] for r in via["table"]] == [SERVERS + PROXY_NAME + mdb] * 2
    assert [r[PR_DISPLAY_NAME] for r in via["table"]] == \
        [r[PR_DISPLAY_NAME] for r in direct["table"]]
    # Upstream, the DN named the server again (the dump prints what was sent).
    sent = [c for c in calls(px, {"NspiDNToMId"}) if c["name"] == "NspiDNToMId"]
    assert any(SERVERS + SERVER_NAME in s for c in sent for s in strings(c["request"]))
    # The proxy's name means nothing to the server itself.
    d, h = nspi_session(srv.port)
    assert dn_to_mid(d, h, [SERVERS + PROXY_NAME]) == [0]
    d.disconnect()
    log = px.log_text()
    assert f"module rewrite: server name {SERVER_NAME} (from NspiGetProps) is shown to " \
           f"clients as {PROXY_NAME}" in log


@pytest.mark.parametrize("pinned", [True, False])
def test_server_name_pinned_before_any_reply(srv, mapiproxy, tmp_path, pinned):
    """A client with a cached profile may ask NspiDNToMId first. Pinned,
    the proxy's DN resolves at once; learnt, only after a reply named the
    server."""
    opts = {"rewrite:server name": SERVER_NAME} if pinned else {}
    px = proxy(mapiproxy, srv, tmp_path, **opts)
    d, h = nspi_session(px.port)
    try:
        first = dn_to_mid(d, h, [SERVERS + PROXY_NAME])[0]
        alice = dn_to_mid(d, h, [ORG_DN + "/cn=Recipients/cn=alice"])[0]
        props(d, h, alice, [PR_HOME_MDB_W])  # names the server: learnt
        then = dn_to_mid(d, h, [SERVERS + PROXY_NAME])[0]
    finally:
        d.disconnect()
    assert then != 0
    assert first == (then if pinned else 0)


def rfr_session(port):
    t = transport.DCERPCTransportFactory(f"ncacn_ip_tcp:127.0.0.1[{port}]")
    t.set_connect_timeout(10)
    t.set_credentials("alice", PASSWORDS["alice"], "")
    d = t.get_dce_rpc()
    d.set_auth_level(PRIVACY)
    d.connect()
    d.bind(oxabref.MSRPC_UUID_OXABREF)
    return d


def test_rfr_referrals_name_the_proxy(srv, mapiproxy, tmp_path):
    px = proxy(mapiproxy, srv, tmp_path)
    profile_path(px.port)  # the NSPI replies teach the server's name
    d = rfr_session(px.port)
    try:
        r = oxabref.hRfrGetNewDSA(d, ORG_DN + "/cn=Recipients/cn=alice\0")
        assert r["ppszServer"].rstrip("\0") == PROXY_FQDN
        r = oxabref.hRfrGetFQDNFromServerDN(d, SERVERS + PROXY_NAME + "\0")
        assert r["ppszServerFQDN"].rstrip("\0") == PROXY_FQDN
    finally:
        d.disconnect()
    dumped = calls(px, {"RfrGetNewDSA", "RfrGetFQDNFromServerDN"})
    for c in dumped:
        assert not leaks(c, srv.port), (c["name"], leaks(c, srv.port))
    fqdn = [c for c in dumped if c["name"] == "RfrGetFQDNFromServerDN"]
    sent = [s for c in fqdn for s in strings(c["request"])]
    assert SERVERS + SERVER_NAME in sent, sent


@pytest.mark.parametrize("opts,want", [
    ({"rewrite:name": "m.proxy"}, "rewrite:name 'm.proxy' must be a single name"),
    ({"rewrite:bindings": "ncacn_ip_tcp, tcp!"}, "rewrite:bindings: 'tcp!' is not a protocol"),
    ({"rewrite:fqdn": "10.1.2.3"}, "rewrite:fqdn 10.1.2.3 is an address"),
    ({"rewrite:fqdn": "ncacn_ip_tcp:x"}, "rewrite:fqdn 'ncacn_ip_tcp:x' is not a host name"),
    ({"rewrite:server name": "exsrv01.corp"}, "rewrite:server name 'exsrv01.corp' must be"),
])
def test_bad_options_refuse_the_start(tmp_path, opts, want):
    conf = tmp_path / "m.conf"
    write_config(conf, {"dcerpc_mapiproxy:binding": "ncacn_ip_tcp:127.0.0.1[1]",
                        "dcerpc_mapiproxy:interfaces": "exchange_nsp, exchange_ds_rfr",
                        "mapiproxy:listen": "127.0.0.1", "mapiproxy:port": str(free_port()),
                        "mapiproxy:epm port": "0", "mapiproxy:auth required": "no",
                        "mapiproxy:modules dir": MODULES,
                        "dcerpc_mapiproxy:modules": "rewrite", **opts})
    r = subprocess.run([MAPIPROXY_BIN, "-c", str(conf), "--check-config"], capture_output=True,
                       text=True, timeout=30, env={**os.environ, **SANITIZER_ENV})
    assert r.returncode == 1, (r.stdout, r.stderr)
    assert "module 'rewrite' failed to start: " + want in r.stderr, r.stderr


def test_listed_for_nspi_and_rfr_only():
    """One module on two interfaces (an endpoint list): EMSMDB calls stay on
    the fast path."""
    r = subprocess.run([MAPIPROXY_BIN, "--list-modules"], capture_output=True, text=True,
                       timeout=30, env={**os.environ, **SANITIZER_ENV})
    assert r.returncode == 0, r.stderr
    assert re.search(r"rewrite\s+exchange_nsp, exchange_ds_rfr\s+ABI 1\.\d+", r.stdout), r.stdout
