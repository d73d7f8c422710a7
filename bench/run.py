#!/usr/bin/python3
"""mapiproxy benchmark: Samba direct vs mapiproxy vs HAProxy (TCP mode).

    /usr/bin/python3 bench/run.py            # full run, about 2.5 minutes
    /usr/bin/python3 bench/run.py --quick    # smoke run, about 20 seconds
    /usr/bin/python3 bench/run.py --perf     # full run, then perf profiles of both relays

In one run this starts a throwaway Samba AD DC on 127.0.0.2 (SambaDC), the
mapiproxy daemon (release build) relaying samr on 127.0.0.1:16001, and an
HAProxy in TCP mode relaying 127.0.0.1:16002 to Samba's samr port; then it runs
bench/loadgen.c (mp-loadgen) against each of the three paths. Every
measurement is repeated (3 times, interleaved: rep 1 of every case, then rep
2, ...; the path order rotates between reps) and the median is reported. The
relay's CPU time (utime+stime from /proc/PID/stat) is sampled by mp-loadgen at
the start and end of the measured phase.

Cases (see docs/PERFORMANCE.md for why these calls):
  small    SamrEnumerateDomainsInSamServer (opnum 6) on a connect handle opened
           per connection before the warm-up: 28-byte request stub, 100-byte
           response stub; about 40 us of Samba time
  large    SamrLookupDomainInSamServer (opnum 5) with a 65,536-byte request
           stub (a 32,748-character domain name Samba converts and searches
           for; answer STATUS_NO_SUCH_DOMAIN), sent in 12 fragments of at most
           5840 bytes
  connect  SamrConnect (opnum 0) + SamrCloseHandle (opnum 1), each counted as a
           call; Samba opens its SAM database on every SamrConnect (~3 ms), so
           this case measures Samba, not the relay (full run only)

Samba, mapiproxy, HAProxy and each mp-loadgen run in their own session, hence
their own scheduler autogroup (kernel.sched_autogroup_enabled): otherwise the
single-threaded relay would share one CPU-fair group with the 32 load threads
and the results would mostly measure the scheduler.

Everything started here is stopped by PID at the end (finally), and every
wait is bounded.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "tests", "system"))

from samba_dc import SambaDC  # noqa: E402

RELAY_IP = "127.0.0.1"
MP_PORT = 16001
HAP_PORT = 16002
PATHS = ("direct", "mapiproxy", "haproxy")
MAX_RETRIES = 12  # runs repeated because other jobs were busy, per bench


# ---------------------------------------------------------------- processes

def port_open(ip: str, port: int, timeout: float = 0.3) -> bool:
    try:
        with socket.create_connection((ip, port), timeout=timeout):
            return True
    except OSError:
        return False


def wait_port(ip: str, port: int, proc: subprocess.Popen, what: str, log: str,
              timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited rc={proc.returncode}:\n{tail(log)}")
        if port_open(ip, port):
            return
        time.sleep(0.05)
    raise RuntimeError(f"{what} not listening on {ip}:{port} after {timeout}s:\n{tail(log)}")


def tail(path: str, n: int = 3000) -> str:
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            f.seek(max(0, f.tell() - n))
            return f.read().decode(errors="replace")
    except OSError:
        return ""


def stop_proc(proc: subprocess.Popen | None) -> None:
    """SIGTERM by PID, wait up to 10 s, then SIGKILL by PID."""
    if proc is None or proc.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.kill(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)


def samba_ip() -> str:
    """127.0.0.2, else the first of 127.0.0.12, .22, ... whose port 135 is free
    (other sessions may be running a DC of their own; same rule as the tests)."""
    for last in [2] + list(range(12, 250, 10)):
        ip = f"127.0.0.{last}"
        if not port_open(ip, 135, 0.2):
            return ip
    raise RuntimeError("no 127.0.0.x address with a free port 135")


def build(build_dir: str) -> tuple[str, str]:
    """Release build of mapiproxy and mp-loadgen in build_dir (set up if absent)."""
    if not os.path.exists(os.path.join(build_dir, "build.ninja")):
        subprocess.run(["meson", "setup", build_dir, "--buildtype=release"], cwd=ROOT,
                       check=True, timeout=300, stdout=subprocess.DEVNULL)
    subprocess.run(["ninja", "-C", build_dir, "mapiproxy", "bench/mp-loadgen"], cwd=ROOT,
                   check=True, timeout=600, stdout=subprocess.DEVNULL)
    return os.path.join(build_dir, "mapiproxy"), os.path.join(build_dir, "bench", "mp-loadgen")


MP_CONF = """[global]
dcerpc_mapiproxy:binding = ncacn_ip_tcp:{ip}[{port}]
dcerpc_mapiproxy:interfaces = samr, epmapper
mapiproxy:listen = {listen}
mapiproxy:port = {mp_port}
mapiproxy:epm port = 0
mapiproxy:log level = warn
mapiproxy:auth required = no
"""

# One thread, like mapiproxy's single event loop; TCP mode, no HTTP parsing.
HAP_CONF = """global
    maxconn 2000
    nbthread 1
    pidfile {pidfile}
