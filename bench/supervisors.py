#!/usr/bin/env python3
"""Measure stead against its peers in one run, on the same machine, with the same method.

    bench/run.sh            # installs peers, builds stead --release, runs this
    python3 bench/supervisors.py --only stead,runit --idle 10 --restarts 10

Each supervisor runs 100 programs `sleep 8888888` (the argument marks them) in a scratch
directory, with its fastest fair settings (../shared/bench/PEERS.md). For each it measures:

  start     launch of the supervisor -> 100 programs exist (poll /proc every 5 ms)
  rss/pss   the supervisor's own processes (not the programs) with 100 programs running
  idle      CPU ticks (utime+stime) of those processes over --idle seconds
  status    wall time of the status command for all 100, median of 20
  restart   SIGKILL of a program -> a new pid under its parent (poll every 1 ms), median
  stop      "stop everything" command -> no program left (poll every 5 ms)

Every process started is ended by pid; nothing is left behind.
"""

import argparse
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
OUT = os.path.join(HERE, "out")
MARK = "8888888"
N = 100
CLK = os.sysconf("SC_CLK_TCK")


def sh(cmd, **kw):
    return subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, **kw)


def proc_stat(pid):
    with open(f"/proc/{pid}/stat") as f:
        data = f.read()
    rest = data.rsplit(")", 1)[1].split()
    return rest  # rest[0] = state, rest[1] = ppid, rest[11] = utime, rest[12] = stime


def children(pid):
    out = set()
    try:
        for tid in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{tid}/children") as f:
                out.update(int(x) for x in f.read().split())
    except (FileNotFoundError, ProcessLookupError):
        pass
    return out


def descendants(pid):
    seen, todo = set(), [pid]
    while todo:
        p = todo.pop()
        for c in children(p):
            if c not in seen:
                seen.add(c)
                todo.append(c)
    return seen


def is_program(pid):
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            argv = f.read().split(b"\0")
        return len(argv) >= 2 and argv[0].endswith(b"sleep") and argv[1] == MARK.encode()
    except OSError:
        return False


def programs():
    out = []
    for name in os.listdir("/proc"):
        if name.isdigit() and is_program(int(name)):
            try:
                if proc_stat(int(name))[0] != "Z":
                    out.append(int(name))
            except OSError:
                pass
    return out


def wait_until(cond, limit, step=0.005):
    start = time.monotonic()
    while time.monotonic() - start < limit:
        if cond():
            return time.monotonic() - start
        time.sleep(step)
    return None


def mem_kib(pids):
    rss = pss = 0
    for p in pids:
        try:
            with open(f"/proc/{p}/smaps_rollup") as f:
                for line in f:
                    if line.startswith("Rss:"):
                        rss += int(line.split()[1])
                    elif line.startswith("Pss:"):
                        pss += int(line.split()[1])
        except OSError:
            pass
    return rss, pss


def ticks(pids):
    total = 0
    for p in pids:
        try:
            st = proc_stat(p)
            total += int(st[11]) + int(st[12])
        except OSError:
            pass
    return total


