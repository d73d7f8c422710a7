"""impacket-based clients whose results can be compared proxy vs direct.

Every function takes a string binding (ncacn_ip_tcp:IP[PORT]) and returns
plain, comparable data: raw NDR of the answers that carry no context handle,
error codes for the ones that do.
"""

from __future__ import annotations

import contextlib
from typing import List, Optional, Sequence

from impacket import nt_errors
from impacket.dcerpc.v5 import dssp, samr, transport, wkst
from impacket.dcerpc.v5.rpcrt import DCERPCException

from samba_dc import DOMAIN

STATUS_MORE_ENTRIES = nt_errors.STATUS_MORE_ENTRIES


def connect(binding: str, iface: Optional[bytes], timeout: float = 10.0):
    """Connected DCERPC object, bound to iface unless iface is None."""
    t = transport.DCERPCTransportFactory(binding)
    t.set_connect_timeout(timeout)
    d = t.get_dce_rpc()
    d.connect()
    if iface is None:
        return d
    try:
        d.bind(iface)
    except BaseException:
        with contextlib.suppress(Exception):
            d.disconnect()
        raise
    return d


@contextlib.contextmanager
def session(binding: str, iface: bytes, timeout: float = 10.0):
    d = connect(binding, iface, timeout)
    try:
        yield d
    finally:
        with contextlib.suppress(Exception):
            d.disconnect()


def call(fn, *a, **kw):
    """Run an impacket helper; return ("ok", resp) or ("err", code, packet-bytes)."""
    try:
        r = fn(*a, **kw)
        return ("ok", r)
    except DCERPCException as e:
        pkt = e.get_packet()
        return ("err", e.get_error_code(), pkt.getData() if pkt is not None else None)


def enum_domains(d, h=None) -> List[str]:
    if h is None:
        h = samr.hSamrConnect(d)["ServerHandle"]
    return [x["Name"] for x in samr.hSamrEnumerateDomainsInSamServer(d, h)["Buffer"]["Buffer"]]


def samr_enum_domains(binding: str) -> List[str]:
    """The 'well-behaved client' check: samr Connect + EnumerateDomains."""
    with session(binding, samr.MSRPC_UUID_SAMR) as d:
        return enum_domains(d)


def _enum_users(d, dh) -> List[bytes]:
    out, ctx = [], 0
    for _ in range(100):  # bounded
        try:
            r = samr.hSamrEnumerateUsersInDomain(d, dh, enumerationContext=ctx)
        except samr.DCERPCSessionError as e:
            if e.get_error_code() != STATUS_MORE_ENTRIES:
                raise
            r = e.get_packet()
        out.append(r.getData())
        ctx = r["EnumerationContext"]
        if r["ErrorCode"] != STATUS_MORE_ENTRIES:
            break
    return out


def samr_snapshot(binding: str, lookup_names: Sequence[str] = ("Administrator", "Guest", "nobody"),
                  rids: Sequence[int] = (500, 501, 502)) -> dict:
    """Connect, EnumerateDomainsInSamServer, LookupDomainInSamServer, OpenDomain,
    EnumerateUsersInDomain, QueryDisplayInformation, LookupNamesInDomain,
    OpenUser + QueryInformationUser2(All) + GetGroupsForUser per rid."""
    snap = {}
    with session(binding, samr.MSRPC_UUID_SAMR) as d:
        r = samr.hSamrConnect(d)
        snap["connect"] = r["ErrorCode"]
        h = r["ServerHandle"]
        snap["enum_domains"] = samr.hSamrEnumerateDomainsInSamServer(d, h).getData()
        r = samr.hSamrLookupDomainInSamServer(d, h, DOMAIN)
        snap["lookup_domain"] = r.getData()
        r = samr.hSamrOpenDomain(d, h, domainId=r["DomainId"])
        snap["open_domain"] = r["ErrorCode"]
        dh = r["DomainHandle"]
        snap["enum_users"] = _enum_users(d, dh)
        res = call(samr.hSamrQueryDisplayInformation, d, dh,
                   samr.DOMAIN_DISPLAY_INFORMATION.DomainDisplayUser)
        snap["display"] = res[1].getData() if res[0] == "ok" else res
        res = call(samr.hSamrLookupNamesInDomain, d, dh, list(lookup_names))
        snap["lookup_names"] = res[1].getData() if res[0] == "ok" else res
        for rid in rids:
            res = call(samr.hSamrOpenUser, d, dh, samr.MAXIMUM_ALLOWED, rid)
            if res[0] != "ok":
                snap[f"user{rid}"] = res
                continue
            uh = res[1]["UserHandle"]
            q = call(samr.hSamrQueryInformationUser2, d, uh,
                     samr.USER_INFORMATION_CLASS.UserAllInformation)
            g = call(samr.hSamrGetGroupsForUser, d, uh)
            snap[f"user{rid}"] = (q[1].getData() if q[0] == "ok" else q,
                                  g[1].getData() if g[0] == "ok" else g)
            samr.hSamrCloseHandle(d, uh)
    return snap


def dssetup_info(binding: str, level: int = 1) -> bytes:
    """DsRoleGetPrimaryDomainInformation (lsarpc_ds / dssetup), raw answer."""
    with session(binding, dssp.MSRPC_UUID_DSSP) as d:
        return dssp.hDsRolerGetPrimaryDomainInformation(d, level).getData()


def wkssvc_info(d, level: int = 100):
    res = call(wkst.hNetrWkstaGetInfo, d, level)
    return res[1].getData() if res[0] == "ok" else res


def lookup_names_data(binding: str, names: Sequence[str]) -> tuple:
    """LookupNamesInDomain with many names: a request of many fragments."""
    with session(binding, samr.MSRPC_UUID_SAMR) as d:
        h = samr.hSamrConnect(d)["ServerHandle"]
        sid = samr.hSamrLookupDomainInSamServer(d, h, DOMAIN)["DomainId"]
        dh = samr.hSamrOpenDomain(d, h, domainId=sid)["DomainHandle"]
        res = call(samr.hSamrLookupNamesInDomain, d, dh, list(names))
        return res if res[0] == "err" else ("ok", res[1].getData())
