#!/usr/bin/python3
"""Run every test suite and print one summary; the last line is "N passed, N failed".

Suites: unit tests (normal build), system tests (normal build), unit and
system tests again on the ASan/UBSan build, then each fuzz target for a
bounded time. Used by `make check` (and so by CI).
"""
import argparse
import json
import os
import re
import subprocess
import sys
import time
import xml.etree.ElementTree as ET

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run(cmd, env=None):
    print("+ " + " ".join(cmd), flush=True)
    return subprocess.run(cmd, cwd=ROOT, env=env).returncode


def unit(build):
    """meson test; counts from meson's testlog.json."""
    run(["meson", "test", "-C", build, "--suite", "unit", "--print-errorlogs"])
    passed = failed = 0
    log = os.path.join(ROOT, build, "meson-logs", "testlog.json")
    if not os.path.exists(log):
        return 0, 1
    with open(log) as f:
        for line in f:
            entry = json.loads(line)
            r = entry.get("result")
            # cmocka prints "[  PASSED  ] N test(s)." / "[  FAILED  ] N test(s)":
            # count individual tests, not programs.
            out = (entry.get("stdout") or "") + (entry.get("stderr") or "")
            p = re.search(r"\[  PASSED  \] (\d+) test", out)
            f_ = re.search(r"\[  FAILED  \] (\d+) test", out)
            if r == "SKIP":
                continue
            if p or f_:
                passed += int(p.group(1)) if p else 0
                failed += int(f_.group(1)) if f_ else 0
                if r not in ("OK", "EXPECTEDFAIL") and not f_:
                    failed += 1  # crashed or sanitizer abort after the summary
            elif r in ("OK", "EXPECTEDFAIL"):
                passed += 1
            else:
                failed += 1
    return passed, failed


def system(build, label):
    """pytest against the binaries of one build; counts from JUnit XML."""
    xml = os.path.join(ROOT, build, "system-junit.xml")
    env = dict(os.environ)
    env["MAPIPROXY_BIN"] = os.path.join(ROOT, build, "mapiproxy")
    env["MP_BUILD_DIR"] = os.path.join(ROOT, build)
    rc = run(["/usr/bin/python3", "-m", "pytest", "-q", "-p", "no:cacheprovider",
              "--junitxml", xml, "tests/system"], env=env)
    if not os.path.exists(xml):
        return 0, 1
    passed = failed = 0
    for suite in ET.parse(xml).getroot().iter("testsuite"):
        tests = int(suite.get("tests", 0))
        bad = int(suite.get("failures", 0)) + int(suite.get("errors", 0))
        skipped = int(suite.get("skipped", 0))
        passed += tests - bad - skipped
        failed += bad
    if rc not in (0, 1) and failed == 0:
        failed = 1  # pytest itself broke (collection error, crash)
    return passed, failed


def fuzz(build, seconds):
    script = os.path.join(ROOT, "tests", "fuzz", "run.sh")
    if not os.path.exists(script):
        return 0, 0
    out = subprocess.run(["bash", script, build, str(seconds)], cwd=ROOT,
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    print(out.stdout[-4000:])
    passed = sum(1 for l in out.stdout.splitlines() if l.startswith("fuzz ") and ": ok" in l)
    failed = sum(1 for l in out.stdout.splitlines() if l.startswith("fuzz ") and "FAILED" in l)
    if out.returncode != 0 and failed == 0:
        failed = 1
    return passed, failed


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default="build")
    ap.add_argument("--asan", default="build-asan")
    ap.add_argument("--fuzz", default="build-fuzz")
    ap.add_argument("--fuzz-seconds", type=int, default=10)
    a = ap.parse_args()

    os.environ.setdefault("ASAN_OPTIONS", "detect_leaks=1:abort_on_error=0")
    os.environ.setdefault("UBSAN_OPTIONS", "print_stacktrace=1:halt_on_error=1")
    results = []
    for name, fn in (
        ("unit", lambda: unit(a.build)),
        ("system", lambda: system(a.build, "normal")),
        ("unit (asan+ubsan)", lambda: unit(a.asan)),
        ("system (asan+ubsan)", lambda: system(a.asan, "asan")),
        ("fuzz", lambda: fuzz(a.fuzz, a.fuzz_seconds)),
    ):
        t0 = time.monotonic()
        p, f = fn()
        results.append((name, p, f, time.monotonic() - t0))

    print("\n== summary ==")
    for name, p, f, secs in results:
        print(f"{name:22s} {p:4d} passed {f:4d} failed  ({secs:.0f} s)")
    tp = sum(r[1] for r in results)
    tf = sum(r[2] for r in results)
    print(f"{tp} passed, {tf} failed")
    return 1 if tf else 0


if __name__ == "__main__":
    sys.exit(main())
