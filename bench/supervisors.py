#!/usr/bin/env python3
"""Measure stead against its peers in one run, on the same machine, with the same method.

    bench/run.sh            # installs peers, builds stead --release, runs this
    python3 bench/supervisors.py --only stead,runit --idle 10 --restarts 10

Each supervisor runs 100 programs `sleep 8888888` (the argument marks them) in a scratch
directory, with its fastest fair settings (../shared/bench/PEERS.md). For each it measures:

  start     launch of the supervisor -> 100 programs exist (poll /proc every 5 ms)
  rss/pss   the supervisor's own processes (not the programs) with 100 programs running
  idle      CPU ticks (utime+stime) of those processes over --idle seconds
  status    wall time of the status command for all 100, and for one program, median of 20
  restart   SIGKILL of a program -> its replacement has exec'd `sleep`, median: the exec's
            time is the kernel's own (the proc connector's exec event, CLOCK_MONOTONIC), so
            how fast this script notices the new program does not count; without root (no
            proc connector) the new pid is polled every 1 ms instead, and the table says so
  stop      "stop everything" command -> no program left (poll every 5 ms)
  rss at n  the supervisor's RSS with 1, 100 and 1,000 programs (--rss-at), for the
            per-program cost

"stead" is the static (musl) release build, "stead-glibc" the default one (`cargo install`).

Every process started is ended by pid; nothing is left behind.
"""

import argparse
import json
import os
import select
import socket
import struct
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


