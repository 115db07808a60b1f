#!/usr/bin/env bash
# Side-by-side benchmarks of `ilo httpd` (JIT), an `ilo build` server (AOT), nginx with
# the Lua module, Node's http module and the floor servers from bench-tools, on this
# machine, in one run. Writes docs/benchmarks.md, docs/benchmarks.json and
# docs/benchmarks.svg.
#
#   benches/compare.sh            the full run (5 runs per figure, 10,000 streams)
#   benches/compare.sh --quick    a shorter run (3 runs, shorter wrk, 2,000 streams)
#   benches/compare.sh --no-build use the release binaries already in target/
#
# Every server is started on 127.0.0.1 with its own port, detected as ready (from its
# readiness line, or by a probe for nginx, which prints none), measured, and stopped
# by its own process id. Each workload starts fresh server processes, so one
# workload's memory high-water mark never leaks into another's.
#
# Workloads (the method is described in docs/benchmarks.md):
#   1 stream   a 1,000,000-line file (66-byte lines), one chunk per line, to curl
#   2 latency  a ticking upstream proxied line by line; production-to-arrival latency
#   3 small    "hello world" with keep-alive under wrk -t2 -c50 (default workers), then
#              under wrk -t1 -c50 with one worker each (ilo, nginx)
#   4 fanout   10,000 concurrent open streaming responses; peak RSS, threads, all served?
#   5 slow     100 clients reading the 1,000,000-line stream at 100 KB/s each; peak RSS
#   6 broadcast one ticking upstream to 1,000 subscribers at 100 lines/s and 10,000 at
#              1 line/s (ilo `bcast`, Node fan-out script, and the broadcast floor:
#              one non-blocking send per subscriber line), read by a client on two
#              threads; latency, every line?, RSS
#   7 mapped   the 1,000,000-line stream through `map` against the same stream unmapped
#
#   benches/compare.sh --only=small,small1       run just those workloads and print
#                                                their sections (docs are not rewritten);
#                                                also latency, fanout, broadcast, mapped
#   benches/compare.sh --only=cpu,cpu1           CPU per request of server and wrk in
#                                                workload 3's two configurations, and the
#                                                highest rate that leaves possible
#   COMPARE_ILO=PATH benches/compare.sh …        measure another ilo binary (an earlier
#                                                build, say) as ilo-jit and ilo-aot
#   BCAST_CLIENT_THREADS="1 2" benches/compare.sh …  workload 6 with the broadcast
#                                                client reading on 1 thread, then on
#                                                2 (each server, fresh processes;
#                                                the default is 2)

set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
HERE=$ROOT/benches/compare
QUICK=0
BUILD=1
ONLY=""
for arg in "$@"; do
    case $arg in
        --quick) QUICK=1 ;;
        --no-build) BUILD=0 ;;
        --only=*) ONLY=${arg#--only=} ;;
        -h | --help) sed -n '2,/^$/p' "$0"; exit 0 ;;
        *) echo "compare.sh: unknown argument $arg" >&2; exit 2 ;;
    esac
done

# Reading threads of workload 6's client: a space-separated list runs each in turn.
# Two by default: subscribers read in parallel, and one thread reading every socket
# in turn after the fan-out made the latency mostly the client's own serial pass
# (benches/compare/analysis.md, workload 6).
BCAST_CLIENT_THREADS=${BCAST_CLIENT_THREADS:-2}

if ((QUICK)); then
    RUNS=3 TICKS=20 WRK_SECONDS=2 FANOUT_CONNS=2000 FANOUT_RUNS=1 FRAMING_LINES=200000
    SLOW_SECONDS=5 BCAST_SECONDS=5
else
    # 120 ticks give 118 samples a run, so p99 is not simply the run's maximum.
    RUNS=5 TICKS=120 WRK_SECONDS=5 FANOUT_CONNS=10000 FANOUT_RUNS=3 FRAMING_LINES=500000
    SLOW_SECONDS=15 BCAST_SECONDS=10
fi
# A proxied stream costs the server two descriptors (client and upstream). When the
# hard limit cannot hold that many, every server gets the largest count that fits,
# and the report says so.
FD_HARD=$(ulimit -Hn)
if [[ $FD_HARD != unlimited ]] && ((FANOUT_CONNS * 2 + 64 > FD_HARD)); then
    FANOUT_CONNS=$(((FD_HARD - 64) / 2))
