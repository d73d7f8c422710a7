"""mapiserver: the reference server's daemon and its administration CLI.

NSPI is exercised with impacket's NSPI client (impacket.dcerpc.v5.nspi)
authenticated as a store user at PKT_PRIVACY, against mapiserver directly
and through a mapiproxy relaying exchange_nsp to it (proxy user db on the
client leg, a store user's credentials sealed on the upstream leg): the GAL
rows must be the expected ones and identical both ways.

impacket sends NspiGetProps' and NspiGetSpecialTable's [in] STAT* as a
unique pointer (an extra referent ID the IDL of MS-OXNSPI section 6 does
not have: it is a reference pointer), so those two calls use the corrected
request classes of tests/unit/data/gen_nspi_impacket.py; every other call
uses impacket's own hNspi* functions.

Run:  /usr/bin/python3 -m pytest -q tests/system/test_mapiserver.py
      MAPISERVER_BIN=build-asan/mapiserver ...
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path
from typing import Dict, List

import pytest
from impacket.dcerpc.v5 import nspi, rpcrt, transport

from conftest import (MAPIPROXY_BIN, REPO, SANITIZER_ENV, Proxy, free_port,  # noqa: F401
                      wait_port, write_config)

MAPISERVER_BIN = os.environ.get("MAPISERVER_BIN", "build/mapiserver")
if not os.path.isabs(MAPISERVER_BIN):
    MAPISERVER_BIN = str(REPO / MAPISERVER_BIN)
USER_BIN = os.environ.get("MAPIPROXY_USER_BIN") or str(
    Path(MAPISERVER_BIN).parent / "mapiproxy-user")

FQDN = "mail.example.test"
ORG_DN = "/o=First Organization/ou=Exchange Administrative Group (FYDIBOHF23SPDLT)"
USERS = [("alice", "Alice-Pw-1!", "Alice Liddell"), ("bob", "Bob-Pw-2!", "Bob Builder")]
PRIVACY = rpcrt.RPC_C_AUTHN_LEVEL_PKT_PRIVACY

PR_DISPLAY_NAME = 0x3001001F
PR_SMTP_ADDRESS = 0x39FE001F
PR_EMAIL_ADDRESS = 0x3003001F
PR_ACCOUNT = 0x3A00001F
PR_ADDRTYPE = 0x3002001F
PR_OBJECT_TYPE = 0x0FFE0003
PR_DISPLAY_TYPE = 0x39000003
PR_ENTRYID = 0x0FFF0102
PR_INSTANCE_KEY = 0x0FF60102
PR_HOME_MDB = 0x8006001F
PR_NETWORK_ADDRESS = 0x8170101F
PR_TRANSMITABLE_DISPLAY_NAME = 0x3A20001F
TAGS = [PR_DISPLAY_NAME, PR_SMTP_ADDRESS, PR_EMAIL_ADDRESS, PR_ACCOUNT, PR_ADDRTYPE,
        PR_OBJECT_TYPE, PR_DISPLAY_TYPE]

pytestmark = pytest.mark.skipif(not os.path.exists(MAPISERVER_BIN),
                                reason=f"{MAPISERVER_BIN} not built")


def _gen():
    spec = importlib.util.spec_from_file_location(
        "gen_nspi_impacket", REPO / "tests/unit/data/gen_nspi_impacket.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


gen = _gen()
# impacket finds a response class in the request class's module.
sys.modules["gen_nspi_impacket"] = gen
for _name in ("NspiGetPropsResponse", "NspiGetSpecialTableResponse"):
    if not hasattr(gen, _name):
        setattr(gen, _name, getattr(nspi, _name))


def cli(*args, stdin="", timeout=60):
    env = dict(os.environ)
    env.update(SANITIZER_ENV)
    r = subprocess.run([MAPISERVER_BIN, *args], input=stdin, capture_output=True, text=True,
                       timeout=timeout, env=env)
    assert "ERROR: AddressSanitizer" not in r.stderr and "runtime error" not in r.stderr, r.stderr
    return r


def server_conf(path: Path, data: Path, extra: Dict[str, str] = None) -> Path:
    conf = {"mapiserver:data dir": str(data), "mapiserver:mail domain": "example.test"}
    conf.update(extra or {})
    write_config(path, conf)
    return path


@pytest.fixture
def mapiserver(tmp_path):
    """start() -> a running mapiserver (a Proxy) over a fresh store with
    USERS made by `mapiserver useradd`."""
    started: List[Proxy] = []

    def start(options: Dict[str, str] = None) -> Proxy:
        wd = tmp_path / f"mapiserver{len(started) + 1}"
        wd.mkdir()
        port, epm = free_port(), free_port()
        log = wd / "mapiserver.log"
        conf_path = server_conf(wd / "mapiserver.conf", wd / "data", {
            "mapiproxy:listen": "127.0.0.1", "mapiproxy:port": str(port),
            "mapiproxy:epm port": str(epm), "mapiproxy:fqdn": FQDN,
            "mapiproxy:log level": "debug", "mapiproxy:log file": str(log),
            "mapiproxy:drain timeout": "3", **(options or {})})
        for name, pw, display in USERS:
            r = cli("useradd", "-c", str(conf_path), name, "--display-name", display,
                    stdin=pw + "\n")
            assert r.returncode == 0, r.stderr
        err = wd / "stderr.txt"
        env = dict(os.environ)
        env.update(SANITIZER_ENV)
        with open(err, "wb") as f:
            proc = subprocess.Popen([MAPISERVER_BIN, "-c", str(conf_path)], stdin=subprocess.DEVNULL,
                                    stdout=f, stderr=f, env=env, cwd=str(wd))
        srv = Proxy(proc, wd, conf_path, log, err, "127.0.0.1", port, epm, {}, {})
        started.append(srv)
        assert wait_port("127.0.0.1", port, 15, proc), err.read_text()
        return srv

    yield start
    problems = []
    for s in started:
        problems += s.problems()
    if problems:
        pytest.fail("mapiserver teardown:\n" + "\n".join(problems), pytrace=False)


def nspi_session(binding: str, user: str, password: str, level: int = PRIVACY):
    t = transport.DCERPCTransportFactory(binding)
    t.set_connect_timeout(10)
    t.set_credentials(user, password, "")
    d = t.get_dce_rpc()
    d.set_auth_level(level)
    d.connect()
    d.bind(nspi.MSRPC_UUID_NSPI)
    return d


def get_props(d, h, mid, tags, flags=0):
    """NspiGetProps with the IDL's reference STAT (see the module docstring)."""
    req = gen.NspiGetProps()
    req['hRpc'] = h
    req['dwFlags'] = flags
    gen.set_stat(req['pStat'], cur=mid)
    gen.set_proptags(req['pPropTags'], tags)
    return d.request(req, checkError=False)


