#!/usr/bin/env python3
"""The log benchmark: stead's capture against its peers' in one run, same machine, same method.

    bench/run.sh --logs-only        # installs peers, builds stead, runs supervisors.py and this
    python3 bench/logs.py --runs 5 --only stead,supervisord

A C writer (bench/writer.c) writes 2,000,000 numbered lines of 100 bytes (200 MB) in 1 MB
writes as fast as it can, under each supervisor with its log capture configured as
../shared/bench/PEERS.md says (retention large enough for the burst). For each run:

  MB/s      200 MB / (time from the writer's start to its last line at the end of the
            current log file)
  lost      lines missing, torn (not exactly the 100 bytes written) or repeated, found by
            reading every log file back (rotated and gzipped ones too) and checking every
            sequence number
  peak RSS  of the supervisor's own processes (loggers included, writers excluded), sampled
            every 50 ms during the run

"raw" is the ceiling: the writer's stdout is the file itself. The same is then measured with
100 programs logging at once (20,000 lines each, 200 MB in all).
"""

import argparse
import gzip
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import time

from supervisors import OUT, descendants, mem_kib, sh, stead_bin, supervisord_header, supervisord_python

LINE = 100


def writer_bin():
    return os.path.join(OUT, "writer")


class Peer:
    name = "?"
    # Bytes each line has before the writer's 100 (stead's timestamp).
    prefix = 0
    retention = ""

    def __init__(self, scratch, programs, lines):
        self.dir = scratch
        self.programs = programs
        self.lines = lines
        self.logs = os.path.join(scratch, "logs")
        os.makedirs(self.logs, exist_ok=True)
        self.proc = None

    def ids(self):
        return [f"p{i:03}" for i in range(self.programs)]

    def argv(self, pid):
        return [writer_bin(), str(self.lines), os.path.join(self.dir, f"{pid}.start"), pid]

    def root_pid(self):
        return self.proc.pid if self.proc else None

    def own_pids(self):
        root = self.root_pid()
        if root is None:
            return []
        return [root] + [p for p in descendants(root) if not is_writer(p)]

    def current(self, pid):
        """The file the newest lines of program `pid` are in."""
        raise NotImplementedError

    def files(self, pid):
        """Every log file of `pid`, oldest first."""
        return [self.current(pid)]

    def teardown(self):
        for p in self.own_pids()[::-1] + writers():
            try:
                os.kill(p, signal.SIGKILL)
            except ProcessLookupError:
                pass
        if self.proc:
            self.proc.wait()


def is_writer(pid):
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().split(b"\0")[0] == writer_bin().encode()
    except OSError:
        return False


def writers():
    return [int(p) for p in os.listdir("/proc") if p.isdigit() and is_writer(int(p))]


class Raw(Peer):
    name = "raw child→file"
    retention = "—"

    def setup(self):
        pass

    def start(self):
        self.children = []
        for pid in self.ids():
            out = open(self.current(pid), "wb")
            self.children.append(subprocess.Popen(self.argv(pid), stdout=out))
            out.close()

    def own_pids(self):
        return []

    def current(self, pid):
        return os.path.join(self.logs, f"{pid}.log")

    def teardown(self):
        for c in self.children:
            c.kill()
            c.wait()


class Stead(Peer):
    name = "stead"
    timestamps = "false"
    retention = "rotates at 100 MB, keeps 10 gzipped files per stream"

    def setup(self):
        self.bin = stead_bin()
        self.conf = os.path.join(self.dir, "stead.toml")
        with open(self.conf, "w") as f:
            f.write(f'[supervisor]\nlog_dir = "{self.logs}"\n[log]\ntimestamps = {self.timestamps}\n')
            for pid in self.ids():
                f.write(f"[program.{pid}]\ncommand = {json.dumps(self.argv(pid))}\nrestart = \"never\"\n")

    def start(self):
        self.proc = subprocess.Popen([self.bin, "up", "-c", self.conf, "--state-dir", os.path.join(self.dir, "state")],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                     env={**os.environ, "STEAD_LOG": "warn"})

    def current(self, pid):
        return os.path.join(self.logs, f"{pid}.out.log")

    def files(self, pid):
        rotated = {}
        for n in os.listdir(self.logs):
            if n.startswith(f"{pid}.out.2") and (n.endswith(".log") or n.endswith(".log.gz")):
                stamp = n[len(pid) + 5:].split(".log")[0]
                # Both may exist for a moment: the .gz is complete once it has its name.
                if n.endswith(".gz") or stamp not in rotated:
                    rotated[stamp] = os.path.join(self.logs, n)
        return [rotated[k] for k in sorted(rotated)] + [self.current(pid)]


