#!/usr/bin/python3
"""MAPI benchmark: mapiclient against mapiserver, directly and through
mapiproxy, in one run.

Paths (all with NTLMSSP packet privacy on every leg the client sees):
  direct       mapiclient -> mapiserver
  passthrough  mapiclient -> mapiproxy (relays the client's own sealed
               exchange untouched: the transparent relay) -> mapiserver
  terminate    mapiclient -> mapiproxy (unseals, reseals with its own
               identity) -> mapiserver
  dump         terminate, with the dump decoding every call down to the ROPs
  dummy        terminate, with the dummy module: every hook of every call,
               both directions decoded (what a subscribed module costs)
  unsubscribed terminate, with a module loaded that subscribes to another
               interface (downgrade: EMSMDB only), nspi op only: calls no
               module wants skip the module pipeline
Operations: `mapiclient bench --op nspi` (NspiGetProps) and `--op rop`
(EcDoRpcExt2 with RopGetPropertiesSpecific), one connection, back to back;
and `--op mix --sessions 8` (address book, store object, Inbox contents
table, an Inbox message's properties in turn, on 8 concurrent sessions).
Also the server's resident memory per open session (RSS growth while N
idle authenticated sessions are open).

  /usr/bin/python3 bench/mapi.py [--calls N] [--build-dir DIR]
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "scripts"))
sys.path.insert(0, os.path.join(ROOT, "tests", "system"))

import demo  # noqa: E402  (its helpers: users, mail, daemons)
from samba_dc import ensure_loopback_ip  # noqa: E402


def rss_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


SESSIONS = 8  # the concurrent case: a mail-reading mix on this many sessions


def bench(server, op, calls):
    if op == "mix":
        per = max(10, calls // SESSIONS)
        out = demo.mapiclient(server, "alice", "-j", "bench", "--op", "mix", "--sessions",
                              str(SESSIONS), "--calls", str(per), "--warmup", str(max(4, per // 10)))
    else:
        out = demo.mapiclient(server, "alice", "-j", "bench", "--op", op, "--calls", str(calls),
                              "--warmup", str(max(10, calls // 10)))
    return json.loads(out)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--calls", type=int, default=2000)
    ap.add_argument("--sessions", type=int, default=50, help="idle sessions for the memory figure")
    ap.add_argument("--build-dir", default=os.path.join(ROOT, "build"))
    a = ap.parse_args()
    if not 10 <= a.calls <= 100000 or not 1 <= a.sessions <= 500:
        ap.error("--calls 10..100000, --sessions 1..500")
    demo.BUILD = os.path.abspath(a.build_dir)
    work = tempfile.mkdtemp(prefix="mapiproxy-mapibench-")
    ensure_loopback_ip(demo.SERVER_IP)
    s_port = demo.free_tcp_port(demo.SERVER_IP)
    s_conf, s_log = os.path.join(work, "mapiserver.conf"), os.path.join(work, "mapiserver.log")
    demo.write_conf(s_conf, {"mapiserver:data dir": os.path.join(work, "data"),
                             "mapiserver:mail domain": "demo.test",
                             "mapiproxy:listen": demo.SERVER_IP, "mapiproxy:port": s_port,
                             "mapiproxy:epm port": 0, "mapiproxy:log file": s_log,
                             "mapiproxy:log level": "warn"})
    for user in ("alice", "bob"):
        subprocess.run([demo.tool("mapiserver"), "useradd", "-c", s_conf, user],
                       input=demo.PASSWORDS[user] + "\n", capture_output=True, text=True,
                       timeout=60, check=True)
    demo.make_mail(os.path.join(work, "mail"))
    subprocess.run([demo.tool("mapiserver"), "import", "-c", s_conf, "--user", "alice",
                    os.path.join(work, "mail")], capture_output=True, timeout=120, check=True)
    users = os.path.join(work, "proxy-users.db")
    subprocess.run([demo.tool("mapiproxy-user"), "--db", users, "add", "alice"],
                   input=demo.PASSWORDS["alice"] + "\n", capture_output=True, text=True,
                   timeout=30, check=True)

    modules_dir = os.path.join(os.path.abspath(a.build_dir), "modules")
    base = {"dcerpc_mapiproxy:interfaces": "exchange_emsmdb, exchange_async_emsmdb, "
                                           "exchange_nsp, exchange_ds_rfr",
            "mapiproxy:listen": demo.MAPI_IP, "mapiproxy:epm port": 0,
            "mapiproxy:log level": "warn"}
    terminate = {"dcerpc_mapiproxy:username": "alice", "dcerpc_mapiproxy:domain": "DEMO",
                 "dcerpc_mapiproxy:password": demo.PASSWORDS["alice"],
                 "mapiproxy:user db": users}
    paths = {
        "passthrough": dict(base, **{"dcerpc_mapiproxy:binding":
                                     f"ncacn_ip_tcp:{demo.SERVER_IP}[{s_port}]",
                                     "mapiproxy:auth passthrough": "yes"}),
        "terminate": dict(base, **terminate, **{"dcerpc_mapiproxy:binding":
                                                f"ncacn_ip_tcp:{demo.SERVER_IP}[{s_port},seal]"}),
        "dump": dict(base, **terminate, **{"dcerpc_mapiproxy:binding":
                                           f"ncacn_ip_tcp:{demo.SERVER_IP}[{s_port},seal]",
                                           "mpm_dump:json file": os.path.join(work, "calls.jsonl")}),
        "dummy": dict(base, **terminate, **{"dcerpc_mapiproxy:binding":
                                            f"ncacn_ip_tcp:{demo.SERVER_IP}[{s_port},seal]",
                                            "dcerpc_mapiproxy:modules": "dummy",
                                            "mapiproxy:modules dir": modules_dir}),
    }
    if os.path.exists(os.path.join(modules_dir, "downgrade.so")):
        paths["unsubscribed"] = dict(paths["dummy"], **{"dcerpc_mapiproxy:modules": "downgrade"})
    results = {}
    srv = demo.start([demo.tool("mapiserver"), "-c", s_conf], "mapiserver", demo.SERVER_IP,
                     s_port, s_log)
    try:
        server = f"{demo.SERVER_IP}:{s_port}"
        for op in ("nspi", "rop", "mix"):
            results[("direct", op)] = bench(server, op, a.calls)
        for name, conf in paths.items():
            port = demo.free_tcp_port(demo.MAPI_IP)
            conf = dict(conf, **{"mapiproxy:port": port,
                                 "mapiproxy:log file": os.path.join(work, f"{name}.log")})
            path = os.path.join(work, f"{name}.conf")
            demo.write_conf(path, conf)
            px = demo.start([demo.tool("mapiproxy"), "-c", path], "mapiproxy", demo.MAPI_IP,
                            port, conf["mapiproxy:log file"])
            try:
                for op in ("nspi",) if name == "unsubscribed" else ("nspi", "rop", "mix"):
                    results[(name, op)] = bench(f"{demo.MAPI_IP}:{port}", op, a.calls)
            finally:
                demo.stop(px)
        # Memory: N idle EMSMDB sessions (logged on), then the RSS difference.
        before = rss_kb(srv.pid)
        watchers = []
        env = dict(os.environ, MAPICLIENT_PASSWORD=demo.PASSWORDS["alice"])
        for _ in range(a.sessions):
            # Polling (one EMSMDB session each, no AsyncEMSMDB association),
            # holding the session until terminated.
            watchers.append(subprocess.Popen(
                [demo.tool("mapiclient"), "-s", server, "-u", "alice", "watch", "--poll",
                 "60", "--for", "60"], env=env, stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL))
        time.sleep(3)
        during = rss_kb(srv.pid)
        for w in watchers:
            w.terminate()
        for w in watchers:
            w.wait(timeout=30)
    finally:
        demo.stop(srv)

    print(f"mapiclient bench, {a.calls} calls per case, packet privacy; nspi and rop on one "
          f"connection, mix on {SESSIONS} concurrent sessions")
    print(f"{'path':12s} {'op':5s} {'calls/s':>9s} {'p50 us':>9s} {'p99 us':>9s} "
          f"{'calls/s vs direct':>18s}")
    for (name, op), r in results.items():
        d = results[("direct", op)]["calls_per_s"]
        print(f"{name:12s} {op:5s} {r['calls_per_s']:9.0f} {r['p50_us']:9.1f} {r['p99_us']:9.1f} "
              f"{r['calls_per_s'] / d:18.2f}")
    per = (during - before) / a.sessions
    print(f"mapiserver RSS: {before} kB idle, {during} kB with {a.sessions} logged-on sessions "
          f"({per:.0f} kB per session)")


if __name__ == "__main__":
    main()
