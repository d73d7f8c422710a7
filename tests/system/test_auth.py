"""Authentication on both legs, with real peers.

impacket authenticates to mapiproxy with NTLMSSP as a user of the proxy's
own user database; mapiproxy authenticates to the Samba DC as the domain's
Administrator (dcerpc_mapiproxy:username/password/domain). samr results
through the proxy must equal the direct results at the same level, and every
refusal must be the right PDU, logged without secrets, with other sessions
unaffected.
"""
import os
import subprocess

import pytest
from impacket.dcerpc.v5 import rpcrt, samr, transport
from impacket.dcerpc.v5.rpcrt import DCERPCException

import rpc_clients as rc

USER_BIN = os.environ.get("MAPIPROXY_USER_BIN") or os.path.join(
    os.environ.get("MP_BUILD_DIR") or "build", "mapiproxy-user")
PROXY_USER, PROXY_PW = "alice", "Proxy-Alice-Pw-42!"

INTEGRITY = rpcrt.RPC_C_AUTHN_LEVEL_PKT_INTEGRITY
PRIVACY = rpcrt.RPC_C_AUTHN_LEVEL_PKT_PRIVACY
CONNECT = rpcrt.RPC_C_AUTHN_LEVEL_CONNECT


@pytest.fixture
def user_db(tmp_path):
    if not os.path.exists(USER_BIN):
        pytest.skip(f"{USER_BIN} not built")
    db = tmp_path / "users.db"
    r = subprocess.run([USER_BIN, "--db", str(db), "add", PROXY_USER], input=PROXY_PW + "\n",
                       capture_output=True, text=True, timeout=20)
    assert r.returncode == 0, r.stderr
    assert oct(os.stat(db).st_mode & 0o777) == "0o600"
    assert PROXY_PW not in db.read_text()
    return db


@pytest.fixture
def authpx(mapiproxy, samba_dc, user_db):
    def start(**extra):
        opts = {"mapiproxy:auth required": "yes", "mapiproxy:user db": str(user_db),
                "dcerpc_mapiproxy:username": samba_dc.admin_user,
                "dcerpc_mapiproxy:domain": samba_dc.domain,
                "dcerpc_mapiproxy:password": samba_dc.admin_password}
        opts.update(extra)
        return mapiproxy(interfaces="samr", options=opts)
    return start


def samr_domains(binding, user, password, domain, level):
    """SamrConnect + EnumerateDomains over an authenticated association."""
    t = transport.DCERPCTransportFactory(binding)
    t.set_credentials(user, password, domain)
    t.set_connect_timeout(10)
    d = t.get_dce_rpc()
    d.set_auth_level(level)
    d.connect()
    try:
        d.bind(samr.MSRPC_UUID_SAMR)
        h = samr.hSamrConnect(d)["ServerHandle"]
        names = [x["Name"] for x in
                 samr.hSamrEnumerateDomainsInSamServer(d, h)["Buffer"]["Buffer"]]
        users = [(u["Name"], u["RelativeId"]) for u in samr.hSamrEnumerateUsersInDomain(
            d, samr.hSamrOpenDomain(d, h, domainId=samr.hSamrLookupDomainInSamServer(
                d, h, names[0])["DomainId"])["DomainHandle"])["Buffer"]["Buffer"]]
        return names, users
    finally:
        d.disconnect()


def direct(samba_dc, level):
    return samr_domains(f"ncacn_ip_tcp:{samba_dc.ip}[{samba_dc.tcp_port('samr')}]",
                        samba_dc.admin_user, samba_dc.admin_password, samba_dc.domain, level)


@pytest.mark.parametrize("level", [INTEGRITY, PRIVACY], ids=["integrity", "privacy"])
def test_authenticated_relay_equals_direct(authpx, samba_dc, level):
    px = authpx()
    got = samr_domains(px.binding(), PROXY_USER, PROXY_PW, "ANYDOMAIN", level)
    assert got == direct(samba_dc, level)
    assert px.wait_log(f"client authenticated as ANYDOMAIN\\{PROXY_USER}")
    assert px.wait_log("authenticating upstream as MAPI\\Administrator")


