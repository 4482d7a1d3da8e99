#!/usr/bin/env bash
# A long soak of the supervisor: the same test CI runs with 10,000 restarts
# (crates/stead-cli/tests/soak_restarts_and_requests_stay_flat.rs), here with N restarts
# (default 1,000,000: about an hour at a few hundred restarts a second) and a release
# build. It prints the restart and request rates, the RSS slope over the second half and the
# supervisor's fd count before and after, and fails if fds changed or RSS kept growing.
#
#   bash bench/soak.sh [RESTARTS]
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -p stead-testchild
STEAD_SOAK_RESTARTS="${1:-1000000}" cargo test --release -p stead-cli \
  --test soak_restarts_and_requests_stay_flat -- --nocapture
