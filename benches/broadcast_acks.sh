#!/usr/bin/env bash
# Where a broadcast line's send goes: one server, one subscriber count and rate, in a
# private network namespace, so the namespace's TCP counters count this run's segments
# and nothing else. Prints one JSON object: per subscriber line, the pure ACKs sent and
# in whose context they were sent (inside the server's `send`, or the client's read),
# and the server's and the client's CPU (`perf stat` task-clock), over a window that
# starts once every subscriber is connected and --skip seconds have passed.
# The tracepoints counted add a little to both CPU figures; compare runs of this
# script with each other, not with compare.sh's table.
#
#   benches/broadcast_acks.sh [--server floor|ilo|node] [--conns 1000]
#       [--interval-ms 10] [--seconds 8] [--skip 3] [--sysctl NAME=VALUE]...
#
# --sysctl sets a namespace setting first, for A/B diagnoses (not benchmark settings):
# net.ipv4.tcp_rto_min_us=1500000 keeps a once-a-second line from putting the
# receiver back in quick-ACK mode; net.ipv4.tcp_congestion_control=reno swaps BBR.
# A connection's first 16 data segments are quick-ACKed whatever the rate, so at one
# line a second give --skip 18 when comparing such settings.
#
# Needs root (for the namespace), perf, and the release binaries in target/ (ilo,
# bcast-floor, ticker, bcast-client). See the broadcast part of
# benches/compare/analysis.md for what the figures showed.

set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BIN=$ROOT/target/release
SERVER=floor CONNS=1000 INTERVAL=10 WINDOW=8 SKIP=3
SYSCTLS=()
while (($#)); do
    case $1 in
        --server) SERVER=$2; shift 2 ;;
        --conns) CONNS=$2; shift 2 ;;
        --interval-ms) INTERVAL=$2; shift 2 ;;
        --seconds) WINDOW=$2; shift 2 ;;
        --skip) SKIP=$2; shift 2 ;;
        --sysctl) SYSCTLS+=("$2"); shift 2 ;;
        -h | --help) sed -n '2,23p' "$0"; exit 0 ;;
        *) echo "broadcast_acks.sh: unknown argument $1" >&2; exit 2 ;;
    esac
done

if [[ -z ${BROADCAST_ACKS_INSIDE:-} ]]; then
    for tool in ilo bcast-floor ticker bcast-client; do
        [[ -x $BIN/$tool ]] || { echo "broadcast_acks.sh: build $BIN/$tool first" >&2; exit 1; }
    done
    command -v perf >/dev/null || { echo "broadcast_acks.sh: needs perf" >&2; exit 1; }
    args=(--server "$SERVER" --conns "$CONNS" --interval-ms "$INTERVAL" --seconds "$WINDOW"
        --skip "$SKIP")
    for setting in ${SYSCTLS[@]+"${SYSCTLS[@]}"}; do
        args+=(--sysctl "$setting")
    done
    exec env BROADCAST_ACKS_INSIDE=1 unshare -n "$0" "${args[@]}"
fi

ip link set lo up
for setting in ${SYSCTLS[@]+"${SYSCTLS[@]}"}; do
    sysctl -q -w "$setting"
done
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

TMP=$(mktemp -d "${TMPDIR:-/tmp}/ilo-acks.XXXXXX")
PIDS=()
cleanup() {
    local pid
    for pid in ${PIDS[@]+"${PIDS[@]}"}; do
        kill "$pid" 2>/dev/null || true
    done
    for pid in ${PIDS[@]+"${PIDS[@]}"}; do
        wait "$pid" 2>/dev/null || true
    done
    rm -rf "$TMP"
}
trap cleanup EXIT

UPSTREAM_PORT=18301 PORT=18302
"$BIN/ticker" --port "$UPSTREAM_PORT" --lines 1000000 --interval-ms "$INTERVAL" 2>"$TMP/ticker.log" &
PIDS+=($!)
case $SERVER in
    floor) "$BIN/bcast-floor" --port "$PORT" --upstream "http://127.0.0.1:$UPSTREAM_PORT/" \
        2>"$TMP/server.log" & ;;
    ilo)
        # Only /bcast is used; the other routes get harmless stand-ins.
        sed -e "s#@BCAST_URL@#http://127.0.0.1:$UPSTREAM_PORT/#g" -e "s#@FILE@#/dev/null#g" \
            -e "s#@TICKER_URL@#http://127.0.0.1:1/#g" -e "s#@HOLD_URL@#http://127.0.0.1:1/#g" \
            "$ROOT/benches/compare/handler.ilo.in" >"$TMP/handler.ilo"
        "$BIN/ilo" httpd --port "$PORT" --quiet "$TMP/handler.ilo" 2>"$TMP/server.log" &
        ;;
    node) node "$ROOT/benches/compare/node-broadcast.js" "$PORT" \
        "http://127.0.0.1:$UPSTREAM_PORT/" 2>"$TMP/server.log" & ;;
    *) echo "broadcast_acks.sh: --server takes floor, ilo or node" >&2; exit 2 ;;
