#!/usr/bin/env bash
# Installs what the tests and the local services need beyond npm packages, from Debian's packages:
# a JDK and Maven (the local Kafka broker is fetched from Maven Central and run with java) and
# clickhouse-server (the server adapter's transport test) and Chromium (the dashboard's browser tests
# drive it with playwright-core; no browser is downloaded at npm install time) with its headless
# shell (the dashboard benchmark's headless Chromium), and gdb (a CLI test whose process hangs
# ends it and reports every thread's stack). Safe to run again; installs only what is missing.
# Without root it prints the command to run instead.
set -euo pipefail
missing=()
command -v java >/dev/null 2>&1 || missing+=(default-jdk-headless)
command -v mvn >/dev/null 2>&1 || missing+=(maven)
command -v clickhouse-server >/dev/null 2>&1 || missing+=(clickhouse-server)
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
command -v chromium-headless-shell >/dev/null 2>&1 || missing+=(chromium-headless-shell)
command -v gdb >/dev/null 2>&1 || missing+=(gdb)
command -v curl >/dev/null 2>&1 || missing+=(curl)
command -v python3 >/dev/null 2>&1 || missing+=(python3)
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "missing: ${missing[*]} — run: sudo apt-get update && sudo apt-get install -y ${missing[*]}" >&2
    exit 1
  fi
  echo "installing ${missing[*]} from Debian's packages"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi
node -e 'const [major, minor] = process.versions.node.split(".").map(Number); if (major < 20 || (major === 20 && minor < 19)) { console.error("Node.js >= 20.19 is required, found " + process.version); process.exit(1); }'
echo "system packages ready: $(java -version 2>&1 | head -1); $(mvn -v 2>/dev/null | head -1); clickhouse-server $(dpkg-query -W -f='${Version}' clickhouse-server 2>/dev/null || echo '?'); chromium $(dpkg-query -W -f='${Version}' chromium 2>/dev/null || echo '?') (with its headless shell)"
