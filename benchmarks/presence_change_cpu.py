#!/usr/bin/env python3
"""Server CPU time per presence change at N members, user and system apart.

Starts `holdfast serve --event-loops 1` on CPU 0 with a fresh state directory and runs `holdfast-bench
presence-burst` on CPU 1: N members join one room (permessage-deflate), then a probe user rejoins PROBES times, one
second apart; each rejoin is one presence change (a `presence_diff` to every member, the whole state to the probe).
Every 20 ms it reads the server's utime and stime (fields 14 and 15 of /proc/PID/stat) and the number of open fds
of the bench's parent process, whose probe socket is its one extra fd while the probes run: that marks the window.
The server's idle rate (heartbeats, the idle sweep) is read after the window and subtracted, scaled to its length.

Usage: benchmarks/presence_change_cpu.py [--build .build/release] [--members 19000] [--probes 20] [--port 24311]
"""

import argparse
import os
import secrets
import subprocess
import tempfile
import time


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--build", default=".build/release", help="directory with holdfast and holdfast-bench")
    parser.add_argument("--members", type=int, default=19000)
    parser.add_argument("--probes", type=int, default=20)
    parser.add_argument("--port", type=int, default=24311)
    args = parser.parse_args()

    key = secrets.token_hex(32)
    state = tempfile.mkdtemp(prefix="holdfast-presence-cpu-")
    env = dict(os.environ, HOLDFAST_STATE_DIR=state, HOLDFAST_LISTEN=f"127.0.0.1:{args.port}",
               HOLDFAST_SECRET_KEY=key, HOLDFAST_MAX_CONNECTIONS=str(args.members + 100))
    server = subprocess.Popen(["taskset", "-c", "0", f"{args.build}/holdfast", "serve", "--event-loops", "1"],
                              env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(2)
    bench = subprocess.Popen(
        ["taskset", "-c", "1", f"{args.build}/holdfast-bench", "presence-burst",
         "--url", f"ws://127.0.0.1:{args.port}/socket/websocket", "--secret", key,
         "--connections", str(args.members), "--processes", "2" if args.members > 10000 else "1",
         "--join-concurrency", "10000", "--deflate", "--probes", str(args.probes), "--probe-interval", "1",
         "--hold", str(args.probes + 6), "--server-pid", str(server.pid)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    samples = []  # (time, utime ticks, stime ticks, bench parent's fds)
    try:
        while bench.poll() is None:
            with open(f"/proc/{server.pid}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
            samples.append((time.monotonic(), int(fields[11]), int(fields[12]), len(os.listdir(f"/proc/{bench.pid}/fd"))))
            time.sleep(0.02)
    except (FileNotFoundError, ProcessLookupError):
        pass
    finally:
        report = bench.stdout.read()
        server.kill()
        server.wait()
    print(report.rstrip())

    # The window: the longest stretch of one fd count above the counts on both sides of it (the probe socket).
    runs = []  # (first index, last index, fds)
    for index, sample in enumerate(samples):
        if runs and runs[-1][2] == sample[3]:
            runs[-1] = (runs[-1][0], index, sample[3])
        else:
            runs.append((index, index, sample[3]))
    raised = [runs[k] for k in range(1, len(runs) - 1) if runs[k - 1][2] < runs[k][2] > runs[k + 1][2]]
    if not raised:
        raise SystemExit("no probe window seen (did the bench finish its joins?)")
    start, end, fds = max(raised, key=lambda run: samples[run[1]][0] - samples[run[0]][0])
    first, last = samples[start], samples[end]
    usual = samples[end + 1][3]
    idle = [sample for sample in samples[end + 1:] if sample[0] > last[0] + 1.5 and sample[3] == usual]
    idle_user = idle_system = 0.0
    if len(idle) > 2:
        span = idle[-1][0] - idle[0][0]
        idle_user, idle_system = (idle[-1][1] - idle[0][1]) / span, (idle[-1][2] - idle[0][2]) / span
    length = last[0] - first[0]
    tick = os.sysconf("SC_CLK_TCK")
    user = ((last[1] - first[1]) - idle_user * length) / tick / args.probes * 1000
    system = ((last[2] - first[2]) - idle_system * length) / tick / args.probes * 1000
    with open("/proc/loadavg") as loadavg:
        load = " ".join(loadavg.read().split()[:3])
    print(f"presence change at {args.members} members: server CPU {user + system:.1f} ms per change "
          f"(user {user:.1f}, system {system:.1f}); window {length:.1f} s for {args.probes} probes, idle rate "
          f"{idle_user:.1f} + {idle_system:.1f} ticks/s subtracted; load average {load}")


if __name__ == "__main__":
    main()
