#!/usr/bin/env python3
"""stead with many programs: does the control socket keep answering while 10,000 start,
how long does the status of all of them take, what does each program cost in memory.

    bench/run.sh                         # builds stead --release, runs this too
    bench/run.sh --scale-only            # builds, then only this
    python3 bench/scale.py --programs 10000 --status-runs 20

Every program is `sleep 7777777` (the argument marks them). It measures:

  answer during start  a raw `GET /v1/status?name=p0` over the control socket every 5 ms
                       (one connection each, from this script, not a CLI process) from the
                       launch of `stead up` until every program runs: the latency of each
                       answer (max, p99, median) and the longest time the socket answered
                       nothing (from the launch: includes binding the socket)
  start                launch of `stead up` -> every program is a child of the supervisor
  status --json        wall time of `stead status --json` for all programs (the CLI round
                       trip, output to /dev/null), median of --status-runs; and the same
                       request raw (`GET /v1/status`), to tell the supervisor from the CLI
  RSS per program      (supervisor RSS with N programs - RSS with 1) / (N - 1), each taken
                       3 s after every program runs

The supervisor's hard RLIMIT_NOFILE is raised (as root) to fit N programs (two pipes each);
stead raises its own soft limit to the hard one. Every process started is ended by pid.
"""

import argparse
import json
import os
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import supervisors as S  # noqa: E402

MARK = "7777777"
PROBE_EVERY = 0.005


def children_count(pid):
    return len(S.children(pid))


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def request(path, sock_path, timeout=30.0):
    """One raw HTTP/1.1 request over the unix socket; (status line, body bytes)."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    try:
        s.connect(sock_path)
        s.sendall(f"GET {path} HTTP/1.1\r\nHost: stead\r\nConnection: close\r\n\r\n".encode())
        chunks = []
        while True:
            b = s.recv(1 << 16)
            if not b:
                break
            chunks.append(b)
    finally:
        s.close()
    data = b"".join(chunks)
    head, _, body = data.partition(b"\r\n\r\n")
    return head.split(b"\r\n", 1)[0].decode(errors="replace"), body


class Supervisor:
    def __init__(self, scratch, n):
        self.dir, self.n = scratch, n
        shutil.rmtree(scratch, ignore_errors=True)
        os.makedirs(scratch)
        self.bin = S.stead_bin()
        self.state = os.path.join(scratch, "state")
        self.sock = os.path.join(self.state, "stead.sock")
        self.conf = os.path.join(scratch, "stead.toml")
        # Two pipes per program (stdout, stderr) must fit under the hard descriptor limit;
        # where it cannot be raised (no CAP_SYS_RESOURCE), stderr is merged: one pipe each.
        self.merged = fd_hard() < 2 * n + 256
        with open(self.conf, "w") as f:
            if self.merged:
                f.write('[log]\nstderr = "merge"\n')
            for i in range(n):
                f.write(f'[program.p{i}]\ncommand = ["sleep", "{MARK}"]\n')
        self.proc = None

    def start(self):
        need = 2 * self.n + 256

        def limits():
            soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
            if hard < need:
                try:
                    resource.setrlimit(resource.RLIMIT_NOFILE, (soft, need))
                except (ValueError, OSError):
                    pass  # stead works within what it has (and says which programs lack fds)

        self.log = open(os.path.join(self.dir, "stead.log"), "w")
        self.proc = subprocess.Popen([self.bin, "up", "-c", self.conf, "--state-dir", self.state],
                                     stdout=self.log, stderr=self.log,
                                     env={**os.environ, "STEAD_LOG": "warn"}, preexec_fn=limits)

    def running(self):
        return children_count(self.proc.pid)

    def stop(self):
        if self.proc and self.proc.poll() is None:
            subprocess.run([self.bin, "--state-dir", self.state, "shutdown"],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=300)
            try:
                self.proc.wait(300)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        for p in programs():
            os.kill(p, 9)


def fd_hard():
    """The hard RLIMIT_NOFILE a supervisor started from here gets (raised if we may)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = 1 << 20
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, max(hard, want)))
        hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    except (ValueError, OSError):
        pass
    return hard


def programs():
    out = []
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                with open(f"/proc/{name}/cmdline", "rb") as f:
                    argv = f.read().split(b"\0")
            except OSError:
                continue
            if len(argv) >= 2 and argv[0].endswith(b"sleep") and argv[1] == MARK.encode():
                out.append(int(name))
    return out


def probe(sup, stop, out):
    """A status request every PROBE_EVERY until `stop`: (sent at, latency or None)."""
    while not stop.is_set():
        t = time.monotonic()
        try:
            line, _ = request("/v1/status?name=p0", sup.sock)
            ok = " 200 " in line + " "
        except OSError:
            ok = False
        took = time.monotonic() - t
        out.append((t, took if ok else None))
        rest = PROBE_EVERY - took
        if rest > 0:
            time.sleep(rest)


def pct(xs, q):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(q * (len(xs) - 1))))]