class SteadTimestamps(Stead):
    name = "stead (timestamps)"
    timestamps = '"utc"'
    prefix = 28


class SteadJson(Stead):
    """`format = "json"`: one JSON object per line, the program's line in its "line" field."""
    name = "stead (json)"
    timestamps = '"utc"\nformat = "json"'
    prefix = "json"


class Supervisord(Peer):
    name = "supervisord"
    retention = "splits lines at rotation points (50 MB default)"

    def setup(self):
        self.py = supervisord_python()
        self.conf = os.path.join(self.dir, "supervisord.conf")
        with open(self.conf, "w") as f:
            f.write(supervisord_header(self.dir))
            for pid in self.ids():
                f.write(f"[program:{pid}]\ncommand={' '.join(self.argv(pid))}\nstartsecs=0\nautorestart=true\n"
                        f"stdout_logfile={self.current(pid)}\nstdout_logfile_maxbytes=0\nredirect_stderr=true\n")

    def start(self):
        self.proc = subprocess.Popen([self.py, "-m", "supervisor.supervisord", "-c", self.conf],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env={**os.environ, "PYTHONPATH": ""})

    def current(self, pid):
        return os.path.join(self.logs, f"{pid}.log")


class PM2(Peer):
    name = "PM2"
    retention = "no rotation, unbounded disk"

    def setup(self):
        self.pm2 = os.path.join(OUT, "npm", "node_modules", ".bin", "pm2")
        self.env = {**os.environ, "PM2_HOME": os.path.join(self.dir, "home")}
        apps = [{"name": pid, "script": writer_bin(), "args": self.argv(pid)[1:], "interpreter": "none",
                 "exec_mode": "fork", "autorestart": True, "restart_delay": 0,
                 "out_file": self.current(pid), "error_file": os.path.join(self.logs, f"{pid}.err")} for pid in self.ids()]
        self.eco = os.path.join(self.dir, "ecosystem.config.json")
        with open(self.eco, "w") as f:
            json.dump({"apps": apps}, f)

    def start(self):
        sh([self.pm2, "start", self.eco], env=self.env)

    def root_pid(self):
        try:
            with open(os.path.join(self.dir, "home", "pm2.pid")) as f:
                return int(f.read().strip())
        except OSError:
            return None

    def current(self, pid):
        return os.path.join(self.logs, f"{pid}.log")

    def teardown(self):
        sh([self.pm2, "kill"], env=self.env)
        super().teardown()


class ServiceDirs(Peer):
    scanner = []
    logger = []

    def setup(self):
        self.svdir = os.path.join(self.dir, "services")
        for pid in self.ids():
            d = os.path.join(self.svdir, pid)
            os.makedirs(os.path.join(d, "log"), exist_ok=True)
            os.makedirs(os.path.join(self.logs, pid), exist_ok=True)
            self.prepare(os.path.join(self.logs, pid))
            for path, text in [(os.path.join(d, "run"), f"#!/bin/sh\nexec {' '.join(self.argv(pid))}\n"),
                               (os.path.join(d, "log", "run"), f"#!/bin/sh\nexec {' '.join(self.logger)} {self.logs}/{pid}\n")]:
                with open(path, "w") as f:
                    f.write(text)
                os.chmod(path, 0o755)

    def prepare(self, logdir):
        pass

    def start(self):
        self.proc = subprocess.Popen(self.scanner + [self.svdir], stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL, start_new_session=True)

    def current(self, pid):
        return os.path.join(self.logs, pid, "current")

    def files(self, pid):
        d = os.path.join(self.logs, pid)
        old = sorted(n for n in os.listdir(d) if n.startswith("@"))
        return [os.path.join(d, n) for n in old] + [self.current(pid)]


class Runit(ServiceDirs):
    name = "runit svlogd"
    scanner = ["runsvdir", "-P"]
    logger = ["svlogd"]
    retention = "keeps newest 10 MB of 200"

    def prepare(self, logdir):
        with open(os.path.join(logdir, "config"), "w") as f:
            f.write("s0\n")


