#!/usr/bin/env bash
# The benchmark in one command: install the peers, build stead --release, measure all of
# them in one run: process supervision (supervisors.py), log capture (logs.py), then the
# library's start-to-READY time and size (ready.py), what monitoring costs (monitor.py), and
# 10,000 programs (scale.py). Extra arguments go to supervisors.py (e.g. --only stead,runit
# --idle 10); `--logs-only` skips it; `--scale-only` builds stead and runs scale.py alone.
set -Eeuo pipefail
cd "$(dirname "$0")"
if [ "${1:-}" = "--scale-only" ]; then
  (cd .. && cargo build --release --locked -p stead-cli)
  mkdir -p out
  STEAD_BIN="$PWD/../target/release/stead" python3 scale.py --json out/scale.json | tee out/scale.md
  exit
fi
./install-peers.sh
rustup target add x86_64-unknown-linux-musl >/dev/null
(cd .. && cargo build --release --locked -p stead-cli --target x86_64-unknown-linux-musl)
(cd .. && cargo build --release --locked -p stead-cli -p stead-bench-ready)
gcc -O2 -static -o out/floor floor.c
gcc -O2 -o out/writer writer.c
if [ "${1:-}" = "--logs-only" ]; then
  shift
else
  python3 supervisors.py --json out/results.json "$@" | tee out/results.md
fi
python3 logs.py --json out/logs.json | tee out/logs.md
python3 ready.py --json out/ready.json | tee out/ready.md
python3 monitor.py --json out/monitor.json | tee out/monitor.md
python3 scale.py --json out/scale.json | tee out/scale.md
