#!/usr/bin/env bash
# Local single-node Apache Kafka (KRaft, broker+controller) without Docker.
#
#   infra/kafka/kafka.sh fetch    download the broker jars into infra/kafka/lib (mvn, only when missing)
#   infra/kafka/kafka.sh start    fetch, format storage once, start in the background, wait until ready
#   infra/kafka/kafka.sh ensure   alias of start (exit 0 when a broker already answers)
#   infra/kafka/kafka.sh status   exit 0 + "running" when a broker answers on KAFKA_PORT, else exit 1
#   infra/kafka/kafka.sh stop     SIGTERM, wait, SIGKILL; ok when not running
#   infra/kafka/kafka.sh reset    stop and delete the data dir (clean slate)
#
# Environment:
#   KAFKA_PORT             client listener port            (default 9092)
#   KAFKA_CONTROLLER_PORT  KRaft controller listener port  (default 9093)
#   KAFKA_DATA_DIR         pid, cluster id, config, log, data (default <repo>/.run/kafka, git-ignored)
#   KAFKA_START_TIMEOUT    seconds to wait for readiness   (default 60)
#   KAFKA_STOP_TIMEOUT     seconds to wait after SIGTERM   (default 20)
#   KAFKA_HEAP_OPTS        default "-Xms256m -Xmx768m"
#   KAFKA_JVM_EXTRA_OPTS   extra JVM flags (optional)
set -euo pipefail

SCRIPT_DIR="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd -P)"
REPO_ROOT="$(git -C "$SCRIPT_DIR" rev-parse --show-toplevel 2>/dev/null || (cd -- "$SCRIPT_DIR/../.." && pwd -P))"

KAFKA_PORT="${KAFKA_PORT:-9092}"
KAFKA_CONTROLLER_PORT="${KAFKA_CONTROLLER_PORT:-9093}"
KAFKA_DATA_DIR="${KAFKA_DATA_DIR:-$REPO_ROOT/.run/kafka}"
KAFKA_START_TIMEOUT="${KAFKA_START_TIMEOUT:-60}"
KAFKA_STOP_TIMEOUT="${KAFKA_STOP_TIMEOUT:-20}"
KAFKA_HEAP_OPTS="${KAFKA_HEAP_OPTS:--Xms256m -Xmx768m}"
KAFKA_JVM_EXTRA_OPTS="${KAFKA_JVM_EXTRA_OPTS:-}"
HOST=127.0.0.1

LIB_DIR="$SCRIPT_DIR/lib"
TEMPLATE="$SCRIPT_DIR/server.properties.template"
LOG4J_CONFIG="$SCRIPT_DIR/log4j.properties"
CONFIG="$KAFKA_DATA_DIR/server.properties"
LOG_DIRS="$KAFKA_DATA_DIR/data"
PID_FILE="$KAFKA_DATA_DIR/kafka.pid"
CLUSTER_ID_FILE="$KAFKA_DATA_DIR/cluster-id"
BROKER_LOG="$KAFKA_DATA_DIR/broker.log"
LOCK_FILE="$KAFKA_DATA_DIR/.lock"
STARTED_MARKER="Kafka Server started"

log() { printf 'kafka.sh: %s\n' "$*"; }
err() { printf 'kafka.sh: %s\n' "$*" >&2; }
die() { err "$*"; exit 1; }

for v in KAFKA_PORT KAFKA_CONTROLLER_PORT KAFKA_START_TIMEOUT KAFKA_STOP_TIMEOUT; do
  [[ "${!v}" =~ ^[0-9]+$ ]] || die "$v must be a number (got '${!v}')"
