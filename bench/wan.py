#!/usr/bin/python3
"""WAN benchmark: mapiclient reading a mailbox over a slow link, directly and
through a two-hop chain of proxies, in one run.

    client -> [A, local hop] -> WAN link -> [B, remote hop] -> mapiserver

The WAN link is tests/system/wan_relay.py run as a process (default 50 ms
RTT, 10 Mbit/s each way; --rtt-ms, --rate). Paths:

  direct     mapiclient -> WAN -> mapiserver (the client's own sealed session
             crosses the link; native EcDoRpcExt2, LZ77 as the client asks)
  plain      A and B without modules (both terminate auth; privacy on every leg)
  dummy      dummy on both hops (every hook, changes nothing)
  pack-zstd  A: pack (zstd)  B: pack (lasthop)      } when modules/pack is built
  pack-lz4   A: pack (lz4)   B: pack (lasthop)      }
  cache      A: cache (sync) B: cache (ahead)       } when modules/cache is built
  accel      A: cache (sync) + pack (zstd)  B: pack (lasthop) + cache (ahead)

Workload: a generated mailbox for alice (tests/system/mail_corpus.py: text
and HTML bodies, attachments of mixed compressibility, --messages N,
--min-kb..--max-kb); for each message `mapiclient show` then
`mapiclient get-attachment` of each attachment (one process, hence one
logon, per command, as a user opening messages one by one). Each path runs
the workload twice: cold (first open) and warm (again: a cache may answer).
Every attachment is checked against the corpus (SHA-256).

Figures:
  time     wall time of the whole workload; `att` is the time the
           get-attachment commands spend after their logon (from mapiclient
           -v's "RopLogon: ok" to the exit: open message, attachment, stream,
           ReadStream loop, release): the attachment replay itself
  WAN      bytes up/down on the link and DCE/RPC calls crossing it (cold)
  CPU      run time of A and of B (threads' schedstat: utime+stime in ns
           rather than 10 ms ticks; plus waited children's cutime+cstime, for
           sync commands) per client call (the direct path's call count for
           the same commands); "added" = minus the plain chain's. Measured in
           --cpu-rounds short interleaved rounds once every path has run
           (show + get-attachment of the biggest attachment through each
           chain in turn; median), since the CPU time of identical work drifts
           by several times over minutes on this VM; also over each pass

  /usr/bin/python3 bench/wan.py [--messages 10] [--rtt-ms 50] [--rate 10M]
                                [--paths direct,plain,...] [--build-dir DIR]
  /usr/bin/python3 bench/run.py --groups wan
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import selectors
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "tests", "system"))
sys.path.insert(0, HERE)

from mail_corpus import write_corpus  # noqa: E402
from run import HZ, NCPU, Foreign, stop_proc, tail, wait_port  # noqa: E402
from wan_relay import parse_rate  # noqa: E402

IP = "127.0.0.1"
PASSWORDS = {"alice": "Wan-Alice-Pw-1!", "bob": "Wan-Bob-Pw-2!"}
IFACES = "exchange_emsmdb, exchange_async_emsmdb, exchange_nsp, exchange_ds_rfr"
ALL_PATHS = ("direct", "plain", "dummy", "pack-zstd", "pack-lz4", "cache", "accel")


# ---------------------------------------------------------------- helpers

def free_ports(n: int) -> list:
    """n distinct free TCP ports on IP (all held open while choosing)."""
    import socket
    socks = [socket.socket() for _ in range(n)]
    try:
        for s in socks:
            s.bind((IP, 0))
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def write_conf(path: str, lines: dict) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write("[global]\n" + "".join(f"\t{k} = {v}\n" for k, v in lines.items()))


def proc_cpu(pid: int) -> float:
    """CPU seconds of a process: its threads' run time from
    /proc/PID/task/*/schedstat (nanoseconds; utime+stime in /proc/PID/stat
    count 10 ms ticks, too coarse for a pass of a few hundred calls) plus
    its waited children's cutime+cstime (the sync commands a cache module
    runs). 0 if gone."""
    total = 0.0
    try:
        for tid in os.listdir(f"/proc/{pid}/task"):
            with contextlib.suppress(OSError):
                with open(f"/proc/{pid}/task/{tid}/schedstat") as f:
                    total += int(f.read().split()[0]) / 1e9
        with open(f"/proc/{pid}/stat") as f:
            st = f.read()
    except OSError:
        return total
    fields = st[st.rfind(")") + 2:].split()
    return total + (int(fields[13]) + int(fields[14])) / HZ


class Procs:
    """Everything this run starts, stopped by PID at the end."""

    def __init__(self, work: str):
        self.work = work
        self.all = []

    def start(self, cmd, name: str, port: int = 0, env=None, stdout=None) -> subprocess.Popen:
        log = os.path.join(self.work, f"{name}.stderr")
        with open(log, "wb") as err:
            p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stderr=err,
                                 stdout=stdout or err, env=env, start_new_session=True)
        self.all.append(p)
        if port:
            wait_port(IP, port, p, name, log)
        return p

    def stop(self, p) -> None:
        stop_proc(p)
        with contextlib.suppress(ValueError):
            self.all.remove(p)

    def stop_all(self) -> None:
        for p in reversed(self.all):
            stop_proc(p)
        self.all = []


class Relay:
    """wan_relay.py as a process; counters by SIGUSR1."""

    def __init__(self, procs: Procs, name: str, connect: int, delay_ms: float, rate: float,
                 also_connect: int = 0):
        cmd = [sys.executable, os.path.join(ROOT, "tests", "system", "wan_relay.py"),
               "--listen", f"{IP}:0", "--connect", f"{IP}:{connect}", "--delay-ms",
               str(delay_ms), "--rate", str(int(rate))]
        if also_connect:
            cmd += ["--also", f"{IP}:0={IP}:{also_connect}"]
        self.p = procs.start(cmd, name, stdout=subprocess.PIPE)
        self.sel = selectors.DefaultSelector()
        self.sel.register(self.p.stdout, selectors.EVENT_READ)
        line = self._line(15)
        if not line.startswith("listening "):
            raise RuntimeError(f"wan_relay did not start: {line!r} "
                               f"{tail(os.path.join(procs.work, name + '.stderr'))}")
        self.ports = [int(x.rsplit(":", 1)[1]) for x in line.split()[1:]]
        self.port = self.ports[0]

    def _line(self, timeout: float) -> str:
        deadline = time.monotonic() + timeout
        buf = b""
        while time.monotonic() < deadline:
            if not self.sel.select(timeout=0.5):
                continue
            c = os.read(self.p.stdout.fileno(), 1)
            if not c:
                break
            if c == b"\n":
                return buf.decode()
            buf += c
        raise RuntimeError(f"wan_relay said nothing in {timeout}s (rc={self.p.poll()})")

    def counters(self) -> dict:
        os.kill(self.p.pid, signal.SIGUSR1)
        return json.loads(self._line(15))


# ---------------------------------------------------------------- mapiclient

class Client:
    def __init__(self, exe: str, work: str):
        self.exe = exe
        self.work = work
        self.env = dict(os.environ, MAPICLIENT_PASSWORD=PASSWORDS["alice"])
        for k in ("MAPICLIENT_SERVER", "MAPICLIENT_USER"):
            self.env.pop(k, None)

    def json(self, server: str, *args) -> dict:
        r = subprocess.run([self.exe, "-s", server, "-u", "alice", "-j", *args], env=self.env,
                           capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL)
        if r.returncode:
            raise RuntimeError(f"mapiclient {' '.join(args)}: {r.stderr}")
        return json.loads(r.stdout)

    def timed(self, server: str, *args) -> tuple[float, float]:
        """(wall seconds, seconds after RopLogon) of one mapiclient command."""
        out = os.path.join(self.work, "client.out")
        cmd = [self.exe, "-s", server, "-u", "alice", "-v", *args]
        t0 = time.monotonic()
        with open(out, "wb") as f:
            p = subprocess.Popen(cmd, stdout=f, stderr=subprocess.PIPE, env=self.env,
                                 stdin=subprocess.DEVNULL)
        sel = selectors.DefaultSelector()
        sel.register(p.stderr, selectors.EVENT_READ)
        logon, err = None, b""
        deadline = t0 + 600
        try:
            while time.monotonic() < deadline:
                if not sel.select(timeout=1):
                    continue
                chunk = os.read(p.stderr.fileno(), 65536)
                if not chunk:
                    break
                err += chunk
                if logon is None and b"RopLogon: ok" in err:
                    logon = time.monotonic()
            rc = p.wait(timeout=60)
        finally:
            if p.poll() is None:
                p.kill()
                p.wait(10)
        t1 = time.monotonic()
        if rc != 0 or logon is None:
            raise RuntimeError(f"mapiclient {' '.join(args)} on {server}: rc={rc}\n"
                               f"{err.decode(errors='replace')[-2000:]}")
        return t1 - t0, t1 - logon


# ---------------------------------------------------------------- paths

def hop_conf(work: str, name: str, port: int, upstream: int, users: str, modules: str,
             options: dict, modules_dir: str) -> str:
    conf = {"dcerpc_mapiproxy:binding": f"ncacn_ip_tcp:{IP}[{upstream},seal]",
            "dcerpc_mapiproxy:interfaces": IFACES,
            "dcerpc_mapiproxy:username": "alice", "dcerpc_mapiproxy:domain": "WAN",
            "dcerpc_mapiproxy:password": PASSWORDS["alice"],
            "mapiproxy:user db": users, "mapiproxy:auth required": "yes",
            "mapiproxy:listen": IP, "mapiproxy:port": port, "mapiproxy:epm port": 0,
            "mapiproxy:log level": "warn",
            "mapiproxy:log file": os.path.join(work, f"{name}.log"),
            "mapiproxy:modules dir": modules_dir}
    if modules:
        conf["dcerpc_mapiproxy:modules"] = modules
    conf.update(options)
    path = os.path.join(work, f"{name}.conf")
    write_conf(path, conf)
    return path


def stacks(path: str, work: str) -> tuple:
    """(A modules, A options, B modules, B options, B's cache directory or
    None). A's sync command is added once the line's file forward exists."""
    if path == "plain":
        return "", {}, "", {}, None
    if path == "dummy":
        return "dummy", {}, "dummy", {}, None
    if path.startswith("pack-"):
        algo = path.split("-", 1)[1]
        return ("pack", {"mpm_pack:lasthop": "false", "mpm_pack:compression": algo}, "pack",
                {"mpm_pack:lasthop": "true", "mpm_pack:compression": algo}, None)
    a_cache, b_cache = os.path.join(work, f"{path}-cache-A"), os.path.join(work, f"{path}-cache-B")
    os.makedirs(a_cache)
    os.makedirs(b_cache)
    a = {"mpm_cache:path": a_cache, "mpm_cache:sync": "true"}
    b = {"mpm_cache:path": b_cache, "mpm_cache:ahead": "true"}
    if path == "cache":
        return "cache", a, "cache", b, b_cache
    a.update({"mpm_pack:lasthop": "false", "mpm_pack:compression": "zstd"})
    b.update({"mpm_pack:lasthop": "true", "mpm_pack:compression": "zstd"})
    return "cache, pack", a, "pack, cache", b, b_cache


def sync_cmd(work: str, name: str, port: int) -> str:
    """A fetches a file B's read-ahead cached, over the same WAN line: HTTP,
    gzip'ed, from B's cache directory (bench/sync_files.py) through the
    line's second forward (the stand-in for the original's `rsync -z`).
    __NAME__ is the stream's path below each hop's mpm_cache:path,
    __TMPFILE__ the file A renames into place. A script, so the command is
    plain words."""
    script = os.path.join(work, f"{name}-sync.sh")
    with open(script, "w") as f:
        f.write("#!/bin/sh\n# $1: __NAME__, $2: __TMPFILE__\n"
                f"exec curl --compressed -sf -o \"$2\" \"http://{IP}:{port}/$1\"\n")
    os.chmod(script, 0o755)
    return f"{script} __NAME__ __TMPFILE__"


def run_pass(client: Client, server: str, work_list, expect, out_dir: str) -> dict:
    """One pass of the workload: totals, and every attachment checked."""
    os.makedirs(out_dir, exist_ok=True)
    r = {"wall": 0.0, "show": 0.0, "att": 0.0, "att_after_logon": 0.0, "commands": 0}
    t0 = time.monotonic()
    for mid, numbers in work_list:
        w, _ = client.timed(server, "show", mid)
        r["show"] += w
        r["commands"] += 1
        for n in numbers:
            f = os.path.join(out_dir, f"{mid.replace('/', '_')}-{n}")
            w, after = client.timed(server, "get-attachment", mid, str(n), "-o", f)
            r["att"] += w
            r["att_after_logon"] += after
            r["commands"] += 1
            with open(f, "rb") as fh:
                got = hashlib.sha256(fh.read()).hexdigest()
            if got != expect[(mid, n)]:
                raise RuntimeError(f"attachment {mid} #{n} through {server} differs from the "
                                   "corpus: the path is broken, figures are void")
    r["wall"] = time.monotonic() - t0
    return r


def measure_path(path, args, tools, procs, work, s_port, users, client, work_list, expect,
                 modules_dir, chains: list) -> dict:
    """Both passes over one path; its processes are left running in
    `chains` for the CPU rounds (stopped here on an error)."""
    delay = args.rtt_ms / 2.0
    res = {"path": path}
    a = b = relay = files = None
    kept = False
    try:
        if path == "direct":
            relay = Relay(procs, f"{path}-wan", s_port, delay, args.rate)
            server = f"{IP}:{relay.port}"
        else:
            b_port, a_port, file_port = free_ports(3)
            a_mod, a_opt, b_mod, b_opt, file_root = stacks(path, work)
            b = procs.start([tools["mapiproxy"], "-c", hop_conf(
                work, f"{path}-B", b_port, s_port, users["B"], b_mod, b_opt, modules_dir)],
                f"{path}-B", b_port)
            if file_root:
                files = procs.start([sys.executable, os.path.join(HERE, "sync_files.py"),
                                     "--root", file_root, "--listen", f"{IP}:{file_port}"],
                                    f"{path}-files", file_port)
            relay = Relay(procs, f"{path}-wan", b_port, delay, args.rate,
                          also_connect=file_port if file_root else 0)
            if file_root:
                a_opt["mpm_cache:sync_cmd"] = sync_cmd(work, path, relay.ports[1])
            a = procs.start([tools["mapiproxy"], "-c", hop_conf(
                work, f"{path}-A", a_port, relay.port, users["A"], a_mod, a_opt, modules_dir)],
                f"{path}-A", a_port)
            server = f"{IP}:{a_port}"
        for phase in ("cold", "warm"):
            c0 = relay.counters()
            cpu0 = {k: proc_cpu(p.pid) for k, p in (("A", a), ("B", b)) if p}
            fg = Foreign([p.pid for p in procs.all]).start()
            r = run_pass(client, server, work_list, expect,
                         os.path.join(work, f"{path}-{phase}"))
            r["foreign"] = fg.stop()
            c1 = relay.counters()
            for k in ("up", "down", "calls", "connections"):
                r[k] = c1[k] - c0[k]
            for k, p in (("A", a), ("B", b)):
                if p:
                    r[f"cpu_{k}"] = proc_cpu(p.pid) - cpu0[k]
            res[phase] = r
            print(f"  {path:10s} {phase}: {r['wall']:7.2f} s, att after logon "
                  f"{r['att_after_logon']:6.2f} s, WAN {r['up'] + r['down']:>10,d} B, "
                  f"{r['calls']} calls", flush=True)
        chains.append({"path": path, "a": a, "b": b, "relay": relay, "server": server})
        kept = True
    finally:
        if not kept:
            for p in (a, relay.p if relay else None, files, b):
                if p is not None:
                    procs.stop(p)
    return res


def cpu_rounds(chains: list, client: Client, work_list, expect, sizes, rounds: int, work: str,
               results: dict) -> None:
    """CPU per client call of each hop, measured in short interleaved rounds
    (every path once per round, the order rotating), because the CPU time
    of the same work drifts by several times over minutes on a shared VM.
    The workload: the message with the largest attachment, show and
    get-attachment (warm: a cache answers). Median over the rounds."""
    mid, nums = max(work_list, key=lambda w: max((sizes[(w[0], n)] for n in w[1]), default=0))
    sample = [(mid, nums)]
    per = {c["path"]: [] for c in chains}
    for r in range(rounds):
        order = chains[r % len(chains):] + chains[:r % len(chains)]
        for c in order:
            k0 = c["relay"].counters()
            cpu0 = {h: proc_cpu(c[h].pid) for h in ("a", "b") if c[h]}
            run_pass(client, c["server"], sample, expect, os.path.join(work, "cpu"))
            k1 = c["relay"].counters()
            per[c["path"]].append({"calls": k1["calls"] - k0["calls"],
                                   **{h: proc_cpu(c[h].pid) - cpu0[h] for h in cpu0}})
    calls = per.get("direct") and statistics.median(x["calls"] for x in per["direct"])
    for path, xs in per.items():
        n = calls or statistics.median(x["calls"] for x in xs) or 1
        results[path]["cpu_rounds"] = {
            "client_calls": n, "rounds": len(xs),
            **{f"cpu_{h.upper()}_us": statistics.median(x[h] for x in xs) / n * 1e6
               for h in ("a", "b") if h in xs[0]}}


# ---------------------------------------------------------------- report

def ratio(a, b):
    return a / b if a is not None and b else None


def f2(v, spec=".2f"):
    return "-" if v is None else format(v, spec)


def report(results: dict, args, n_msgs: int, n_att: int, att_bytes: int) -> list:
    d = results.get("direct")
    plain = results.get("plain")
    calls = d["cold"]["calls"] if d else None
    print(f"\nWAN {args.rtt_ms:g} ms RTT, {args.rate / 1e6:g} Mbit/s each way; {n_msgs} messages, "
          f"{n_att} attachments, {att_bytes:,d} attachment bytes; client calls per pass: "
          f"{calls if calls is not None else '?'}")
    print("\n== time: open every message (show + get-attachment), seconds ==")
    print(f"{'path':10s} {'cold':>8s} {'warm':>8s} {'att cold':>9s} {'att warm':>9s} "
          f"{'cold/direct':>12s} {'warm/direct':>12s} {'att warm: direct/path':>22s}")
    for name, r in results.items():
        c, w = r["cold"], r["warm"]
        print(f"{name:10s} {c['wall']:8.2f} {w['wall']:8.2f} {c['att_after_logon']:9.2f} "
              f"{w['att_after_logon']:9.2f} "
              f"{f2(ratio(c['wall'], d and d['cold']['wall'])):>12s} "
              f"{f2(ratio(w['wall'], d and d['warm']['wall'])):>12s} "
              f"{f2(ratio(d and d['warm']['att_after_logon'], w['att_after_logon']), '.1f'):>21s}x")
    print("\n== WAN link, cold pass (bytes both ways; calls = DCE/RPC requests crossing) ==")
    print(f"{'path':10s} {'up B':>11s} {'down B':>12s} {'total B':>12s} {'vs plain':>9s} "
          f"{'vs direct':>10s} {'calls':>7s} {'warm total B':>13s} {'warm calls':>11s} "
          f"{'cold+warm vs plain':>19s}")

    def both(r):
        return sum(r[p][k] for p in ("cold", "warm") for k in ("up", "down"))

    for name, r in results.items():
        c, w = r["cold"], r["warm"]
        tot = c["up"] + c["down"]
        print(f"{name:10s} {c['up']:11,d} {c['down']:12,d} {tot:12,d} "
              f"{f2(ratio(tot, plain and plain['cold']['up'] + plain['cold']['down'])):>9s} "
              f"{f2(ratio(tot, d and d['cold']['up'] + d['cold']['down'])):>10s} "
              f"{c['calls']:7d} {w['up'] + w['down']:13,d} {w['calls']:11d} "
              f"{f2(ratio(both(r), plain and both(plain))):>19s}")
    rounds = [r for r in results.values() if "cpu_rounds" in r]
    if rounds:
        cr = rounds[0]["cpu_rounds"]
        print(f"\n== CPU per client call, microseconds: interleaved rounds (median of "
              f"{cr['rounds']}; show + get-attachment of the biggest attachment, "
              f"{cr['client_calls']:.0f} client calls; warm) ==")
        print(f"{'path':10s} {'A':>8s} {'B':>8s} {'A added':>8s} {'B added':>8s}")
        base = plain and plain.get("cpu_rounds")
        for name, r in results.items():
            x = r.get("cpu_rounds")
            if not x or "cpu_A_us" not in x:
                continue
            add = {h: x[f"cpu_{h}_us"] - base[f"cpu_{h}_us"] if base else None for h in "AB"}
            print(f"{name:10s} {x['cpu_A_us']:8.0f} {x['cpu_B_us']:8.0f} "
                  f"{f2(add['A'], '+.0f'):>8s} {f2(add['B'], '+.0f'):>8s}")
    if calls:
        print("\n== CPU per client call, microseconds, over each pass (sequential passes: "
              "drifts on a VM) ==")
        print(f"{'path':10s} {'A cold':>8s} {'A warm':>8s} {'B cold':>8s} {'B warm':>8s} "
              f"{'A added':>8s} {'B added':>8s}")
        for name, r in results.items():
            if "cpu_A" not in r["cold"]:
                continue
            v = {f"{h} {p}": r[p][f"cpu_{h}"] / calls * 1e6 for h in "AB"
                 for p in ("cold", "warm")}
            add = {}
            for h in "AB":
                if plain:
                    base = (plain["cold"][f"cpu_{h}"] + plain["warm"][f"cpu_{h}"]) / 2
                    add[h] = ((r["cold"][f"cpu_{h}"] + r["warm"][f"cpu_{h}"]) / 2 - base) \
                        / calls * 1e6
            print(f"{name:10s} {v['A cold']:8.0f} {v['A warm']:8.0f} {v['B cold']:8.0f} "
                  f"{v['B warm']:8.0f} {f2(add.get('A'), '+.0f'):>8s} "
                  f"{f2(add.get('B'), '+.0f'):>8s}")
    verdicts = []
    best = results.get("accel") or results.get("cache")
    if d and best:
        x = ratio(d["warm"]["att_after_logon"], best["warm"]["att_after_logon"])
        verdicts.append(f"target: warm attachment replay >= 10x faster than direct "
                        f"({best['path']}): {x:.1f}x -> {'MET' if x >= 10 else 'NOT MET'}")
    for name in ("accel", "cache", "pack-zstd", "pack-lz4"):
        r = results.get(name)
        if r and plain:
            x = ratio(r["cold"]["up"] + r["cold"]["down"],
                      plain["cold"]["up"] + plain["cold"]["down"])
            y = ratio(both(r), both(plain))
            verdicts.append(f"target: WAN bytes <= 50% of native ({name} / plain): cold "
                            f"{x * 100:.0f}% -> {'MET' if x <= 0.5 else 'NOT MET'}; "
                            f"cold + warm (every message opened twice) {y * 100:.0f}% -> "
                            f"{'MET' if y <= 0.5 else 'NOT MET'}")
    if not best:
        verdicts.append("targets: need modules/pack and modules/cache (not built); the "
                        "figures above are the native and dummy baselines")
    fr = [r[p]["foreign"] for r in results.values() for p in ("cold", "warm")]
    print()
    print("\n".join(verdicts))
    print(f"other jobs on the machine during the passes: max {max(fr):.0f}% of the {NCPU} CPUs"
          + ("  ** busy machine: CPU figures are noisy **" if max(fr) >= 5 else ""))
    return verdicts


# ---------------------------------------------------------------- main

def build(build_dir: str) -> dict:
    if not os.path.exists(os.path.join(build_dir, "build.ninja")):
        subprocess.run(["meson", "setup", build_dir, "--buildtype=release"], cwd=ROOT,
                       check=True, timeout=300, stdout=subprocess.DEVNULL)
    subprocess.run(["ninja", "-C", build_dir], cwd=ROOT, check=True, timeout=1200,
                   stdout=subprocess.DEVNULL)
    return {t: os.path.join(build_dir, t) for t in
            ("mapiproxy", "mapiproxy-user", "mapiserver", "mapiclient")}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--messages", type=int, default=10, help="messages to open (default 10)")
    ap.add_argument("--min-kb", type=int, default=16, help="smallest attachment, KiB")
    ap.add_argument("--max-kb", type=int, default=512, help="largest attachment, KiB")
    ap.add_argument("--kinds", default="",
                    help="attachment types, comma-separated, of csv, txt, log, pdf, jpg, pptx "
                         "(default all: a mixed mailbox; csv,txt,log: text only)")
    ap.add_argument("--rtt-ms", type=float, default=50.0, help="round-trip time (default 50)")
    ap.add_argument("--rate", type=parse_rate, default=10e6,
                    help="bit/s each way (default 10M; suffixes k, M, G)")
    ap.add_argument("--paths", default=",".join(ALL_PATHS),
                    help="comma-separated, of " + ", ".join(ALL_PATHS) + " (default all; "
                         "those needing an unbuilt module are left out)")
    ap.add_argument("--build-dir", default=os.path.join(ROOT, "build-bench"),
                    help="meson build directory (set up as a release build if absent)")
    ap.add_argument("--keep", action="store_true", help="keep the work directory")
    ap.add_argument("--json", metavar="FILE", help="also write the figures as JSON")
    ap.add_argument("--cpu-rounds", type=int, default=5,
                    help="interleaved rounds for the CPU figures (default 5; 0: none)")
    args = ap.parse_args()
    if not 1 <= args.messages <= 200 or not 0 <= args.rtt_ms <= 2000 or args.rate < 0:
        ap.error("--messages 1..200, --rtt-ms 0..2000, --rate >= 0")
    paths = [p.strip() for p in args.paths.split(",") if p.strip()]
    if not paths or any(p not in ALL_PATHS for p in paths):
        ap.error("--paths: a comma-separated list of " + ", ".join(ALL_PATHS))
    build_dir = os.path.abspath(args.build_dir)
    tools = build(build_dir)
    modules_dir = os.path.join(build_dir, "modules")
    need = {"dummy": ["dummy"], "pack-zstd": ["pack"], "pack-lz4": ["pack"], "cache": ["cache"],
            "accel": ["pack", "cache"]}
    skipped = [p for p in paths
               if any(not os.path.exists(os.path.join(modules_dir, m + ".so"))
                      for m in need.get(p, []))]
    paths = [p for p in paths if p not in skipped]
    if skipped:
        print(f"wan: left out {', '.join(skipped)}: module not built in {modules_dir}")
    if any(p in ("cache", "accel") for p in paths) and not shutil.which("curl"):
        print("wan: left out cache, accel: the sync command needs curl")
        paths = [p for p in paths if p not in ("cache", "accel")]
    rev = subprocess.run(["git", "-C", ROOT, "describe", "--always", "--dirty"],
                         capture_output=True, text=True, timeout=30).stdout.strip() or "?"
    # The binaries' sources may be another tree than this script's.
    with contextlib.suppress(OSError, ValueError, KeyError):
        with open(os.path.join(build_dir, "meson-info", "meson-info.json")) as f:
            src = json.load(f)["directories"]["source"]
        if os.path.realpath(src) != os.path.realpath(ROOT):
            srev = subprocess.run(["git", "-C", src, "describe", "--always", "--dirty"],
                                  capture_output=True, text=True, timeout=30).stdout.strip()
            rev += f" (binaries from {src}{', ' + srev if srev else ''})"
    print(f"wan: tree {rev}, {NCPU} CPUs, {build_dir}; RTT {args.rtt_ms:g} ms, "
          f"{args.rate / 1e6:g} Mbit/s; paths {', '.join(paths)}; attachments "
          f"{args.kinds or 'mixed'}, {args.min_kb}..{args.max_kb} KiB", flush=True)

    work = tempfile.mkdtemp(prefix="mapiproxy-wan-")
    os.chmod(work, 0o700)
    procs = Procs(work)
    results = {}
    try:
        s_port, = free_ports(1)
        s_conf = os.path.join(work, "mapiserver.conf")
        write_conf(s_conf, {"mapiserver:data dir": os.path.join(work, "data"),
                            "mapiserver:mail domain": "example.test",
                            "mapiproxy:listen": IP, "mapiproxy:port": s_port,
                            "mapiproxy:epm port": 0, "mapiproxy:log level": "warn",
                            "mapiproxy:log file": os.path.join(work, "mapiserver.log")})
        for user, display in (("alice", "Alice Liddell"), ("bob", "Bob Builder")):
            subprocess.run([tools["mapiserver"], "useradd", "-c", s_conf, user,
                            "--display-name", display], input=PASSWORDS[user] + "\n",
                           capture_output=True, text=True, timeout=60, check=True)
        mails = write_corpus(os.path.join(work, "corpus"), count=args.messages, seed=1,
                             min_kb=args.min_kb, max_kb=args.max_kb,
                             kinds=[k for k in args.kinds.split(",") if k])
        subprocess.run([tools["mapiserver"], "import", "-c", s_conf, "--user", "alice",
                        os.path.join(work, "corpus")], capture_output=True, timeout=600,
                       check=True)
        users = {}
        for hop in ("A", "B"):
            users[hop] = os.path.join(work, f"users-{hop}.db")
            subprocess.run([tools["mapiproxy-user"], "--db", users[hop], "add", "alice"],
                           input=PASSWORDS["alice"] + "\n", capture_output=True, text=True,
                           timeout=30, check=True)
        procs.start([tools["mapiserver"], "-c", s_conf], "mapiserver", s_port)
        client = Client(tools["mapiclient"], work)
        # The workload: message IDs and attachment numbers, from the server directly.
        direct = f"{IP}:{s_port}"
        by_subject = {m.subject: m for m in mails}
        work_list, expect, sizes = [], {}, {}
        for m in client.json(direct, "ls", "--max", str(args.messages + 10))["messages"]:
            show = client.json(direct, "show", m["id"])
            mail = by_subject[show["subject"]]
            nums = [a["number"] for a in show["attachments"]]
            for n, digest, (_, data) in zip(nums, mail.sha256(), mail.attachments):
                expect[(m["id"], n)] = digest
                sizes[(m["id"], n)] = len(data)
            work_list.append((m["id"], nums))
        n_att = len(expect)
        att_bytes = sum(len(d) for m in mails for _, d in m.attachments)
        chains: list = []
        for path in paths:
            results[path] = measure_path(path, args, tools, procs, work, s_port, users, client,
                                         work_list, expect, modules_dir, chains)
        if args.cpu_rounds:
            print(f"  CPU: {args.cpu_rounds} interleaved rounds over the {len(chains)} paths",
                  flush=True)
            cpu_rounds(chains, client, work_list, expect, sizes, args.cpu_rounds, work, results)
    finally:
        procs.stop_all()
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
        else:
            print(f"wan: work directory kept: {work}")
    verdicts = report(results, args, len(work_list), n_att, att_bytes)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"tree": rev, "rtt_ms": args.rtt_ms, "rate": args.rate,
                       "messages": len(work_list), "attachments": n_att,
                       "attachment_bytes": att_bytes, "kinds": args.kinds or "mixed",
                       "results": results, "verdicts": verdicts}, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