def special_table(d, h, flags=0x4):
    req = gen.NspiGetSpecialTable()
    req['hRpc'] = h
    req['dwFlags'] = flags
    gen.set_stat(req['pStat'])
    req['lpVersion'] = 0
    return d.request(req, checkError=False)


def plain(row) -> Dict[int, object]:
    """impacket's simplified row with entry IDs as their bytes (comparable)."""
    return {k: (v.getData() if hasattr(v, "getData") else v) for k, v in row.items()}


def rows_of(rowset) -> List[Dict[int, object]]:
    return [plain(r) for r in nspi.simplifyPropertyRowSet(rowset)]


def gal_walk(d) -> Dict[str, object]:
    """Everything a client reads from the GAL, as plain values."""
    out: Dict[str, object] = {}
    h = nspi.hNspiBind(d)["contextHandle"]
    st = special_table(d, h)
    assert st["ErrorCode"] == 0
    hier = rows_of(st["ppRows"])
    out["hierarchy"] = [(r.get(0x36000003), r.get(0xFFFD0003)) for r in hier]
    r = nspi.hNspiQueryRows(d, h, pPropTags=TAGS, Count=50)
    out["rows"] = rows_of(r["ppRows"])
    out["total"] = r["pStat"]["TotalRecs"]
    mids = nspi.hNspiDNToMId(d, h, [ORG_DN + "/cn=Recipients/cn=bob",
                                    ORG_DN + "/cn=Recipients/cn=nobody"])
    out["dn_to_mid"] = [m["Data"] for m in mids["ppOutMIds"]["aulPropTag"]]
    bob = out["dn_to_mid"][0]
    r = get_props(d, h, bob, [PR_DISPLAY_NAME, PR_SMTP_ADDRESS, PR_HOME_MDB, PR_NETWORK_ADDRESS,
                              PR_TRANSMITABLE_DISPLAY_NAME, PR_ENTRYID, 0x12340003])
    out["props_ec"] = r["ErrorCode"]
    out["props"] = plain(nspi.simplifyPropertyRow(r["ppRows"]))
    r = nspi.hNspiResolveNamesW(d, h, pPropTags=[PR_DISPLAY_NAME, PR_ACCOUNT],
                                paStr=["alice", "bob@example.test", "nobody", "b"])
    out["resolve_mids"] = [m["Data"] for m in r["ppMIds"]["aulPropTag"]]
    out["resolve_rows"] = rows_of(r["ppRows"])
    r = nspi.hNspiGetPropList(d, h, bob)
    out["prop_list"] = sorted(t["Data"] for t in r["ppOutMIds"]["aulPropTag"])
    r = nspi.hNspiQueryColumns(d, h)
    out["columns"] = sorted(t["Data"] for t in r["ppColumns"]["aulPropTag"])
    r = get_matches_prefix(d, h, "Ali")
    out["matches"] = [m["Data"] for m in r["ppOutMIds"]["aulPropTag"]]
    nspi.hNspiUnbind(d, h)
    return out


