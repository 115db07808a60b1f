#!/usr/bin/env python3
"""CPU accounting for the small-response workloads (compare.sh --only=cpu,cpu1).

Requests per second on two shared cores say little about who spent the time: on
loopback the receiver's TCP work runs inside the sender's system call, and `wrk`
competes with the server for the same cores. This script measures, over one fixed
`wrk` run, what each side spent per request:

    cpu_run.py measure SERVER WORKLOAD SERVER_PID -- wrk ARGS...
        runs wrk, prints one JSON object: requests, the server's CPU (utime + stime of
        the process and its child processes, every thread, from /proc), wrk's CPU
        (its rusage), how often each side blocked (voluntary context switches), and
        the machine's idle and steal time over the run
    cpu_run.py summary RESULTS
        the medians per server and workload, and the rate no server could beat given
        wrk's own cost per request

CPU time per request does not depend on how loaded the machine is the way requests
per second do, so figures from a busy machine still compare. Standard library only.
"""

import json
import os
import re
import statistics
import subprocess
import sys
import time

TICK = os.sysconf("SC_CLK_TCK")
ORDER = ["ilo-jit", "ilo-aot", "nginx-lua", "floor-small", "floor-uring"]


def process_tree(pid):
    """The process and its descendants (nginx's workers), by their ids."""
    found, todo = [], [pid]
    while todo:
        p = todo.pop()
        found.append(p)
        try:
            tasks = os.listdir(f"/proc/{p}/task")
        except OSError:
            continue
        for t in tasks:
            try:
                with open(f"/proc/{p}/task/{t}/children") as f:
                    todo.extend(int(c) for c in f.read().split())
            except OSError:
                pass
    return found


def cpu_seconds(pids):
    """(utime, stime) of the processes (each counts its threads, live and exited)."""
    user = system = 0
    for p in pids:
        try:
            with open(f"/proc/{p}/stat") as f:
                # Fields after the command name, which may hold spaces.
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        user += int(fields[11])
        system += int(fields[12])
    return user / TICK, system / TICK


def sleeps(pids):
    """Voluntary context switches (times a thread blocked) of the processes' live
    threads: how often the server ran out of work and had to be woken."""
    total = 0
    for p in pids:
        try:
            tasks = os.listdir(f"/proc/{p}/task")
        except OSError:
            continue
        for t in tasks:
            try:
                with open(f"/proc/{p}/task/{t}/status") as f:
                    for line in f:
                        if line.startswith("voluntary_ctxt_switches:"):
                            total += int(line.split()[1])
            except OSError:
                pass
    return total


def machine_ticks():
    """(total, idle, steal) ticks of all cores, from /proc/stat."""
    with open("/proc/stat") as f:
        cpu = [int(x) for x in f.readline().split()[1:]]
    idle = cpu[3] + cpu[4]
    steal = cpu[7] if len(cpu) > 7 else 0
    return sum(cpu[:8]), idle, steal


def measure(server, workload, pid, cmd):
    pids = process_tree(pid)
    server_before = cpu_seconds(pids)
    sleeps_before = sleeps(pids)
    machine_before = machine_ticks()
    started = time.monotonic()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    out = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.monotonic() - started
    server_after = cpu_seconds(pids)
    server_user = server_after[0] - server_before[0]
    server_cpu = server_user + server_after[1] - server_before[1]
    server_sleeps = sleeps(pids) - sleeps_before
    machine_after = machine_ticks()
    if status != 0:
        sys.exit(f"cpu_run.py: wrk failed ({status}): {out[-200:]}")
    total = re.search(r"(\d+) requests in", out)
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    span = max(machine_after[0] - machine_before[0], 1)
    print(json.dumps({
        "workload": workload,
        "server": server,
        "requests": int(total.group(1)) if total else 0,
        "seconds": elapsed,
        "server_cpu_s": server_cpu,
        "server_user_s": server_user,
        "wrk_cpu_s": usage.ru_utime + usage.ru_stime,
        "wrk_user_s": usage.ru_utime,
        "server_sleeps": server_sleeps,
        "wrk_sleeps": usage.ru_nvcsw,
        "idle": (machine_after[1] - machine_before[1]) / span,
        "steal": (machine_after[2] - machine_before[2]) / span,
        "errors": (sum(int(g) for g in errors.groups()) if errors else 0)
        + (int(non2xx.group(1)) if non2xx else 0),
    }))


