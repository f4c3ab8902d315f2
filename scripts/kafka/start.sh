#!/usr/bin/env bash
# Start a real single-node Apache Kafka broker (KRaft, broker+controller in one JVM) for tests
# and local runs. Kafka's jars come from Maven Central through scripts/kafka/pom.xml; no Docker.
#
# Usage: scripts/kafka/start.sh [--port N] [--controller-port N] [--dir D] [--owner-pid PID]
#   --port N             client (PLAINTEXT) port; default: the port of the last run in --dir
#                        if it is free, else a free port
#   --controller-port N  KRaft controller port; default: likewise
#   --dir D              working dir (config, data, logs, pid); default: scripts/kafka/.work/broker
#   --owner-pid PID      stop the broker automatically once process PID exits (used by tests)
# Environment:
#   KAFKA_VERSION        Kafka version to fetch (default 3.9.2; see README.md about 4.x)
#   KAFKA_HEAP_OPTS      default -Xmx512m -Xms128m
#   KAFKA_JVM_OPTS       default: flags that favour a fast start
#   KAFKA_START_TIMEOUT  seconds to wait for the broker (default 60)
#
# Progress goes to stderr; the only stdout line is `KAFKA_BROKERS=127.0.0.1:PORT`, so
#   export "$(scripts/kafka/start.sh)"
# works. The dir then holds kafka.pid, brokers (host:port), server.properties and logs/.
# Stop it with scripts/kafka/stop.sh [--dir D].
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
WORK="$HERE/.work"
VERSION="${KAFKA_VERSION:-3.9.2}"
PORT=""
CPORT=""
DIR=""
OWNER_PID=""
TIMEOUT="${KAFKA_START_TIMEOUT:-60}"
HOST=127.0.0.1

log() { printf '[kafka] %s\n' "$*" >&2; }
die() { printf '[kafka] error: %s\n' "$*" >&2; exit 1; }

while [ $# -gt 0 ]; do
  case "$1" in
    --port) PORT="${2:?--port needs a value}"; shift 2 ;;
    --port=*) PORT="${1#*=}"; shift ;;
    --controller-port) CPORT="${2:?--controller-port needs a value}"; shift 2 ;;
    --controller-port=*) CPORT="${1#*=}"; shift ;;
    --dir) DIR="${2:?--dir needs a value}"; shift 2 ;;
    --dir=*) DIR="${1#*=}"; shift ;;
    --owner-pid) OWNER_PID="${2:?--owner-pid needs a value}"; shift 2 ;;
    --owner-pid=*) OWNER_PID="${1#*=}"; shift ;;
    -h|--help) sed -n '2,21p' "$0" | grep '^#' | sed 's/^# \{0,1\}//' >&2; exit 0 ;;
    *) die "unknown argument: $1 (see --help)" ;;
  esac
done

DIR="${DIR:-$WORK/broker}"
mkdir -p "$DIR"
DIR="$(cd "$DIR" && pwd)"
PID_FILE="$DIR/kafka.pid"
BROKERS_FILE="$DIR/brokers"

is_kafka_pid() { # true if $1 is a live kafka.Kafka JVM
  [ -n "${1:-}" ] && kill -0 "$1" 2>/dev/null && tr '\0' ' ' < "/proc/$1/cmdline" 2>/dev/null | grep -q 'kafka\.Kafka'
}

# Already running from this dir? Report it instead of starting a second one.
if [ -f "$PID_FILE" ] && is_kafka_pid "$(cat "$PID_FILE")"; then
  log "already running in $DIR (pid $(cat "$PID_FILE"))"
  echo "KAFKA_BROKERS=$(cat "$BROKERS_FILE")"
  exit 0
fi

