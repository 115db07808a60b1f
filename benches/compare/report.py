#!/usr/bin/env python3
"""Turns compare.sh's raw measurements into docs/benchmarks.{json,md,svg}.

compare.sh appends one JSON object per measured run to a results file; this script
groups them by workload and server, reduces each group to median, minimum and
maximum, judges the goals, and writes the three documents. It also parses wrk's
text output into such an object (`report.py parse-wrk SERVER < wrk-output`).

Standard library only, so the benchmark needs no pip installs.
"""

import argparse
import json
import re
import statistics
import sys
from html import escape
from pathlib import Path

ILO = ["ilo-jit", "ilo-aot"]
ORDER = ["ilo-jit", "ilo-aot", "nginx-lua", "node", "floor-line", "floor-gathered", "floor-small"]
LABEL = {
    "ilo-jit": "ilo httpd (JIT)",
    "ilo-aot": "ilo build (AOT)",
    "nginx-lua": "nginx + Lua",
    "node": "Node http",
    "floor-line": "per-line writev floor",
    "floor-gathered": "gathered writev",
    "floor-small": "small-response floor",
    "node-bcast": "Node http (fan-out script)",
    "floor-bcast": "broadcast send floor",
}
COLOUR = {
    "ilo-jit": "#1f5fa8",
    "ilo-aot": "#4a90d9",
    "nginx-lua": "#3a8a3a",
    "node": "#b8860b",
    "floor-line": "#888888",
    "floor-gathered": "#bbbbbb",
    "floor-small": "#999999",
}
GIB_KIB = 1024 * 1024


# ------------------------------------------------------------------ wrk output

def to_ms(value, unit):
    return float(value) * {"us": 1e-3, "ms": 1.0, "s": 1e3}[unit]


def parse_wrk(server, text, workload="small"):
    """The figures of one wrk run, as a results-file object."""
    rps = re.search(r"Requests/sec:\s+([\d.]+)", text)
    p99 = re.search(r"^\s+99%\s+([\d.]+)(us|ms|s)\s*$", text, re.M)
    total = re.search(r"(\d+) requests in", text)
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", text)
    sock = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
    return {
        "workload": workload,
        "server": server,
        "rps": float(rps.group(1)) if rps else 0.0,
        "p99_ms": to_ms(*p99.groups()) if p99 else None,
        "requests": int(total.group(1)) if total else 0,
        "non2xx": int(non2xx.group(1)) if non2xx else 0,
        "socket_errors": sum(int(g) for g in sock.groups()) if sock else 0,
    }


# ------------------------------------------------------------------ aggregation

def spread(values):
    values = [v for v in values if v is not None]
    if not values:
        return None
    return {"median": statistics.median(values), "min": min(values), "max": max(values),
            "runs": len(values)}


