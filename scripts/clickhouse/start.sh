#!/usr/bin/env bash
# Starts a throwaway ClickHouse server from Debian's clickhouse-server package on free ports, for
# the server adapter's transport test. Debian ships 18.16, too old for our views (no query
# parameters, no window functions): the full schema runs on a server only through
# docker-compose/testcontainers. Prints CLICKHOUSE_URL=... and writes pid/url into the dir.
# Usage: scripts/clickhouse/start.sh [--dir DIR]    (install: apt-get install clickhouse-server)
set -euo pipefail
dir="${TMPDIR:-/tmp}/flowpulse-clickhouse-$$"
while [ $# -gt 0 ]; do
  case "$1" in
    --dir) dir="$2"; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
server=$(command -v clickhouse-server || true)
if [ -z "$server" ]; then
  echo "clickhouse-server is not installed (Debian: apt-get install clickhouse-server)" >&2
  exit 3
fi
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
http_port=$(free_port); tcp_port=$(free_port); inter_port=$(free_port)
mkdir -p "$dir"/{data,tmp,user_files,format_schemas}
"$server" --config-file=/etc/clickhouse-server/config.xml -- \
  --path="$dir/data/" --tmp_path="$dir/tmp/" --user_files_path="$dir/user_files/" \
  --format_schema_path="$dir/format_schemas/" --listen_host=127.0.0.1 \
  --http_port="$http_port" --tcp_port="$tcp_port" --interserver_http_port="$inter_port" \
  --logger.log="$dir/server.log" --logger.errorlog="$dir/server.err.log" --logger.console=0 \
  >"$dir/stdout.log" 2>&1 &
echo $! >"$dir/pid"
url="http://127.0.0.1:$http_port"
for _ in $(seq 1 100); do
  if curl -fs "$url/ping" >/dev/null 2>&1; then
    echo "$url" >"$dir/url"
    echo "CLICKHOUSE_URL=$url"
    exit 0
  fi
  if ! kill -0 "$(cat "$dir/pid")" 2>/dev/null; then break; fi
  sleep 0.2
done
echo "clickhouse-server did not start; last log lines:" >&2
tail -n 20 "$dir/server.err.log" "$dir/stdout.log" >&2 2>/dev/null || true
exit 1
