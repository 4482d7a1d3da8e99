#!/usr/bin/env python3
"""Restart latency of two or more stead builds (and the C floor) side by side, paired.

Each supervisor runs 100 programs (`sleep`) at once; in turn, the first program of each is
SIGKILLed and the time from the kill to its replacement's exec is taken from the kernel's
exec event (the proc connector, as in supervisors.py: needs root). The order alternates every
round, so the machine's noise falls on every build alike, which a comparison of two separate
runs of supervisors.py cannot promise on a shared machine.

    python3 bench/restart_pair.py OLD_STEAD NEW_STEAD [bench/out/floor] [--rounds 100]

A path ending in `floor` is bench/floor.c's binary (`gcc -O2 -static -o bench/out/floor
bench/floor.c`), which runs 100 `sleep 8888888`.
"""
import argparse
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import supervisors  # noqa: E402  (the exec-event reader)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("binaries", nargs="+")
    ap.add_argument("--rounds", type=int, default=100)
    args = ap.parse_args()
    events = supervisors.ExecEvents.open()
    if not events:
        sys.exit("no proc connector (run as root)")
    scratch = tempfile.mkdtemp(prefix="restart-pair-")
    procs, marks = [], {}
    for i, b in enumerate(args.binaries):
        if b.endswith("floor"):
            procs.append(subprocess.Popen([b, "100"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
            marks[i] = "8888888"
            continue
        marks[i] = f"7777{i}000"
        d = os.path.join(scratch, str(i))
        os.makedirs(d)
        with open(os.path.join(d, "stead.toml"), "w") as f:
            for j in range(100):
                f.write(f'[program.p{j:03}]\ncommand = ["sleep", "7777{i}{j:03}"]\n'
                        'backoff = { initial = "0s" }\nmax_restarts = 0\n')
        procs.append(subprocess.Popen([b, "up", "-c", os.path.join(d, "stead.toml"), "--state-dir", os.path.join(d, "state")],
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                      env={**os.environ, "STEAD_LOG": "warn"}))
    time.sleep(3)

    def marked(i):
        return set(supervisors.programs(marks[i]))

    took = {i: [] for i in marks}
    try:
        for k in range(args.rounds):
            order = list(marks) if k % 2 == 0 else list(reversed(list(marks)))
            for i in order:
                before = marked(i)
                if not before:
                    sys.exit(f"{args.binaries[i]}: no program running")
                events.drain()
                killed = time.monotonic_ns()
                os.kill(min(before), signal.SIGKILL)
                exec_ns, deadline = None, time.time() + 5
                while exec_ns is None and time.time() < deadline:
                    for pid, ns in events.drain(0.01):
                        if pid not in before and pid in marked(i):
                            exec_ns = ns
                if exec_ns is not None:
                    took[i].append((exec_ns - killed) / 1e6)
                time.sleep(0.03)
    finally:
        for p in procs:
            p.terminate()
            p.wait()
    print("| build | restarts | median | p25 | p75 |")
    print("|---|---|---|---|---|")
    for i, b in enumerate(args.binaries):
        q = statistics.quantiles(took[i], n=4)
        print(f"| {b} | {len(took[i])} | {statistics.median(took[i]):.2f} ms | {q[0]:.2f} ms | {q[2]:.2f} ms |")


if __name__ == "__main__":
    main()