esac
SERVER_PID=$!
PIDS+=("$SERVER_PID")
for ((i = 0; i < 200; i++)); do
    grep -q 'listening on' "$TMP/server.log" 2>/dev/null && break
    sleep 0.05
done

# The client runs past the window; it connects every subscriber before its clock starts.
"$BIN/bcast-client" --addr "127.0.0.1:$PORT" --conns "$CONNS" \
    --seconds $((SKIP + WINDOW + 5)) --server-pid "$SERVER_PID" \
    >"$TMP/client.json" 2>"$TMP/client.log" &
CLIENT_PID=$!
PIDS+=("$CLIENT_PID")
for ((i = 0; i < 1200; i++)); do
    (($(ss -Htn state established "( sport = :$PORT )" | wc -l) >= CONNS)) && break
    sleep 0.1
done
sleep "$SKIP"

# Segments received (a pure ACK has no data) and sent (a pure ACK on loopback is
# under 80 bytes, a line over), counted in the context of the process they ran in.
EVENTS=(-e task-clock
    -e tcp:tcp_probe --filter 'data_len > 0' -e tcp:tcp_probe --filter 'data_len == 0'
    -e net:net_dev_xmit --filter 'len < 80' -e net:net_dev_xmit --filter 'len >= 80')
cat /proc/net/snmp /proc/net/netstat >"$TMP/net0"
perf stat -x, -o "$TMP/server.perf" "${EVENTS[@]}" -p "$SERVER_PID" -- sleep "$WINDOW" &
STAT_PID=$!
perf stat -x, -o "$TMP/client.perf" "${EVENTS[@]}" -p "$CLIENT_PID" -- sleep "$WINDOW"
wait "$STAT_PID"
cat /proc/net/snmp /proc/net/netstat >"$TMP/net1"
wait "$CLIENT_PID" || true

python3 - "$TMP" "$SERVER" "$CONNS" "$INTERVAL" "${SYSCTLS[*]+${SYSCTLS[*]}}" <<'EOF'
import json, sys
tmp, server, conns, interval, settings = sys.argv[1:6]

def counters(path):
    """The namespace's TCP counters: header lines and value lines alternate."""
    lines = open(path).read().splitlines()
    out = {}
    for names, values in zip(lines[::2], lines[1::2]):
        prefix = names.split()[0]
        for name, value in zip(names.split()[1:], values.split()[1:]):
            if value.lstrip('-').isdigit():
                out[prefix + name] = int(value)
    return out

def perf(path):
    """The events in the order asked for: task-clock (ms), data in, ACKs in,
    ACKs out, lines out."""
    rows = [l.split(',') for l in open(path) if l.strip() and not l.startswith('#')]
    return [float(r[0]) if r[0].replace('.', '', 1).isdigit() else 0.0 for r in rows]

before, after = counters(f'{tmp}/net0'), counters(f'{tmp}/net1')
delta = {k: after[k] - before.get(k, 0) for k in after}
lines = delta['TcpExt:TCPOrigDataSent']
srv, cli = perf(f'{tmp}/server.perf'), perf(f'{tmp}/client.perf')
try:
    client = json.load(open(f'{tmp}/client.json'))
except ValueError:
    client = None
per = lambda n: round(n / lines, 3) if lines else None
print(json.dumps({
    'server': server, 'conns': int(conns), 'lines_per_s': 1000 // int(interval),
    'settings': settings, 'segments': lines,
    'acks_per_line': per(delta['Tcp:OutSegs'] - lines),
    'acks_sent_in_server': per(srv[3]), 'acks_sent_in_client': per(cli[3]),
    'acks_received_in_server': per(srv[2]),
    'delayed_ack_timer_per_line': per(delta['TcpExt:DelayedACKs']),
    'server_cpu_us': per(srv[0] * 1e3), 'client_cpu_us': per(cli[0] * 1e3),
    'client': client,
}))
EOF