def aggregate(rows):
    by = {}
    for r in rows:
        by.setdefault(r["workload"], {}).setdefault(r["server"], []).append(r)
    out = {}
    for server, runs in by.get("stream", {}).items():
        out.setdefault("stream", {})[server] = {
            "seconds": spread([r["seconds"] for r in runs]),
            "lines_per_s": spread([r["lines"] / r["seconds"] for r in runs]),
        }
    for server, runs in by.get("latency", {}).items():
        out.setdefault("latency", {})[server] = {
            "p50_ms": spread([r["result"]["p50_ms"] for r in runs]),
            "p99_ms": spread([r["result"]["p99_ms"] for r in runs]),
            "max_ms": spread([r["result"]["max_ms"] for r in runs]),
            "lines_per_run": runs[0]["result"]["lines"],
        }
    for workload in ("small", "small1"):
        for server, runs in by.get(workload, {}).items():
            out.setdefault(workload, {})[server] = {
                "rps": spread([r["rps"] for r in runs]),
                "p99_ms": spread([r["p99_ms"] for r in runs]),
                "errors": sum(r["non2xx"] + r["socket_errors"] for r in runs),
            }
    for server, runs in by.get("fanout", {}).items():
        out.setdefault("fanout", {})[server] = {
            "rss_mib": spread([r["rss_kib"] / 1024 for r in runs]),
            "conns": runs[0]["result"]["conns"],
            "complete_min": min(r["result"]["complete"] for r in runs),
            "failed_max": max(r["result"]["failed"] for r in runs),
            "threads": spread([r.get("threads") for r in runs]),
        }
    for server, runs in by.get("slow", {}).items():
        out.setdefault("slow", {})[server] = {
            "rss_mib": spread([r["rss_kib"] / 1024 for r in runs]),
            "conns": runs[0]["result"]["conns"],
            "served_min": min(r["result"]["served"] for r in runs),
            "mbytes": spread([r["result"]["bytes"] / 1e6 for r in runs]),
        }
    for server, runs in by.get("broadcast", {}).items():
        # One group per subscriber count and number of client threads (1 for runs
        # from before the client had a choice).
        settings = {(r["result"]["conns"], r["result"].get("threads", 1)) for r in runs}
        for conns, threads in sorted(settings):
            rs = [r for r in runs
                  if (r["result"]["conns"], r["result"].get("threads", 1)) == (conns, threads)]
            (out.setdefault("broadcast", {}).setdefault(str(conns), {})
             .setdefault(str(threads), {}))[server] = {
                "rate": rs[0]["rate"],
                "p50_ms": spread([r["result"]["p50_ms"] for r in rs]),
                "p99_ms": spread([r["result"]["p99_ms"] for r in rs]),
                "max_ms": spread([r["result"]["max_ms"] for r in rs]),
                "socket_p99_ms": spread([r["result"]["socket_p99_ms"] for r in rs
                                         if "socket_p99_ms" in r["result"]]),
                "rss_mib": spread([r["rss_kib"] / 1024 for r in rs]),
                "complete": all(r["result"]["complete"] for r in rs),
                "lines_min": min(r["result"]["lines_min"] for r in rs),
                "lines_all": max(r["result"]["lines_all"] for r in rs),
                "cpu_us": spread([r["result"]["server_cpu_us"] for r in rs
                                  if "server_cpu_us" in r["result"]]),
                "client_cpu_us": spread([r["result"]["client_cpu_us"] for r in rs
                                         if "client_cpu_us" in r["result"]]),
            }
    for server, runs in by.get("mapped", {}).items():
        for variant in ("plain", "mapped"):
            secs = [r["seconds"] for r in runs if r["variant"] == variant]
            out.setdefault("mapped", {}).setdefault(server, {})[variant] = spread(secs)
    return out


SMALL_TITLES = {
    "small": "### 3. Small responses with keep-alive\n",
    "small1": "### 3b. Small responses, one worker each (`wrk -t1 -c50`)\n",
}


def small_sections(agg):
    """The small-response workloads (3 and 3b) that were run, as markdown lines."""
    out = []
    w = out.append
    for workload, title in SMALL_TITLES.items():
        if not agg.get(workload):
            continue
        w(title)
        w("| Server | requests/s | p99 ms | errors |")
        w("|---|---:|---:|---:|")
        for s in servers_in(agg, workload):
            r = agg[workload][s]
            w(f"| {LABEL[s]} | {fmt_spread(r['rps'])} | {fmt_spread(r['p99_ms'], '{:.2f}')} | "
              f"{r['errors']} |")
        w("")
    return out


