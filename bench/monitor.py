#!/usr/bin/env python3
"""What monitoring costs: 100 programs, each health-checked every second, with resource
sampling every second, against the same 100 programs unmonitored, and against PM2 asked for
its per-process CPU and memory (`pm2 jlist`, what PM2 exporters poll) every second.

    bench/run.sh                       # installs PM2, builds stead, runs this too
    python3 bench/monitor.py --seconds 60

Each case runs 100 programs `sleep 8888888`; the CPU time (utime + stime) of the
supervisor's own processes (not the programs, not the probe target) is read from /proc over
--seconds, after 3 s to settle, and reported as percent of one core. The health checks are
TCP connects to one local listener (a Python accept loop, not counted).
"""

import argparse
import json
import os
import socket
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import supervisors as S  # noqa: E402


def listener():
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", 0))
    s.listen(512)

    def serve():
        while True:
            try:
                c, _ = s.accept()
                c.close()
            except OSError:
                return

    threading.Thread(target=serve, daemon=True).start()
    return s, s.getsockname()[1]


class SteadMonitored(S.Stead):
    name = "stead"

    def __init__(self, scratch, port, checks):
        super().__init__(scratch)
        self.port, self.checks = port, checks

    def setup(self):
        self.bin = S.stead_bin()
        self.state = os.path.join(self.dir, "state")
        with open(os.path.join(self.dir, "stead.toml"), "w") as f:
            if self.checks:
                f.write('[metrics]\nsample = "1s"\n')
            for i in range(S.N):
                f.write(f'[program.p{i:03}]\ncommand = ["sleep", "{S.MARK}"]\n')
                if self.checks:
                    f.write(f'health = {{ tcp = "127.0.0.1:{self.port}", interval = "1s" }}\n')


def cost(peer, seconds, during=None):
    if S.programs():
        sys.exit(f"stray `sleep {S.MARK}` processes exist; end them first")
    peer.setup()
    peer.start()
    try:
        if S.wait_until(lambda: len(S.programs()) >= S.N, 60) is None:
            return float("nan")
        time.sleep(3)
        own = peer.own_pids()
        stop = threading.Event()
        if during:
            threading.Thread(target=during, args=(stop,), daemon=True).start()
        before = S.ticks(own)
        time.sleep(seconds)
        used = S.ticks(own) - before
        stop.set()
        return used / S.CLK / seconds * 100
    finally:
        peer.teardown()
        for p in S.programs():
            os.kill(p, 9)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=float, default=60)
    ap.add_argument("--json")
    a = ap.parse_args()
    sock, port = listener()
    rows = []
    scratch = os.path.join(S.OUT, "scratch", "monitor")
    rows.append(("stead, no health checks, default sampling (only while someone looks)", cost(SteadMonitored(os.path.join(scratch, "plain"), port, False), a.seconds)))
    rows.append(("stead, 100 TCP health checks/s + resource sampling every 1 s", cost(SteadMonitored(os.path.join(scratch, "checks"), port, True), a.seconds)))
    if S.available(S.PM2):
        pm2 = S.PM2(os.path.join(scratch, "pm2"))
        rows.append(("PM2 daemon, no queries", cost(pm2, a.seconds)))
        pm2 = S.PM2(os.path.join(scratch, "pm2-jlist"))

        def poll(stop):
            while not stop.is_set():
                subprocess.run([pm2.pm2, "jlist"], env=pm2.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                stop.wait(1)

        rows.append(("PM2 daemon, `pm2 jlist` (CPU + memory of all) every 1 s", cost(pm2, a.seconds, poll)))
    sock.close()
    print(f"CPU of the supervisor's own processes, % of one core, over {a.seconds:.0f} s, 100 programs\n")
    print("| case | CPU |")
    print("|---|---|")
    for name, pct in rows:
        print(f"| {name} | {pct:.2f} % |")
    if a.json:
        with open(a.json, "w") as f:
            json.dump(dict(rows), f, indent=1)


if __name__ == "__main__":
    main()