fi
LINES=1000000
SLOW_CONNS=100
SLOW_RATE=102400
PORT_BASE=${COMPARE_PORT_BASE:-18200}

log() { printf '[compare %s] %s\n' "$(date +%T)" "$*" >&2; }

# ---------------------------------------------------------------- prerequisites

# The Lua module as Debian installs it (the NDK module must be loaded before it).
find_module() {
    local dir
    for dir in /usr/lib/nginx/modules /usr/share/nginx/modules /usr/lib64/nginx/modules; do
        if [[ -f $dir/$1 ]]; then
            echo "$dir/$1"
            return 0
        fi
    done
    return 1
}

install_missing() {
    local missing=()
    command -v nginx >/dev/null || missing+=(nginx)
    find_module ngx_http_lua_module.so >/dev/null || missing+=(libnginx-mod-http-lua)
    command -v wrk >/dev/null || missing+=(wrk)
    command -v curl >/dev/null || missing+=(curl)
    command -v node >/dev/null || missing+=(nodejs)
    command -v python3 >/dev/null || missing+=(python3)
    if ((${#missing[@]} == 0)); then
        return 0
    fi
    log "installing ${missing[*]}"
    local sudo=()
    if [[ $(id -u) != 0 ]]; then
        sudo=(sudo)
    fi
    "${sudo[@]}" apt-get update -q
    DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -q "${missing[@]}"
}

install_missing
# 10,000 streams need 10,000 descriptors in the server and as many in the client (a
# broadcast subscriber also has its wake-up descriptor): raise the limit if allowed.
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

if ((BUILD)); then
    log "building release binaries"
    (cd "$ROOT" && cargo build --release -q -p ilo -p ilo-runtime -p ilo-bench-tools)
    (cd "$ROOT" && cargo bench -q --no-run --bench chunk_framing 2>/dev/null) ||
        log "the chunk_framing bench does not build; its section will be missing"
fi
BIN=$ROOT/target/release
ILO=${COMPARE_ILO:-$BIN/ilo}
for tool in ilo floor-server small-floor uring-floor ticker hold-server latency-client fanout-client slow-reader \
    bcast-client bcast-floor; do
    [[ -x $BIN/$tool ]] || { echo "compare.sh: $BIN/$tool is missing (run without --no-build)" >&2; exit 1; }
done

# ---------------------------------------------------------------- scratch space

TMP=$(mktemp -d "${TMPDIR:-/tmp}/ilo-compare.XXXXXX")
chmod 755 "$TMP" # nginx workers may run as another user and read the line file
RESULTS=$TMP/results.jsonl
NOTES=$TMP/notes.jsonl
: >"$RESULTS"
: >"$NOTES"
STARTED=()

# Stop everything this script started, each by its own pid, then remove the scratch.
cleanup() {
    local pid
    for pid in "${STARTED[@]}"; do
        kill "$pid" 2>/dev/null || true
    done
    for pid in "${STARTED[@]}"; do
        wait "$pid" 2>/dev/null || true
    done
    if [[ -z ${COMPARE_KEEP_TMP:-} ]]; then
        rm -rf "$TMP"
    else
        log "scratch kept in $TMP"
    fi
}
trap cleanup EXIT

note() { # server, text: why a server is missing from a workload
    python3 -c 'import json,sys; print(json.dumps({"server": sys.argv[1], "note": sys.argv[2]}))' "$1" "$2" >>"$NOTES"
}
record() { # one JSON object per measured run
    echo "$1" >>"$RESULTS"
}

FILE=$TMP/lines.txt
log "generating $LINES lines of 66 bytes"
awk -v n="$LINES" 'BEGIN {
    pad = sprintf("%54s", ""); gsub(/ /, "x", pad)
    for (i = 0; i < n; i++) printf "%010d %s\n", i, pad
}' >"$FILE"
EXPECTED_BYTES=$((LINES * 66))
[[ $(stat -c %s "$FILE") == "$EXPECTED_BYTES" ]] || { echo "compare.sh: bad line file" >&2; exit 1; }

TICKER_PORT=$((PORT_BASE + 1))
TICKER_PLAIN_PORT=$((PORT_BASE + 2))
TICKER_URL=http://127.0.0.1:$TICKER_PORT/
HOLD_PORT=$((PORT_BASE + 3))
HOLD_PLAIN_PORT=$((PORT_BASE + 4))
BCAST_PORT=$((PORT_BASE + 5))

sed -e "s#@FILE@#$FILE#g" -e "s#@TICKER_URL@#$TICKER_URL#g" \
    -e "s#@HOLD_URL@#http://127.0.0.1:$HOLD_PORT/#g" \
    -e "s#@BCAST_URL@#http://127.0.0.1:$BCAST_PORT/#g" \
    "$HERE/handler.ilo.in" >"$TMP/handler.ilo"
AOT_BIN=$TMP/ilo-aot
AOT_OK=1
if ! "$ILO" build "$TMP/handler.ilo" -o "$AOT_BIN" >"$TMP/ilo-build.log" 2>&1; then
    AOT_OK=0
    log "ilo build failed; the AOT server is skipped: $(tail -n 1 "$TMP/ilo-build.log")"
    note ilo-aot "skipped: \`ilo build\` failed ($(tail -n 1 "$TMP/ilo-build.log"))"
fi

NGX_LOAD=""
for mod in ndk_http_module.so ngx_http_lua_module.so; do
    if path=$(find_module "$mod"); then
        NGX_LOAD+="load_module $path;"$'\n'
    fi
done

# ---------------------------------------------------------------- servers

# wait_ready PID LOG PATTERN [PROBE_URL]: the readiness line appears in LOG (or, with a
# probe URL, the URL answers). Fails if the process exits or 20 s pass.
wait_ready() {
    local pid=$1 logf=$2 pattern=$3 probe=${4:-} i
    for ((i = 0; i < 400; i++)); do
        if ! kill -0 "$pid" 2>/dev/null; then
            return 1
        fi
        if [[ -n $probe ]]; then
            curl -sf -o /dev/null --max-time 1 "$probe" && return 0
        elif grep -q "$pattern" "$logf" 2>/dev/null; then
            return 0
        fi
        sleep 0.05
    done
    return 1
}

# stop PID: SIGTERM, then SIGKILL if it has not exited within 10 s.
stop() {
    local pid=$1 i
    kill "$pid" 2>/dev/null || return 0
    for ((i = 0; i < 200; i++)); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.05
    done
    kill -9 "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    local kept=()
    for p in "${STARTED[@]}"; do
        [[ $p == "$pid" ]] || kept+=("$p")
    done
    STARTED=("${kept[@]}")
}

# start SERVER PORT: start one contender; sets SERVER_PID. Returns 1 (with a
# note) when the server cannot run here.
# WORKERS (default: one per core) sets the worker count of ilo and nginx; Node has one.
start() {
    local name=$1 port=$2 logf=$TMP/$1-$2.log probe=""
    local pattern="listening on http://"
    # A server started again on the same port writes the same log: start it empty, or
    # the last run's readiness line would count for this one.
    : >"$logf"
    local workers=${WORKERS:-$(nproc)}
    case $name in
        ilo-jit) "$ILO" httpd --port "$port" --workers "$workers" --quiet "$TMP/handler.ilo" \
            </dev/null 2>"$logf" & ;;
        ilo-aot)
            if ((!AOT_OK)); then return 1; fi
            "$AOT_BIN" --port "$port" --workers "$workers" --quiet </dev/null 2>"$logf" &
            ;;
        nginx-lua)
            local prefix=$TMP/nginx-$port
            mkdir -p "$prefix"
            sed -e "s#@PREFIX@#$prefix#g" -e "s#@PORT@#$port#g" -e "s#@FILE@#$FILE#g" \
                -e "s#@TICKER_PLAIN_PORT@#$TICKER_PLAIN_PORT#g" -e "s#@WORKERS@#$workers#g" \
                -e "s#@HOLD_PLAIN_PORT@#$HOLD_PLAIN_PORT#g" \
                "$HERE/nginx.conf.in" | python3 -c '
