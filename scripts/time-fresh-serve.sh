#!/usr/bin/env bash
# A newcomer's first `make serve`, timed: clone this repository's HEAD into a temporary
# directory, run `make serve` there and poll the page until it answers. Prints the seconds from
# the clone to the first page, and how long the install and the first server start took.
#
#   scripts/time-fresh-serve.sh [PORT]      (default 8765; the server listens on 127.0.0.1)
#
# Uses pip's cache and the configured indexes as they are (warm them with a first run).
# Needs git, curl and python3 (>= 3.11) with venv.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
port=${1:-8765}
if curl -fs -o /dev/null "http://127.0.0.1:$port/"; then
  echo "port $port already answers; give another: $0 PORT" >&2
  exit 2
fi
dir=$(mktemp -d "${TMPDIR:-/tmp}/callister-fresh-XXXXXX")
pid=""
cleanup() {
  if [ -n "$pid" ]; then kill -- "-$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
  rm -rf "$dir"
}
trap cleanup EXIT

start=$(date +%s.%N)
git clone -q "$repo" "$dir/callister"
cd "$dir/callister"
set -m  # make (and the server it starts) in a process group of their own, to stop them together
CALLISTER_PORT=$port make serve >make.log 2>&1 &
pid=$!
set +m
for _ in $(seq 1 9000); do  # 30 minutes at most
  if curl -fs -o /dev/null "http://127.0.0.1:$port/"; then
    served=$(date +%s.%N)
    installed=$(stat -c %Y .venv/.runtime-installed)
    python3 - "$start" "$installed" "$served" <<'PY'
import os, sys
start, installed, served = (float(v) for v in sys.argv[1:])
print(f"fresh clone -> page served: {served - start:.0f} s (install {installed - start:.0f} s, "
      f"first server start {served - installed:.0f} s; load average {os.getloadavg()[0]:.1f})")
PY
    exit 0
  fi
  if ! kill -0 "$pid" 2>/dev/null; then
    echo "make serve stopped before the page answered:" >&2
    tail -20 make.log >&2
    exit 1
  fi
  sleep 0.2
done
echo "no page after 30 minutes" >&2
exit 1
