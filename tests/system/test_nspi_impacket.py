"""NSPI and RFR stubs encoded by our codecs, decoded by impacket.

The other direction of tests/unit/test_nspi_impacket.c: that program, run
as ``test_nspi_impacket --emit-ours DIR``, encodes calls built from C
structures (fresh referent IDs, zero gaps); impacket's nspi/oxabref classes
must parse every byte of each stub and find the values the C side put in.
impacket's definitions are used with the corrections of
tests/unit/data/gen_nspi_impacket.py (imported from there).

Run:  /usr/bin/python3 -m pytest -q tests/system/test_nspi_impacket.py
      NSPI_IMPACKET_BIN=build-asan/tests/unit/test_nspi_impacket ...
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
BIN = os.environ.get("NSPI_IMPACKET_BIN", "build/tests/unit/test_nspi_impacket")
if not os.path.isabs(BIN):
    BIN = str(REPO / BIN)


def _generator():
    spec = importlib.util.spec_from_file_location(
        "gen_nspi_impacket", REPO / "tests/unit/data/gen_nspi_impacket.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


gen = _generator()
nspi = gen.nspi
oxabref = gen.oxabref

SERVER_GUID = gen.SERVER_GUID
HANDLE_UUID = gen.HANDLE_UUID
ORG = '/o=First Organization/ou=Exchange Administrative Group (FYDIBOHF23SPDLT)'


@pytest.fixture(scope="module")
def ours(tmp_path_factory):
    if not os.path.exists(BIN):
        pytest.skip("%s not built (set NSPI_IMPACKET_BIN)" % BIN)
    out = tmp_path_factory.mktemp("nspi_ours")
    subprocess.run([BIN, "--emit-ours", str(out)], check=True, timeout=60)
    return out


def parse(ours_dir, name, cls):
    """impacket parses the whole stub: no byte left over."""
    data = (ours_dir / (name + ".bin")).read_bytes()
    obj = cls()
    used = obj.fromString(data)
    assert used == len(data), "%s: impacket used %d of %d bytes" % (name, used, len(data))
    return obj


def tags(pta):
    return [t['Data'] if hasattr(t, 'fields') else t for t in pta['aulPropTag']]


def check_row(row):
    values = nspi.simplifyPropertyRow(row)
    assert values[0x3001001F] == "Zo\u00eb Example"
    assert values[0x3A00001E] == "zoe"
    assert values[0x0FFE0003] == -7
    assert values[0x3A4D0002] == 300
    assert values[0x3A40000B] == 1
    assert bytes(values[0x0FFF0102]) == b"\x01\x02\x03\x04"
    assert values[0x3A5D000A] == 0x8004010F
    assert values[0x8170101F] == ["ncacn_ip_tcp:a.example", "ncacn_http:b"]
    mvl = [v['Data'] for v in row['lpProps'][8]['Value']['MVl']['lpl']]
    assert mvl == [1, -2, 3]


def test_bind_response(ours):
    r = parse(ours, "ours_bind_rsp", nspi.NspiBindResponse)
    assert r['pServerGuid'] == SERVER_GUID
    assert r['contextHandle']['context_handle_uuid'] == HANDLE_UUID
    assert r['ErrorCode'] == 0


def test_query_rows(ours):
    r = parse(ours, "ours_query_rows_req", nspi.NspiQueryRows)
    assert r['dwFlags'] == 1
    assert r['pStat']['ContainerID'] == 0x12
    assert r['pStat']['CodePage'] == 0x4e4
    assert r['dwETableCount'] == 2
    assert [e['Data'] for e in r['lpETable']] == [0x10, 0x20]
    assert r['Count'] == 50
    assert r['pPropTags']['cValues'] == 3
    assert tags(r['pPropTags']) == [0x3001001F, 0x8170101F, 0x0FFF0102]

    r = parse(ours, "ours_query_rows_rsp", nspi.NspiQueryRowsResponse)
    assert r['pStat']['CurrentRec'] == 0x30
    assert r['ppRows']['cRows'] == 1
    check_row(r['ppRows']['aRow'][0])
    assert r['ErrorCode'] == 0


def test_get_props(ours):
    r = parse(ours, "ours_get_props_rsp", nspi.NspiGetPropsResponse)
    check_row(r['ppRows'])
    assert r['ErrorCode'] == 0x00040380


def test_dn_to_mid(ours):
    r = parse(ours, "ours_dn_to_mid_req", nspi.NspiDNToMId)
    assert r['pNames']['Count'] == 2
    names = [s['Data'] for s in r['pNames']['Strings']]
    assert names == [ORG + '/cn=Configuration/cn=Servers/cn=EXCH01\0',
                     ORG + '/cn=Recipients/cn=jdoe\0']


def test_resolve_names_w(ours):
    r = parse(ours, "ours_resolve_names_w_req", nspi.NspiResolveNamesW)
    assert r['pStat']['CodePage'] == 0x4b0
    assert tags(r['pPropTags']) == [0x3001001F]
    assert [s['Data'] for s in r['paStr']['Strings']] == ["J\u00f6rg\0", "\u674e\0"]


def test_get_special_table(ours):
    r = parse(ours, "ours_get_special_table_rsp", nspi.NspiGetSpecialTableResponse)
    assert r['lpVersion'] == 7
    rows = nspi.simplifyPropertyRowSet(r['ppRows'])
    assert rows == [{0x3001001F: "Global Address List"}]


def test_rfr(ours):
    r = parse(ours, "ours_rfr_get_new_dsa_rsp", gen.RfrGetNewDSAResponse)
    assert r['ppszUnused'] == b'' or r.fields['ppszUnused']['ReferentID'] == 0
    assert r['ppszServer'] == "proxy.example.com\0"
    assert r['ErrorCode'] == 0
    r = parse(ours, "ours_rfr_get_fqdn_req", oxabref.RfrGetFQDNFromServerDN)
    dn = ORG + '/cn=Configuration/cn=Servers/cn=EXCH01'
    assert r['cbMailboxServerDN'] == len(dn) + 1
    assert r['szMailboxServerDN'] == dn + "\0"
