#!/usr/bin/env bash
# What `--metrics` costs on the small-response workload: `ilo httpd` answering
# "hello world" under wrk -t2 -c50, with and without `--metrics`, in interleaved
# rounds (off, on, off, on, ...) so a change in the machine's load hits both alike.
# Prints requests/s per round and the median of each side.
#
#   benches/metrics_overhead.sh [ROUNDS] [SECONDS]     (default 5 rounds of 8 s)
#
# Uses target/release/ilo (`cargo build --release` first) and wrk. Servers listen on
# 127.0.0.1 only and are stopped by their own process ids.
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-5}
seconds=${2:-8}
ilo=target/release/ilo
command -v wrk >/dev/null || { echo "wrk is not installed" >&2; exit 1; }
[ -x "$ilo" ] || { echo "$ilo is missing: cargo build --release" >&2; exit 1; }

work=$(mktemp -d)
pid=""
cleanup() {
    if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; fi
    rm -rf "$work"
}
trap cleanup EXIT
echo 'handler req:_>_;=req.path "/hello" "hello world\n";rsp status:404 body:"not found\n"' \
    >"$work/hello.ilo"

# start FLAGS...: run a server in the background, set $pid and $port once it is ready.
start() {
    "$ilo" httpd --quiet --port 0 "$@" "$work/hello.ilo" 2>"$work/stderr" &
    pid=$!
    port=""
    for _ in $(seq 1 200); do
        port=$(sed -n 's/^ilo httpd listening on http:\/\/127.0.0.1:\([0-9]*\)$/\1/p' "$work/stderr")
        [ -n "$port" ] && return
        sleep 0.05
    done
    echo "the server did not start: $(cat "$work/stderr")" >&2
    exit 1
}

stop() {
    kill "$pid"
    wait "$pid" 2>/dev/null || true
    pid=""
}

median() { sort -n | awk '{v[NR]=$1} END {print (NR%2 ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2)}'; }

: >"$work/off"
: >"$work/on"
for round in $(seq 1 "$rounds"); do
    for mode in off on; do
        if [ "$mode" = on ]; then start --metrics 127.0.0.1:0; else start; fi
        rps=$(wrk -t2 -c50 -d"${seconds}s" "http://127.0.0.1:$port/hello" |
            awk '/Requests\/sec/ {print $2}')
        stop
        echo "$rps" >>"$work/$mode"
        echo "round $round  metrics $mode  $rps requests/s"
    done
done
echo "median without --metrics: $(median <"$work/off") requests/s"
echo "median with --metrics:    $(median <"$work/on") requests/s"