command -v java >/dev/null 2>&1 || die "java not found on PATH (Kafka ${VERSION} needs Java 11+, 4.x needs 17+)"
JAVA_MAJOR="$(java -XshowSettings:properties -version 2>&1 | sed -n 's/.*java\.specification\.version = \([0-9.]*\).*/\1/p' | head -n1)"
JAVA_MAJOR="${JAVA_MAJOR#1.}"; JAVA_MAJOR="${JAVA_MAJOR%%.*}"
case "$VERSION" in
  [4-9].*) NEED_JAVA=17 ;;
  *) NEED_JAVA=11 ;;
esac
if [ -n "$JAVA_MAJOR" ] && [ "$JAVA_MAJOR" -lt "$NEED_JAVA" ]; then
  die "Kafka $VERSION needs Java $NEED_JAVA+, found $JAVA_MAJOR"
fi

# ---- classpath (cached per version under .work/) ----
CP_FILE="$WORK/classpath-$VERSION.txt"
classpath_ok() {
  [ -s "$CP_FILE" ] || return 1
  local jar
  local IFS=':'
  for jar in $(cat "$CP_FILE"); do [ -f "$jar" ] || return 1; done
}
if ! classpath_ok; then
  command -v mvn >/dev/null 2>&1 || die "mvn not found on PATH (needed once to fetch Kafka $VERSION from Maven Central)"
  mkdir -p "$WORK"
  log "resolving Kafka $VERSION from Maven Central (mvn)..."
  MVN_ARGS=(-B -q -f "$HERE/pom.xml" dependency:build-classpath "-Dkafka.version=$VERSION")
  case "$VERSION" in [4-9].*) MVN_ARGS+=(-Dkafka4) ;; esac
  TMP_CP="$CP_FILE.tmp.$$"
  t0=$SECONDS
  if ! mvn "${MVN_ARGS[@]}" "-Dmdep.outputFile=$TMP_CP" >"$WORK/mvn-$VERSION.log" 2>&1; then
    tail -n 40 "$WORK/mvn-$VERSION.log" >&2 || true
    rm -f "$TMP_CP"
    die "mvn dependency:build-classpath failed (log: $WORK/mvn-$VERSION.log)"
  fi
  mv -f "$TMP_CP" "$CP_FILE" # atomic, so concurrent starts never read half a file
  log "classpath ready in $((SECONDS - t0))s -> $CP_FILE"
fi
CP="$(cat "$CP_FILE")"

# ---- ports ----
free_port() {
  if command -v node >/dev/null 2>&1; then
    node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})' && return
  fi
  if command -v python3 >/dev/null 2>&1; then
    python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1]);s.close()' && return
  fi
  local p
  for _ in $(seq 1 50); do # fallback: a random high port nobody is listening on
    p=$((20000 + RANDOM % 40000))
    if ! (exec 3<>"/dev/tcp/$HOST/$p") 2>/dev/null; then echo "$p"; return; fi
  done
  return 1
}
port_open() { (exec 3<>"/dev/tcp/$HOST/$1") 2>/dev/null; }

AUTO_PORTS=0
if [ -z "$PORT" ] || [ -z "$CPORT" ]; then AUTO_PORTS=1; fi
USER_PORT="$PORT"
USER_CPORT="$CPORT"

# Ports from a previous run in the same dir, reused when free so a local KAFKA_BROKERS stays valid.
PREV_PORT=""
PREV_CPORT=""
if [ -f "$DIR/server.properties" ]; then
  PREV_PORT="$(sed -n 's/^advertised\.listeners=PLAINTEXT:\/\/[^:]*:\([0-9]*\).*/\1/p' "$DIR/server.properties")"
  PREV_CPORT="$(sed -n 's/^controller\.quorum\.voters=1@[^:]*:\([0-9]*\).*/\1/p' "$DIR/server.properties")"
fi