class Peer:
    name = "?"

    def __init__(self, scratch):
        self.dir = scratch
        os.makedirs(scratch, exist_ok=True)
        self.proc = None

    def root_pid(self):
        return self.proc.pid

    def own_pids(self):
        root = self.root_pid()
        return [root] + [p for p in descendants(root) if not is_program(p)]

    def status_cmd(self):
        return None

    def teardown(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


class Stead(Peer):
    name = "stead"

    def setup(self):
        self.bin = stead_bin()
        self.state = os.path.join(self.dir, "state")
        with open(os.path.join(self.dir, "stead.toml"), "w") as f:
            for i in range(N):
                f.write(f'[program.p{i:03}]\ncommand = ["sleep", "{MARK}"]\n'
                        'backoff = { initial = "0s" }\nmax_restarts = 0\n')

    def start(self):
        self.proc = subprocess.Popen([self.bin, "up", "-c", os.path.join(self.dir, "stead.toml"), "--state-dir", self.state],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env={**os.environ, "STEAD_LOG": "warn"})

    def status_cmd(self):
        return [self.bin, "--state-dir", self.state, "status"]

    def stop_all(self):
        sh([self.bin, "--state-dir", self.state, "stop", "--all"])


def supervisord_python():
    """The venv's interpreter itself (a symlink, not a shell shim), so the venv applies."""
    return os.path.join(OUT, "venv", "bin", "python")


def supervisord_header(d):
    """The supervisord.conf sections before the programs, for a scratch directory `d`."""
    return f"""[unix_http_server]
file={d}/supervisor.sock
[supervisord]
nodaemon=true
logfile={d}/supervisord.log
pidfile={d}/supervisord.pid
childlogdir={d}/logs
[rpcinterface:supervisor]
supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface
[supervisorctl]
serverurl=unix://{d}/supervisor.sock
"""


class Supervisord(Peer):
    name = "supervisord"

    def setup(self):
        self.py = supervisord_python()
        self.conf = os.path.join(self.dir, "supervisord.conf")
        os.makedirs(os.path.join(self.dir, "logs"), exist_ok=True)
        with open(self.conf, "w") as f:
            f.write(supervisord_header(self.dir))
            for i in range(N):
                f.write(f"[program:p{i:03}]\ncommand=sleep {MARK}\nstartsecs=0\nautorestart=true\n")

    def start(self):
        env = {**os.environ, "PYTHONPATH": ""}
        self.proc = subprocess.Popen([self.py, "-m", "supervisor.supervisord", "-c", self.conf],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)

    def status_cmd(self):
        return [self.py, "-m", "supervisor.supervisorctl", "-c", self.conf, "status"]

    def stop_all(self):
        sh([self.py, "-m", "supervisor.supervisorctl", "-c", self.conf, "stop", "all"])


class PM2(Peer):
    name = "PM2"

    def setup(self):
        self.pm2 = os.path.join(OUT, "npm", "node_modules", ".bin", "pm2")
        self.env = {**os.environ, "PM2_HOME": os.path.join(self.dir, "home")}
        apps = [{"name": f"p{i:03}", "script": "sleep", "args": MARK, "interpreter": "none",
                 "exec_mode": "fork", "autorestart": True, "restart_delay": 0} for i in range(N)]
        self.eco = os.path.join(self.dir, "ecosystem.config.json")
        with open(self.eco, "w") as f:
            json.dump({"apps": apps}, f)

    def start(self):
        self.launcher = subprocess.Popen([self.pm2, "start", self.eco], env=self.env,
                                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def root_pid(self):
        with open(os.path.join(self.dir, "home", "pm2.pid")) as f:
            return int(f.read().strip())

    def status_cmd(self):
        return [self.pm2, "status"]

    def stop_all(self):
        sh([self.pm2, "stop", "all"], env=self.env)

    def teardown(self):
        sh([self.pm2, "kill"], env=self.env)
        self.launcher.wait()


class ServiceDirs(Peer):
    """runit, s6 and daemontools: a scanner over one directory per service."""
    scanner = []
    status = []
    down = []

    def setup(self):
        self.svdir = os.path.join(self.dir, "services")
        for i in range(N):
            d = os.path.join(self.svdir, f"p{i:03}")
            os.makedirs(d, exist_ok=True)
            run = os.path.join(d, "run")
            with open(run, "w") as f:
                f.write(f"#!/bin/sh\nexec sleep {MARK}\n")
            os.chmod(run, 0o755)

    def services(self):
        return sorted(os.path.join(self.svdir, d) for d in os.listdir(self.svdir))

    def start(self):
        self.proc = subprocess.Popen(self.scanner + [self.svdir], stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL, start_new_session=True)

    def status_cmd(self):
        return self.status + self.services()

    def stop_all(self):
        sh(self.down + self.services())

    def teardown(self):
        # Stop the programs, then every supervise process and the scanner, by pid.
        sh(self.down + self.services())
        pids = [self.proc.pid] + list(descendants(self.proc.pid))
        for p in pids:
            try:
                os.kill(p, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.proc.wait()
        for p in programs():
            os.kill(p, signal.SIGKILL)


class Runit(ServiceDirs):
    name = "runit"
    scanner = ["runsvdir", "-P"]
    status = ["sv", "status"]
    down = ["sv", "down"]


class S6(ServiceDirs):
    name = "s6"
    scanner = ["s6-svscan"]
    # s6-svc takes one service directory per call.
    down = ["sh", "-c", 'for d in "$@"; do s6-svc -d "$d"; done', "s6-svc"]

    def status_cmd(self):
        return ["sh", "-c", 'for d in "$@"; do s6-svstat "$d"; done', "s6-svstat"] + self.services()


class Daemontools(ServiceDirs):
    name = "daemontools"
    scanner = ["svscan"]
    status = ["svstat"]
    down = ["svc", "-d"]


class Horust(Peer):
    name = "horust"

    def setup(self):
        self.bin = os.path.join(OUT, "cargo", "bin", "horust")
        self.svdir = os.path.join(self.dir, "services")
        os.makedirs(self.svdir, exist_ok=True)
        for i in range(N):
            with open(os.path.join(self.svdir, f"p{i:03}.toml"), "w") as f:
                f.write(f'command = "/bin/sleep {MARK}"\n[restart]\nstrategy = "always"\nbackoff = "0s"\nattempts = 0\n')

    def start(self):
        self.proc = subprocess.Popen([self.bin, "--services-path", self.svdir],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def stop_all(self):
        self.proc.send_signal(signal.SIGTERM)


class Floor(Peer):
    """bench/floor.c: fork+exec and nothing else; what the machine allows."""
    name = "floor"

    def setup(self):
        self.bin = os.path.join(OUT, "floor")

    def start(self):
        self.proc = subprocess.Popen([self.bin, str(N)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def stop_all(self):
        self.proc.send_signal(signal.SIGTERM)


PEERS = {p.name: p for p in [Stead, Supervisord, PM2, Runit, S6, Daemontools, Horust, Floor]}


def stead_bin():
    """The static (musl) release build that bench/run.sh makes, else the default one."""
    if os.environ.get("STEAD_BIN"):
        return os.environ["STEAD_BIN"]
    musl = os.path.join(ROOT, "target", "x86_64-unknown-linux-musl", "release", "stead")
    return musl if os.path.exists(musl) else os.path.join(ROOT, "target", "release", "stead")


def available(cls):
    checks = {
        "stead": stead_bin(),
        "supervisord": os.path.join(OUT, "venv", "bin", "supervisord"),
        "PM2": os.path.join(OUT, "npm", "node_modules", ".bin", "pm2"),
        "runit": shutil.which("runsvdir"),
        "s6": shutil.which("s6-svscan"),
        "daemontools": shutil.which("svscan"),
        "horust": os.path.join(OUT, "cargo", "bin", "horust"),
        "floor": os.path.join(OUT, "floor"),
    }
    path = checks[cls.name]
    return bool(path) and os.path.exists(path)


def restart_latency(poll):
    """SIGKILL the first program; time until its parent has a new child. `poll` seconds
    between looks (0: look continuously)."""
    progs = sorted(programs())
    victim = progs[0]
    parent = int(proc_stat(victim)[1])
    old = children(parent)
    s = time.perf_counter()
    os.kill(victim, signal.SIGKILL)
    while True:
        new = {p for p in children(parent) - old if p != victim}
        if new:
            return time.perf_counter() - s
        if time.perf_counter() - s > 10:
            return float("nan")
        if poll:
            time.sleep(poll)


def measure(cls, args):
    r = {"name": cls.name}
    if programs():
        sys.exit(f"stray `sleep {MARK}` processes exist; end them first")
    peer = cls(os.path.join(OUT, "scratch", cls.name))
    peer.setup()
    t0 = time.monotonic()
    peer.start()
    try:
        took = wait_until(lambda: len(programs()) >= N, 60)
        if took is None:
            r["error"] = f"only {len(programs())} programs started"
            return r
        r["start"] = time.monotonic() - t0
        time.sleep(2)  # let start-up work settle
        own = peer.own_pids()
        r["procs"] = len(own)
        r["rss"], r["pss"] = mem_kib(own)
        before = ticks(own)
        time.sleep(args.idle)
        r["idle_ticks"] = ticks(own) - before
        if peer.status_cmd():
            cmd = peer.status_cmd()
            env = getattr(peer, "env", None)
            times = []
            for _ in range(20):
                s = time.perf_counter()
                sh(cmd, env=env)
                times.append(time.perf_counter() - s)
            r["status"] = statistics.median(times)
        for key, poll in (("restart", 0.001), ("restart_busy", 0)):
            lat = []
            for _ in range(args.restarts):
                lat.append(restart_latency(poll))
                wait_until(lambda: len(programs()) >= N, 10)
                time.sleep(1.1)
            r[key] = statistics.median(lat)
        s = time.monotonic()
        peer.stop_all()
        took = wait_until(lambda: not programs(), 60)
        r["stop"] = (time.monotonic() - s) if took is not None else float("nan")
    finally:
        peer.teardown()
        for p in programs():
            os.kill(p, signal.SIGKILL)
    return r


def fmt(v, unit):
    if v is None or v != v:
        return "n/a"
    if unit == "ms":
        return f"{v * 1000:.1f} ms" if v < 1 else f"{v:.2f} s"
    if unit == "MiB":
        return f"{v / 1024:.1f} MiB"
    return str(v)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--only", help="comma-separated subset, e.g. stead,runit")
    ap.add_argument("--idle", type=float, default=30.0, help="seconds of idle CPU measurement")
    ap.add_argument("--restarts", type=int, default=20, help="restart-latency samples")
    ap.add_argument("--json", help="also write raw results here")
    args = ap.parse_args()
    names = args.only.split(",") if args.only else list(PEERS)
    results = []
    for name in names:
        cls = PEERS[name]
        if not available(cls):
            print(f"# {name}: not installed, skipped (bench/install-peers.sh installs it)", file=sys.stderr)
            continue
        print(f"# measuring {name} ...", file=sys.stderr)
        results.append(measure(cls, args))
        print(f"#   {results[-1]}", file=sys.stderr)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=2)
    cols = [r["name"] for r in results]
    rows = [
        ("restart latency, SIGKILL → new child (median, 1 ms poll)", "restart", "ms"),
        ("restart latency, continuous poll (median)", "restart_busy", "ms"),
        ("supervisor RSS, 100 programs (PSS)", "rss", "MiB"),
        ("idle CPU, 100 programs, %gs (ticks)" % args.idle, "idle_ticks", ""),
        ("start 100 programs (all running)", "start", "ms"),
        ("status of all 100, CLI round trip (median of 20)", "status", "ms"),
        ("stop all 100", "stop", "ms"),
    ]
    print("| metric | " + " | ".join(cols) + " |")
    print("|---|" + "---|" * len(cols))
    for label, key, unit in rows:
        cells = []
        for r in results:
            if "error" in r:
                cells.append(r["error"])
            elif key == "rss":
                cells.append(f"{fmt(r.get('rss'), 'MiB')} ({fmt(r.get('pss'), 'MiB')}, {r.get('procs')} procs)")
            else:
                cells.append(fmt(r.get(key), unit))
        print(f"| {label} | " + " | ".join(cells) + " |")
    uname = os.uname()
    print(f"\n{os.cpu_count()} CPUs, {uname.sysname} {uname.release}; {time.strftime('%Y-%m-%d')}")


if __name__ == "__main__":
    main()
