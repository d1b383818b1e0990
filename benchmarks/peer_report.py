#!/usr/bin/env python3
"""Tables for benchmarks/compare-peers.sh: per scenario and size, each server's medians over the rounds and the
ratio Holdfast/peer for each peer that ran (Hummingbird, uWebSockets), then the targets (reported, not asserted).

    python3 benchmarks/peer_report.py RUNS_TSV DURATION ECHO_SIZE BODY RAW_SIZE BROADCAST_LOAD [CONCURRENCY]

RUNS_TSV has one line per run: scenario, server, connections, round, exit code, JSON report path. A run counts as
failed when it exited non-zero, wrote no report, or its report shows an error or a missing delivery; failed runs
with a report still enter the medians (the failed column says how many there were). The TLS handshake runs name
Holdfast with its TLS listener `holdfast-tls` (the Holdfast row of that table) and nginx in front of the
uWebSockets peer `nginx-uws`.
"""

import json
import statistics
import sys

LABELS = {"holdfast": "Holdfast", "hummingbird": "Hummingbird", "uws": "uWebSockets",
          "nginx-uws": "nginx TLS + uWebSockets"}
ERROR_KEYS = {
    "echo": ("connectFailures", "unexpectedCloses", "protocolViolations", "badEchoes"),
    "idle": ("connectFailures", "unexpectedCloses", "protocolViolations"),
    "handshakes": ("connectFailures", "unexpectedCloses", "protocolViolations"),
    "tls": ("connectFailures", "unexpectedCloses", "protocolViolations"),
    "broadcast": ("connectFailures", "joinFailures", "unexpectedCloses", "protocolViolations", "errorReplies",
                  "badFrames"),
}


def load(runs_path):
    """(scenario, server, connections) -> reports, the failed count per key, the sizes per scenario in order, and
    the servers in the order they ran (Holdfast first)."""
    reports, failed, order, servers = {}, {}, {}, ["holdfast"]
    with open(runs_path) as runs:
        for line in runs:
            scenario, name, connections, _round, rc, path = line.rstrip("\n").split("\t")
            if name == "holdfast-tls":
                name = "holdfast"
            if name not in servers:
                servers.append(name)
            key = (scenario, name, int(connections))
            sizes = order.setdefault(scenario, [])
            if int(connections) not in sizes:
                sizes.append(int(connections))
            reports.setdefault(key, [])
            failed.setdefault(key, 0)
            try:
                with open(path) as f:
                    report = json.load(f)
            except (OSError, ValueError):
                failed[key] += 1
                continue
            errors = report.get("errors", {})
            if int(rc) != 0 or any(errors.get(k) for k in ERROR_KEYS[scenario]) or report.get("missingDeliveries"):
                failed[key] += 1
            reports[key].append(report)
    return reports, failed, order, servers


def cpu_share(report):
    """Server CPU seconds over the window's length: 1.0 means the server's one core was busy all the time."""
    cpu = report.get("serverCPUSeconds")
    return None if cpu is None else cpu / report["durationSeconds"]


def per_own_delivery(report, field):
    """A CPU part (user or system seconds) per delivery the server counted itself, in µs."""
    value, own = report.get(field), report.get("serverDeliveries")
    return None if value is None or not own else value * 1e6 / own