pick_ports() { # $1 = attempt number
  if [ -n "$USER_PORT" ]; then
    PORT="$USER_PORT"
    if port_open "$PORT"; then die "port $PORT is already in use"; fi
  elif [ "$1" = 1 ] && [ -n "$PREV_PORT" ] && ! port_open "$PREV_PORT"; then
    PORT="$PREV_PORT"
  else
    PORT="$(free_port)"
  fi
  if [ -n "$USER_CPORT" ]; then
    CPORT="$USER_CPORT"
    if port_open "$CPORT"; then die "controller port $CPORT is already in use"; fi
  elif [ "$1" = 1 ] && [ -n "$PREV_CPORT" ] && [ "$PREV_CPORT" != "$PORT" ] && ! port_open "$PREV_CPORT"; then
    CPORT="$PREV_CPORT"
  else
    CPORT="$(free_port)"
    while [ "$CPORT" = "$PORT" ]; do CPORT="$(free_port)"; done
  fi
  [ "$CPORT" != "$PORT" ] || die "--port and --controller-port must differ"
}

# ---- config ----
write_config() {
  mkdir -p "$DIR/data" "$DIR/logs"
  cat >"$DIR/server.properties" <<EOF
# Generated by scripts/kafka/start.sh (Kafka $VERSION) - single-node KRaft for tests/local use.
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@$HOST:$CPORT
listeners=PLAINTEXT://$HOST:$PORT,CONTROLLER://$HOST:$CPORT
advertised.listeners=PLAINTEXT://$HOST:$PORT
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=$DIR/data
num.partitions=3
auto.create.topics.enable=true
offsets.topic.replication.factor=1
offsets.topic.num.partitions=3
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=3
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
num.network.threads=2
num.io.threads=4
log.retention.hours=24
EOF
  # Kafka 3.x logs via reload4j (log4j 1 syntax), 4.x via log4j2; write both, the JVM flags pick one.
  cat >"$DIR/log4j.properties" <<EOF
log4j.rootLogger=INFO, file
log4j.appender.file=org.apache.log4j.FileAppender
log4j.appender.file.File=$DIR/logs/server.log
log4j.appender.file.layout=org.apache.log4j.PatternLayout
log4j.appender.file.layout.ConversionPattern=[%d] %p %m (%c)%n
log4j.logger.kafka.request.logger=WARN
log4j.logger.org.apache.kafka.clients=WARN
EOF
  cat >"$DIR/log4j2.properties" <<EOF
status = warn
appender.file.type = File
appender.file.name = file
appender.file.fileName = $DIR/logs/server.log
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = info
rootLogger.appenderRef.file.ref = file
logger.req.name = kafka.request.logger
logger.req.level = warn
logger.clients.name = org.apache.kafka.clients
logger.clients.level = warn
EOF
}

read -r -a HEAP <<<"${KAFKA_HEAP_OPTS:--Xmx512m -Xms128m}"
read -r -a JVM <<<"${KAFKA_JVM_OPTS:--XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Xshare:auto -XX:-UsePerfData -Djava.awt.headless=true}"
LOG_OPTS=("-Dlog4j.configuration=file:$DIR/log4j.properties" "-Dlog4j2.configurationFile=$DIR/log4j2.properties" "-Dkafka.logs.dir=$DIR/logs")

random_cluster_id() { # 16 random bytes, URL-safe base64 without padding (what kafka-storage random-uuid prints)
  local id
  while :; do
    id="$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n')"
    case "$id" in -*) continue ;; esac # Kafka never hands out ids starting with '-'
    echo "$id"; return
  done
}

FRESH_DATA=""
format_storage() {
  local cluster_id
  if [ -z "$FRESH_DATA" ]; then
    if [ -f "$DIR/data/meta.properties" ]; then FRESH_DATA=0; else FRESH_DATA=1; fi
  fi
  if [ -f "$DIR/data/meta.properties" ]; then
    cluster_id="$(sed -n 's/^cluster\.id=//p' "$DIR/data/meta.properties")"
  else
    cluster_id="$(random_cluster_id)"
  fi
  echo "$cluster_id" >"$DIR/cluster.id"
  if ! java "${JVM[@]}" -Xmx256m "${LOG_OPTS[@]}" -cp "$CP" kafka.tools.StorageTool format \
      -t "$cluster_id" -c "$DIR/server.properties" --ignore-formatted >"$DIR/logs/format.out" 2>&1; then
    cat "$DIR/logs/format.out" >&2
    die "kafka-storage format failed"
  fi
}

