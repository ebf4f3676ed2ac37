#!/usr/bin/env bash
# Start Phoenix in production: validate the config, then exec the runner (signals reach it directly).
#
# Usage: scripts/run_production.sh [CONFIG]          (default: configs/phoenix.mainnet.yaml)
# Credentials come only from the environment or secret files:
#   PHOENIX_API_KEY / PHOENIX_API_SECRET  or  PHOENIX_API_KEY_FILE / PHOENIX_API_SECRET_FILE / PHOENIX_ED25519_KEY_FILE
# Stop with SIGTERM (cancels every quote, keeps the inventory, exits 0); emergency: scripts/emergency_stop.sh.
set -euo pipefail

cd "$(dirname "$0")/.."
CONFIG="${1:-${PHOENIX_CONFIG:-configs/phoenix.mainnet.yaml}}"
PHOENIX="${PHOENIX_BIN:-.venv/bin/phoenix}"
PY="${PHOENIX_PYTHON:-.venv/bin/python}"

if [[ ! -x "$PHOENIX" ]]; then
  echo "run_production: $PHOENIX not found; run 'make venv' first" >&2
  exit 2
fi
"$PHOENIX" config check "$CONFIG"

VENUE="$("$PY" -c 'import sys; from phoenix.config import load_config; print(load_config(sys.argv[1]).global_.venue.value)' "$CONFIG")"
if [[ "$VENUE" != "sim" ]]; then
  if [[ -z "${PHOENIX_API_KEY:-}" && -z "${PHOENIX_API_KEY_FILE:-}" ]]; then
    echo "run_production: venue $VENUE needs PHOENIX_API_KEY (or PHOENIX_API_KEY_FILE)" >&2
    exit 2
  fi
fi

export PYTHONUNBUFFERED=1
# The lean entry point imports only the runner (not the simulator/backtest stacks of the full CLI): less RSS.
# --no-status: JSON logs on stderr for the log collector (the live table is for interactive terminals).
exec "$PY" -m phoenix.runner run --config "$CONFIG" --no-status
