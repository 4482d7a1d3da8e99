#!/usr/bin/env python3
"""Time from process start to READY=1, and binary size: an empty service on the stead
library against the same service written by hand with sd-notify (bench/ready/).

Each run binds a fresh notify socket, starts the program with NOTIFY_SOCKET set, takes the
time until the READY=1 datagram arrives, then stops it with SIGTERM. The two programs are
measured alternately so that machine noise hits both alike.

    cargo build --release --locked -p stead-bench-ready
    python3 bench/ready.py [--runs 300] [--json out.json]
"""
import argparse, json, os, signal, socket, statistics, subprocess, tempfile, time

HERE = os.path.dirname(os.path.abspath(__file__))
BIN = os.path.join(HERE, "..", "target", "release")
PROGRAMS = {"stead library": "ready-stead", "sd-notify by hand": "ready-bare"}


def once(path):
    d = tempfile.mkdtemp(prefix="stead-ready-")
    sock_path = os.path.join(d, "notify")
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.bind(sock_path)
    s.settimeout(10)
    env = dict(os.environ, NOTIFY_SOCKET=sock_path, RUST_LOG="off")
    t0 = time.perf_counter()
    p = subprocess.Popen([path], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        while True:
            data = s.recv(4096)
            if b"READY=1" in data.split(b"\n"):
                took = time.perf_counter() - t0
                break
    finally:
        p.send_signal(signal.SIGTERM)
        p.wait(10)
        s.close()
        os.unlink(sock_path)
        os.rmdir(d)
    if p.returncode != 0:
        raise SystemExit(f"{path} exited with {p.returncode}")
    return took


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=300)
    ap.add_argument("--json")
    a = ap.parse_args()
    times = {k: [] for k in PROGRAMS}
    for name, exe in PROGRAMS.items():  # warm the page cache
        once(os.path.join(BIN, exe))
    for _ in range(a.runs):
        for name, exe in PROGRAMS.items():
            times[name].append(once(os.path.join(BIN, exe)))
    rows = {}
    for name, exe in PROGRAMS.items():
        t = sorted(times[name])
        rows[name] = {
            "median_ms": statistics.median(t) * 1e3,
            "p95_ms": t[int(len(t) * 0.95) - 1] * 1e3,
            "size_bytes": os.path.getsize(os.path.join(BIN, exe)),
        }
    base = rows["sd-notify by hand"]
    print(f"start to READY=1, {a.runs} runs each (release build, stripped of debug info)\n")
    print("| program | median | p95 | binary size |")
    print("|---|---|---|---|")
    for name, r in rows.items():
        print(f"| {name} | {r['median_ms']:.2f} ms | {r['p95_ms']:.2f} ms | {r['size_bytes'] / 1e6:.2f} MB |")
    st = rows["stead library"]
    print(f"\nstead adds {st['median_ms'] - base['median_ms']:+.2f} ms to the median start and "
          f"{(st['size_bytes'] - base['size_bytes']) / 1e6:+.2f} MB to the binary.")
    if a.json:
        with open(a.json, "w") as f:
            json.dump(rows, f, indent=1)


if __name__ == "__main__":
    main()