def live_sections(agg, with_shared=True):
    """The latency, fan-out, broadcast and mapped workloads (2, 4, 6 and 7) that were
    run, as markdown lines. The full report has its own tables for 2 and 4, so it asks
    for 6 and 7 only (`with_shared=False`)."""
    out = []
    w = out.append
    if with_shared and agg.get("latency"):
        w("### 2. First-line latency through a proxy\n")
        w("| Server | p50 ms | p99 ms | max ms |")
        w("|---|---:|---:|---:|")
        for s, r in agg["latency"].items():
            w(f"| {LABEL.get(s, s)} | {fmt_spread(r['p50_ms'], '{:.2f}')} | "
              f"{fmt_spread(r['p99_ms'], '{:.2f}')} | {fmt_spread(r['max_ms'], '{:.2f}')} |")
        w("")
    if with_shared and agg.get("fanout"):
        w("### 4. Concurrent open proxied streams\n")
        w("| Server | streams | complete (min) | failed (max) | peak RSS MiB | threads |")
        w("|---|---:|---:|---:|---:|---:|")
        for s, r in agg["fanout"].items():
            w(f"| {LABEL.get(s, s)} | {r['conns']:,} | {r['complete_min']:,} | "
              f"{r['failed_max']:,} | {fmt_spread(r['rss_mib'], '{:.1f}')} | "
              f"{fmt_spread(r['threads'])} |")
        w("")
    if agg.get("broadcast"):
        w("### 6. Broadcast: one ticking upstream, every subscriber\n")
        w("Each server subscribes every client to one upstream that stamps each line with "
          "its production time (`bcast` in ilo, `benches/compare/node-broadcast.js` for "
          "Node, `bcast-floor` for the floor: one `send` per subscriber line and nothing "
          "else); `bench-tools` `bcast-client` holds the subscribers in edge-triggered epoll "
          "loops, one per client thread (*Client threads*; the connections are dealt to "
          "the threads in turn as they connect), each reading a reported socket once (a "
          "read that does not fill its buffer took everything there was) and, mid "
          "fan-out, letting its sockets gather for 100 µs after a wait that found only a "
          "few ready (so the server's `send` does not wake it every few sockets), and "
          "measures production-to-arrival over every "
          "line every subscriber received, at the moment the client read it and (*at the "
          "socket*) at the moment the line reached the subscriber's socket, as the kernel "
          "stamped it (`SO_TIMESTAMPNS`): the second leaves out how long the client, "
          "sharing the server's two cores, took to get to that socket, "
          "counting the lines produced once every subscriber had received its first. *Every line* means no "
          "subscriber missed one: each received the feed's lines in order without a gap "
          "(lines still in flight when the time ran out are late, not lost; in brackets, "
          "the fewest lines any subscriber had, of all the lines produced).\n")
        w("The server's CPU time per subscriber line (user and system, from "
          "`/proc/PID/stat` between the moment every subscriber had its first line and "
          "the end) says what a line costs the server; a busy machine disturbs it far "
          "less than the latencies. The client's own CPU per subscriber line, over the "
          "same window, is what it takes from the two cores the server runs on.\n")
        w("| Subscribers | Lines/s | Client threads | Server | p50 ms | p99 ms | max ms | "
          "every line | p99 at the socket ms | peak RSS MiB | server CPU µs/line | "
          "client CPU µs/line |")
        w("|---:|---:|---:|---|---:|---:|---:|---|---:|---:|---:|---:|")
        for conns in sorted(agg["broadcast"], key=int):
            for threads in sorted(agg["broadcast"][conns], key=int):
                for s, r in agg["broadcast"][conns][threads].items():
                    w(f"| {int(conns):,} | {r['rate']} | {threads} | {LABEL.get(s, s)} | "
                      f"{fmt_spread(r['p50_ms'], '{:.2f}')} | "
                      f"{fmt_spread(r['p99_ms'], '{:.2f}')} | "
                      f"{fmt_spread(r['max_ms'], '{:.2f}')} | "
                      f"{'yes' if r['complete'] else 'no'} "
                      f"({r['lines_min']}/{r['lines_all']}) | "
                      f"{fmt_spread(r['socket_p99_ms'], '{:.2f}')} | "
                      f"{fmt_spread(r['rss_mib'], '{:.1f}')} | "
                      f"{fmt_spread(r['cpu_us'], '{:.2f}')} | "
                      f"{fmt_spread(r['client_cpu_us'], '{:.2f}')} |")
        w("")
    if agg.get("mapped"):
        w("### 7. A mapped stream against the same stream unmapped\n")
        w("The 1,000,000-line file to curl as it is (`/stream`) and through "
          "`map (l:t>t;upr l)` (`/stream-mapped`), runs interleaved. Goal: within 1.5x.\n")
        w("| Server | unmapped s | mapped s | ratio |")
        w("|---|---:|---:|---:|")
        for s, r in agg["mapped"].items():
            plain, mapped = r.get("plain"), r.get("mapped")
            ratio = (f"{mapped['median'] / plain['median']:.2f}x" if plain and mapped
                     else "n/a")
            w(f"| {LABEL.get(s, s)} | {fmt_spread(plain, '{:.2f}')} | "
              f"{fmt_spread(mapped, '{:.2f}')} | {ratio} |")
        w("")
    return out


def med(agg, workload, server, key):
    try:
        return agg[workload][server][key]["median"]
    except (KeyError, TypeError):
        return None