def run_many(n, status_runs):
    r = {"programs": n}
    sup = Supervisor(os.path.join(S.OUT, "scratch", "scale", str(n)), n)
    stop = threading.Event()
    samples = []
    t0 = time.monotonic()
    sup.start()
    th = threading.Thread(target=probe, args=(sup, stop, samples), daemon=True)
    th.start()
    try:
        while sup.running() < n:
            if time.monotonic() - t0 > 600 or sup.proc.poll() is not None:
                r["error"] = f"only {sup.running()} of {n} programs started (exit {sup.proc.poll()}, see {sup.dir}/stead.log)"
                return r
            time.sleep(0.05)
        r["start_s"] = time.monotonic() - t0
        stop.set()
        th.join()
        answered = [(t, d) for t, d in samples if d is not None]
        lat = [d for _, d in answered]
        r["probes"] = len(samples)
        r["answered"] = len(answered)
        if lat:
            r["answer_max_ms"] = max(lat) * 1000
            r["answer_p99_ms"] = pct(lat, 0.99) * 1000
            r["answer_median_ms"] = statistics.median(lat) * 1000
            first = answered[0][0] + answered[0][1] - t0
            ends = [t + d for t, d in answered]
            gaps = [b - a for a, b in zip(ends, ends[1:])]
            r["first_answer_s"] = first
            r["longest_silence_ms"] = max([first] + gaps) * 1000
        time.sleep(3)
        r["rss_kib"] = rss_kib(sup.proc.pid)
        raw, cli = [], []
        for _ in range(status_runs):
            t = time.monotonic()
            line, body = request("/v1/status", sup.sock)
            raw.append(time.monotonic() - t)
            if " 200 " not in line + " " or json.loads(body)["programs"].__len__() != n:
                r["error"] = f"status answered {line}"
            t = time.monotonic()
            subprocess.run([sup.bin, "--state-dir", sup.state, "status", "--json"],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
            cli.append(time.monotonic() - t)
        r["status_raw_ms"] = statistics.median(raw) * 1000
        r["status_cli_ms"] = statistics.median(cli) * 1000
        status = json.loads(request("/v1/status", sup.sock)[1])
        r["not_running"] = sum(1 for p in status["programs"] if p["state"] != "running")
        return r
    finally:
        stop.set()
        t = time.monotonic()
        sup.stop()
        r["shutdown_s"] = time.monotonic() - t


def run_one():
    sup = Supervisor(os.path.join(S.OUT, "scratch", "scale", "1"), 1)
    sup.start()
    try:
        S.wait_until(lambda: sup.running() >= 1, 30)
        time.sleep(3)
        return rss_kib(sup.proc.pid)
    finally:
        sup.stop()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--programs", type=int, default=10_000)
    ap.add_argument("--status-runs", type=int, default=20)
    ap.add_argument("--json")
    a = ap.parse_args()
    if programs():
        sys.exit(f"stray `sleep {MARK}` processes exist; end them first")
    one = run_one()
    r = run_many(a.programs, a.status_runs)
    r["rss_one_kib"] = one
    n = a.programs
    if "error" in r:
        print(f"error: {r['error']}")
    per = (r.get("rss_kib", 0) - one) / max(1, n - 1)
    r["rss_per_program_kib"] = per
    merged = " (stderr merged: the hard RLIMIT_NOFILE cannot fit two pipes each)" if fd_hard() < 2 * n + 256 else ""
    print(f"stead with {n:,} programs `sleep`{merged} ({os.cpu_count()} CPUs, {os.uname().release})\n")
    print("| metric | stead |")
    print("|---|---|")
    rows = [
        (f"start {n:,} programs (all running)", f"{r.get('start_s', float('nan')):.2f} s"),
        ("control socket during the start: answer latency max / p99 / median",
         f"{r.get('answer_max_ms', float('nan')):.1f} / {r.get('answer_p99_ms', float('nan')):.1f} / "
         f"{r.get('answer_median_ms', float('nan')):.1f} ms ({r.get('answered', 0)} of {r.get('probes', 0)} answered)"),
        ("control socket during the start: first answer after launch, longest silence",
         f"{r.get('first_answer_s', float('nan')) * 1000:.0f} ms, {r.get('longest_silence_ms', float('nan')):.0f} ms"),
        (f"`stead status --json` of {n:,} (median of {a.status_runs})", f"{r.get('status_cli_ms', float('nan')):.1f} ms"),
        (f"`GET /v1/status` of {n:,}, raw (median of {a.status_runs})", f"{r.get('status_raw_ms', float('nan')):.1f} ms"),
        ("supervisor RSS with 1 / with N programs", f"{one / 1024:.1f} / {r.get('rss_kib', 0) / 1024:.1f} MiB"),
        ("supervisor RSS per program", f"{per:.1f} KiB"),
        ("programs not running at the end", str(r.get("not_running", "?"))),
        (f"shutdown of {n:,}", f"{r.get('shutdown_s', float('nan')):.2f} s"),
    ]
    for name, v in rows:
        print(f"| {name} | {v} |")
    if a.json:
        with open(a.json, "w") as f:
            json.dump(r, f, indent=1)


if __name__ == "__main__":
    main()