import sys; text = sys.stdin.read(); print(text.replace("@LOAD_MODULES@", sys.argv[1]), end="")' "$NGX_LOAD" \
                >"$prefix/nginx.conf"
            nginx -p "$prefix" -c "$prefix/nginx.conf" -e "$prefix/nginx-error.log" </dev/null 2>"$logf" &
            probe=http://127.0.0.1:$port/hello
            ;;
        node) node "$HERE/node-server.js" "$port" "$FILE" "$TICKER_URL" "http://127.0.0.1:$HOLD_PORT/" \
            </dev/null 2>"$logf" & ;;
        node-bcast) node "$HERE/node-broadcast.js" "$port" "http://127.0.0.1:$BCAST_PORT/" \
            </dev/null 2>"$logf" & ;;
        floor-line) "$BIN/floor-server" --port "$port" --file "$FILE" --mode line 2>"$logf" & ;;
        floor-gathered) "$BIN/floor-server" --port "$port" --file "$FILE" --mode gathered 2>"$logf" & ;;
        floor-small) "$BIN/small-floor" --port "$port" --threads "$workers" 2>"$logf" & ;;
        floor-bcast) "$BIN/bcast-floor" --port "$port" --threads "$workers" \
            --upstream "http://127.0.0.1:$BCAST_PORT/" 2>"$logf" & ;;
        floor-uring) "$BIN/uring-floor" --port "$port" --threads "$workers" 2>"$logf" & ;;
        ticker) "$BIN/ticker" --port "$port" --lines "$TICKS" 2>"$logf" & ;;
        ticker-bcast) "$BIN/ticker" --port "$port" --lines 1000000 \
            --interval-ms "$BCAST_INTERVAL_MS" 2>"$logf" & ;;
        ticker-plain) "$BIN/ticker" --port "$port" --lines "$TICKS" --plain 2>"$logf" & ;;
        hold-server) "$BIN/hold-server" --port "$port" --lines 5 2>"$logf" & ;;
        hold-server-plain) "$BIN/hold-server" --port "$port" --lines 5 --plain 2>"$logf" & ;;
        *) echo "compare.sh: no server $name" >&2; exit 1 ;;
    esac
    SERVER_PID=$!
    STARTED+=("$SERVER_PID")
    if ! wait_ready "$SERVER_PID" "$logf" "$pattern" "$probe"; then
        local why
        why=$(tail -n 2 "$logf" | tr '\n' ' ')
        log "$name did not start: $why"
        note "$name" "skipped: did not start (${why:-no output})"
        stop "$SERVER_PID"
        return 1
    fi
}