# Columns: header, value of one report, format, and whether the Holdfast/peer ratio means anything.
ECHO = [
    ("msgs/s", lambda r: r["messagesPerSecondOverall"], "{:,.0f}", True),
    ("p50 µs", lambda r: r["latencyMicroseconds"]["p50"], "{:,.0f}", True),
    ("p99 µs", lambda r: r["latencyMicroseconds"]["p99"], "{:,.0f}", True),
    ("CPU µs/echo", lambda r: r.get("serverCPUMicrosecondsPerEcho"), "{:.2f}", True),
    ("server CPU", cpu_share, "{:.0%}", False),
]
BROADCAST = [
    ("deliveries/s", lambda r: r["deliveriesPerSecondOverall"], "{:,.0f}", True),
    ("msgs/s", lambda r: r["deliveriesPerSecondOverall"] / max(1, r["subscribersJoined"]), "{:,.0f}", True),
    ("fan-out p50 ms", lambda r: r["fanoutLatencyMicroseconds"]["p50"] / 1000, "{:,.1f}", True),
    ("fan-out p99 ms", lambda r: r["fanoutLatencyMicroseconds"]["p99"] / 1000, "{:,.1f}", True),
    ("missing", lambda r: r["missingDeliveries"], "{:,.0f}", False),
    ("CPU µs/delivery", lambda r: r.get("serverCPUMicrosecondsPerDelivery"), "{:.2f}", True),
    # Divided by the deliveries the server counted itself in the window, not those its clients received in it.
    ("CPU µs/own delivery", lambda r: r.get("serverCPUMicrosecondsPerServerDelivery"), "{:.3f}", True),
    ("user µs/own", lambda r: per_own_delivery(r, "serverUserSeconds"), "{:.3f}", True),
    # From before the first message to the last delivery of the drain: no window edge for a backlog to cross.
    ("CPU µs/delivery, whole run", lambda r: r.get("serverCPUMicrosecondsPerDeliveryWholeRun"), "{:.3f}", True),
    ("deliveries/write", lambda r: r.get("serverDeliveriesPerWrite"), "{:.1f}", True),
    ("server CPU", cpu_share, "{:.0%}", False),
    ("stalled s", lambda r: r.get("stalledSeconds"), "{:.0f}", False),
]
HANDSHAKES = [
    ("handshakes/s", lambda r: r["handshakesPerSecond"], "{:,.0f}", True),
    ("CPU µs/handshake", lambda r: r.get("serverCPUMicrosecondsPerHandshake"), "{:.1f}", True),
]
IDLE = [
    ("KiB/conn", lambda r: r["kibPerConnection"], "{:.2f}", True),
    ("RSS before KiB", lambda r: r["serverRSSBeforeKiB"], "{:,.0f}", True),
    ("RSS after KiB", lambda r: r["serverRSSAfterKiB"], "{:,.0f}", True),
    ("handshakes/s", lambda r: r["handshakesPerSecond"], "{:,.0f}", True),
    ("CPU µs/conn", lambda r: r.get("serverCPUMicrosecondsPerConnection"), "{:.1f}", True),
]