def judge(agg, ilo, meta):
    """Each goal for one ilo server: met (True/False/None when unmeasured) and the figure."""
    goals = []
    lps = med(agg, "stream", ilo, "lines_per_s")
    node = med(agg, "stream", "node", "lines_per_s")
    secs = med(agg, "stream", ilo, "seconds")
    floor = med(agg, "stream", "floor-gathered", "seconds")
    if None in (lps, node, secs, floor):
        goals.append(("stream", "at least 4x Node and within 1.3x of the gathered-writev floor",
                      None, "not measured"))
    else:
        speed, gap = lps / node, secs / floor
        goals.append(("stream", "at least 4x Node and within 1.3x of the gathered-writev floor",
                      speed >= 4 and gap <= 1.3,
                      f"{speed:.2f}x Node's lines/s; {gap:.2f}x the gathered floor's time "
                      f"({secs:.3f} s vs {floor:.3f} s)"))
    p99 = med(agg, "latency", ilo, "p99_ms")
    goals.append(("latency", "p99 under 2 ms", None if p99 is None else p99 < 2,
                  "not measured" if p99 is None else
                  f"p99 {p99:.3f} ms (median of runs; worst run "
                  f"{agg['latency'][ilo]['p99_ms']['max']:.3f} ms)"))
    rps = med(agg, "small", ilo, "rps")
    ngx = med(agg, "small", "nginx-lua", "rps")
    goals.append(("small", "at least 1.2x nginx+lua's requests/s with the default workers",
                  None if None in (rps, ngx) else rps >= 1.2 * ngx,
                  "not measured" if None in (rps, ngx) else
                  f"{rps:,.0f} req/s vs nginx+lua {ngx:,.0f} ({rps / ngx:.2f}x)"))
    rps1 = med(agg, "small1", ilo, "rps")
    ngx1 = med(agg, "small1", "nginx-lua", "rps")
    goals.append(("small1", "at least 1.2x nginx+lua's requests/s with one worker each",
                  None if None in (rps1, ngx1) else rps1 >= 1.2 * ngx1,
                  "not measured" if None in (rps1, ngx1) else
                  f"{rps1:,.0f} req/s vs nginx+lua {ngx1:,.0f} ({rps1 / ngx1:.2f}x)"))
    fan = agg.get("fanout", {}).get(ilo)
    ngx_fan = agg.get("fanout", {}).get("nginx-lua")
    limit_threads = int(meta.get("nproc", 2)) + 4
    goal = (f"every client served, peak RSS at or below nginx+lua's, at most "
            f"{limit_threads} threads (workers + 4)")
    if fan is None:
        goals.append(("fanout", goal, None, "not measured"))
    else:
        rss = fan["rss_mib"]["max"]
        ngx_rss = ngx_fan["rss_mib"]["median"] if ngx_fan else None
        served = fan["complete_min"] == fan["conns"]
        threads = fan["threads"]["max"] if fan.get("threads") else None
        met = (served and ngx_rss is not None and rss <= ngx_rss
               and threads is not None and threads <= limit_threads)
        figure = (f"peak RSS {rss:.0f} MiB (worst run) vs nginx+lua "
                  f"{'–' if ngx_rss is None else f'{ngx_rss:.0f}'} MiB; "
                  f"{'–' if threads is None else f'{threads:.0f}'} threads at most; "
                  f"{fan['complete_min']:,} of {fan['conns']:,} clients served in the worst run")
        if fan["conns"] < int(meta.get("fanout_target", 10000)):
            why = "quick run" if meta.get("quick") == "1" else "descriptor limit"
            met = f"met at {fan['conns']:,} streams" if met else False
            figure = f"measured at {fan['conns']:,} streams only ({why}): " + figure
        goals.append(("fanout", goal, met, figure))
    return goals


# ------------------------------------------------------------------ markdown

def servers_in(agg, workload):
    return [s for s in ORDER if s in agg.get(workload, {})]


def fmt_spread(s, f="{:,.0f}"):
    if s is None:
        return "–"
    return f"{f.format(s['median'])} ({f.format(s['min'])} – {f.format(s['max'])})"


def verdict(met):
    if isinstance(met, str):
        return f"**{met}**"
    return {True: "**met**", False: "**missed**", None: "not measured"}[met]


