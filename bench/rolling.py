#!/usr/bin/env python3
"""Restarts under load: failed requests and tail latency while a server is restarted, stead
against its peers in one run, on the same machine, with the same load.

    bash bench/install-peers.sh && cargo build --release -p stead-cli && \\
        cargo build --release -p stead --example http
    python3 bench/rolling.py                          # 60 s at 1,000 requests/s, 10 restarts each
    python3 bench/rolling.py --seconds 20 --restarts 5 --only stead-rolling,pm2-reload

A C load generator (bench/loadgen.c, built here into bench/out) sends --rate requests a second
(HTTP/1.0 GET, a new TCP connection each) on loopback for --seconds, open loop: request i is
sent at start + i/rate whatever happened to the ones before, and its latency runs from that
due time, so a server that stalls shows as latency instead of as fewer requests. Meanwhile the
server is restarted --restarts times, spread evenly over the run (none in the first and last
tenth). The generator runs real-time (SCHED_FIFO, else at a raised nice level) so that the
servers' start-ups do not delay its sends; how late it sent anyway is reported, and counted in
the latencies. Each scenario is one row:

  stead-rolling   stead, gunicorn (2 workers) on a socket stead holds, `stead restart --rolling`
  stead-rolling-workers
                  the same, ready once a worker has loaded the app (gunicorn's post_worker_init
                  hook logs a line, `ready = { log = ... }`) instead of gunicorn's READY=1
  stead-restart   the same, plain `stead restart` (stop, then start; the held socket queues)
  stead-http      stead, the library's http example (`cargo build --release -p stead
                  --example http`) on a held socket, `stead restart --rolling`
  supervisord     supervisord, gunicorn binding its own port, `supervisorctl restart`
  pm2-reload      PM2, a Node.js http app in cluster mode (2 instances), `pm2 reload`: the
                  anchor (PM2's zero-downtime reload); the app stops gracefully on SIGINT, as
                  PM2's documentation asks for reloads
  systemd         systemd socket activation (`app.socket` + a Type=notify `app.service` running
                  the same gunicorn, the unit gunicorn's documentation gives), `systemctl
                  restart app.service`, in a throw-away systemd sandbox
                  (../shared/tools/systemd-sandbox beside the repository, or $SYSTEMD_SANDBOX;
                  needs root) sharing the host's network, so the same load generator reaches
                  it; the guest borrows the host's python (read-only) and bench/out

gunicorn is the bench venv's (bash bench/install-peers.sh installs it), with 2 sync workers
and a WSGI app answering "hello". stead is target/release/stead ($STEAD_BIN overrides it).

Reported per row: requests sent, failed ones by kind (refused, reset, closed without an
answer, timeout, non-2xx, other), p50 of the answered requests, p99 in steady state and
during restarts (a request is "during" when it was due between the start of a restart command
and --settle seconds after it returned), their ratio, and how long the restart command took.
Raw figures go to bench/out/rolling.json.

Every process started is ended by pid (PM2 with `pm2 kill`, the sandbox with its `down`), and
anything still running in a scenario's scratch directory afterwards is killed and reported.
"""

import argparse
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time

from supervisors import OUT, ROOT, sh, supervisord_header, supervisord_python

SCRATCH = os.path.join(OUT, "rolling")
LOADGEN = os.path.join(OUT, "loadgen")
KINDS = ["refused", "reset", "closed", "timeout", "status", "error"]

APP_PY = """\
def app(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"hello\\n"]
"""

GUNICORN_CONF = """\
def post_worker_init(worker):
    worker.log.info("worker %s serving", worker.pid)
"""

# PM2's documented graceful shutdown for reloads: on SIGINT stop accepting, finish, exit.
APP_JS = """\
const http = require("http");
const server = http.createServer((req, res) => res.end("hello\\n"));
server.listen(Number(process.env.PORT), "127.0.0.1");
process.on("SIGINT", () => server.close(() => process.exit(0)));
"""


def stead_bin():
    return os.environ.get("STEAD_BIN") or os.path.join(ROOT, "target", "release", "stead")