def get_matches_prefix(d, h, prefix):
    """NspiGetMatches with a prefix content restriction on the display name."""
    req = gen.NspiGetMatches()
    req['hRpc'] = h
    req['Reserved1'] = 0
    gen.set_stat(req['pStat'])
    req['pReserved'] = gen.NULL
    req['Reserved2'] = 0
    content = gen.res(3)
    content['res']['resContent']['ulFuzzyLevel'] = 0x00010002  # FL_PREFIX | FL_IGNORECASE
    content['res']['resContent']['ulPropTag'] = PR_DISPLAY_NAME
    content['res']['resContent']['lpProp'] = gen.pv(PR_DISPLAY_NAME, 'lpszW', prefix + '\0')
    req['Filter'] = content
    req['lpPropName'] = gen.NULL
    req['ulRequested'] = 100
    gen.set_proptags(req['pPropTags'], [PR_DISPLAY_NAME])
    return d.request(req, checkError=False)


def check_gal(g):
    names = [r[PR_DISPLAY_NAME] for r in g["rows"]]
    assert names == ["Alice Liddell", "Bob Builder"]  # sorted by display name
    assert g["total"] == 2
    alice = g["rows"][0]
    assert alice[PR_SMTP_ADDRESS] == "alice@example.test"
    assert alice[PR_EMAIL_ADDRESS] == ORG_DN + "/cn=Recipients/cn=alice"
    assert alice[PR_ACCOUNT] == "alice" and alice[PR_ADDRTYPE] == "EX"
    assert alice[PR_OBJECT_TYPE] == 6 and alice[PR_DISPLAY_TYPE] == 0
    assert g["hierarchy"] == [(9, 0)]  # the GAL container: AB_RECIPIENTS|AB_UNMODIFIABLE
    assert g["dn_to_mid"][0] >= 0x1000 and g["dn_to_mid"][1] == 0
    assert g["props_ec"] == 0x00040380  # ecWarnWithErrors: 0x1234 is not there
    p = g["props"]
    assert p[PR_DISPLAY_NAME] == "Bob Builder" and p[PR_SMTP_ADDRESS] == "bob@example.test"
    assert p[PR_HOME_MDB] == ORG_DN + "/cn=Configuration/cn=Servers/cn=mail/cn=Microsoft Private MDB"
    assert p[PR_NETWORK_ADDRESS] == ["ncacn_ip_tcp:" + FQDN]
    assert p[PR_TRANSMITABLE_DISPLAY_NAME] == "Bob Builder"
    eid = p[PR_ENTRYID]
    assert eid[:4] == b"\0\0\0\0" and eid.endswith(b"/cn=Recipients/cn=bob\0")
    assert p[0x1234000A] == 0x8004010F  # MAPI_E_NOT_FOUND
    alice_mid = g["resolve_mids"][0]
    bob_mid = g["dn_to_mid"][0]
    # alice by account, bob by SMTP address, nobody unresolved, "b" by ANR prefix.
    assert g["resolve_mids"] == [alice_mid, bob_mid, 0, bob_mid]
    assert [r[PR_DISPLAY_NAME] for r in g["resolve_rows"]] == [
        "Alice Liddell", "Bob Builder", "Bob Builder"]
    assert alice_mid >= 0x1000 and g["matches"] == [alice_mid]
    assert PR_DISPLAY_NAME in g["columns"] and (PR_HOME_MDB & 0xFFFF0000 | 0x1E) in g["prop_list"]