defaults
    mode tcp
    timeout connect 5s
    timeout client 120s
    timeout server 120s
frontend fe
    bind {listen}:{hap_port}
    default_backend samba
backend samba
    server samba {ip}:{port}
"""


# ---------------------------------------------------------------- CPU accounting

HZ = os.sysconf("SC_CLK_TCK")
NCPU = os.cpu_count() or 1


def proc_cpu(pid: int) -> float:
    """utime+stime of a process, seconds (0 if gone)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            st = f.read()
    except OSError:
        return 0.0
    fields = st[st.rfind(")") + 2:].split()
    return (int(fields[11]) + int(fields[12])) / HZ


def system_busy() -> float:
    """user+nice+system CPU seconds of the whole machine (no irq/softirq/steal)."""
    with open("/proc/stat") as f:
        cpu = f.readline().split()
    return (int(cpu[1]) + int(cpu[2]) + int(cpu[3])) / HZ


class Foreign:
    """CPU used by processes other than ours (other jobs on the machine) during a
    window: machine user+system time minus that of Samba, the relays and the
    load generators (waited children). In % of the machine's capacity."""

    def __init__(self, pids):
        self.pids = list(pids)

    def start(self):
        self.t = time.monotonic()
        self.busy = system_busy()
        self.ours = sum(proc_cpu(p) for p in self.pids) + self._children()
        return self

    def stop(self) -> float:
        wall = time.monotonic() - self.t
        busy = system_busy() - self.busy
        ours = sum(proc_cpu(p) for p in self.pids) + self._children() - self.ours
        return max(0.0, busy - ours) / (wall * NCPU) * 100 if wall > 0 else 0.0

    @staticmethod
    def _children() -> float:
        ru = resource.getrusage(resource.RUSAGE_CHILDREN)
        return ru.ru_utime + ru.ru_stime


def wait_quiet(max_wait: float, limit: float = 5.0) -> float:
    """Wait (bounded) until other jobs use less than `limit`% of the machine over
    one second; returns the last measurement."""
    deadline = time.monotonic() + max_wait
    while True:
        f = Foreign([]).start()
        time.sleep(1.0)
        busy = f.stop()
        if busy < limit or time.monotonic() >= deadline:
            return busy


# ---------------------------------------------------------------- loadgen