class S6(ServiceDirs):
    name = "s6-log"
    scanner = ["s6-svscan"]
    logger = ["s6-log", "n100", "s268435455"]
    retention = "keeps newest 1 MB"


class Daemontools(ServiceDirs):
    name = "daemontools multilog"
    scanner = ["svscan"]
    logger = ["multilog", "s16777215", "n100"]
    retention = "keeps newest 1 MB"


class Horust(Peer):
    name = "horust"
    retention = "— (dup2 to file, no pipe, no rotation)"

    def setup(self):
        self.bin = os.path.join(OUT, "cargo", "bin", "horust")
        self.svdir = os.path.join(self.dir, "services")
        os.makedirs(self.svdir, exist_ok=True)
        for pid in self.ids():
            with open(os.path.join(self.svdir, f"{pid}.toml"), "w") as f:
                f.write(f'command = "{" ".join(self.argv(pid))}"\nstdout = "{self.current(pid)}"\n'
                        f'stderr = "{self.current(pid)}.err"\n[restart]\nstrategy = "always"\nbackoff = "0s"\nattempts = 0\n')

    def start(self):
        self.proc = subprocess.Popen([self.bin, "--services-path", self.svdir],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def current(self, pid):
        return os.path.join(self.logs, f"{pid}.log")


PEERS = [Raw, Stead, SteadTimestamps, SteadJson, Supervisord, PM2, Runit, S6, Daemontools, Horust]


def available(cls):
    need = {
        Stead: stead_bin(), SteadTimestamps: stead_bin(), SteadJson: stead_bin(),
        Supervisord: os.path.join(OUT, "venv", "bin", "supervisord"),
        PM2: os.path.join(OUT, "npm", "node_modules", ".bin", "pm2"),
        Runit: shutil.which("runsvdir"), S6: shutil.which("s6-svscan"), Daemontools: shutil.which("svscan"),
        Horust: os.path.join(OUT, "cargo", "bin", "horust"), Raw: writer_bin(),
    }[cls]
    return bool(need) and os.path.exists(need) and os.path.exists(writer_bin())


def json_body(line):
    """The program's own line inside a JSON log line, or b"" if it is not one."""
    try:
        return json.loads(line)["line"].encode()
    except (ValueError, KeyError, TypeError):
        return b""


def ends_with_last_line(path, lines, prefix):
    try:
        with open(path, "rb") as f:
            f.seek(0, 2)
            size = f.tell()
            if size < LINE:
                return False
            back = 4 * LINE if prefix == "json" else LINE
            f.seek(max(0, size - back))
            tail = f.read()
    except OSError:
        return False
    if prefix == "json":
        last = tail.rstrip(b"\n").rsplit(b"\n", 1)[-1]
        return tail.endswith(b"\n") and json_body(last)[:12] == b"%012d" % lines
    return tail.endswith(b"\n") and tail[prefix:prefix + 12] == b"%012d" % lines if prefix == 0 else \
        tail.endswith(b"\n") and b"%012d " % lines in tail


def read_all(paths):
    data = bytearray()
    for p in paths:
        try:
            if p.endswith(".gz"):
                with gzip.open(p, "rb") as f:
                    data += f.read()
            else:
                with open(p, "rb") as f:
                    data += f.read()
        except OSError:
            pass
    return bytes(data)


def check(data, lines, prefix):
    """Missing, torn and repeated lines in one program's log."""
    seen = bytearray(lines + 1)
    torn = dup = 0
    for line in data.split(b"\n"):
        if not line:
            continue
        body = json_body(line) if prefix == "json" else line[prefix:]
        if len(body) != LINE - 1 or not body[:12].isdigit():
            torn += 1
            continue
        n = int(body[:12])
        if n < 1 or n > lines:
            torn += 1
        elif seen[n]:
            dup += 1
        else:
            seen[n] = 1
    missing = lines - sum(seen)
    return missing, torn, dup


def one_run(cls, scratch, programs, lines, timeout):
    shutil.rmtree(scratch, ignore_errors=True)
    peer = cls(scratch, programs, lines)
    peer.setup()
    peer.start()
    peak = 0
    next_sample = 0.0
    finished = None
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            now = time.monotonic()
            if now >= next_sample:
                peak = max(peak, mem_kib(peer.own_pids())[0])
                next_sample = now + 0.05
            if all(ends_with_last_line(peer.current(p), lines, peer.prefix) for p in peer.ids()):
                finished = time.time_ns()
                break
            time.sleep(0.002)
        starts = []
        for p in peer.ids():
            try:
                with open(os.path.join(scratch, f"{p}.start")) as f:
                    starts.append(int(f.read().strip()))
            except (OSError, ValueError):
                pass
        # Let background work (stead's gzip of rotated files) settle before reading back.
        settle = time.monotonic() + 30
        while time.monotonic() < settle and any(
                f.endswith(".log") and os.path.basename(f) != os.path.basename(peer.current(p))
                for p in peer.ids() for f in peer.files(p)):
            time.sleep(0.1)
        lost = torn = dup = 0
        for p in peer.ids():
            m, t, d = check(read_all(peer.files(p)), lines, peer.prefix)
            lost, torn, dup = lost + m, torn + t, dup + d
    finally:
        peer.teardown()
        shutil.rmtree(scratch, ignore_errors=True)
    if finished is None or not starts:
        return None, lost, torn, dup, peak
    secs = (finished - min(starts)) / 1e9
    return programs * lines * LINE / 1e6 / secs, lost, torn, dup, peak


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--only", default="")
    ap.add_argument("--lines", type=int, default=2_000_000)
    ap.add_argument("--many", type=int, default=100, help="programs in the second table (0: skip it)")
    ap.add_argument("--json")
    ap.add_argument("--tmpfs", action="store_true",
                    help="write the logs to a tmpfs (/dev/shm): what stead's CPU costs, without the disk's writeback")
    args = ap.parse_args()
    only = [s.strip() for s in args.only.split(",") if s.strip()]
    peers = [c for c in PEERS if available(c) and (not only or any(o.lower() in c.name.lower() for o in only))]
    scratch = os.path.join("/dev/shm" if args.tmpfs else OUT, "logs-scratch")
    results = {}
    for label, programs, runs in [("one", 1, args.runs), ("many", args.many, 1)]:
        if programs == 0:
            continue
        for cls in peers:
            rows = []
            for _ in range(runs):
                rows.append(one_run(cls, scratch, programs, args.lines // programs, 180))
                print(f"{label} {cls.name}: {rows[-1]}", file=sys.stderr)
            results[(label, cls.name)] = rows
    if args.json:
        with open(args.json, "w") as f:
            json.dump({f"{k[0]}/{k[1]}": v for k, v in results.items()}, f, indent=1)
    ceiling = {}
    for label, title in [("one", f"one program, {args.lines:,} lines of 100 bytes, {args.runs} runs"),
                         ("many", f"{args.many} programs at once, {args.lines // max(args.many, 1):,} lines each, 1 run")]:
        rows = {k[1]: v for k, v in results.items() if k[0] == label}
        if not rows:
            continue
        print(f"\n**Logs ({'tmpfs' if args.tmpfs else 'disk'}): {title}**\n")
        print("| | MB/s (median) | min–max | % of raw | lines lost / torn / repeated | runs with loss | peak RSS | default retention |")
        print("|---|---|---|---|---|---|---|---|")
        for cls in peers:
            r = rows.get(cls.name)
            if not r:
                continue
            rates = [x[0] for x in r if x[0]]
            med = statistics.median(rates) if rates else None
            if cls is Raw and med:
                ceiling[label] = med
            pct = f"{100 * med / ceiling[label]:.0f} %" if med and ceiling.get(label) else "—"
            lost = sum(x[1] for x in r)
            torn = sum(x[2] for x in r)
            dup = sum(x[3] for x in r)
            bad = sum(1 for x in r if x[1] or x[2] or x[3] or not x[0])
            peak = max(x[4] for x in r) / 1024
            rng = f"{min(rates):.0f}–{max(rates):.0f}" if rates else "did not finish"
            print(f"| {cls.name} | {med:.0f} | {rng} | {pct} | {lost:,} / {torn:,} / {dup:,} | {bad} of {len(r)} | "
                  f"{peak:.1f} MiB | {cls.retention} |" if med else
                  f"| {cls.name} | — | {rng} | — | {lost:,} / {torn:,} / {dup:,} | {bad} of {len(r)} | {peak:.1f} MiB | {cls.retention} |")


if __name__ == "__main__":
    main()