def http_example():
    return os.environ.get("STEAD_HTTP_EXAMPLE") or os.path.join(ROOT, "target", "release", "examples", "http")


def gunicorn_python():
    """An interpreter that has gunicorn: the bench venv's (install-peers.sh puts it there), else
    the one running this script."""
    for py in (os.path.join(OUT, "venv", "bin", "python"), sys.executable):
        if os.path.exists(py) and subprocess.run([py, "-c", "import gunicorn"], stdout=subprocess.DEVNULL,
                                                 stderr=subprocess.DEVNULL).returncode == 0:
            return py
    return None


def gunicorn_argv(py, *extra):
    return [py, "-m", "gunicorn", "--workers", "2", *extra, "app:app"]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_ok(port, timeout=1.0):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as c:
            c.settimeout(timeout)
            c.sendall(b"GET / HTTP/1.0\r\nHost: bench\r\n\r\n")
            data = b""
            while True:
                b = c.recv(4096)
                if not b:
                    break
                data += b
        return data.startswith(b"HTTP/1.") and data[9:10] == b"2"
    except OSError:
        return False


def wait_serving(port, limit):
    end = time.monotonic() + limit
    while time.monotonic() < end:
        if http_ok(port):
            return True
        time.sleep(0.05)
    return False


def load_priority():
    """The load generator runs ahead of what it measures: real-time (SCHED_FIFO) where allowed,
    else a raised nice level (it reports which it got). It sleeps between sends, so it takes
    only the moments it needs."""
    try:
        os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(10))
    except (OSError, AttributeError):
        try:
            os.nice(-10)
        except OSError:
            pass


def run(cmd, env=None, timeout=120):
    """Run a command: (whether it succeeded, its output)."""
    try:
        p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env, timeout=timeout)
    except subprocess.TimeoutExpired:
        return False, f"timed out after {timeout} s"
    return p.returncode == 0, p.stdout.decode(errors="replace").strip()


def procs_in(directory):
    """Pids of processes whose working directory is in `directory` (what a scenario left)."""
    out = []
    for name in os.listdir("/proc"):
        if not name.isdigit() or int(name) == os.getpid():
            continue
        try:
            cwd = os.readlink(f"/proc/{name}/cwd")
        except OSError:
            continue
        if cwd == directory or cwd.startswith(directory + "/"):
            out.append(int(name))
    return out