# Peak resident memory (KiB) of a process and its children (nginx's workers).
peak_rss_kib() {
    local pid=$1 total=0 p kib
    for p in "$pid" $(cat /proc/"$pid"/task/*/children 2>/dev/null); do
        kib=$(awk '/^VmHWM:/ {print $2}' /proc/"$p"/status 2>/dev/null || echo 0)
        total=$((total + ${kib:-0}))
    done
    echo "$total"
}

# Most threads a process and its children (nginx's workers) had at once while
# process CLIENT ran, sampled every 0.2 s.
peak_threads_while() {
    local pid=$1 client=$2 peak=0 now p
    while kill -0 "$client" 2>/dev/null; do
        now=0
        for p in "$pid" $(cat /proc/"$pid"/task/*/children 2>/dev/null); do
            now=$((now + $(awk '/^Threads:/ {print $2}' /proc/"$p"/status 2>/dev/null || echo 0)))
        done
        ((now > peak)) && peak=$now
        sleep 0.2
    done
    echo "$peak"
}

SERVERS=(ilo-jit ilo-aot nginx-lua node)

# ---------------------------------------------------------------- workload 1

workload_stream() {
    log "workload 1: stream $LINES lines to curl"
    cat "$FILE" >/dev/null # the page cache serves every contender alike
    # All contenders run at once and take turns, run by run, so a slow spell on the
    # shared machine lands on every server instead of on whichever was measured then.
    local i=0 name port out secs bytes code
    local -A ports=() pids=()
    local started=()
    for name in "${SERVERS[@]}" floor-line floor-gathered; do
        i=$((i + 1))
        port=$((PORT_BASE + 10 + i))
        start "$name" "$port" || continue
        ports[$name]=$port
        pids[$name]=$SERVER_PID
        started+=("$name")
    done
    for ((run = 0; run <= RUNS; run++)); do
        for name in "${started[@]}"; do
            out=$(curl -s --max-time 120 -o /dev/null -w '%{time_total} %{size_download} %{http_code}' \
                "http://127.0.0.1:${ports[$name]}/stream")
            read -r secs bytes code <<<"$out"
            ((run == 0)) && continue # warm-up
            if [[ $code != 200 || $bytes != "$EXPECTED_BYTES" ]]; then
                log "$name: status $code, $bytes bytes (expected $EXPECTED_BYTES)"
                note "$name" "stream: a run returned status $code with $bytes bytes"
                continue
            fi
            record "{\"workload\":\"stream\",\"server\":\"$name\",\"seconds\":$secs,\"lines\":$LINES}"
        done
    done
    for name in "${started[@]}"; do
        stop "${pids[$name]}"
    done
}

