#!/usr/bin/python3
"""make demo: the main job on the embedded default.

A throwaway Samba AD DC is the upstream on 127.0.0.2; mapiproxy listens on
127.0.0.1 (endpoint mapper on 135, relayed interfaces on 6001); impacket, a
real DCE/RPC client, does endpoint-mapper lookups and samr / dssetup calls
through the proxy and directly, and the demo prints both results and the
proxy's log of what passed through. The proxy also answers RFR itself (a
server module) with the dump on ([print]): the log shows that Exchange call
decoded.
"""
import os
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "system"))

from samba_dc import SambaDC, ensure_loopback_ip, epm_lookup, free_ip, port_open  # noqa: E402
from impacket.dcerpc.v5 import dssp, epm, oxabref, samr, transport  # noqa: E402

PROXY_PORT = 6001
FQDN = "mapiproxy.demo.test"
# 127.0.0.1 unless another process holds port 135 or 6001 there; the DC on
# 127.0.0.2 unless another DC runs there.
PROXY_IP = free_ip(1, ports=(135, PROXY_PORT))
DC_IP = free_ip(2)


def step(msg):
    print(f"\n== {msg}", flush=True)


def samr_walk(host, port):
    """What an admin tool would ask samr: domains, then the users of the first one."""
    t = transport.DCERPCTransportFactory(f"ncacn_ip_tcp:{host}[{port}]")
    dce = t.get_dce_rpc()
    dce.connect()
    dce.bind(samr.MSRPC_UUID_SAMR)
    server = samr.hSamrConnect(dce)["ServerHandle"]
    domains = [d["Name"] for d in
               samr.hSamrEnumerateDomainsInSamServer(dce, server)["Buffer"]["Buffer"]]
    sid = samr.hSamrLookupDomainInSamServer(dce, server, domains[0])["DomainId"]
    dom = samr.hSamrOpenDomain(dce, server, domainId=sid)["DomainHandle"]
    users = [(u["Name"], u["RelativeId"]) for u in
             samr.hSamrEnumerateUsersInDomain(dce, dom)["Buffer"]["Buffer"]]
    dce.disconnect()
    return domains, sid.formatCanonical(), users


def dssetup_info(host, port):
    t = transport.DCERPCTransportFactory(f"ncacn_ip_tcp:{host}[{port}]")
    dce = t.get_dce_rpc()
    dce.connect()
    dce.bind(dssp.MSRPC_UUID_DSSP)
    r = dssp.hDsRolerGetPrimaryDomainInformation(dce, 1)
    dce.disconnect()
    b = r["DomainInfo"]["DomainInfoBasic"]
    return b["DomainNameFlat"], b["DomainNameDns"]


def rfr_new_dsa(host, port):
    t = transport.DCERPCTransportFactory(f"ncacn_ip_tcp:{host}[{port}]")
    d = t.get_dce_rpc()
    d.connect()
    try:
        d.bind(oxabref.MSRPC_UUID_OXABREF)
        r = oxabref.hRfrGetNewDSA(d, "/o=Demo/ou=Exchange Administrative Group/cn=Recipients/cn=alice\0")
        return r["ppszServer"].rstrip("\0")
    finally:
        d.disconnect()


def main():
    binary = os.environ.get("MAPIPROXY_BIN", os.path.join(ROOT, "build", "mapiproxy"))
    if not os.path.exists(binary):
        sys.exit("demo: build/mapiproxy is missing; run `make build` first")
    ensure_loopback_ip(PROXY_IP)

    work = tempfile.mkdtemp(prefix="mapiproxy-demo-")
    step(f"starting a throwaway Samba AD DC on {DC_IP} (first run provisions, ~6 s)")
    with SambaDC(ip=DC_IP) as dc:
        print(f"Samba {dc.realm} is up; samr on port {dc.tcp_port('samr')}, "
              f"dssetup on port {dc.tcp_port('3919286a-b10c-11d0-9ba8-00c04fd92ef5')}")
        conf = os.path.join(work, "mapiproxy.conf")
        log = os.path.join(work, "mapiproxy.log")
        with open(conf, "w") as f:
            f.write(f"""[global]
\tdcerpc_mapiproxy:binding = ncacn_ip_tcp:{dc.ip}[print]
\tdcerpc_mapiproxy:interfaces = samr, lsarpc_ds, exchange_emsmdb, exchange_nsp, exchange_ds_rfr
\tdcerpc_mapiproxy:rfr_server = yes
\tmapiproxy:fqdn = {FQDN}
\tmapiproxy:listen = {PROXY_IP}
\tmapiproxy:port = {PROXY_PORT}
\tmapiproxy:log level = debug
\tmapiproxy:auth required = no
\tmapiproxy:log file = {log}
""")
        step(f"starting mapiproxy -c {conf}")
        proxy = subprocess.Popen([binary, "-c", conf])
        try:
            deadline = time.monotonic() + 10
            while not port_open(PROXY_IP, PROXY_PORT):
                if proxy.poll() is not None or time.monotonic() > deadline:
                    sys.exit(f"demo: mapiproxy did not start; see {log}")
                time.sleep(0.05)

            step("endpoint mapper lookup through the proxy (rpcdump-style, ept_lookup)")
            for uuid, ver, proto, port in epm_lookup(PROXY_IP, 135):
                print(f"  {uuid} v{ver}  {proto}:{PROXY_IP}[{port}]")
            step("ept_map samr through the proxy")
            print("  " + epm.hept_map(PROXY_IP, samr.MSRPC_UUID_SAMR, protocol="ncacn_ip_tcp"))

            step("samr: direct to Samba vs through mapiproxy")
            direct = samr_walk(dc.ip, dc.tcp_port("samr"))
            proxied = samr_walk(PROXY_IP, PROXY_PORT)
            for label, (domains, sid, users) in (("direct ", direct), ("proxied", proxied)):
                print(f"  {label} domains={domains} sid={sid} users={users}")
            step("dssetup DsRoleGetPrimaryDomainInformation: direct vs through mapiproxy")
            d1 = dssetup_info(dc.ip, dc.tcp_port("3919286a-b10c-11d0-9ba8-00c04fd92ef5"))
            d2 = dssetup_info(PROXY_IP, PROXY_PORT)
            print(f"  direct  {d1}\n  proxied {d2}")
            step("RFR RfrGetNewDSA: answered by the proxy itself, decoded by the dump")
            fqdn = rfr_new_dsa(PROXY_IP, PROXY_PORT)
            print(f"  the address book server is {fqdn!r} (the proxy's own name)")
            same = direct == proxied and d1 == d2 and fqdn == FQDN
        finally:
            proxy.terminate()
            rc = proxy.wait(timeout=15)

        step(f"what passed through mapiproxy ({log})")
        with open(log) as f:
            for line in f:
                print("  " + line.rstrip())
        print(f"\nmapiproxy exited with {rc}")
        if not same or rc != 0:
            sys.exit("demo: FAILED — results through the proxy differ from direct results")
        print("demo: OK — every result through mapiproxy equals the direct result")


if __name__ == "__main__":
    main()