def test_nspi_direct_and_through_mapiproxy(mapiserver, mapiproxy, tmp_path):
    srv = mapiserver()
    direct = gal_walk(nspi_session(srv.binding(), "alice", USERS[0][1]))
    check_gal(direct)

    if not os.path.exists(USER_BIN):
        pytest.skip(f"{USER_BIN} not built")
    db = tmp_path / "proxy-users.db"
    r = subprocess.run([USER_BIN, "--db", str(db), "add", "carol"], input="Carol-Pw-3!\n",
                       capture_output=True, text=True, timeout=20)
    assert r.returncode == 0, r.stderr
    px = mapiproxy(interfaces="exchange_nsp", binding="ncacn_ip_tcp:127.0.0.1[seal]",
                   options={"mapiproxy:upstream epm port": str(srv.epm_port),
                            "mapiproxy:auth required": "yes", "mapiproxy:user db": str(db),
                            "dcerpc_mapiproxy:username": "bob",
                            "dcerpc_mapiproxy:password": USERS[1][1]})
    relayed = gal_walk(nspi_session(px.binding(), "carol", "Carol-Pw-3!"))
    check_gal(relayed)
    assert relayed == direct
    # Sealed on both legs: carol to the proxy, the proxy to mapiserver as bob.
    assert px.wait_log("client authenticated as carol (ntlmssp, pkt_privacy)")
    assert px.wait_log("authenticating upstream as \\bob (pkt_privacy)")
    assert srv.wait_log("client authenticated as alice (ntlmssp, pkt_privacy)")
    assert srv.wait_log("client authenticated as bob (ntlmssp, pkt_privacy)")


def test_nspi_wrong_password_refused(mapiserver):
    srv = mapiserver()
    with pytest.raises(Exception):
        d = nspi_session(srv.binding(), "alice", "wrong")
        nspi.hNspiBind(d)


def test_nspi_bad_handle_faults(mapiserver):
    srv = mapiserver()
    d = nspi_session(srv.binding(), "bob", USERS[1][1])
    h = nspi.hNspiBind(d)["contextHandle"]
    bogus = nspi.handle_t()
    bogus['context_handle_attributes'] = 0
    bogus['context_handle_uuid'] = b"\x11" * 16
    with pytest.raises(rpcrt.DCERPCException) as e:
        nspi.hNspiQueryRows(d, bogus, pPropTags=[PR_DISPLAY_NAME])
    assert "context_mismatch" in str(e.value) or "1c00001a" in str(e.value).lower()
    # The real handle still works afterwards.
    rows = rows_of(nspi.hNspiQueryRows(d, h, pPropTags=[PR_DISPLAY_NAME])["ppRows"])
    assert len(rows) == 2


# ---- the administration CLI --------------------------------------------------

def test_cli_useradd_list_userdel_passwd(tmp_path):
    conf = server_conf(tmp_path / "s.conf", tmp_path / "data")
    r = cli("useradd", "-c", str(conf), "dave", "--display-name", "Dave D", "--email",
            "dave@corp.example", stdin="pw-dave\n")
    assert r.returncode == 0 and "user dave added" in r.stdout, r.stderr
    r = cli("useradd", "-c", str(conf), "dave", stdin="x\n")
    assert r.returncode == 1 and "dave" in r.stderr
    r = cli("useradd", "-c", str(conf), "erin", stdin="")
    assert r.returncode == 1 and "no password" in r.stderr
    r = cli("list", "-c", str(conf))
    assert r.returncode == 0
    fields = r.stdout.splitlines()[0].split("\t")
    assert fields[:3] == ["dave", "Dave D", "dave@corp.example"]
    assert fields[3].endswith("/cn=Recipients/cn=dave")
    assert cli("passwd", "-c", str(conf), "dave", stdin="new-pw\n").returncode == 0
    r = cli("passwd", "-c", str(conf), "nobody", stdin="x\n")
    assert r.returncode == 1 and "no user 'nobody'" in r.stderr
    assert cli("userdel", "-c", str(conf), "dave").returncode == 0
    assert cli("list", "-c", str(conf)).stdout == ""