def is_program(pid, mark=MARK):
    """Whether `pid` is a benchmark program: `sleep MARK`."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            argv = f.read().split(b"\0")
        return len(argv) >= 2 and argv[0].endswith(b"sleep") and argv[1] == mark.encode()
    except OSError:
        return False


def programs(mark=MARK):
    """The live (not zombie) processes `sleep MARK`."""
    out = []
    for name in os.listdir("/proc"):
        if name.isdigit() and is_program(int(name), mark):
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

    def __init__(self, scratch, n=N):
        self.dir = scratch
        self.n = n
        os.makedirs(scratch, exist_ok=True)
        self.proc = None

    def root_pid(self):
        return self.proc.pid

    def own_pids(self):
        root = self.root_pid()
        return [root] + [p for p in descendants(root) if not is_program(p)]

    def status_cmd(self):
        return None

    def status_one_cmd(self):
        """The status of the first program alone."""
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

    def binary(self):
        return stead_bin()

    def setup(self):
        self.bin = self.binary()
        self.state = os.path.join(self.dir, "state")
        with open(os.path.join(self.dir, "stead.toml"), "w") as f:
            for i in range(self.n):
                f.write(f'[program.p{i:03}]\ncommand = ["sleep", "{MARK}"]\n'
                        'backoff = { initial = "0s" }\nmax_restarts = 0\n')

    def start(self):
        self.proc = subprocess.Popen([self.bin, "up", "-c", os.path.join(self.dir, "stead.toml"), "--state-dir", self.state],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env={**os.environ, "STEAD_LOG": "warn"})

    def status_cmd(self):
        return [self.bin, "--state-dir", self.state, "status"]

    def status_one_cmd(self):
        return [self.bin, "--state-dir", self.state, "status", "p000"]

    def stop_all(self):
        sh([self.bin, "--state-dir", self.state, "stop", "--all"])


class SteadGlibc(Stead):
    """The default (glibc, dynamically linked) release build: what `cargo install` gives."""
    name = "stead-glibc"

    def binary(self):
        return stead_glibc_bin()


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
            for i in range(self.n):
                f.write(f"[program:p{i:03}]\ncommand=sleep {MARK}\nstartsecs=0\nautorestart=true\n")

    def start(self):
        env = {**os.environ, "PYTHONPATH": ""}
        self.proc = subprocess.Popen([self.py, "-m", "supervisor.supervisord", "-c", self.conf],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)

    def status_cmd(self):
        return [self.py, "-m", "supervisor.supervisorctl", "-c", self.conf, "status"]

    def status_one_cmd(self):
        return self.status_cmd() + ["p000"]

    def stop_all(self):
        sh([self.py, "-m", "supervisor.supervisorctl", "-c", self.conf, "stop", "all"])


class PM2(Peer):
    name = "PM2"

    def setup(self):
        self.pm2 = os.path.join(OUT, "npm", "node_modules", ".bin", "pm2")
        self.env = {**os.environ, "PM2_HOME": os.path.join(self.dir, "home")}
        apps = [{"name": f"p{i:03}", "script": "sleep", "args": MARK, "interpreter": "none",
                 "exec_mode": "fork", "autorestart": True, "restart_delay": 0} for i in range(self.n)]
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

    def status_one_cmd(self):
        return [self.pm2, "describe", "p000"]

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
        for i in range(self.n):
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

    def status_one_cmd(self):
        return self.status + self.services()[:1]

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

    def status_one_cmd(self):
        return ["s6-svstat"] + self.services()[:1]


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
        for i in range(self.n):
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
        self.proc = subprocess.Popen([self.bin, str(self.n)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def stop_all(self):
        self.proc.send_signal(signal.SIGTERM)


PEERS = {p.name: p for p in [Stead, SteadGlibc, Supervisord, PM2, Runit, S6, Daemontools, Horust, Floor]}


def stead_bin():
    """The static (musl) release build that bench/run.sh makes, else the default one."""
    if os.environ.get("STEAD_BIN"):
        return os.environ["STEAD_BIN"]
    musl = os.path.join(ROOT, "target", "x86_64-unknown-linux-musl", "release", "stead")
    return musl if os.path.exists(musl) else os.path.join(ROOT, "target", "release", "stead")


def stead_glibc_bin():
    """The default release build (glibc), as `cargo install` makes it."""
    return os.environ.get("STEAD_GLIBC_BIN") or os.path.join(ROOT, "target", "release", "stead")


def available(cls):
    checks = {
        "stead": stead_bin(),
        "stead-glibc": stead_glibc_bin(),
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


class ExecEvents:
    """Exec events from the kernel's proc connector (netlink), each with the kernel's own
    CLOCK_MONOTONIC timestamp. Needs CAP_NET_ADMIN; `ExecEvents.open()` is None without."""

    NETLINK_CONNECTOR, CN_IDX_PROC, CN_VAL_PROC = 11, 1, 1
    PROC_CN_MCAST_LISTEN, PROC_EVENT_EXEC = 1, 2

    def __init__(self, sock):
        self.sock = sock

    @classmethod
    def open(cls):
        try:
            sock = socket.socket(socket.AF_NETLINK, socket.SOCK_DGRAM, cls.NETLINK_CONNECTOR)
            sock.bind((0, cls.CN_IDX_PROC))
            op = struct.pack("=I", cls.PROC_CN_MCAST_LISTEN)
            cn = struct.pack("=IIIIHH", cls.CN_IDX_PROC, cls.CN_VAL_PROC, 0, 0, len(op), 0) + op
            sock.send(struct.pack("=IHHII", 16 + len(cn), 3, 0, 0, 0) + cn)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
        except OSError:
            return None
        return cls(sock)

    def drain(self, wait=0.0):
        """Every exec event received so far (and for `wait` seconds more): [(pid, ns)]."""
        out = []
        deadline = time.monotonic() + wait
        while True:
            left = max(0.0, deadline - time.monotonic())
            ready, _, _ = select.select([self.sock], [], [], left)
            if not ready:
                return out
            data = self.sock.recv(65536)
            off = 0
            while off + 16 <= len(data):
                length = struct.unpack_from("=I", data, off)[0]
                if length < 16:
                    break
                # nlmsghdr (16) + cn_msg (20) + proc_event: what, cpu, timestamp_ns, data
                what, _cpu, ts = struct.unpack_from("=IIQ", data, off + 36)
                if what == self.PROC_EVENT_EXEC:
                    _pid, tgid = struct.unpack_from("=II", data, off + 52)
                    out.append((tgid, ts))
                off += (length + 3) & ~3


EXEC_EVENTS = None


def restart_latency(poll):
    """SIGKILL the first program; time until its parent has a new child. `poll` seconds
    between looks (0: look continuously)."""
    progs = sorted(programs())
    victim = progs[0]
    parent = int(proc_stat(victim)[1])
    old = children(parent)
    if EXEC_EVENTS:
        EXEC_EVENTS.drain()
    killed_ns = time.monotonic_ns()
    s = time.perf_counter()
    os.kill(victim, signal.SIGKILL)
    while True:
        new = {p for p in children(parent) - old if p != victim}
        if new and (not EXEC_EVENTS or any(is_program(p) for p in new)):
            break
        if time.perf_counter() - s > 10:
            return float("nan")
        if poll:
            time.sleep(poll)
    if not EXEC_EVENTS:
        return time.perf_counter() - s
    # The last exec of the new pid is `sleep` (a run script execs a shell first).
    execs = [ts for pid, ts in EXEC_EVENTS.drain(0.05) if pid in new]
    return (max(execs) - killed_ns) / 1e9 if execs else float("nan")


def median_time(cmd, env, runs=20):
    """The median wall time of running `cmd` to its end, `runs` times."""
    times = []
    for _ in range(runs):
        s = time.perf_counter()
        sh(cmd, env=env)
        times.append(time.perf_counter() - s)
    return statistics.median(times)


def measure(cls, args):
    r = {"name": cls.name}
    if programs():
        sys.exit(f"stray `sleep {MARK}` processes exist; end them first")
    peer = cls(os.path.join(OUT, "scratch", cls.name))
    peer.setup()
    t0 = time.monotonic()
    peer.start()
    try:
        took = wait_until(lambda: len(programs()) >= peer.n, 60)
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
        env = getattr(peer, "env", None)
        for key, cmd in (("status", peer.status_cmd()), ("status_one", peer.status_one_cmd())):
            if cmd:
                r[key] = median_time(cmd, env)
        ways = (("restart", 0.001),) if EXEC_EVENTS else (("restart", 0.001), ("restart_busy", 0))
        for key, poll in ways:
            lat = []
            for _ in range(args.restarts):
                lat.append(restart_latency(poll))
                wait_until(lambda: len(programs()) >= peer.n, 10)
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


def rss_at(cls, n):
    """The supervisor's RSS and PSS (KiB) with `n` programs running."""
    if programs():
        sys.exit(f"stray `sleep {MARK}` processes exist; end them first")
    peer = cls(os.path.join(OUT, "scratch", f"{cls.name}-{n}"), n)
    peer.setup()
    peer.start()
    try:
        if wait_until(lambda: len(programs()) >= n, 120) is None:
            return None
        time.sleep(2)
        return mem_kib(peer.own_pids())
    finally:
        peer.stop_all()
        wait_until(lambda: not programs(), 60)
        peer.teardown()
        for p in programs():
            os.kill(p, signal.SIGKILL)


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
    ap.add_argument("--rss-at", default="1,100,1000",
                    help="program counts for the RSS table of stead, stead-glibc and horust ('' for none)")
    args = ap.parse_args()
    global EXEC_EVENTS
    EXEC_EVENTS = ExecEvents.open()
    if not EXEC_EVENTS:
        print("# no proc connector (needs root): restart latency is polled", file=sys.stderr)
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
    if EXEC_EVENTS:
        restart_rows = [("restart latency, SIGKILL → replacement exec'd (kernel exec event, median of %d)"
                         % args.restarts, "restart", "ms")]
    else:
        restart_rows = [("restart latency, SIGKILL → new child (median, 1 ms poll)", "restart", "ms"),
                        ("restart latency, continuous poll (median)", "restart_busy", "ms")]
    rows = restart_rows + [
        ("supervisor RSS, 100 programs (PSS)", "rss", "MiB"),
        ("idle CPU, 100 programs, %gs (ticks)" % args.idle, "idle_ticks", ""),
        ("start 100 programs (all running)", "start", "ms"),
        ("status of all 100, CLI round trip (median of 20)", "status", "ms"),
        ("status of one program, CLI round trip (median of 20)", "status_one", "ms"),
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
    counts = [int(c) for c in args.rss_at.split(",") if c.strip()]
    scaled = [n for n in names if n in ("stead", "stead-glibc", "horust") and available(PEERS[n])]
    if counts and scaled:
        print(f"# RSS at {counts} programs ...", file=sys.stderr)
        table = {n: [rss_at(PEERS[n], c) for c in counts] for n in scaled}
        for n, row in table.items():
            for c, v in zip(counts, row):
                results.append({"name": n, "programs": c, "rss_at": v})
        print("\n| supervisor RSS (PSS) with n programs | " + " | ".join(scaled) + " |")
        print("|---|" + "---|" * len(scaled))
        for i, c in enumerate(counts):
            cells = [f"{fmt(table[n][i][0], 'MiB')} ({fmt(table[n][i][1], 'MiB')})" if table[n][i] else "n/a"
                     for n in scaled]
            print(f"| {c} | " + " | ".join(cells) + " |")
        if len(counts) > 1:
            lo, hi = counts[0], counts[-1]
            cells = [f"{(table[n][-1][0] - table[n][0][0]) / (hi - lo):.1f} KiB"
                     if table[n][0] and table[n][-1] else "n/a" for n in scaled]
            print(f"| per program ({lo} → {hi}) | " + " | ".join(cells) + " |")
        if args.json:
            with open(args.json, "w") as f:
                json.dump(results, f, indent=2)
    uname = os.uname()
    print(f"\n{os.cpu_count()} CPUs, {uname.sysname} {uname.release}; {time.strftime('%Y-%m-%d')}")


if __name__ == "__main__":
    main()