# ---------------------------------------------------------------- workload 2

workload_latency() {
    log "workload 2: first-line latency through a proxy ($TICKS lines, 50 ms apart)"
    start ticker "$TICKER_PORT" || return 0
    local ticker_pid=$SERVER_PID
    start ticker-plain "$TICKER_PLAIN_PORT" || { stop "$ticker_pid"; return 0; }
    local plain_pid=$SERVER_PID
    local i=0 name port out
    for name in "${SERVERS[@]}"; do
        i=$((i + 1))
        port=$((PORT_BASE + 20 + i))
        start "$name" "$port" || continue
        for ((run = 0; run < RUNS; run++)); do
            if out=$(timeout 60 "$BIN/latency-client" --addr "127.0.0.1:$port" --path /tick --skip 2); then
                record "{\"workload\":\"latency\",\"server\":\"$name\",\"result\":$out}"
            else
                note "$name" "latency: a run failed"
            fi
        done
        stop "$SERVER_PID"
    done
    stop "$plain_pid"
    stop "$ticker_pid"
}

# ---------------------------------------------------------------- workload 3

# workload_small WORKLOAD THREADS: wrk -tTHREADS -c50 against every server and the
# small-response floor (one thread, no work of its own: the ceiling of what any server
# can show here); the servers run with $WORKERS workers (default: one per core).
workload_small() {
    local workload=$1 threads=$2
    log "workload 3 ($workload): small responses, wrk -t$threads -c50 -d${WRK_SECONDS}s, ${WORKERS:-$(nproc)} worker(s)"
    # Interleaved like workload 1: every server is up, and they take turns run by run.
    local i=0 name port out
    local -A ports=() pids=()
    local started=()
    for name in "${SERVERS[@]}" floor-small; do
        i=$((i + 1))
        port=$((PORT_BASE + 30 + i))
        start "$name" "$port" || continue
        ports[$name]=$port
        pids[$name]=$SERVER_PID
        started+=("$name")
        wrk -t"$threads" -c50 -d1s "http://127.0.0.1:$port/hello" >/dev/null # warm-up
    done
    for ((run = 0; run < RUNS; run++)); do
        for name in "${started[@]}"; do
            out=$(wrk -t"$threads" -c50 -d"${WRK_SECONDS}s" --latency "http://127.0.0.1:${ports[$name]}/hello")
            record "$(python3 "$HERE/report.py" parse-wrk "$name" "$workload" <<<"$out")"
        done
    done
    for name in "${started[@]}"; do
        stop "${pids[$name]}"
    done
}

# workload_cpu WORKLOAD THREADS: the small-response run again, measuring what each
# side spends per request (benches/compare/cpu_run.py): the server's CPU, wrk's CPU,
# and from them the rate no server could beat on this machine.
CPU_SERVERS=(ilo-jit ilo-aot nginx-lua floor-small floor-uring)
workload_cpu() {
    local workload=$1 threads=$2
    log "CPU per request ($workload): wrk -t$threads -c50 -d${WRK_SECONDS}s, ${WORKERS:-$(nproc)} worker(s)"
    local i=0 name port
    local -A ports=() pids=()
    local started=()
    for name in "${CPU_SERVERS[@]}"; do
        i=$((i + 1))
        port=$((PORT_BASE + 110 + i))
        start "$name" "$port" || continue
        ports[$name]=$port
        pids[$name]=$SERVER_PID
        started+=("$name")
        wrk -t"$threads" -c50 -d1s "http://127.0.0.1:$port/hello" >/dev/null # warm-up
    done
    for ((run = 0; run < RUNS; run++)); do
        for name in "${started[@]}"; do
            record "$(python3 "$HERE/cpu_run.py" measure "$name" "$workload" "${pids[$name]}" -- \
                wrk -t"$threads" -c50 -d"${WRK_SECONDS}s" "http://127.0.0.1:${ports[$name]}/hello")"
        done
    done
    for name in "${started[@]}"; do
        stop "${pids[$name]}"
    done
}