def test_upstream_level_from_binding_seal(authpx, samba_dc, mapiproxy, user_db):
    px = mapiproxy(interfaces="samr", binding=f"ncacn_ip_tcp:{samba_dc.ip}[seal]",
                   options={"mapiproxy:auth required": "yes", "mapiproxy:user db": str(user_db),
                            "dcerpc_mapiproxy:username": samba_dc.admin_user,
                            "dcerpc_mapiproxy:domain": samba_dc.domain,
                            "dcerpc_mapiproxy:password": samba_dc.admin_password})
    assert samr_domains(px.binding(), PROXY_USER, PROXY_PW, "", INTEGRITY) == \
        direct(samba_dc, INTEGRITY)
    assert px.wait_log("(pkt_privacy)")


def test_client_auth_upstream_anonymous(mapiproxy, samba_dc, user_db):
    """No upstream identity: the client leg is authenticated, the server leg anonymous."""
    px = mapiproxy(interfaces="samr", options={"mapiproxy:auth required": "yes",
                                               "mapiproxy:user db": str(user_db)})
    names, _ = samr_domains(px.binding(), PROXY_USER, PROXY_PW, "", PRIVACY)
    assert names == ["MAPI", "BUILTIN"]


def refused(binding, user, password, level=INTEGRITY):
    with pytest.raises(DCERPCException) as e:
        samr_domains(binding, user, password, "", level)
    return str(e.value)


@pytest.mark.parametrize("user,password", [(PROXY_USER, "wrong-password"),
                                           ("mallory", PROXY_PW)],
                         ids=["wrong-password", "unknown-user"])
def test_bad_client_credentials_refused(authpx, user, password):
    px = authpx()
    assert "access_denied" in refused(px.binding(), user, password)
    assert px.wait_log("client authentication failed for")
    assert "unknown user or wrong password" in px.log_text()
    # the same message for both: the log does not tell which one was wrong
    assert password not in px.log_text() and PROXY_PW not in px.log_text()
    # other sessions are not affected
    assert samr_domains(px.binding(), PROXY_USER, PROXY_PW, "", INTEGRITY)[0] == \
        ["MAPI", "BUILTIN"]


def test_anonymous_refused_when_auth_required(authpx):
    px = authpx()
    with pytest.raises(DCERPCException) as e:
        rc.samr_enum_domains(px.binding())
    assert "access_denied" in str(e.value)
    assert px.wait_log("anonymous, and mapiproxy:auth required = yes")


def test_level_below_minimum_refused(authpx):
    px = authpx(**{"mapiproxy:min auth level": "privacy"})
    assert "access_denied" in refused(px.binding(), PROXY_USER, PROXY_PW, INTEGRITY)
    assert samr_domains(px.binding(), PROXY_USER, PROXY_PW, "", PRIVACY)[0] == \
        ["MAPI", "BUILTIN"]


def test_wrong_upstream_password(mapiproxy, samba_dc, user_db):
    """Samba refuses the proxy's identity: the client's call fails, nothing else."""
    px = mapiproxy(interfaces="samr", options={
        "mapiproxy:auth required": "yes", "mapiproxy:user db": str(user_db),
        "dcerpc_mapiproxy:username": samba_dc.admin_user,
        "dcerpc_mapiproxy:domain": samba_dc.domain,
        "dcerpc_mapiproxy:password": "Not-The-Password-1"})
    with pytest.raises(Exception):
        samr_domains(px.binding(), PROXY_USER, PROXY_PW, "", INTEGRITY)
    assert "Not-The-Password-1" not in px.log_text()


