#!/usr/bin/env bash
# Emergency stop: stop the runner, cancel every open order, flatten every position.
#
# Usage: scripts/emergency_stop.sh [--keep-inventory] [CONFIG]   (default: configs/phoenix.mainnet.yaml)
#   1. SIGTERM the running instance (pid from <state_dir>/phoenix.lock); SIGKILL after 20 s
#      (the exchange dead-man switch then cancels its orders within deadman_countdown_ms anyway);
#   2. phoenix cancel-all (REST, works without the runner);
#   3. phoenix flatten --yes (reduce-only MARKET orders) unless --keep-inventory;
#   4. phoenix status.
set -uo pipefail

cd "$(dirname "$0")/.."
FLATTEN=1
if [[ "${1:-}" == "--keep-inventory" ]]; then
  FLATTEN=0
  shift
fi
CONFIG="${1:-${PHOENIX_CONFIG:-configs/phoenix.mainnet.yaml}}"
PHOENIX="${PHOENIX_BIN:-.venv/bin/phoenix}"
PY="${PHOENIX_PYTHON:-.venv/bin/python}"
RC=0

STATE_DIR="$("$PY" -c 'import sys; from phoenix.config import load_config; print(load_config(sys.argv[1]).global_.state_dir)' "$CONFIG")" || exit 2
LOCK="$STATE_DIR/phoenix.lock"

EMBEDDED=0
if [[ -f "$STATE_DIR/sim_endpoint.json" ]]; then
  EMBEDDED=1  # venue sim with the simulator inside the runner: it stops with the runner
fi

PID=""
if [[ -f "$LOCK" ]]; then
  PID="$(tr -dc '0-9' < "$LOCK")"
fi
if [[ -n "$PID" ]] && kill -0 "$PID" 2>/dev/null && grep -qa phoenix "/proc/$PID/cmdline" 2>/dev/null; then
  echo "emergency_stop: stopping runner pid $PID (SIGTERM)"
  kill -TERM "$PID"
  for _ in $(seq 1 200); do
    kill -0 "$PID" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$PID" 2>/dev/null; then
    echo "emergency_stop: runner did not exit in 20 s, SIGKILL" >&2
    kill -KILL "$PID"
    RC=1
  fi
else
  echo "emergency_stop: no running instance found for $STATE_DIR"
fi

if [[ "$EMBEDDED" == "1" ]]; then
  echo "emergency_stop: the embedded simulator stopped with the runner (its orders and positions are gone)"
  exit "$RC"
fi

echo "emergency_stop: cancel-all"
"$PHOENIX" cancel-all --config "$CONFIG" || { echo "emergency_stop: cancel-all FAILED" >&2; RC=1; }

if [[ "$FLATTEN" == "1" ]]; then
  echo "emergency_stop: flatten"
  "$PHOENIX" flatten --config "$CONFIG" --yes || { echo "emergency_stop: flatten FAILED" >&2; RC=1; }
fi

"$PHOENIX" status --config "$CONFIG" || RC=1
exit "$RC"