def test_cli_errors_say_what_to_do(tmp_path):
    r = cli("list")
    assert r.returncode == 2 and "-c FILE" in r.stderr
    write_config(tmp_path / "nodir.conf", {"mapiproxy:listen": "127.0.0.1"})
    r = cli("list", "-c", str(tmp_path / "nodir.conf"))
    assert r.returncode == 1 and "mapiserver:data dir is not set" in r.stderr
    conf = server_conf(tmp_path / "s.conf", tmp_path / "data")
    r = cli("list", "-c", str(conf))
    assert r.returncode == 1 and "mapiserver useradd" in r.stderr
    r = cli("import", "-c", str(conf), "x.eml")
    assert r.returncode == 2 and "--user" in r.stderr


def test_cli_import(tmp_path):
    conf = server_conf(tmp_path / "s.conf", tmp_path / "data")
    assert cli("useradd", "-c", str(conf), "frank", stdin="pw\n").returncode == 0
    mail = tmp_path / "mail"
    mail.mkdir()
    for i in range(3):
        (mail / f"{i}.eml").write_text(
            f"From: a@example.test\r\nTo: frank@example.test\r\nSubject: hello {i}\r\n"
            f"Message-ID: <{i}@example.test>\r\n\r\nbody {i}\r\n")
    (tmp_path / "box.mbox").write_text(
        "From a@example.test Mon Jan  1 00:00:00 2024\nSubject: one\n\nbody\n\n"
        "From b@example.test Mon Jan  1 00:00:00 2024\nSubject: two\n\nbody\n")
    r = cli("import", "-c", str(conf), "--user", "frank", str(mail), str(tmp_path / "box.mbox"))
    assert r.returncode == 0, r.stderr
    assert "5 message(s) imported into frank's mailbox" in r.stdout
    r = cli("import", "-c", str(conf), "--user", "frank", "--folder", "No/Such", str(mail))
    assert r.returncode == 1 and "no folder 'No/Such'" in r.stderr
    r = cli("import", "-c", str(conf), "--user", "ghost", str(mail))
    assert r.returncode == 1


def test_help_and_check_config(tmp_path):
    r = cli("--help")
    assert r.returncode == 0
    for word in ("useradd", "userdel", "passwd", "list", "import", "--check-config",
                 "mapiserver:data dir"):
        assert word in r.stdout
    conf = server_conf(tmp_path / "s.conf", tmp_path / "data",
                       {"mapiproxy:listen": "127.0.0.1", "mapiproxy:port": "1"})
    r = cli("--check-config", "-c", str(conf))
    assert r.returncode == 0, r.stderr
    assert "exchange_nsp" in r.stdout and "served here" in r.stdout
    assert "upstream            (none: every interface is served here)" in r.stdout


def _tty_run(args, answers, timeout=30.0):
    """Run mapiserver on a pseudo-terminal, answering each prompt in turn;
    returns (exit code, everything it printed)."""
    import pty
    import select
    import time
    pid, fd = pty.fork()
    if pid == 0:  # child
        os.execv(MAPISERVER_BIN, [MAPISERVER_BIN, *args])
    out = b""
    pending = list(answers)
    deadline = time.time() + timeout
    while time.time() < deadline:
        r, _, _ = select.select([fd], [], [], 0.2)
        if r:
            try:
                chunk = os.read(fd, 4096)
            except OSError:
                break
            if not chunk:
                break
            out += chunk
            # One answer per prompt, once the prompt is there (the echo is
            # off by then; input typed earlier would be flushed).
            prompts = out.count(b"Password:") + out.count(b"Again:")
            if pending and prompts > len(answers) - len(pending) and out.endswith(b": "):
                os.write(fd, pending.pop(0).encode() + b"\n")
    _, status = os.waitpid(pid, 0)
    os.close(fd)
    return os.waitstatus_to_exitcode(status), out.decode(errors="replace")


def test_cli_password_prompt_on_tty(tmp_path):
    conf = server_conf(tmp_path / "s.conf", tmp_path / "data")
    code, out = _tty_run(["useradd", "-c", str(conf), "gina"], ["pw-one", "pw-two"])
    assert code == 1 and "Password:" in out and "Again:" in out, out
    assert "the passwords differ" in out and "pw-one" not in out  # not echoed
    code, out = _tty_run(["useradd", "-c", str(conf), "gina"], ["pw-same", "pw-same"])
    assert code == 0 and "user gina added" in out, out
    assert "pw-same" not in out