def summary(path):
    rows = [json.loads(line) for line in open(path) if line.strip()]
    rows = [r for r in rows if r.get("workload") in ("cpu", "cpu1") and r.get("requests")]
    cores = os.cpu_count() or 2
    for workload, title in (("cpu", f"wrk -t2 -c50, two workers, {cores} cores shared"),
                            ("cpu1", "wrk -t1 -c50, one worker")):
        group = [r for r in rows if r["workload"] == workload]
        if not group:
            continue
        print(f"\n{title}: medians of {len(group) // len({r['server'] for r in group})} runs")
        print("| server | requests/s | server µs/req | server user µs/req | wrk µs/req "
              "| wrk user µs/req | sum µs/req | server sleeps/req | wrk sleeps/req | idle "
              "| bound req/s |")
        print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
        med = {}
        for server in [s for s in ORDER if any(r["server"] == s for r in group)]:
            runs = [r for r in group if r["server"] == server]
            m = {
                "rps": statistics.median(r["requests"] / r["seconds"] for r in runs),
                "srv": statistics.median(1e6 * r["server_cpu_s"] / r["requests"] for r in runs),
                "wrk": statistics.median(1e6 * r["wrk_cpu_s"] / r["requests"] for r in runs),
                "wrku": statistics.median(1e6 * r["wrk_user_s"] / r["requests"] for r in runs),
                "srvu": statistics.median(1e6 * r.get("server_user_s", 0) / r["requests"]
                                          for r in runs),
                "idle": statistics.median(r["idle"] for r in runs),
                "steal": statistics.median(r["steal"] for r in runs),
                "ssl": statistics.median(r.get("server_sleeps", 0) / r["requests"] for r in runs),
                "wsl": statistics.median(r.get("wrk_sleeps", 0) / r["requests"] for r in runs),
            }
            # Two cores shared by both sides: every request costs both sides' CPU.
            # One worker: each side is one thread, so the slower side is the limit.
            if workload == "cpu":
                m["bound"] = cores * 1e6 / (m["srv"] + m["wrk"])
            else:
                m["bound"] = 1e6 / max(m["srv"], m["wrk"])
            med[server] = m
            print(f"| {server} | {m['rps']:,.0f} | {m['srv']:.2f} | {m['srvu']:.2f} | {m['wrk']:.2f} | "
                  f"{m['wrku']:.2f} | {m['srv'] + m['wrk']:.2f} | {m['ssl']:.3f} | "
                  f"{m['wsl']:.3f} | {m['idle']:.0%} | {m['bound']:,.0f} |")
        if "nginx-lua" in med:
            # Ratios of CPU-bound rates, so a busy machine (idle near 0 %) still shows
            # what an idle one would allow.
            ngx = med["nginx-lua"]
            cheapest_wrk = min(m["wrk"] for m in med.values())
            free = (cores if workload == "cpu" else 1) * 1e6 / cheapest_wrk
            print(f"\nBounds against nginx+Lua's ({ngx['bound']:,.0f}): "
                  + ", ".join(f"{s} {m['bound'] / ngx['bound']:.2f}x" for s, m in med.items()
                              if s != "nginx-lua")
                  + f"; a server costing nothing, held only by wrk's cheapest cost "
                  f"({cheapest_wrk:.2f} µs), {free / ngx['bound']:.2f}x.")
            if workload == "cpu":
                need = cores * 1e6 / (1.2 * ngx["bound"]) - cheapest_wrk
                print(f"1.2x nginx+Lua's bound needs a server at {need:.2f} µs per request "
                      "or less (at that wrk cost).")

def main():
    if len(sys.argv) >= 6 and sys.argv[1] == "measure" and sys.argv[5] == "--":
        measure(sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[6:])
    elif len(sys.argv) == 3 and sys.argv[1] == "summary":
        summary(sys.argv[2])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
