#!/usr/bin/env bash
# Run every libFuzzer target over its seed corpus for a bounded time.
#
#   tests/fuzz/run.sh BUILD_DIR SECONDS
#
# BUILD_DIR is a build configured with -Dfuzz=true (e.g. build-fuzz). The
# seeds in tests/fuzz/corpus/<name>/ are read, never written: new inputs go
# to a scratch corpus under BUILD_DIR/fuzz-work/<name>/, crash reproducers to
# BUILD_DIR/fuzz-artifacts/. Prints one line per target,
#   fuzz <name>: ok (<runs> runs)   or   fuzz <name>: FAILED
# and exits non-zero if any target failed.
set -u

if [ $# -ne 2 ]; then
	echo "usage: $0 BUILD_DIR SECONDS" >&2
	exit 2
fi
build=$1
seconds=$2
here=$(cd "$(dirname "$0")" && pwd)
targets="pdu config epm binding ntlmssp sec userdb spnego"
# ExchangeRPC decoder targets join once their source exists (as in meson.build).
for name in nspi emsmdb rpc_ext aux rop_request rop_response lz77 capture store_import server_rops nspi_server proxypack; do
	[ -f "$here/fuzz_$name.c" ] && targets="$targets $name"
done

case $seconds in
'' | *[!0-9]*)
	echo "$0: SECONDS must be a whole number" >&2
	exit 2
	;;
esac

# Halt on the first UBSan report too; ASan leaks count as failures.
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}

status=0
for name in $targets; do
	exe=$build/tests/fuzz/fuzz_$name
	if [ ! -x "$exe" ]; then
		echo "fuzz $name: FAILED (no $exe; configure with -Dfuzz=true and build)"
		status=1
		continue
	fi
	work=$build/fuzz-work/$name
	arts=$build/fuzz-artifacts
	log=$build/fuzz-work/$name.log
	mkdir -p "$work" "$arts"
	seeds=()
	[ -d "$here/corpus/$name" ] && seeds=("$here/corpus/$name")
	"$exe" -max_total_time="$seconds" -print_final_stats=1 -timeout=10 -rss_limit_mb=2048 \
		-artifact_prefix="$arts/$name-" "$work" "${seeds[@]}" >"$log" 2>&1
	rc=$?
	runs=$(sed -n 's/^stat::number_of_executed_units: *\([0-9]*\).*/\1/p' "$log" | tail -n 1)
	if [ $rc -eq 0 ] && [ -n "$runs" ]; then
		echo "fuzz $name: ok ($runs runs)"
	else
		echo "fuzz $name: FAILED (exit $rc; log $log)"
		grep -m 5 -E 'ERROR|runtime error|Test unit written|SUMMARY' "$log" | sed 's/^/    /'
		status=1
	fi
done
exit $status