def run_loadgen(loadgen: str, host: str, port: int, case: dict, duration: float,
                cpu_pid: int | None) -> dict:
    cmd = [loadgen, "-h", host, "-p", str(port), "-c", str(case["conns"]),
           "-n", "10000000", "-w", str(case["warmup"]), "-d", str(duration),
           "-t", str(duration + 60), "--call", case["call"]]
    if case.get("stub"):
        cmd += ["--stub-size", str(case["stub"])]
    if cpu_pid:
        cmd += ["--cpu-pid", str(cpu_pid)]
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=duration + 90,
                         start_new_session=True)
    line = res.stdout.strip().splitlines()[-1] if res.stdout.strip() else ""
    out = {}
    for kv in line.split():
        k, _, v = kv.partition("=")
        with contextlib.suppress(ValueError):
            out[k] = float(v)
    if "calls" not in out:
        raise RuntimeError(f"mp-loadgen failed rc={res.returncode}: {' '.join(cmd)}\n"
                           f"{res.stdout}{res.stderr}")
    if res.stderr.strip():
        out["stderr"] = res.stderr.strip()
    return out


def median(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def fmt(v, spec=".0f", none="-"):
    return none if v is None else format(v, spec)


# ---------------------------------------------------------------- main

def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true",
                    help="smoke run: 1 repetition of 1 s per case, no connect case (~20 s)")
    ap.add_argument("--reps", type=int, help="repetitions per case (default 3, quick 1)")
    ap.add_argument("--duration", type=float,
                    help="measured seconds per run (default 3, quick 1)")
    ap.add_argument("--build-dir", default=os.path.join(ROOT, "build-bench"),
                    help="meson build directory, set up as a release build if absent "
                         "(default build-bench)")
    ap.add_argument("--mapiproxy", metavar="PATH",
                    help="mapiproxy binary to measure (default: the one in --build-dir)")
    ap.add_argument("--wait-quiet", type=float, default=0, metavar="SEC",
                    help="before starting, wait up to SEC s for other jobs on the machine "
                         "to use < 5%% of the CPU (default 0: just report it)")
    ap.add_argument("--perf", action="store_true",
                    help="afterwards, profile mapiproxy and HAProxy (perf record, perf stat "
                         "of system calls) under the 32-connection small case")
    args = ap.parse_args()
    reps = args.reps or (1 if args.quick else 3)
    duration = args.duration or (1.0 if args.quick else 3.0)
    if not 1 <= reps <= 9 or not 0.2 <= duration <= 60:
        ap.error("--reps 1..9, --duration 0.2..60")

    cases = [
        {"name": "small", "call": "samr-enumdomains", "conns": 1, "warmup": 200},
        {"name": "small", "call": "samr-enumdomains", "conns": 32, "warmup": 100},
        {"name": "large 64K", "call": "samr-lookupdomain", "stub": 65536, "conns": 8,
         "warmup": 10},
    ]
    if not args.quick:
        cases.append({"name": "connect", "call": "samr-connect", "conns": 32, "warmup": 4})

    t_start = time.monotonic()
    mapiproxy, loadgen = build(os.path.abspath(args.build_dir))
    if args.mapiproxy:
        mapiproxy = os.path.abspath(args.mapiproxy)
    rev = subprocess.run(["git", "-C", ROOT, "describe", "--always", "--dirty"],
                         capture_output=True, text=True, timeout=30).stdout.strip() or "?"
    print(f"bench: tree {rev}, {NCPU} CPUs, {os.uname().release}", flush=True)
    other = wait_quiet(args.wait_quiet)
    print(f"bench: other jobs use {other:.0f}% of the {NCPU} CPUs before the run"
          + ("  ** the machine is busy: figures will be noisy **" if other >= 5 else ""),
          flush=True)
    for p in (MP_PORT, HAP_PORT):
        if port_open(RELAY_IP, p):
            print(f"bench: {RELAY_IP}:{p} is already in use", file=sys.stderr)
            return 1

    tmp = tempfile.mkdtemp(prefix="mapiproxy-bench-")
    dc = None
    mp = hap = None
    results: dict = {}
    try:
        dc = SambaDC(ip=samba_ip(), base_dir=tmp, max_runtime=1800)
        dc.start()
        samr_port = dc.tcp_port("samr")

        mp_conf = os.path.join(tmp, "mapiproxy.conf")
        with open(mp_conf, "w") as f:
            f.write(MP_CONF.format(ip=dc.ip, port=samr_port, listen=RELAY_IP,
                                   mp_port=MP_PORT))
        mp_log = os.path.join(tmp, "mapiproxy.log")
        with open(mp_log, "wb") as log:
            mp = subprocess.Popen([mapiproxy, "-c", mp_conf], stdout=log,
                                  stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                  start_new_session=True)
        wait_port(RELAY_IP, MP_PORT, mp, "mapiproxy", mp_log)

        hap_conf = os.path.join(tmp, "haproxy.cfg")
        with open(hap_conf, "w") as f:
            f.write(HAP_CONF.format(pidfile=os.path.join(tmp, "haproxy.pid"), listen=RELAY_IP,
                                    hap_port=HAP_PORT, ip=dc.ip, port=samr_port))
        hap_log = os.path.join(tmp, "haproxy.log")
        with open(hap_log, "wb") as log:
            # -db: foreground, one process (this PID does the work).
            hap = subprocess.Popen(["haproxy", "-f", hap_conf, "-db"], stdout=log,
                                   stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                   start_new_session=True)
        wait_port(RELAY_IP, HAP_PORT, hap, "haproxy", hap_log)

        targets = {
            "direct": (dc.ip, samr_port, None),
            "mapiproxy": (RELAY_IP, MP_PORT, mp.pid),
            "haproxy": (RELAY_IP, HAP_PORT, hap.pid),
        }
        print(f"bench: samba {dc.ip}:{samr_port} (pid {dc.pid}), mapiproxy "
              f"{RELAY_IP}:{MP_PORT} (pid {mp.pid}, {mapiproxy}), haproxy "
              f"{RELAY_IP}:{HAP_PORT} (pid {hap.pid}); {reps} rep(s) x {duration:g} s",
              flush=True)

        retries = [0]
        for rep in range(reps):
            order = PATHS[rep % 3:] + PATHS[:rep % 3]
            for ci, case in enumerate(cases):
                for path in order:
                    host, port, pid = targets[path]
                    # A run during which other jobs took >= 10% of the machine is
                    # repeated (at most twice; at most MAX_RETRIES in all) and the
                    # quietest attempt kept.
                    r = None
                    for attempt in range(3):
                        fg = Foreign([dc.pid, mp.pid, hap.pid]).start()
                        ri = run_loadgen(loadgen, host, port, case, duration, pid)
                        ri["foreign"] = fg.stop()
                        if r is None or ri["foreign"] < r["foreign"]:
                            r = ri
                        if r["foreign"] < 10 or retries[0] >= MAX_RETRIES:
                            break
                        retries[0] += 1
                        print(f"  (other jobs took {ri['foreign']:.0f}% of the CPUs: "
                              f"run repeated)", flush=True)
                    results.setdefault((ci, path), []).append(r)
                    for proc, name in ((mp, "mapiproxy"), (hap, "haproxy")):
                        if proc.poll() is not None:
                            raise RuntimeError(f"{name} died (rc={proc.returncode})")
                    print(f"  rep {rep + 1} {case['name']:9s} c={case['conns']:<2d} "
                          f"{path:9s} calls/s={r['calls_per_s']:9.1f} p50={r['p50_us']:8.1f} "
                          f"p99={r['p99_us']:8.1f} MB/s={r['mb_per_s']:7.2f} "
                          f"errors={r['errors']:.0f} other-jobs={r['foreign']:.0f}%"
                          + (f" cpu/call={r['cpu_us'] / r['calls']:.1f}"
                             if r.get("cpu_us", -1) >= 0 and r["calls"] else ""), flush=True)
                    if r.get("stderr"):
                        print("    " + r["stderr"].replace("\n", "\n    "), flush=True)

        report(cases, results, reps, duration, time.monotonic() - t_start)
        errors = sum(r["errors"] for rs in results.values() for r in rs)

        if args.perf:
            profile(loadgen, mp, hap, targets, cases[1], tmp)
        return 1 if errors else 0
    finally:
        stop_proc(hap)
        stop_proc(mp)
        if dc is not None:
            dc.stop()
        shutil.rmtree(tmp, ignore_errors=True)