def markdown(agg, notes, meta, analysis, framing):
    m = meta
    quick = m.get("quick") == "1"
    out = []
    w = out.append
    w("# Benchmarks: ilo httpd against nginx + Lua, Node and the syscall floors\n")
    w("Generated by `benches/compare.sh`" + (" **--quick** (a shorter run, not the reference "
      "figures)" if quick else "") + f" in {m['elapsed_s']} s of measuring. Re-run it to "
      "reproduce every figure below on your machine; it rewrites this file, "
      "`docs/benchmarks.json` and `docs/benchmarks.svg`.\n")
    w("## Machine\n")
    w(f"- CPU: {m['cpu']}, {m['nproc']} cores (`nproc`); load average before the run: "
      f"{m['load_before']}")
    w(f"- Linux {m['kernel']}; descriptor limit {m['fd_limit']}")
    w(f"- {m['ilo']}; nginx {m['nginx']} with the Debian Lua module; Node {m['node']}; "
      f"wrk {m['wrk']}; curl {m['curl']}")
    w("- Clients and servers share the same cores, as in the figures the goals were set "
      "against.\n")
    w("## Method\n")
    w(f"Every figure is the median of {m['runs']} runs, with the minimum and maximum in "
      "brackets (workload 4: "
      f"{m['fanout_runs']} run{'s' if m['fanout_runs'] != '1' else ''}). Each workload starts "
      "fresh server processes on 127.0.0.1, waits for their readiness line (nginx prints "
      "none, so it is probed), measures, and stops each by its process id. The servers:\n")
    w("- **ilo httpd (JIT)**: `ilo httpd --quiet handler.ilo` with the default workers "
      "(one per core); **ilo build (AOT)**: the same handler compiled with `ilo build`. The "
      "handler (`benches/compare/handler.ilo.in`) routes on the path and returns a record "
      "whose body is a lazy line source.")
    w("- **nginx + Lua**: `content_by_lua_block`, one `ngx.print` + `ngx.flush(true)` per "
      "line, one worker per core (`benches/compare/nginx.conf.in`).")
    w("- **Node http**: one process, `res.write` per line, pausing the source when a write "
      "returns false until `'drain'` (`benches/compare/node-server.js`).")
    w("- **per-line writev floor** / **gathered writev**: `floor-server` from `bench-tools`, "
      "a minimal thread-per-connection server doing one `writev` per line, or one per 64 "
      "lines. Workload 1 only.")
    w("- **small-response floor**: `small-floor` from `bench-tools`, one thread with one "
      "epoll set per worker answering every request head with the same bytes ilo sends, "
      "with no parsing and no allocation: the most any server can show in workload 3 on "
      "this machine. Workload 3 only.")
    w("- **broadcast send floor**: `bcast-floor` from `bench-tools`, the least a server "
      "can do in workload 6: the same upstream, response head and chunks as ilo, each line "
      "framed once and sent by one non-blocking `send` per subscriber from one thread per "
      "core, each holding its share of the sockets in a flat array. Workload 6 only.\n")
    w("Workloads:\n")
    w(f"1. **Stream**: `curl -s -o /dev/null` fetches a {int(m['lines']):,}-line file "
      "(66-byte lines) served as a chunked body, one chunk per line; every run's byte count "
      "is checked. One discarded warm-up request per server; all contenders run at once and take turns run by run, so a slow spell on the shared machine hits them all.")
    w(f"2. **Latency**: each server proxies a ticker that produces one line every 50 ms "
      f"({m['ticks']} lines per run), line by line (ilo: `get-stream`; Node: `http.get` and "
      "line splitting; nginx: `ngx.socket.tcp` reading lines with `receive(\"*l\")` from the "
      "ticker's close-delimited mode). Each line carries its production time; "
      "`latency-client` records production-to-arrival time, skipping the first two lines "
      "(connection set-up). p50 and p99 per run.")
    w(f"3. **Small responses**: `wrk -t2 -c50 -d{m['wrk_seconds']}s --latency` on a "
      "12-byte text response with keep-alive, after a 1 s warm-up; runs interleaved across servers as in workload 1. "
      "Then again (3b) with one worker each (`--workers 1`, `worker_processes 1`) under "
      "`wrk -t1 -c50`, so each server gets one core and the client the other.")
    conns = int(m["fanout_conns"])
    target = int(m.get("fanout_target", conns))
    w(f"4. **Open streams**: `fanout-client` opens {conns:,} concurrent streaming "
      "responses; each client reads its first line, waits until every client has one, then "
      "reads four more. Reported: the server's peak RSS (`VmHWM`, summed over nginx's "
      "processes) and whether every client got its five lines. To keep every response "
      "open, each server proxies a hold-open upstream (`hold-server`: five lines at once, "
      "then the response never ends), line by line as in workload 2 (ilo: `get-stream`; "
      "Node: `http.get`; nginx: `ngx.socket.tcp`), so a stream costs each server the same: "
      "a client socket, an upstream socket and whatever per-stream state it keeps. "
      "Threads: the most the server's processes had at once while the client ran "
      "(sampled every 0.2 s).")
    if m.get("quick") == "1":
        w(f"   (A quick run: {conns:,} streams, not 10,000.)")
    elif conns < target:
        w(f"   **{conns:,}, not {target:,} streams**: a proxied stream needs two descriptors in "
          f"the server, and this machine's hard descriptor limit is {m['fd_limit']} (it cannot "
          f"be raised here), so {target:,} streams would need more than the limit allows; "
          "every server was measured at the largest count that fits. ilo's other "
          "hold-open sources cost as much or more (`tail-file` holds a file, an inotify "
          "descriptor and an eventfd per stream); the shared `for-line \"stdin\"` costs none, "
          "but hands each line to one response only, so it cannot give every client its "
          "own five lines.")
    if m.get("slow_conns"):
        w(f"5. **Slow readers**: `slow-reader` opens {int(m['slow_conns']):,} connections "
          "to the 1,000,000-line stream of workload 1 and reads each at "
          f"{int(m['slow_rate']) // 1024} KiB/s for {m['slow_seconds']} s, far slower than "
          "any server produces it. Reported: the server's peak RSS, which shows how much of "
          "what the source produces the server holds for a client that cannot take it yet "
          "(the kernel's socket buffers are not part of it). One run per server.")
    w("")

    w("## Results\n")
    w("![Benchmark chart](benchmarks.svg)\n")
    w("### 1. Stream a 1,000,000-line file\n")
    w("| Server | lines/s | seconds |")
    w("|---|---:|---:|")
    for s in servers_in(agg, "stream"):
        r = agg["stream"][s]
        w(f"| {LABEL[s]} | {fmt_spread(r['lines_per_s'])} | "
          f"{fmt_spread(r['seconds'], '{:.3f}')} |")
    w("")
    w("### 2. First-line latency through a proxy\n")
    w("| Server | p50 ms | p99 ms | max ms |")
    w("|---|---:|---:|---:|")
    for s in servers_in(agg, "latency"):
        r = agg["latency"][s]
        w(f"| {LABEL[s]} | {fmt_spread(r['p50_ms'], '{:.3f}')} | "
          f"{fmt_spread(r['p99_ms'], '{:.3f}')} | {fmt_spread(r['max_ms'], '{:.3f}')} |")
    w("")
    out.extend(small_sections(agg))
    w(f"### 4. {int(m['fanout_conns']):,} concurrent open streams\n")
    w("| Server | peak RSS MiB | threads (most at once) | clients served (worst run) |")
    w("|---|---:|---:|---:|")
    for s in servers_in(agg, "fanout"):
        r = agg["fanout"][s]
        w(f"| {LABEL[s]} | {fmt_spread(r['rss_mib'])} | {fmt_spread(r.get('threads'))} | "
          f"{r['complete_min']:,} / {r['conns']:,} |")
    w("")
    if agg.get("slow"):
        w(f"### 5. {int(m['slow_conns']):,} slow readers of the 1,000,000-line stream\n")
        w("| Server | peak RSS MiB | MB read by all clients | clients served |")
        w("|---|---:|---:|---:|")
        for s in servers_in(agg, "slow"):
            r = agg["slow"][s]
            w(f"| {LABEL[s]} | {fmt_spread(r['rss_mib'])} | {fmt_spread(r['mbytes'], '{:.1f}')} | "
              f"{r['served_min']:,} / {r['conns']:,} |")
        w("")
    out.extend(live_sections(agg, with_shared=False))
    if framing:
        w("### The framing path alone\n")
        w("`cargo bench --bench chunk_framing` (`benches/chunk_framing.rs`): the server's "
          "framing code writing 66-byte lines into a socket pair drained by a reader thread, "
          "one `writev` per line against 64 lines per `writev`, and the body writer's own "
          "loop over a source whose lines are all ready. No HTTP client is involved, so this "
          "is the ceiling the streaming workload approaches.\n")
        w("```")
        w(framing.rstrip())
        w("```\n")
    if notes:
        w("### Notes from this run\n")
        for n in notes:
            w(f"- {LABEL.get(n['server'], n['server'])}: {n['note']}")
        w("")

    w("## Goals\n")
    for ilo in ILO:
        if not any(ilo in agg.get(k, {}) for k in ("stream", "latency", "small", "small1", "fanout", "slow")):
            w(f"{LABEL[ilo]}: not measured in this run.\n")
            continue
        w(f"{LABEL[ilo]}:\n")
        w("| Workload | Goal | Result | Measured |")
        w("|---|---|---|---|")
        for workload, goal, met, figure in judge(agg, ilo, m):
            w(f"| {workload} | {goal} | {verdict(met)} | {figure} |")
        w("")
    if analysis:
        w(analysis.rstrip() + "\n")
    return "\n".join(out)


