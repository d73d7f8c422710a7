"""mapiserver's live traffic judged by an independent decoder: tshark.

mapiclient runs the Outlook path against mapiserver (RFR, NSPI, EMSMDB with
ROPs: whoami, resolve, gal, folders, ls, show) at PKT_INTEGRITY, so the
stubs are signed but readable on the wire; dumpcap captures it on lo and
tshark decodes it as DCE/RPC. Wireshark must see every call we made (each
interface and opnum, requests and responses paired), with no malformed
packet and no error-level expert note.

Wireshark 4.0's NSPI dissector and EMSMDB dissector know only some opnums
(test_mapidump.py, test_emsmdb_tshark.py say which); for the others it shows
the DCE/RPC layer and the stub as data, which is no error.

Run:  /usr/bin/python3 -m pytest -q tests/system/test_mapiserver_tshark.py
"""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest

from mapi_env import EML, NEED_BINARIES, admin, client, mapiserver, ok  # noqa: F401
from test_auth_wire import LoCapture

pytestmark = NEED_BINARIES + [
    pytest.mark.skipif(shutil.which("tshark") is None, reason="tshark is not installed")]

IFACES = {
    "a4f1db00-ca47-1067-b31f-00dd010662da": "EMSMDB",
    "f5cc5a18-4264-101a-8c59-08002b2f8426": "NSPI",
    "1544f5e0-613c-11d1-93df-00c04fd7bd09": "RFR",
}


def tshark_fields(pcap, port, *fields, filt="dcerpc"):
    r = subprocess.run(["tshark", "-n", "-r", str(pcap), "-d", f"tcp.port=={port},dcerpc",
                        "-Y", filt, "-T", "fields", "-E", "separator=|", "-E", "occurrence=a",
                        *[a for f in fields for a in ("-e", f)]],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    return [line.split("|") for line in r.stdout.splitlines() if line.strip()]


def test_outlook_path_decodes_cleanly(mapiserver, tmp_path):
    srv = mapiserver()
    eml = tmp_path / "m.eml"
    eml.write_bytes(EML)
    admin(srv.conf, "import", "--user", "alice", str(eml))
    pcap = tmp_path / "mapi.pcapng"
    cap = LoCapture(pcap, f"tcp port {srv.port}")
    server = f"127.0.0.1:{srv.port}"
    try:
        for args in (["whoami"], ["resolve", "bob"], ["gal"], ["folders"], ["ls"]):
            ok(client(server, *args, level="integrity"))
        m = json.loads(ok(client(server, "--json", "ls", level="integrity")))["messages"][0]
        ok(client(server, "show", m["id"], level="integrity"))
        assert cap.sync(), "the capture stopped seeing packets"
    finally:
        cap.stop()

    # Every bind names one of the three interfaces.
    binds = tshark_fields(pcap, srv.port, "dcerpc.cn_bind_to_uuid", filt="dcerpc.pkt_type == 11")
    seen_ifaces = {IFACES.get(u.split(",")[0]) for row in binds for u in row if u}
    assert seen_ifaces == {"EMSMDB", "NSPI", "RFR"}, binds

    # Requests (0) and responses (2), by interface and opnum: tshark pairs
    # each response with its request.
    rows = tshark_fields(pcap, srv.port, "dcerpc.pkt_type", "dcerpc.cn_ctx_id", "dcerpc.opnum",
                         "dcerpc.request_in", filt="dcerpc.pkt_type == 0 || dcerpc.pkt_type == 2")
    requests = [r for r in rows if r[0] == "0"]
    responses = [r for r in rows if r[0] == "2"]
    assert len(requests) == len(responses) >= 20, rows
    assert all(r[3] for r in responses), "a response tshark could not pair with its request"
    opnums = {int(r[2]) for r in requests if r[2]}
    # RfrGetNewDSA 0 / NspiBind 0, NspiGetProps 9, NspiQueryRows 3, EcDoConnectEx 10,
    # EcDoRpcExt2 11, NspiResolveNames(W) 19/20 or GetMatches 5.
    assert {0, 3, 9, 10, 11} <= opnums, sorted(opnums)

    # Nothing malformed, no error-level expert note.
    bad = tshark_fields(pcap, srv.port, "frame.number", "_ws.expert.message",
                        filt="_ws.malformed || _ws.expert.severity == error")
    assert bad == [], bad