# ---------------------------------------------------------------- workload 4

workload_fanout() {
    log "workload 4: $FANOUT_CONNS concurrent open streams"
    local i=0 name port out rss holder threads
    for name in "${SERVERS[@]}"; do
        i=$((i + 1))
        for ((run = 0; run < FANOUT_RUNS; run++)); do
            port=$((PORT_BASE + 40 + 10 * i + run))
            # Every server proxies a fresh hold-open upstream (see docs/benchmarks.md).
            if [[ $name == nginx-lua ]]; then
                start hold-server-plain "$HOLD_PLAIN_PORT" || continue
            else
                start hold-server "$HOLD_PORT" || continue
            fi
            holder=$SERVER_PID
            if start "$name" "$port"; then
                timeout 300 "$BIN/fanout-client" --addr "127.0.0.1:$port" --path /hold \
                    --conns "$FANOUT_CONNS" --lines 5 >"$TMP/fanout.out" 2>>"$TMP/fanout-client.log" &
                local client=$!
                threads=$(peak_threads_while "$SERVER_PID" "$client")
                if wait "$client"; then
                    out=$(cat "$TMP/fanout.out")
                    rss=$(peak_rss_kib "$SERVER_PID")
                    record "{\"workload\":\"fanout\",\"server\":\"$name\",\"rss_kib\":$rss,\"threads\":$threads,\"result\":$out}"
                else
                    note "$name" "fanout: the client failed"
                fi
                stop "$SERVER_PID"
            fi
            stop "$holder"
            sleep 1 # let the closed connections drain before the next server
        done
    done
}

# ---------------------------------------------------------------- workload 5

workload_slow() {
    log "workload 5: $SLOW_CONNS clients reading /stream at $SLOW_RATE bytes/s for ${SLOW_SECONDS}s"
    cat "$FILE" >/dev/null
    local i=0 name port out rss
    for name in "${SERVERS[@]}"; do
        i=$((i + 1))
        port=$((PORT_BASE + 80 + i))
        start "$name" "$port" || continue
        if out=$(timeout $((SLOW_SECONDS + 60)) "$BIN/slow-reader" --addr "127.0.0.1:$port" \
            --path /stream --conns "$SLOW_CONNS" --rate "$SLOW_RATE" --seconds "$SLOW_SECONDS"); then
            rss=$(peak_rss_kib "$SERVER_PID")
            record "{\"workload\":\"slow\",\"server\":\"$name\",\"rss_kib\":$rss,\"result\":$out}"
        else
            note "$name" "slow readers: the client failed"
        fi
        stop "$SERVER_PID"
    done
}

# ---------------------------------------------------------------- workload 6

# broadcast_run CONNS INTERVAL_MS: every broadcasting server and the broadcast floor,
# one at a time, each with a fresh ticking upstream (which the hub opens once, whatever
# the subscribers).
broadcast_run() {
    local conns=$1 interval=$2 i=0 name port out rss ticker threads
    local rate=$((1000 / interval))
    log "workload 6: broadcast to $conns subscribers at $rate lines/s for ${BCAST_SECONDS}s" \
        "(client threads: $BCAST_CLIENT_THREADS)"
    for name in ilo-jit ilo-aot node-bcast floor-bcast; do
        i=$((i + 1))
        port=$((PORT_BASE + 90 + i))
        # Each client setting gets fresh processes, so the settings of one server
        # run back to back, interleaved with the other servers'.
        for threads in $BCAST_CLIENT_THREADS; do
            BCAST_INTERVAL_MS=$interval start ticker-bcast "$BCAST_PORT" || return 0
            ticker=$SERVER_PID
            if start "$name" "$port"; then
                if out=$(timeout $((BCAST_SECONDS + 120)) "$BIN/bcast-client" --addr "127.0.0.1:$port" \
                    --path /bcast --conns "$conns" --seconds "$BCAST_SECONDS" --server-pid "$SERVER_PID" \
                    --threads "$threads" 2>>"$TMP/bcast-client.log"); then
                    rss=$(peak_rss_kib "$SERVER_PID")
                    record "{\"workload\":\"broadcast\",\"server\":\"$name\",\"rate\":$rate,\"rss_kib\":$rss,\"result\":$out}"
                else
                    note "$name" "broadcast: the client failed ($(tail -n 1 "$TMP/bcast-client.log"))"
                fi
                stop "$SERVER_PID"
            fi
            stop "$ticker"
            sleep 1 # let the closed connections drain before the next server
        done
    done
}