def test_tampered_request_cut_off(authpx):
    """A sealed request whose ciphertext is altered: sec_pkg_error fault, connection dropped."""
    px = authpx()
    t = transport.DCERPCTransportFactory(px.binding())
    t.set_credentials(PROXY_USER, PROXY_PW, "")
    d = t.get_dce_rpc()
    d.set_auth_level(PRIVACY)
    d.connect()
    d.bind(samr.MSRPC_UUID_SAMR)
    real_send = t.send

    def flip(data, *a, **kw):
        data = bytearray(data)
        if data[2] == 0:  # request: flip one byte of the sealed stub
            data[30] ^= 0x40
        return real_send(bytes(data), *a, **kw)
    t.send = flip
    with pytest.raises(Exception) as e:
        samr.hSamrConnect(d)
    assert px.wait_log("failed verification")
    assert "sec_pkg_error" in px.log_text() or "sec_pkg_error" in str(e.value)
    assert samr_domains(px.binding(), PROXY_USER, PROXY_PW, "", PRIVACY)[0] == \
        ["MAPI", "BUILTIN"]


@pytest.mark.parametrize("level", [INTEGRITY, PRIVACY], ids=["integrity", "privacy"])
def test_passthrough_server_authenticates_the_user(mapiproxy, samba_dc, level):
    """No upstream identity, pass-through on: Samba itself checks the user."""
    px = mapiproxy(interfaces="samr", options={"mapiproxy:auth required": "yes",
                                               "mapiproxy:auth passthrough": "yes"})
    got = samr_domains(px.binding(), samba_dc.admin_user, samba_dc.admin_password,
                       samba_dc.domain, level)
    assert got == direct(samba_dc, level)
    assert px.wait_log("pass-through authentication (ntlmssp")
    assert px.log_text().count("pass-through authentication") == 1
    # a wrong password is refused by Samba, through the proxy
    with pytest.raises(Exception):
        samr_domains(px.binding(), samba_dc.admin_user, "wrong-" + samba_dc.admin_password,
                     samba_dc.domain, level)
    assert samba_dc.admin_password not in px.log_text()


def test_passthrough_and_upstream_identity_conflict(mapiproxy, samba_dc, tmp_path):
    from test_daemon import conf_file, run
    p = conf_file(tmp_path, ["dcerpc_mapiproxy:binding = ncacn_ip_tcp:127.0.0.2",
                             "mapiproxy:auth passthrough = yes",
                             "dcerpc_mapiproxy:username = someone",
                             "dcerpc_mapiproxy:password = x"])
    r = run("-c", str(p), "--check-config")
    assert r.returncode == 1 and "auth passthrough" in r.stderr


def test_check_config_opens_the_user_db_and_names_the_mode(tmp_path):
    """--check-config validates what the daemon would refuse at start: a user
    db readable by others is an error; pass-through is said as such."""
    from test_daemon import conf_file, run
    from auth_helpers import USER_BIN
    db = tmp_path / "users.db"
    r = subprocess.run([USER_BIN, "--db", str(db), "add", "bob"], input="Pw-of-Bob-1!\n",
                       capture_output=True, text=True, timeout=20)
    assert r.returncode == 0, r.stderr
    p = conf_file(tmp_path, ["dcerpc_mapiproxy:binding = ncacn_ip_tcp:127.0.0.2",
                             f"mapiproxy:user db = {db}"])
    r = run("-c", str(p), "--check-config")
    assert r.returncode == 0, r.stderr
    assert "user db             1 user(s)" in r.stdout
    os.chmod(db, 0o644)
    r = run("-c", str(p), "--check-config")
    assert r.returncode == 1 and "mapiproxy:user db" in r.stderr, r.stderr

    p = conf_file(tmp_path, ["dcerpc_mapiproxy:binding = ncacn_ip_tcp:127.0.0.2",
                             "mapiproxy:auth passthrough = yes"], name="pt.conf")
    r = run("-c", str(p), "--check-config")
    assert r.returncode == 0, r.stderr
    assert "upstream auth       pass-through" in r.stdout