class Report:
    def __init__(self, runs_path):
        self.reports, self.failed, self.order, self.servers = load(runs_path)
        self.peers = [name for name in self.servers if name != "holdfast"]

    def median(self, scenario, name, connections, pick):
        values = [v for v in (pick(r) for r in self.reports.get((scenario, name, connections), [])) if v is not None]
        return statistics.median(values) if values else None

    def ratio(self, scenario, connections, pick, peer_name):
        holdfast = self.median(scenario, "holdfast", connections, pick)
        peer = self.median(scenario, peer_name, connections, pick)
        return None if holdfast is None or not peer else holdfast / peer

    def open_loop(self, scenario):
        """Whether the scenario's runs sent at a fixed rate (then throughput is the offered rate, not a capacity)."""
        return any(r.get("offeredRate") for (s, _, _), runs in self.reports.items() if s == scenario for r in runs)

    def table(self, scenario, title, metrics):
        if scenario not in self.order:
            return
        header = ["connections", "server", "runs", "failed"] + [m[0] for m in metrics]
        rows = []
        ran = [name for name in self.servers if any((scenario, name, c) in self.reports for c in self.order[scenario])]
        for connections in self.order[scenario]:
            for name in ran:
                label = LABELS.get(name, name)
                key = (scenario, name, connections)
                values = [self.median(scenario, name, connections, m[1]) for m in metrics]
                rows.append([f"{connections:,}", label, str(len(self.reports.get(key, []))),
                             str(self.failed.get(key, 0))]
                            + ["-" if v is None else m[2].format(v) for v, m in zip(values, metrics)])
            for peer in (name for name in ran if name != "holdfast"):
                ratios = [self.ratio(scenario, connections, m[1], peer) if m[3] else None for m in metrics]
                rows.append([f"{connections:,}", f"Holdfast/{LABELS.get(peer, peer)}", "", ""]
                            + ["-" if r is None else f"{r:.2f}x" for r in ratios])
        print()
        print(title)
        show_rows(header, rows)

    def targets(self):
        """Against Hummingbird: throughput ratios of at least 2, memory per idle connection at most a third.
        Against uWebSockets: server CPU per delivery, per echo and per connection at most 1.0x, memory per idle
        connection too."""
        rows = []
        if "hummingbird" in self.peers:
            for scenario, label, pick in (
                    ("echo", "echo msgs/s", ECHO[0][1]), ("broadcast", "broadcast deliveries/s", BROADCAST[0][1])):
                if self.open_loop(scenario):
                    continue  # both servers deliver what is offered: the ratio says nothing about throughput
                for connections in self.order.get(scenario, []):
                    r = self.ratio(scenario, connections, pick, "hummingbird")
                    rows.append([f"{label}, {connections:,}", "Holdfast/Hummingbird >= 2.00x",
                                 "-" if r is None else f"{r:.2f}x", verdict(r, lambda x: x >= 2)])
            for connections in self.order.get("idle", []):
                r = self.ratio("idle", connections, IDLE[0][1], "hummingbird")
                rows.append([f"KiB per idle connection, {connections:,}", "Holdfast/Hummingbird <= 0.33x",
                             "-" if r is None else f"{r:.3f}x", verdict(r, lambda x: x <= 1 / 3)])
        if "uws" in self.peers:
            for scenario, label, pick in (
                    ("echo", "CPU µs per echo", ECHO[3][1]), ("broadcast", "CPU µs per delivery", BROADCAST[5][1]),
                    ("broadcast", "CPU µs per delivery the server made", BROADCAST[6][1]),
                    ("broadcast", "CPU µs per delivery, whole run", BROADCAST[8][1]),
                    ("idle", "KiB per idle connection", IDLE[0][1]),
                    ("idle", "CPU µs per connection opened, held 5 s and closed", IDLE[4][1]),
                    ("handshakes", "CPU µs per handshake", HANDSHAKES[1][1])):
                for connections in self.order.get(scenario, []):
                    r = self.ratio(scenario, connections, pick, "uws")
                    rows.append([f"{label}, {connections:,}", "Holdfast/uWebSockets <= 1.00x",
                                 "-" if r is None else f"{r:.2f}x", verdict(r, lambda x: x <= 1)])
        if "nginx-uws" in self.peers:
            for connections in self.order.get("tls", []):
                r = self.ratio("tls", connections, HANDSHAKES[1][1], "nginx-uws")
                rows.append([f"CPU µs per TLS handshake, {connections:,}", "Holdfast/(nginx + uWebSockets), reported",
                             "-" if r is None else f"{r:.2f}x", verdict(r, lambda x: x <= 1)])
        if rows:
            print()
            print("Targets (reported, not asserted)")
            show_rows(["what", "target", "ratio", "met"], rows)


    def broadcast_rounds(self):
        """Each broadcast round's CPU per delivery, both ways of dividing: a peer whose cost changes from round to
        round (its batching depends on how its clients' messages fall into its loop's turns) shows it here."""
        lines = []
        for (scenario, name, connections), runs in self.reports.items():
            if scenario != "broadcast":
                continue
            cells = []
            for r in runs:
                own, written = r.get("serverCPUMicrosecondsPerServerDelivery"), r.get("serverDeliveriesPerWrite")
                whole = r.get("serverCPUMicrosecondsPerDeliveryWholeRun")
                cells.append(f"{r.get('serverCPUMicrosecondsPerDelivery') or 0:.3f}"
                             + ("" if own is None else f"/{own:.3f}") + ("" if whole is None else f"/{whole:.3f}")
                             + ("" if written is None else f" ({written:.1f})")
                             + f" [{(r.get('kernelNetworkInWindow') or {}).get('receiveCollapsed', '?')}]")
            lines.append(f"  {LABELS.get(name, name)}, {connections:,}: " + ", ".join(cells))
        if lines:
            print("\nBroadcast rounds: CPU µs per delivery received in the window / per delivery the server made in "
                  "it / per delivery over the whole run (deliveries per write) [packets the kernel collapsed in "
                  "receive queues in the window]")
            print("\n".join(lines))

    def stalls(self):
        """Broadcast rounds with whole seconds of (almost) nothing delivered, and what the kernel lost meanwhile: a
        stall with backlog drops or retransmission timeouts in its window is TCP waiting out a timeout on loopback,
        not the server or the client working."""
        lines = []
        for (scenario, name, connections), runs in self.reports.items():
            for number, r in enumerate(runs, 1):
                if scenario != "broadcast" or not r.get("stalledSeconds"):
                    continue
                net = r.get("kernelNetworkInWindow") or {}
                lines.append(
                    f"  {LABELS.get(name, name)}, {connections:,}, round {number}: {r['stalledSeconds']} s stalled "
                    f"(per second: {', '.join(f'{v:,}' for v in r.get('perSecond', []))}); in the window "
                    f"{net.get('backlogDrops', '?')} backlog drops, {net.get('retransmissionTimeouts', '?')} "
                    f"retransmission timeouts, {net.get('synRetransmits', '?')} SYN retransmits; CPU s used / "
                    f"waited for: server {seconds(r.get('serverCPUSeconds'))} / "
                    f"{seconds(r.get('serverRunQueueWaitSeconds'))}, client {seconds(r.get('clientCPUSeconds'))} / "
                    f"{seconds(r.get('clientRunQueueWaitSeconds'))}")
        if lines:
            print("\nStalled broadcast rounds (seconds under a tenth of the round's median); their medians above "
                  "include them")
            print("\n".join(lines))