start_broker() {
  : >"$DIR/logs/server.log"
  # stdin/stdout/stderr all redirected: the JVM must not keep the caller's pipes open.
  nohup java "${HEAP[@]}" "${JVM[@]}" "${LOG_OPTS[@]}" -Dflowpulse.kafka.dir="$DIR" \
    -cp "$CP" kafka.Kafka "$DIR/server.properties" </dev/null >"$DIR/logs/kafka.out" 2>&1 &
  KPID=$!
  echo "$KPID" >"$PID_FILE"
}

# Returns 0 when ready, 1 when the JVM died, 2 on timeout.
wait_ready() {
  local deadline=$((SECONDS + TIMEOUT))
  while [ $SECONDS -lt $deadline ]; do
    if ! kill -0 "$KPID" 2>/dev/null; then return 1; fi
    if grep -q 'Kafka Server started' "$DIR/logs/server.log" 2>/dev/null && port_open "$PORT"; then return 0; fi
    sleep 0.2
  done
  return 2
}

show_logs() {
  log "---- tail $DIR/logs/server.log ----"
  tail -n 40 "$DIR/logs/server.log" >&2 2>/dev/null || true
  log "---- tail $DIR/logs/kafka.out ----"
  tail -n 20 "$DIR/logs/kafka.out" >&2 2>/dev/null || true
}

T_START=$SECONDS
ATTEMPTS=1
if [ "$AUTO_PORTS" = 1 ]; then ATTEMPTS=3; fi # a picked port can be taken before Kafka binds it: retry with new ones
for attempt in $(seq 1 "$ATTEMPTS"); do
  pick_ports "$attempt"
  write_config
  format_storage
  log "starting Kafka $VERSION on $HOST:$PORT (controller $CPORT), dir $DIR"
  start_broker
  rc=0; wait_ready || rc=$?
  if [ "$rc" = 0 ]; then break; fi
  if [ "$rc" = 2 ]; then
    show_logs
    kill -9 "$KPID" 2>/dev/null || true
    rm -f "$PID_FILE"
    die "broker did not become ready within ${TIMEOUT}s"
  fi
  # JVM exited early
  if [ "$attempt" -lt "$ATTEMPTS" ] && grep -qE 'BindException|Address already in use' "$DIR/logs/server.log" "$DIR/logs/kafka.out" 2>/dev/null; then
    log "port clash, retrying with other ports"
    # A broker that never started leaves nothing worth keeping; wipe data we formatted ourselves.
    if [ "$FRESH_DATA" = 1 ]; then rm -rf "$DIR/data"; fi
    continue
  fi
  show_logs
  rm -f "$PID_FILE"
  die "broker exited during startup"
done

echo "$HOST:$PORT" >"$BROKERS_FILE"
echo "KAFKA_BROKERS=$HOST:$PORT" >"$DIR/kafka.env"

if [ -n "$OWNER_PID" ]; then
  # Watchdog: if the owner (e.g. a test runner) dies without calling stop.sh, take the broker down too.
  nohup bash -c '
    while kill -0 "$1" 2>/dev/null && kill -0 "$2" 2>/dev/null; do sleep 1; done
    kill -TERM "$2" 2>/dev/null || exit 0
    for _ in $(seq 1 30); do kill -0 "$2" 2>/dev/null || exit 0; sleep 0.5; done
    kill -KILL "$2" 2>/dev/null
  ' kafka-watchdog "$OWNER_PID" "$KPID" </dev/null >/dev/null 2>&1 &
  echo $! >"$DIR/watchdog.pid"
fi

log "ready in $((SECONDS - T_START))s (pid $KPID)"
echo "KAFKA_BROKERS=$HOST:$PORT"