def report(cases, results, reps, duration, elapsed) -> None:
    med = {}
    for key, rs in results.items():
        cpu = [r["cpu_us"] / r["calls"] for r in rs if r.get("cpu_us", -1) >= 0 and r["calls"]]
        med[key] = {
            "cps": median([r["calls_per_s"] for r in rs]),
            "p50": median([r["p50_us"] for r in rs]),
            "p99": median([r["p99_us"] for r in rs]),
            "mbs": median([r["mb_per_s"] for r in rs]),
            "cpu": median(cpu) if cpu else None,
            "err": sum(r["errors"] for r in rs),
            "other": max(r["foreign"] for r in rs),
        }
    print()
    print(f"Median of {reps} run(s) of {duration:g} s each; relay CPU = utime+stime of the "
          f"relay process per call; other jobs = the most CPU other processes on the "
          f"machine took during one of the runs kept.")
    hdr = (f"| {'case':<26} | {'path':<9} | {'conns':>5} | {'calls/s':>8} | {'p50 us':>7} | "
           f"{'p99 us':>7} | {'MB/s':>7} | {'relay CPU us/call':>17} | {'errors':>6} | "
           f"{'other jobs':>10} |")
    print(hdr)
    print("|" + "|".join("-" * (len(c)) for c in hdr.split("|")[1:-1]) + "|")
    for ci, case in enumerate(cases):
        label = case["call"] + (f" {case['stub'] // 1024} KiB" if case.get("stub") else "")
        for path in PATHS:
            m = med[(ci, path)]
            print(f"| {label:<26} | {path:<9} | {case['conns']:>5} | {fmt(m['cps']):>8} | "
                  f"{fmt(m['p50'], '.1f'):>7} | {fmt(m['p99'], '.1f'):>7} | "
                  f"{fmt(m['mbs'], '.2f'):>7} | {fmt(m['cpu'], '.1f'):>17} | "
                  f"{m['err']:>6.0f} | {m['other']:>9.0f}% |")
    print()
    print(f"| {'case':<26} | {'conns':>5} | {'calls/s mp/hap':>14} | {'CPU/call mp/hap':>15} | "
          f"{'p50 added mp us':>15} | {'p50 added hap us':>16} |")
    print(f"|{'-' * 28}|{'-' * 7}|{'-' * 16}|{'-' * 17}|{'-' * 17}|{'-' * 18}|")
    for ci, case in enumerate(cases):
        label = case["call"] + (f" {case['stub'] // 1024} KiB" if case.get("stub") else "")
        d, m, h = med[(ci, "direct")], med[(ci, "mapiproxy")], med[(ci, "haproxy")]
        r_cps = m["cps"] / h["cps"] if h["cps"] else None
        r_cpu = m["cpu"] / h["cpu"] if m["cpu"] and h["cpu"] else None
        print(f"| {label:<26} | {case['conns']:>5} | {fmt(r_cps, '.2f'):>14} | "
              f"{fmt(r_cpu, '.2f'):>15} | {fmt(m['p50'] - d['p50'], '+.1f'):>15} | "
              f"{fmt(h['p50'] - d['p50'], '+.1f'):>16} |")
    # The project's targets.
    c1 = next(i for i, c in enumerate(cases) if c["call"] == "samr-enumdomains" and c["conns"] == 1)
    c32 = next(i for i, c in enumerate(cases) if c["call"] == "samr-enumdomains"
               and c["conns"] == 32)
    added = med[(c1, "mapiproxy")]["p50"] - med[(c1, "direct")]["p50"]
    ratio = med[(c32, "mapiproxy")]["cps"] / med[(c32, "haproxy")]["cps"]
    print()
    print(f"target: mapiproxy adds <= 25 us to p50 (small, 1 conn): {added:+.1f} us -> "
          f"{'MET' if added <= 25 else 'NOT MET'}")
    print(f"target: mapiproxy >= 80% of HAProxy calls/s (small, 32 conns): {ratio * 100:.0f}% -> "
          f"{'MET' if ratio >= 0.8 else 'NOT MET'}")
    fr = [r["foreign"] for rs in results.values() for r in rs]
    print(f"other jobs on the machine during the runs: median {median(fr):.0f}%, max "
          f"{max(fr):.0f}% of the CPUs"
          + ("  ** busy machine: figures are not reliable **" if median(fr) >= 5 else ""))
    print(f"bench: {elapsed:.0f} s in all")