# ------------------------------------------------------------------ chart

def ratio_mark(value, reference, name):
    return f"  ({value / reference:.2f}x {name})" if value and reference else ""


def chart(agg, meta):
    """One horizontal bar panel per workload, with the goals marked. ilo's bars
    carry the headline ratio (against Node for streaming, nginx+lua for small responses)."""
    width, left, right, bar_h, gap = 860, 190, 170, 18, 6
    panels = []
    node = med(agg, "stream", "node", "lines_per_s")
    floor = med(agg, "stream", "floor-gathered", "lines_per_s")
    ngx = med(agg, "small", "nginx-lua", "rps")
    stream_goals = []
    if node:
        stream_goals.append((node * 4 / 1e6, "4x Node"))
    if floor:
        stream_goals.append((floor / 1.3 / 1e6, "floor / 1.3"))
    panels.append((
        "1. Stream 1,000,000 lines: million lines/s (higher is better)",
        [(s, v / 1e6, ratio_mark(v, node, "Node") if s in ILO else "")
         for s in servers_in(agg, "stream")
         for v in [med(agg, "stream", s, "lines_per_s")]],
        stream_goals, "{:.2f}"))
    panels.append(("2. Proxied ticker: p99 production-to-arrival latency, ms (lower is better)",
                   [(s, med(agg, "latency", s, "p99_ms"), "") for s in servers_in(agg, "latency")],
                   [(2.0, "2 ms")], "{:.2f}"))
    panels.append((
        "3. Small responses, wrk -c50: thousand requests/s (higher is better)",
        [(s, v / 1e3, ratio_mark(v, ngx, "nginx+lua") if s in ILO else "")
         for s in servers_in(agg, "small") for v in [med(agg, "small", s, "rps")]],
        [(ngx / 1e3, "nginx+lua")] if ngx else [], "{:.1f}"))
    fan_rows = []
    for s in servers_in(agg, "fanout"):
        f = agg["fanout"][s]
        mark = "" if f["complete_min"] == f["conns"] else \
            f"  ({f['complete_min']:,}/{f['conns']:,} served)"
        fan_rows.append((s, med(agg, "fanout", s, "rss_mib"), mark))
    ngx_fan = med(agg, "fanout", "nginx-lua", "rss_mib")
    panels.append((f"4. {int(meta['fanout_conns']):,} open proxied streams: peak RSS, MiB "
                   "(lower is better)", fan_rows,
                   [(ngx_fan, "nginx+lua")] if ngx_fan else [], "{:.0f}"))
    if agg.get("slow"):
        panels.append((f"5. {int(meta['slow_conns']):,} slow readers (100 KB/s) of the stream: "
                       "peak RSS, MiB (lower is better)",
                       [(s, med(agg, "slow", s, "rss_mib"), "") for s in servers_in(agg, "slow")],
                       [], "{:.0f}"))

    parts, y = [], 44
    for title, rows, goals, fmt in panels:
        rows = [r for r in rows if r[1] is not None]
        parts.append(f'<text x="12" y="{y}" class="title">{escape(title)}</text>')
        y += 12
        top = y
        scale_max = max([r[1] for r in rows] + [g[0] for g in goals]) or 1.0
        plot_w = width - left - right
        for server, value, mark in rows:
            bw = max(1.0, plot_w * value / scale_max)
            parts.append(f'<text x="{left - 8}" y="{y + bar_h - 5}" text-anchor="end">'
                         f'{escape(LABEL[server])}</text>')
            parts.append(f'<rect x="{left}" y="{y}" width="{bw:.1f}" height="{bar_h}" '
                         f'fill="{COLOUR[server]}"/>')
            parts.append(f'<text x="{left + bw + 6:.1f}" y="{y + bar_h - 5}">'
                         f'{escape(fmt.format(value) + mark)}</text>')
            y += bar_h + gap
        for k, (value, label) in enumerate(goals):
            gx = left + plot_w * value / scale_max
            parts.append(f'<line x1="{gx:.1f}" y1="{top - 4}" x2="{gx:.1f}" y2="{y - 2}" '
                         'class="goal"/>')
            parts.append(f'<text x="{gx + 4:.1f}" y="{y + 10 + 12 * k}" class="goaltext">'
                         f'goal: {escape(label)}</text>')
        y += 34 + 12 * max(0, len(goals) - 1)
    height = y
    style = ("text{font-family:sans-serif;font-size:12px;fill:#222}"
             ".title{font-size:13px;font-weight:bold}"
             ".goal{stroke:#c0392b;stroke-width:1.5;stroke-dasharray:4 3}"
             ".goaltext{fill:#c0392b;font-size:11px}")
    head = (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
            f'viewBox="0 0 {width} {height}">\n<style>{style}</style>\n'
            f'<rect width="100%" height="100%" fill="white"/>\n'
            f'<text x="12" y="22" class="title">ilo httpd against nginx + Lua, Node and the '
            f'syscall floors: {escape(meta["cpu"])}, {meta["nproc"]} cores, median of runs'
            f'</text>\n')
    return head + "\n".join(parts) + "\n</svg>\n"


