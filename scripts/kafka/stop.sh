#!/usr/bin/env bash
# Stop a broker started by scripts/kafka/start.sh.
# Usage: scripts/kafka/stop.sh [--dir D] [--timeout SECONDS]
#   --dir D       the dir given to start.sh (default: scripts/kafka/.work/broker)
#   --timeout S   wait this long for a clean shutdown before SIGKILL (default 20)
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
DIR="$HERE/.work/broker"
TIMEOUT=20

log() { printf '[kafka] %s\n' "$*" >&2; }

while [ $# -gt 0 ]; do
  case "$1" in
    --dir) DIR="${2:?--dir needs a value}"; shift 2 ;;
    --dir=*) DIR="${1#*=}"; shift ;;
    --timeout) TIMEOUT="${2:?--timeout needs a value}"; shift 2 ;;
    --timeout=*) TIMEOUT="${1#*=}"; shift ;;
    -h|--help) sed -n '2,5p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 0 ;;
    *) log "unknown argument: $1"; exit 1 ;;
  esac
done

PID_FILE="$DIR/kafka.pid"
WATCHDOG_FILE="$DIR/watchdog.pid"

if [ -f "$WATCHDOG_FILE" ]; then
  kill "$(cat "$WATCHDOG_FILE")" 2>/dev/null || true
  rm -f "$WATCHDOG_FILE"
fi

if [ ! -f "$PID_FILE" ]; then
  log "no broker running in $DIR (no kafka.pid)"
  exit 0
fi
PID="$(cat "$PID_FILE")"

# Only signal the pid if it is still our kafka.Kafka JVM (pids get reused).
if ! kill -0 "$PID" 2>/dev/null || ! tr '\0' ' ' < "/proc/$PID/cmdline" 2>/dev/null | grep -q 'kafka\.Kafka'; then
  log "broker (pid $PID) is not running"
  rm -f "$PID_FILE"
  exit 0
fi

kill -TERM "$PID" 2>/dev/null || true
deadline=$((SECONDS + TIMEOUT))
while kill -0 "$PID" 2>/dev/null && [ $SECONDS -lt $deadline ]; do sleep 0.2; done
if kill -0 "$PID" 2>/dev/null; then
  log "broker (pid $PID) still alive after ${TIMEOUT}s, sending SIGKILL"
  kill -KILL "$PID" 2>/dev/null || true
  while kill -0 "$PID" 2>/dev/null; do sleep 0.1; done
fi
rm -f "$PID_FILE"
log "stopped broker (pid $PID)"
