#!/usr/bin/env bash
# The benchmark in one command: install the peers, build stead --release, measure all of
# them in one run. Extra arguments go to supervisors.py (e.g. --only stead,runit --idle 10).
set -Eeuo pipefail
cd "$(dirname "$0")"
./install-peers.sh
rustup target add x86_64-unknown-linux-musl >/dev/null
(cd .. && cargo build --release --locked -p stead-cli --target x86_64-unknown-linux-musl)
gcc -O2 -static -o out/floor floor.c
python3 supervisors.py --json out/results.json "$@" | tee out/results.md
