#!/usr/bin/env bash
# Installs the peers stead is measured against, from the package registries only, into
# bench/out (nothing touches the host's init): supervisord and gunicorn (PyPI, in a venv), PM2
# (npm, local prefix), runit, s6 and daemontools (Debian, with a policy-rc.d that keeps their
# packaged services from starting), horust (crates.io, cargo install --root).
set -Eeuo pipefail
cd "$(dirname "$0")"
OUT=$PWD/out
mkdir -p "$OUT"
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

if [ ! -x "$OUT/venv/bin/supervisord" ]; then
  python3 -m venv "$OUT/venv"
  "$OUT/venv/bin/pip" install -q 'supervisor>=4.2'
fi
# The server that rolling.py restarts under load.
if [ ! -x "$OUT/venv/bin/gunicorn" ]; then
  "$OUT/venv/bin/pip" install -q gunicorn
fi
if [ ! -x "$OUT/npm/node_modules/.bin/pm2" ]; then
  npm install --silent --prefix "$OUT/npm" pm2 >/dev/null
fi
missing=()
for pair in runsvdir:runit s6-svscan:s6 svscan:daemontools; do
  command -v "${pair%%:*}" >/dev/null || missing+=("${pair##*:}")
done
if [ ${#missing[@]} -gt 0 ]; then
  policy=/usr/sbin/policy-rc.d
  had_policy=0; [ -e "$policy" ] && had_policy=1
  [ $had_policy = 1 ] || { printf '#!/bin/sh\nexit 101\n' | as_root tee "$policy" >/dev/null; as_root chmod +x "$policy"; }
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  [ $had_policy = 1 ] || as_root rm -f "$policy"
fi
if [ ! -x "$OUT/cargo/bin/horust" ]; then
  cargo install --quiet --locked --root "$OUT/cargo" horust horustctl 2>/dev/null \
    || cargo install --quiet --root "$OUT/cargo" horust horustctl
fi
echo "peers installed in $OUT"