done
[[ "$KAFKA_DATA_DIR" = /* ]] || KAFKA_DATA_DIR="$PWD/$KAFKA_DATA_DIR"

# ---------------------------------------------------------------------------------------------- fetch

lib_complete() {
  local pattern
  for pattern in 'kafka_2.13-*.jar' 'kafka-clients-*.jar' 'kafka-server-*.jar' 'kafka-raft-*.jar' \
                 'kafka-metadata-*.jar' 'kafka-storage-*.jar' 'scala-library-*.jar' \
                 'slf4j-reload4j-*.jar' 'reload4j-*.jar'; do
    compgen -G "$LIB_DIR/$pattern" >/dev/null || return 1
  done
}

cmd_fetch() {
  if lib_complete; then
    return 0
  fi
  command -v mvn >/dev/null || die "lib/ is incomplete and mvn is not installed"
  log "fetching Kafka broker jars into $LIB_DIR (mvn package)..."
  local out
  if ! out="$(cd -- "$SCRIPT_DIR" && mvn -q -B -Dstyle.color=never package 2>&1)"; then
    printf '%s\n' "$out" >&2
    die "mvn package failed"
  fi
  lib_complete || die "mvn package finished but $LIB_DIR is still incomplete"
}

# ------------------------------------------------------------------------------------------- probing

# Kafka-level liveness probe without any client library: send an ApiVersions v0 request over
# bash's /dev/tcp and check the response carries our correlation id and error_code 0.
# A plain open port (some other service on 9092, or a broker whose request handling is not yet
# enabled) does not count.
kafka_answers() {
  timeout 3 bash -c '
    exec 3<>"/dev/tcp/$1/$2" || exit 1
    # size=18 | api_key=18 (ApiVersions) | api_version=0 | correlation_id=0x4b414653 | client_id="kafka.sh"
    printf "\x00\x00\x00\x12\x00\x12\x00\x00\x4b\x41\x46\x53\x00\x08kafka.sh" >&3
    hex="$(head -c 10 <&3 | od -An -tx1 | tr -d " \n")"
    exec 3>&-
    [[ "${hex:8:8}" == "4b414653" && "${hex:16:4}" == "0000" ]]
  ' _ "$HOST" "$KAFKA_PORT" 2>/dev/null
}

port_open() {
  timeout 2 bash -c 'exec 3<>"/dev/tcp/$1/$2"' _ "$HOST" "$1" 2>/dev/null
}

# Is $1 a live process that is *our* broker (guards against pid reuse)?
is_our_broker() {
  local pid="$1" cmdline
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  kill -0 "$pid" 2>/dev/null || return 1
  cmdline="$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null)" || return 1
  [[ "$cmdline" == *kafka.Kafka* && "$cmdline" == *"$CONFIG"* ]]
}

# Pid of our broker: from the pid file, else (pid file lost) the java process started with our config.
broker_pid() {
  local pid=""
  if [[ -f "$PID_FILE" ]]; then
    pid="$(tr -dc '0-9' <"$PID_FILE" || true)"
    if is_our_broker "$pid"; then echo "$pid"; return 0; fi
  fi
  local f
  for f in /proc/[0-9]*/cmdline; do
    pid="${f#/proc/}"; pid="${pid%/cmdline}"
    if is_our_broker "$pid"; then echo "$pid"; return 0; fi
  done
  return 1
}

tail_log() {
  if [[ -f "$BROKER_LOG" ]]; then
    err "---- last lines of $BROKER_LOG ----"
    tail -n "${1:-40}" "$BROKER_LOG" >&2 || true
    err "-----------------------------------"
  fi
}

# ---------------------------------------------------------------------------------------------- start

render_config() {
  [[ -f "$TEMPLATE" ]] || die "missing $TEMPLATE"
  local tmp="$CONFIG.tmp.$$"
  sed -e "s|@KAFKA_PORT@|$KAFKA_PORT|g" \
      -e "s|@KAFKA_CONTROLLER_PORT@|$KAFKA_CONTROLLER_PORT|g" \
      -e "s|@LOG_DIRS@|$LOG_DIRS|g" "$TEMPLATE" >"$tmp"
  mv -f "$tmp" "$CONFIG"
}

java_tool() {
  java -Xms64m -Xmx256m -Dlog4j.configuration="file:$LOG4J_CONFIG" -cp "$LIB_DIR/*" "$@"
}

format_storage_once() {
  if [[ -f "$LOG_DIRS/meta.properties" ]]; then
    return 0
  fi
  local cluster_id
  if [[ -s "$CLUSTER_ID_FILE" ]]; then
    cluster_id="$(tr -d '[:space:]' <"$CLUSTER_ID_FILE")"
  else
    cluster_id="$(java_tool kafka.tools.StorageTool random-uuid | tail -n 1 | tr -d '[:space:]')"
    [[ -n "$cluster_id" ]] || die "StorageTool random-uuid returned nothing"
    printf '%s\n' "$cluster_id" >"$CLUSTER_ID_FILE"
  fi
  log "formatting KRaft storage in $LOG_DIRS (cluster id $cluster_id)"
  mkdir -p "$LOG_DIRS"
  java_tool kafka.tools.StorageTool format -t "$cluster_id" -c "$CONFIG" --ignore-formatted >/dev/null \
    || die "StorageTool format failed"
}

cmd_start() {
  cmd_fetch
  command -v java >/dev/null || die "java is not installed"
  mkdir -p "$KAFKA_DATA_DIR"

  # Serialize concurrent starts (parallel test runners, two shells): one broker only.
  exec 9>"$LOCK_FILE"
  flock -w $((KAFKA_START_TIMEOUT + 30)) 9 || die "timed out waiting for another kafka.sh start"

  local pid=""
  pid="$(broker_pid || true)"
  if kafka_answers; then
    if [[ -n "$pid" ]]; then
      log "already running (pid $pid, $HOST:$KAFKA_PORT)"
    else
      log "a Kafka broker already answers on $HOST:$KAFKA_PORT (not started by this script); using it"
    fi
    return 0
  fi

  if [[ -n "$pid" ]]; then
    # Alive but not answering yet: a start still in progress from another session.
    log "broker process $pid exists but does not answer yet; waiting"
    if wait_ready "$pid" "$(date +%s)" 0; then
      log "ready (pid $pid, $HOST:$KAFKA_PORT)"
      return 0
    fi
    die "broker process $pid does not answer on $HOST:$KAFKA_PORT; try: $0 stop && $0 start"
  fi

  local p
  for p in "$KAFKA_PORT" "$KAFKA_CONTROLLER_PORT"; do
    if port_open "$p"; then
      die "port $p is in use by something that is not a Kafka broker answering on $HOST:$KAFKA_PORT"
    fi
  done

  rm -f "$PID_FILE"
  render_config
  format_storage_once

  if [[ -f "$BROKER_LOG" ]]; then mv -f "$BROKER_LOG" "$BROKER_LOG.1"; fi
  local t0; t0="$(date +%s)"
  log "starting broker on $HOST:$KAFKA_PORT (controller $KAFKA_CONTROLLER_PORT, data $KAFKA_DATA_DIR)"

  # setsid + nohup: own session, survives the caller's terminal/process group going away.
  # The inner shell writes its own pid then execs java, so the pid file holds the JVM's pid.
  # fd 9 (the lock) must not leak into the broker, or the lock would be held for its lifetime.
  # shellcheck disable=SC2086
  setsid nohup bash -c 'echo $$ >"$1"; shift; exec "$@"' _ "$PID_FILE" \
    java $KAFKA_HEAP_OPTS \
      -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:+ExplicitGCInvokesConcurrent \
      -Djava.awt.headless=true \
      -Dlog4j.configuration="file:$LOG4J_CONFIG" \
      $KAFKA_JVM_EXTRA_OPTS \
      -cp "$LIB_DIR/*" kafka.Kafka "$CONFIG" \
    </dev/null >>"$BROKER_LOG" 2>&1 9>&- &

  local i
  for ((i = 0; i < 50; i++)); do
    [[ -s "$PID_FILE" ]] && break
    sleep 0.1
  done
  pid="$(tr -dc '0-9' <"$PID_FILE" 2>/dev/null || true)"
  [[ -n "$pid" ]] || { tail_log; die "broker did not start (no pid)"; }

  if wait_ready "$pid" "$t0" 1; then
    log "started (pid $pid) in $(( $(date +%s) - t0 ))s; log: $BROKER_LOG"
    return 0
  fi
  # Timed out (or died): do not leave a half-started JVM behind.
  if is_our_broker "$pid"; then cmd_stop >&2 || true; fi
  die "start failed"
}

# wait_ready <pid> <t0> <require_log_line 0|1>
wait_ready() {
  local pid="$1" t0="$2" need_line="$3" deadline=$(( $2 + KAFKA_START_TIMEOUT ))
  while :; do
    if ! kill -0 "$pid" 2>/dev/null; then
      tail_log
      rm -f "$PID_FILE"
      err "broker process $pid exited during startup"
      return 1
    fi
    if { [[ "$need_line" == 0 ]] || grep -q "$STARTED_MARKER" "$BROKER_LOG" 2>/dev/null; } && kafka_answers; then
      return 0
    fi
    if (( $(date +%s) >= deadline )); then
      tail_log
      err "broker (pid $pid) not ready after ${KAFKA_START_TIMEOUT}s (KAFKA_START_TIMEOUT)"
      return 1
    fi
    sleep 0.5
  done
}

# ----------------------------------------------------------------------------------------------- stop

cmd_stop() {
  local pid
  if ! pid="$(broker_pid)"; then
    rm -f "$PID_FILE"
    if kafka_answers; then
      log "not started by this script, but a Kafka broker answers on $HOST:$KAFKA_PORT; leaving it alone"
    else
      log "not running"
    fi
    return 0
  fi
  log "stopping broker (pid $pid)..."
  local t0; t0="$(date +%s)"
  kill -TERM "$pid" 2>/dev/null || true
  while kill -0 "$pid" 2>/dev/null; do
    if (( $(date +%s) - t0 >= KAFKA_STOP_TIMEOUT )); then
      err "broker did not exit ${KAFKA_STOP_TIMEOUT}s after SIGTERM; sending SIGKILL"
      kill -KILL "$pid" 2>/dev/null || true
      for ((i = 0; i < 50; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      break
    fi
    sleep 0.2
  done
  kill -0 "$pid" 2>/dev/null && die "could not stop broker pid $pid"
  rm -f "$PID_FILE"
  log "stopped in $(( $(date +%s) - t0 ))s"
}

# --------------------------------------------------------------------------------------------- status

cmd_status() {
  if kafka_answers; then
    local pid
    if pid="$(broker_pid)"; then
      echo "running (pid $pid, $HOST:$KAFKA_PORT)"
    else
      echo "running ($HOST:$KAFKA_PORT, not started by this script)"
    fi
    return 0
  fi
  local pid
  if pid="$(broker_pid)"; then
    echo "not running (process $pid exists but does not answer on $HOST:$KAFKA_PORT)"
  else
    echo "not running"
  fi
  return 1
}

# ---------------------------------------------------------------------------------------------- reset

cmd_reset() {
  cmd_stop
  if [[ -d "$KAFKA_DATA_DIR" ]]; then
    # Delete only what this script creates, so a mistaken KAFKA_DATA_DIR cannot wipe anything else.
    rm -rf -- "$LOG_DIRS"
    rm -f -- "$CONFIG" "$CONFIG".tmp.* "$PID_FILE" "$CLUSTER_ID_FILE" "$BROKER_LOG" "$BROKER_LOG.1" "$LOCK_FILE"
    rmdir -- "$KAFKA_DATA_DIR" 2>/dev/null || true
  fi
  log "reset: removed broker data in $KAFKA_DATA_DIR"
}

usage() {
  sed -n '2,18p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
}

case "${1:-}" in
  fetch) cmd_fetch ;;
  start | ensure) cmd_start ;;
  stop) cmd_stop ;;
  status) cmd_status ;;
  reset) cmd_reset ;;
  -h | --help | help) usage ;;
  *) usage >&2; exit 2 ;;
esac