workload_broadcast() {
    broadcast_run 1000 10
    broadcast_run "$FANOUT_CONNS" 1000
}

# ---------------------------------------------------------------- workload 7

workload_mapped() {
    log "workload 7: the $LINES-line stream mapped and unmapped"
    cat "$FILE" >/dev/null
    local i=0 name port out secs bytes code variant path
    for name in ilo-jit ilo-aot; do
        i=$((i + 1))
        port=$((PORT_BASE + 95 + i))
        start "$name" "$port" || continue
        for ((run = 0; run <= RUNS; run++)); do
            for variant in plain mapped; do
                path=/stream
                [[ $variant == mapped ]] && path=/stream-mapped
                out=$(curl -s --max-time 120 -o /dev/null -w '%{time_total} %{size_download} %{http_code}' \
                    "http://127.0.0.1:$port$path")
                read -r secs bytes code <<<"$out"
                ((run == 0)) && continue # warm-up
                if [[ $code != 200 || $bytes != "$EXPECTED_BYTES" ]]; then
                    note "$name" "mapped: $path returned status $code with $bytes bytes"
                    continue
                fi
                record "{\"workload\":\"mapped\",\"server\":\"$name\",\"variant\":\"$variant\",\"seconds\":$secs}"
            done
        done
        stop "$SERVER_PID"
    done
}

if [[ -n $ONLY ]]; then
    IFS=, read -r -a only_workloads <<<"$ONLY"
    for workload in "${only_workloads[@]}"; do
        case $workload in
            latency | fanout | broadcast | mapped) "workload_$workload" ;;
            small) workload_small small 2 ;;
            small1) WORKERS=1 workload_small small1 1 ;;
            cpu) workload_cpu cpu 2 ;;
            cpu1) WORKERS=1 workload_cpu cpu1 1 ;;
            *) echo "compare.sh: --only takes small, small1, cpu, cpu1, latency, fanout, broadcast and/or mapped" >&2; exit 2 ;;
        esac
    done
    python3 "$HERE/report.py" live "$RESULTS"
    python3 "$HERE/cpu_run.py" summary "$RESULTS"
    cat "$NOTES" >&2
    exit 0
fi

# ---------------------------------------------------------------- run and report

T0=$(date +%s)
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
log "the framing path alone: cargo bench --bench chunk_framing"
if ! (cd "$ROOT" && ILO_BENCH_LINES=$FRAMING_LINES cargo bench -q --bench chunk_framing) \
    >"$TMP/framing.txt" 2>"$TMP/framing.log"; then
    log "chunk_framing bench failed: $(tail -n 1 "$TMP/framing.log")"
    : >"$TMP/framing.txt"
fi
workload_stream
workload_latency
workload_small small 2
WORKERS=1 workload_small small1 1
workload_fanout
workload_slow
workload_broadcast
workload_mapped
ELAPSED=$(($(date +%s) - T0))
log "measured in ${ELAPSED}s; writing docs/benchmarks.{md,json,svg}"

python3 "$HERE/report.py" report \
    --results "$RESULTS" --notes "$NOTES" --docs "$ROOT/docs" --analysis "$HERE/analysis.md" \
    --framing "$TMP/framing.txt" \
    --meta quick="$QUICK" runs="$RUNS" ticks="$TICKS" wrk_seconds="$WRK_SECONDS" \
    fanout_conns="$FANOUT_CONNS" fanout_runs="$FANOUT_RUNS" lines="$LINES" \
    slow_conns="$SLOW_CONNS" slow_rate="$SLOW_RATE" slow_seconds="$SLOW_SECONDS" \
    elapsed_s="$ELAPSED" load_before="$LOAD_BEFORE" \
    nproc="$(nproc)" cpu="$(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)" \
    kernel="$(uname -r)" \
    nginx="$(nginx -v 2>&1 | sed 's#.*/##')" \
    node="$(node --version)" \
    wrk="$(wrk -v 2>&1 | head -n 1 | awk '{print $2}')" \
    curl="$(curl --version | head -n 1 | awk '{print $2}')" \
    ilo="$("$ILO" --version 2>&1 | head -n 1)" \
    fd_limit="$(ulimit -n)" fanout_target=10000
log "done"