def profile(loadgen, mp, hap, targets, case, tmp) -> None:
    """perf record (flat profile) and syscall counts of mapiproxy and HAProxy."""
    if not shutil.which("perf"):
        print("perf: not installed, skipped")
        return
    dur = 6.0
    for name, proc in (("mapiproxy", mp), ("haproxy", hap)):
        host, port, _ = targets[name]
        for mode in ("record", "stat"):
            cmd = [loadgen, "-h", host, "-p", str(port), "-c", str(case["conns"]), "-n",
                   "10000000", "-w", "100", "-d", str(dur), "-t", str(dur + 60), "--call",
                   case["call"]]
            lg = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                  text=True, start_new_session=True)
            try:
                time.sleep(1.5)
                data = os.path.join(tmp, f"perf-{name}.data")
                if mode == "record":
                    perf = ["perf", "record", "-F", "2000", "-g", "-o", data, "-p",
                            str(proc.pid), "--", "sleep", "3"]
                else:
                    perf = ["perf", "stat", "-x", ",", "-e", ",".join(
                        f"syscalls:sys_enter_{s}" for s in
                        ("epoll_wait", "epoll_ctl", "readv", "writev", "recvfrom", "sendto",
                         "ioctl", "clock_gettime")), "-p", str(proc.pid), "--", "sleep", "3"]
                pr = subprocess.run(perf, capture_output=True, text=True, timeout=60)
                out, _ = lg.communicate(timeout=dur + 90)
            finally:
                if lg.poll() is None:
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(lg.pid, signal.SIGKILL)
                    lg.wait(timeout=10)
            line = out.strip().splitlines()[-1] if out.strip() else ""
            cps = next((float(kv.split("=")[1]) for kv in line.split()
                        if kv.startswith("calls_per_s=")), 0.0)
            if mode == "record":
                rep = subprocess.run(["perf", "report", "-i", data, "--no-children",
                                      "--sort", "dso,symbol", "--stdio", "-g", "none",
                                      "--percent-limit", "0.3"],
                                     capture_output=True, text=True, timeout=120)
                print(f"\nperf record -g -p {proc.pid} ({name}, {case['call']} "
                      f"c={case['conns']}, {cps:.0f} calls/s): top symbols")
                rows = []
                for ln in rep.stdout.splitlines():
                    f = ln.split()
                    if len(f) >= 4 and not ln.startswith("#") and f[0].endswith("%"):
                        rows.append(f"{f[0]:>7} {f[1]:28s} {f[3]}")
                print("\n".join("  " + r for r in rows[:12]))
                user = [r for r in rows if "[kernel" not in r]
                print("  user space only:")
                print("\n".join("  " + r for r in user[:12]))
            else:
                print(f"\nperf stat syscalls ({name}, 3 s at ~{cps:.0f} calls/s): "
                      f"per call")
                for ln in pr.stderr.splitlines():
                    f = ln.split(",")
                    if len(f) > 2 and f[0].strip().isdigit() and cps:
                        print(f"  {f[2].split(':')[-1]:28s} {int(f[0]) / (cps * 3):6.2f}")


if __name__ == "__main__":
    sys.exit(main())