# ------------------------------------------------------------------ entry

def report(args):
    rows = [json.loads(l) for l in Path(args.results).read_text().splitlines() if l.strip()]
    notes = [json.loads(l) for l in Path(args.notes).read_text().splitlines() if l.strip()]
    meta = dict(kv.split("=", 1) for kv in args.meta)
    analysis = Path(args.analysis).read_text() if Path(args.analysis).is_file() else ""
    framing = Path(args.framing).read_text() if args.framing and Path(args.framing).is_file() \
        else ""
    agg = aggregate(rows)
    docs = Path(args.docs)
    docs.mkdir(parents=True, exist_ok=True)
    goals = {ilo: [{"workload": wl, "goal": g, "met": met, "measured": fig}
                   for wl, g, met, fig in judge(agg, ilo, meta)]
             for ilo in ILO if any(ilo in agg.get(k, {}) for k in agg)}
    (docs / "benchmarks.json").write_text(json.dumps(
        {"meta": meta, "results": agg, "goals": goals, "notes": notes, "runs": rows,
         "framing_bench": framing.splitlines()},
        indent=1) + "\n")
    (docs / "benchmarks.md").write_text(markdown(agg, notes, meta, analysis, framing))
    (docs / "benchmarks.svg").write_text(chart(agg, meta))


def main():
    if len(sys.argv) >= 3 and sys.argv[1] == "parse-wrk":
        workload = sys.argv[3] if len(sys.argv) >= 4 else "small"
        print(json.dumps(parse_wrk(sys.argv[2], sys.stdin.read(), workload)))
        return
    if len(sys.argv) >= 3 and sys.argv[1] == "live":
        # The sections an --only run measured.
        rows = [json.loads(l) for l in Path(sys.argv[2]).read_text().splitlines() if l.strip()]
        agg = aggregate(rows)
        print("\n".join(small_sections(agg) + live_sections(agg)))
        return
    p = argparse.ArgumentParser()
    p.add_argument("command", choices=["report"])
    p.add_argument("--results", required=True)
    p.add_argument("--notes", required=True)
    p.add_argument("--docs", required=True)
    p.add_argument("--analysis", default="")
    p.add_argument("--framing", default="")
    p.add_argument("--meta", nargs="*", default=[])
    report(p.parse_args())


if __name__ == "__main__":
    main()