def seconds(value):
    return "?" if value is None else f"{value:.2f}"


def verdict(ratio, test):
    return "-" if ratio is None else ("yes" if test(ratio) else "NO")


def show_rows(header, rows):
    widths = [max(len(row[i]) for row in [header] + rows) for i in range(len(header))]

    def show(row):
        print("  ".join(cell.ljust(w) if i < 2 else cell.rjust(w) for i, (cell, w) in enumerate(zip(row, widths))))

    show(header)
    previous = None
    for row in rows:
        if previous is not None and row[0] != previous and len(header) > 4:
            print()
        previous = row[0]
        show(row)


def main():
    runs_path, duration, echo_size, body, raw_size, broadcast_load = sys.argv[1:7]
    concurrency = sys.argv[7] if len(sys.argv) > 7 else "64"
    report = Report(runs_path)
    report.table(
        "echo",
        f"Echo, {echo_size}-byte binary messages, closed loop, {duration} s per run; medians over rounds "
        "(msgs/s = echoes in the window / its length; CPU µs/echo = server CPU time per echo; server CPU = its "
        "CPU time / the window, 100% = its core)",
        ECHO)
    report.table(
        "broadcast",
        f"Broadcast, {broadcast_load}, {duration} s per run; medians over rounds. Holdfast: a Phoenix room, "
        f"{body}-byte bodies, every message committed to SQLite before fan-out; peers: a raw relay of "
        f"{raw_size}-byte messages (the size of Holdfast's new_msg frame). deliveries/s counts subscribers only; "
        "msgs/s = deliveries/s / subscribers; missing = deliveries of acknowledged messages that never arrived; "
        "CPU µs/delivery = server CPU in the window / deliveries its subscribers received in it; CPU µs/own delivery "
        "= the same CPU / the deliveries the server counted itself in the window (publishers' copies included); "
        "whole run = server CPU from before the first message to the drain's last delivery / every subscriber "
        "delivery; "
        "deliveries/write = those / its socket writes in the window (COUNT_SYSCALLS=1)",
        BROADCAST)
    report.broadcast_rounds()
    report.table(
        "idle",
        "Idle connections, held 5 s; medians over rounds (KiB/conn = server RSS growth / connections opened; "
        "CPU µs/conn = server CPU time over the run, handshake, hold and close, / connections opened)",
        IDLE)
    report.table(
        "handshakes",
        f"WebSocket handshakes, each connection closed once its 101 arrives, {concurrency} in progress; medians over "
        "rounds (CPU µs/handshake = server CPU time over the run / handshakes: accept, upgrade and close)",
        HANDSHAKES)
    report.table(
        "tls",
        f"TLS 1.3 WebSocket handshakes, each connection closed once its 101 arrives, {concurrency} in progress; "
        "medians over rounds. Holdfast: its own TLS listener; peer: nginx terminating TLS in front of the "
        "uWebSockets peer (CPU of the nginx master and worker and of the peer)",
        HANDSHAKES)
    report.targets()
    report.stalls()
    if any(report.failed.values()):
        print("\nSome runs failed or reported errors; see the bench logs next to the reports.")


if __name__ == "__main__":
    main()