class Scenario:
    name = "?"
    label = "?"

    def __init__(self, scratch, port):
        self.dir = scratch
        self.port = port
        self.proc = None
        self.log = open(os.path.join(scratch, "supervisor.log"), "wb")

    def missing(self):
        """Why this scenario cannot run here, or None."""
        return None

    def setup(self):
        pass

    def start(self):
        raise NotImplementedError

    def restart(self):
        """Restart the server once; (ok, output)."""
        raise NotImplementedError

    def teardown(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()

    def write(self, name, text):
        path = os.path.join(self.dir, name)
        with open(path, "w") as f:
            f.write(text)
        return path


class Stead(Scenario):
    rolling = True
    ready = 'ready = { notify = true, timeout = "30s" }'

    def missing(self):
        if not os.path.exists(stead_bin()):
            return "no stead build (cargo build --release -p stead-cli)"
        self.py = gunicorn_python()
        return None if self.py else "gunicorn is not installed (bash bench/install-peers.sh)"

    def program(self):
        self.write("app.py", APP_PY)
        return (f"command = {json.dumps(gunicorn_argv(self.py))}\n"
                f'sockets = ["tcp://127.0.0.1:{self.port}"]\n')

    def setup(self):
        self.state = os.path.join(self.dir, "state")
        self.conf = self.write("stead.toml", f'[supervisor]\nlog_dir = "{self.dir}/logs"\n'
                               f'[program.web]\n{self.program()}{self.ready}\nstop_timeout = "20s"\n')

    def start(self):
        self.proc = subprocess.Popen([stead_bin(), "up", "-c", self.conf, "--state-dir", self.state],
                                     stdout=self.log, stderr=self.log, cwd=self.dir,
                                     env={**os.environ, "STEAD_LOG": "warn"})

    def restart(self):
        cmd = [stead_bin(), "--state-dir", self.state, "restart", "web", "--timeout", "60s"]
        return run(cmd + (["--rolling"] if self.rolling else []))

    def teardown(self):
        if self.proc and self.proc.poll() is None:
            sh([stead_bin(), "--state-dir", self.state, "shutdown"], timeout=60)
        super().teardown()


class SteadRolling(Stead):
    name = "stead-rolling"
    label = "stead `restart --rolling`, gunicorn, held socket"


class SteadRollingWorkers(Stead):
    name = "stead-rolling-workers"
    label = "stead `restart --rolling`, gunicorn, ready once a worker serves"
    # gunicorn says READY=1 before its workers boot; its post_worker_init hook says when one
    # has loaded the app and is about to accept (docs/config.md, "Ready means serving").
    ready = 'ready = { log = "worker [0-9]+ serving", timeout = "30s" }'

    def program(self):
        self.write("gunicorn.conf.py", GUNICORN_CONF)
        return super().program()


class SteadRestart(Stead):
    name = "stead-restart"
    label = "stead `restart` (stop, start), gunicorn, held socket"
    rolling = False


class SteadHttp(Stead):
    name = "stead-http"
    label = "stead `restart --rolling`, the library's http example"
    ready = 'ready = { log = "listening on", timeout = "30s" }'

    def missing(self):
        if not os.path.exists(stead_bin()):
            return "no stead build (cargo build --release -p stead-cli)"
        if not os.path.exists(http_example()):
            return "no http example (cargo build --release -p stead --example http)"
        return None

    def program(self):
        return (f'command = ["{http_example()}"]\n'
                f'sockets = [{{ listen = "tcp://127.0.0.1:{self.port}", name = "http" }}]\n')


class Supervisord(Scenario):
    name = "supervisord"
    label = "supervisord `restart`, gunicorn on its own port"

    def missing(self):
        self.py = gunicorn_python()
        if not self.py:
            return "gunicorn is not installed (bash bench/install-peers.sh)"
        if not os.path.exists(os.path.join(OUT, "venv", "bin", "supervisord")):
            return "supervisord is not installed (bash bench/install-peers.sh)"
        return None

    def setup(self):
        self.write("app.py", APP_PY)
        os.makedirs(os.path.join(self.dir, "logs"), exist_ok=True)
        argv = gunicorn_argv(self.py, "--bind", f"127.0.0.1:{self.port}")
        self.conf = self.write("supervisord.conf", supervisord_header(self.dir) +
                               f"[program:web]\ncommand={' '.join(argv)}\ndirectory={self.dir}\n"
                               "startsecs=0\nautorestart=true\nstopwaitsecs=20\n")
        self.ctl = [supervisord_python(), "-m", "supervisor.supervisorctl", "-c", self.conf]

    def start(self):
        self.proc = subprocess.Popen([supervisord_python(), "-m", "supervisor.supervisord", "-c", self.conf],
                                     stdout=self.log, stderr=self.log, cwd=self.dir, env={**os.environ, "PYTHONPATH": ""})

    def restart(self):
        ok, out = run(self.ctl + ["restart", "web"])
        return ok and "ERROR" not in out, out


class PM2(Scenario):
    name = "pm2-reload"
    label = "PM2 `reload`, Node.js cluster mode (2 instances)"

    def missing(self):
        self.pm2 = os.path.join(OUT, "npm", "node_modules", ".bin", "pm2")
        if not os.path.exists(self.pm2):
            return "PM2 is not installed (bash bench/install-peers.sh)"
        return None if shutil.which("node") else "node is not on PATH"

    def setup(self):
        self.env = {**os.environ, "PM2_HOME": os.path.join(self.dir, "home")}
        app = self.write("app.js", APP_JS)
        self.eco = self.write("ecosystem.config.json", json.dumps({"apps": [{
            "name": "web", "script": app, "cwd": self.dir, "instances": 2, "exec_mode": "cluster",
            "env": {"PORT": str(self.port)}, "autorestart": True, "restart_delay": 0}]}))

    def start(self):
        ok, out = run([self.pm2, "start", self.eco], env=self.env)
        self.log.write(out.encode() + b"\n")

    def restart(self):
        return run([self.pm2, "reload", "web"], env=self.env)

    def teardown(self):
        sh([self.pm2, "kill"], env=self.env, timeout=60)
        self.log.close()


def sandbox_tool():
    return os.environ.get("SYSTEMD_SANDBOX") or os.path.normpath(os.path.join(ROOT, "..", "shared", "tools", "systemd-sandbox"))


class Systemd(Scenario):
    name = "systemd"
    label = "systemd `systemctl restart`, socket activation, gunicorn"
    box = "stead-rolling-bench"

    def missing(self):
        if os.geteuid() != 0:
            return "the systemd sandbox needs root"
        self.tool = sandbox_tool()
        if not os.path.exists(self.tool):
            return f"no systemd sandbox at {os.path.relpath(self.tool, ROOT)}"
        self.py = gunicorn_python()
        if not self.py:
            return "gunicorn is not installed (bash bench/install-peers.sh)"
        self.prefix = subprocess.run([self.py, "-c", "import sys; print(sys.base_prefix)"],
                                     stdout=subprocess.PIPE, text=True).stdout.strip()
        if self.prefix in ("/usr", "/usr/local", "/"):
            return f"gunicorn's python lives in {self.prefix}, which cannot be lent to the guest (use a venv of a python built elsewhere, e.g. pyenv)"
        return None

    def box_cmd(self, *args):
        return [self.tool, "--name", self.box, *args]

    def setup(self):
        # The guest has no python: lend it the host's interpreter (read-only) and bench/out
        # (the venv with gunicorn, the app) at the same paths.
        self.write("app.py", APP_PY)
        self.write("app.socket", f"[Socket]\nListenStream=127.0.0.1:{self.port}\n")
        # The unit gunicorn's documentation gives for systemd.
        self.write("app.service", "[Unit]\nRequires=app.socket\nAfter=app.socket\n"
                   "[Service]\nType=notify\nNotifyAccess=main\n"
                   f"ExecStart={' '.join(gunicorn_argv(self.py))}\nWorkingDirectory={self.dir}\n"
                   "KillMode=mixed\nTimeoutStopSec=20\n")

    def start(self):
        sh(self.box_cmd("down"), timeout=60)
        ok, out = run(self.box_cmd("up", "--host-network", "--bind", f"{OUT}:{OUT}",
                                   "--bind-ro", f"{self.prefix}:{self.prefix}"), timeout=180)
        self.log.write(out.encode() + b"\n")
        if not ok:
            raise RuntimeError(f"sandbox up failed: {out[-500:]}")
        script = (f"cp {self.dir}/app.socket {self.dir}/app.service /etc/systemd/system/ && "
                  "systemctl daemon-reload && systemctl start app.socket")
        ok, out = run(self.box_cmd("exec", "--direct", "--", "sh", "-c", script))
        self.log.write(out.encode() + b"\n")

    def restart(self):
        return run(self.box_cmd("exec", "--direct", "--", "systemctl", "restart", "app.service"))

    def teardown(self):
        ok, out = run(self.box_cmd("exec", "--direct", "--", "journalctl", "-u", "app.service", "--no-pager"))
        self.log.write(out.encode() + b"\n")
        sh(self.box_cmd("down"), timeout=120)
        self.log.close()


SCENARIOS = [SteadRolling, SteadRollingWorkers, SteadRestart, SteadHttp, Supervisord, PM2, Systemd]


def percentile(values, q):
    if not values:
        return None
    values = sorted(values)
    i = max(1, min(len(values), int(q * len(values) + 0.999999)))
    return values[i - 1]


def measure(cls, args):
    r = {"name": cls.name, "label": cls.label}
    scratch = os.path.join(SCRATCH, cls.name)
    shutil.rmtree(scratch, ignore_errors=True)
    os.makedirs(scratch)
    port = free_port()
    sc = cls(scratch, port)
    why = sc.missing()
    if why:
        r["skipped"] = why
        sc.log.close()
        return r
    sc.setup()
    try:
        sc.start()
        if not wait_serving(port, 60):
            r["error"] = f"not serving on port {port} within 60 s (see {os.path.relpath(scratch, ROOT)})"
            return r
        for _ in range(200):  # warm up: imports, first accepts, JIT
            http_ok(port)
        time.sleep(0.5)
        start = time.monotonic_ns() + 300_000_000
        records = os.path.join(scratch, "records.txt")
        lg = subprocess.Popen([LOADGEN, "127.0.0.1", str(port), str(args.rate), str(args.seconds), str(start),
                               records, str(int(args.timeout * 1000))], stdout=subprocess.PIPE,
                              preexec_fn=None if args.no_priority else load_priority)
        margin = args.seconds / 10
        span = args.seconds - 2 * margin
        restarts = []
        for k in range(args.restarts):
            at = start + int((margin + span * (k + 0.5) / args.restarts) * 1e9)
            time.sleep(max(0.0, (at - time.monotonic_ns()) / 1e9))
            t0 = time.monotonic_ns()
            ok, out = sc.restart()
            t1 = time.monotonic_ns()
            restarts.append({"at": (t0 - start) / 1e9, "took": (t1 - t0) / 1e9, "ok": ok,
                             **({} if ok else {"output": out[-400:]})})
            if not ok:
                print(f"#   restart {k + 1} failed: {out[-400:]}", file=sys.stderr)
        summary = json.loads(lg.communicate()[0])
        r["loadgen"] = summary
        r["restarts"] = restarts
        windows = [(x["at"], x["at"] + x["took"] + args.settle) for x in restarts]
        steady, during = [], []
        failed = {k: 0 for k in KINDS}
        failed_during = 0
        with open(records) as f:
            for line in f:
                due, lat, kind, _lag = line.split()
                due_s = int(due) / 1e9
                inside = any(a <= due_s <= b for a, b in windows)
                if kind == "ok":
                    (during if inside else steady).append(int(lat) / 1e6)
                else:
                    failed[kind] = failed.get(kind, 0) + 1
                    failed_during += inside
        r.update({
            "requests": summary["total"], "failed": failed, "failed_total": sum(failed.values()),
            "failed_during_restarts": failed_during,
            "p50_ms": percentile(steady + during, 0.5),
            "p99_steady_ms": percentile(steady, 0.99), "p99_during_ms": percentile(during, 0.99),
            "max_during_ms": max(during) if during else None,
            "requests_during": len(during) + failed_during,
            "restart_ok": sum(x["ok"] for x in restarts),
            "restart_median_s": statistics.median(x["took"] for x in restarts) if restarts else None,
        })
    except Exception as e:  # a scenario that breaks must not stop the others, nor leave anything
        r["error"] = f"{type(e).__name__}: {e}"
    finally:
        sc.teardown()
        left = procs_in(scratch)
        for p in left:
            try:
                os.kill(p, signal.SIGKILL)
            except ProcessLookupError:
                pass
        if left:
            r["left_behind"] = len(left)
            print(f"#   {cls.name}: killed {len(left)} process(es) left in its directory", file=sys.stderr)
    return r


def ms(v):
    if v is None:
        return "—"
    return f"{v:.1f} ms" if v < 1000 else f"{v / 1000:.2f} s"


def failed_cell(r):
    n = r["failed_total"]
    if not n:
        return "0"
    kinds = ", ".join(f"{k} {v:,}" for k, v in r["failed"].items() if v)
    return f"{n:,} ({kinds})"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--only", help="comma-separated subset: " + ",".join(c.name for c in SCENARIOS))
    ap.add_argument("--seconds", type=float, default=60, help="length of the load per scenario")
    ap.add_argument("--rate", type=float, default=1000, help="requests a second")
    ap.add_argument("--restarts", type=int, default=10, help="restarts per scenario")
    ap.add_argument("--settle", type=float, default=1.0,
                    help="seconds after a restart command returns that still count as during the restart")
    ap.add_argument("--timeout", type=float, default=10.0, help="seconds before a request counts as timed out")
    ap.add_argument("--no-priority", action="store_true",
                    help="run the load generator at normal priority (default: SCHED_FIFO where allowed)")
    ap.add_argument("--json", default=os.path.join(OUT, "rolling.json"))
    args = ap.parse_args()
    names = args.only.split(",") if args.only else [c.name for c in SCENARIOS]
    unknown = set(names) - {c.name for c in SCENARIOS}
    if unknown:
        sys.exit(f"unknown scenario(s): {', '.join(sorted(unknown))}")
    os.makedirs(SCRATCH, exist_ok=True)
    ok = subprocess.run(["gcc", "-O2", "-o", LOADGEN, os.path.join(os.path.dirname(os.path.abspath(__file__)), "loadgen.c")])
    if ok.returncode:
        sys.exit("could not build bench/loadgen.c")
    results = []
    for cls in SCENARIOS:
        if cls.name not in names:
            continue
        print(f"# {cls.name}: {args.seconds:g} s at {args.rate:g}/s, {args.restarts} restarts ...", file=sys.stderr, flush=True)
        results.append(measure(cls, args))
        brief = {k: v for k, v in results[-1].items() if k not in ("restarts", "label")}
        print(f"#   {brief}", file=sys.stderr, flush=True)
    with open(args.json, "w") as f:
        json.dump({"seconds": args.seconds, "rate": args.rate, "restarts": args.restarts,
                   "settle": args.settle, "results": results}, f, indent=1)
    print(f"\n**{args.rate:,.0f} requests/s for {args.seconds:g} s, {args.restarts} "
          f"restart{'s' if args.restarts != 1 else ''}**\n")
    print("| scenario | requests | failed | p50 | p99 steady | p99 during restarts | during / steady "
          "| max during | restart command (median) |")
    print("|---|---|---|---|---|---|---|---|---|")
    for r in results:
        if "skipped" in r or "error" in r:
            what = f"skipped: {r['skipped']}" if "skipped" in r else f"failed to run: {r['error']}"
            print(f"| {r['label']} | {what} | | | | | | | |")
            continue
        ratio = (f"{r['p99_during_ms'] / r['p99_steady_ms']:.1f}×"
                 if r["p99_during_ms"] and r["p99_steady_ms"] else "—")
        took = f"{r['restart_median_s'] * 1000:.0f} ms" if r["restart_median_s"] is not None else "—"
        if r["restart_ok"] < len(r["restarts"]):
            took += f" ({len(r['restarts']) - r['restart_ok']} failed)"
        print(f"| {r['label']} | {r['requests']:,} | {failed_cell(r)} | {ms(r['p50_ms'])} | {ms(r['p99_steady_ms'])} "
              f"| {ms(r['p99_during_ms'])} | {ratio} | {ms(r['max_during_ms'])} | {took} |")
    gens = [r["loadgen"] for r in results if "loadgen" in r]
    if gens:
        sched = ", ".join(sorted({g["sched"] if g["sched"] != "SCHED_OTHER" else f"nice {g['nice']}" for g in gens}))
        print(f"\nLoad generator ({sched}): sends late by {max(g['send_lag_p99_ms'] for g in gens):.1f} ms at p99 "
              f"and {max(g['send_lag_max_ms'] for g in gens):.1f} ms at worst (worst run), counted in the latencies. "
              f"\"During restarts\": due between a restart command's start and {args.settle:g} s after it "
              "returned; latencies are of answered requests.")
    uname = os.uname()
    print(f"\n{os.cpu_count()} CPUs, {uname.sysname} {uname.release}; {time.strftime('%Y-%m-%d')}")


if __name__ == "__main__":
    main()
