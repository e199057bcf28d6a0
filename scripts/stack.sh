#!/usr/bin/env bash
# Starts, stops and reports the local stack the service and the integration tests need:
# the Cloud Spanner emulator (gRPC on localhost:9010) and a 6-node Redis Cluster
# (3 masters + 3 replicas on 127.0.0.1:7000-7005), both as plain processes, no Docker.
#
#   scripts/stack.sh up      start what is missing, repair a broken cluster, wait until usable
#   scripts/stack.sh down    stop what `up` started (pid files); anything else is left alone
#   scripts/stack.sh status  print what is up; exit 0 when all is usable, 3 when not
#
# Environment: SPANNER_EMULATOR_PORT (9010), REDIS_CLUSTER_PORTS (first of 6 ports, 7000; each node
# also uses port + 10000 for the cluster bus), SPANNER_EMULATOR_BIN (path of emulator_main, found in
# the gcloud SDK by default). Ports that overlap, or a bus port something else listens on, are refused
# (scripts/lib/ports.sh). `up` returns once every replica has finished its first sync.
# State, pid files and logs live in one directory per machine (user), not per clone, since the ports
# are the machine's: any clone's stack.sh (and the tests' fault injection) sees and repairs the same
# stack. CHAT_STACK_DIR sets it; default $XDG_STATE_HOME/chatservice-stack or ~/.local/state/chatservice-stack.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

# shellcheck source=lib/ports.sh
source "$ROOT/scripts/lib/ports.sh"
# shellcheck source=lib/apt.sh
source "$ROOT/scripts/lib/apt.sh"
check_port_plan
LOG_DIR="$STACK_DIR/logs"
REDIS_DIR="$STACK_DIR/redis"
ALL_SLOTS=16384
# Failover after a node dies takes about this long; short so fault tests don't wait 15 s (the default).
NODE_TIMEOUT_MS=5000
# How long a node that is alive may take to answer its first PING.
NODE_START_TIMEOUT_S=60
# How long `up` waits for every replica to finish its first sync from its primary.
REPLICA_SYNC_TIMEOUT_S=60
EMULATOR_PID_FILE="$STACK_DIR/spanner-emulator-$EMULATOR_PORT.pid"
EMULATOR_LOG="$LOG_DIR/spanner-emulator-$EMULATOR_PORT.log"

log() { printf '[stack] %s\n' "$*"; }
die() {
  printf '[stack] error: %s\n' "$*" >&2
  exit 1
}

# Prints the last lines of a log file to stderr, to explain a failure.
show_log() {
  if [[ -s "$1" ]]; then
    printf '[stack] --- last lines of %s ---\n' "$1" >&2
    tail -n "${2:-20}" "$1" >&2
    printf '[stack] ---\n' >&2
  fi
}

rcli() {
  local port=$1
  shift
  timeout 5 redis-cli -h "$REDIS_HOST" -p "$port" "$@" 2>/dev/null | tr -d '\r'
}

# The pid in a pid file, when that process is alive and its command line contains $2
# (guards against a recycled pid). Prints nothing and fails otherwise.
live_pid() {
  local file=$1 pattern=$2 pid
  [[ -f "$file" ]] || return 1
  pid="$(tr -dc '0-9' <"$file")"
  [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null || return 1
  if [[ -r "/proc/$pid/cmdline" ]]; then
    tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF -- "$pattern" || return 1
  fi
  printf '%s\n' "$pid"
}

stop_pid() {
  local pid=$1 name=$2
  kill -TERM "$pid" 2>/dev/null || return 0
  for _ in $(seq 1 100); do
    kill -0 "$pid" 2>/dev/null || return 0
    sleep 0.1
  done
  log "$name (pid $pid) ignored SIGTERM for 10 s; killing it"
  kill -KILL "$pid" 2>/dev/null || return 0
  # Gone before the caller starts anything on its port.
  for _ in $(seq 1 50); do
    kill -0 "$pid" 2>/dev/null || return 0
    sleep 0.1
  done
  log "$name (pid $pid) is still there after SIGKILL"
}

# Serialises up/down between concurrent callers (a developer's shell, test fixtures, CI).
take_lock() {
  mkdir -p "$STACK_DIR" "$LOG_DIR"
  command -v flock >/dev/null || return 0
  exec 9>"$STACK_DIR/lock"
  if ! flock -n 9; then
    log "another stack.sh is running; waiting for it"
    flock -w 600 9 || die "timed out waiting for the lock $STACK_DIR/lock"
  fi
}

# ---------------------------------------------------------------------------------------------
# Prerequisites

ensure_redis_installed() {
  if command -v redis-server >/dev/null && command -v redis-cli >/dev/null; then
    return 0
  fi
  local apt_log="$LOG_DIR/apt-get.log"
  log "redis-server not found; installing it with apt-get (log: $apt_log)"
  apt_install "$apt_log" redis-server redis-tools
  command -v redis-server >/dev/null || die "apt-get finished but redis-server is still not on PATH"
  log "installed $(redis-server --version | awk '{print $3}')"
}

emulator_binary() {
  local candidate gcloud
  if [[ -n "${SPANNER_EMULATOR_BIN:-}" ]]; then
    printf '%s\n' "$SPANNER_EMULATOR_BIN"
    return 0
  fi
  candidate=/usr/lib/google-cloud-sdk/bin/cloud_spanner_emulator/emulator_main
  if [[ ! -x "$candidate" ]] && gcloud="$(command -v gcloud)"; then
    candidate="$(dirname "$(readlink -f "$gcloud")")/cloud_spanner_emulator/emulator_main"
  fi
  if [[ ! -x "$candidate" ]] && command -v emulator_main >/dev/null; then
    candidate="$(command -v emulator_main)"
  fi
  printf '%s\n' "$candidate"
}

# ---------------------------------------------------------------------------------------------
# Spanner emulator

emulator_pid() { live_pid "$EMULATOR_PID_FILE" "emulator_main --host_port localhost:$EMULATOR_PORT"; }

# Starts the emulator unless something already listens on its port; does not wait for it.
start_emulator() {
  if port_open localhost "$EMULATOR_PORT"; then
    if emulator_pid >/dev/null; then
      log "spanner emulator: running on localhost:$EMULATOR_PORT (pid $(emulator_pid))"
    else
      log "spanner emulator: something already listens on localhost:$EMULATOR_PORT; reusing it"
    fi
    return 0
  fi
  local bin pid
  bin="$(emulator_binary)"
  [[ -x "$bin" ]] || die "Spanner emulator not found at '$bin' (install the google-cloud-cli-spanner-emulator package, or set SPANNER_EMULATOR_BIN)"
  if pid="$(emulator_pid)"; then
    # Ours but not listening: still starting, or wedged. Start over.
    stop_pid "$pid" "spanner emulator"
  fi
  # setsid: its own session, so a Ctrl-C in the terminal that ran `up` (e.g. via run.sh) does not
  # reach it; fds 8 and 9 (test.sh's run lock, our lock) are closed so it holds neither for its life.
  setsid "$bin" --host_port "localhost:$EMULATOR_PORT" >"$EMULATOR_LOG" 2>&1 </dev/null 8>&- 9>&- &
  printf '%s\n' "$!" >"$EMULATOR_PID_FILE"
  log "spanner emulator: starting on localhost:$EMULATOR_PORT (pid $!, log $EMULATOR_LOG)"
}

wait_emulator() {
  for _ in $(seq 1 300); do
    port_open localhost "$EMULATOR_PORT" && return 0
    if [[ -f "$EMULATOR_PID_FILE" ]] && ! emulator_pid >/dev/null; then
      show_log "$EMULATOR_LOG"
      die "the Spanner emulator exited during start-up"
    fi
    sleep 0.1
  done
  show_log "$EMULATOR_LOG"
  die "the Spanner emulator did not accept connections on localhost:$EMULATOR_PORT within 30 s"
}

# ---------------------------------------------------------------------------------------------
# Redis nodes

node_dir() { printf '%s/%s\n' "$REDIS_DIR" "$1"; }
node_log() { printf '%s/redis-%s.log\n' "$LOG_DIR" "$1"; }
node_pid() { live_pid "$(node_dir "$1")/redis.pid" "redis-server"; }
node_pings() { [[ "$(rcli "$1" ping)" == PONG ]]; }

launch_node() {
  local port=$1 dir log_file extra=()
  dir="$(node_dir "$port")"
  log_file="$(node_log "$port")"
  mkdir -p "$dir"
  # Redis 7 refuses DEBUG by default; fault tests use DEBUG SEGFAULT from localhost.
  if (($(redis-server --version | sed -n 's/.*v=\([0-9]*\)\..*/\1/p') >= 7)); then
    extra+=(--enable-debug-command local)
  fi
  # Backgrounded rather than --daemonize, so we know its pid at once and notice an early exit.
  # setsid and fds 8 and 9: as for the emulator. Errors before the log file is open go to it too.
  # shellcheck disable=SC2094
  setsid redis-server --port "$port" --bind "$REDIS_HOST" \
    --cluster-enabled yes --cluster-config-file nodes.conf --cluster-node-timeout "$NODE_TIMEOUT_MS" \
    --appendonly no --save '' --dir "$dir" \
    --daemonize no --pidfile "$dir/redis.pid" --logfile "$log_file" \
    "${extra[@]}" >>"$log_file" 2>&1 </dev/null 8>&- 9>&- &
  printf '%s\n' "$!" >"$dir/redis.pid"
}

# Waits for a node to answer PING; gives up early when the node we started has exited. A node that
# is alive but slow (a loaded machine: its first fsync of nodes.conf can stall for seconds behind
# other disk writes) is waited for up to NODE_START_TIMEOUT_S, not restarted: a second server started
# beside it would fail to bind its port while the first one comes up with the old state.
wait_node() {
  local port=$1 pidfile said=0 deadline=$((SECONDS + NODE_START_TIMEOUT_S))
  pidfile="$(node_dir "$port")/redis.pid"
  while ((SECONDS < deadline)); do
    node_pings "$port" && return 0
    if [[ -f "$pidfile" ]] && ! node_pid "$port" >/dev/null; then
      return 1
    fi
    if ((!said && SECONDS + NODE_START_TIMEOUT_S - deadline >= 10)); then
      said=1
      log "redis 127.0.0.1:$port: still starting after 10 s; waiting up to ${NODE_START_TIMEOUT_S} s"
    fi
    sleep 0.1
  done
  return 1
}

# Starts a node we own. A node that can't start from its old state (e.g. a corrupt nodes.conf)
# is started again from an empty directory: the local cluster keeps no data worth saving.
start_node() {
  local port=$1
  launch_node "$port"
  if wait_node "$port"; then
    log "redis 127.0.0.1:$port: started (pid $(node_pid "$port" || echo '?'))"
    return 0
  fi
  show_log "$(node_log "$port")" 5
  log "redis 127.0.0.1:$port: did not start; retrying from an empty directory"
  stop_node "$port" quiet
  rm -rf "$(node_dir "$port")"
  launch_node "$port"
  if wait_node "$port"; then
    log "redis 127.0.0.1:$port: started (pid $(node_pid "$port" || echo '?'))"
    return 0
  fi
  show_log "$(node_log "$port")"
  die "redis 127.0.0.1:$port did not start"
}

stop_node() {
  local port=$1 pid
  if pid="$(node_pid "$port")"; then
    stop_pid "$pid" "redis 127.0.0.1:$port"
    [[ "${2:-}" == quiet ]] || log "redis 127.0.0.1:$port: stopped (pid $pid)"
  fi
  rm -f "$(node_dir "$port")/redis.pid"
}

# Refuses, before anything starts, a node we would start whose cluster-bus port (port + 10000) some
# other program already listens on: the node would fail to bind it, or talk to the wrong peer.
check_bus_ports_free() {
  local port
  for port in "${REDIS_PORTS[@]}"; do
    if ! port_open "$REDIS_HOST" "$port" && port_open "$REDIS_HOST" $((port + REDIS_BUS_OFFSET)); then
      die "cannot start a Redis node on port $port: its cluster-bus port $((port + REDIS_BUS_OFFSET)) is already in use by another program; pick other REDIS_CLUSTER_PORTS (each node needs port and port + $REDIS_BUS_OFFSET free)"
    fi
  done
}

# Makes sure every port has a live Redis node: ours (restarted when dead) or someone else's.
ensure_nodes() {
  local port started=0
  for port in "${REDIS_PORTS[@]}"; do
    if node_pid "$port" >/dev/null; then
      wait_node "$port" || die "redis 127.0.0.1:$port (pid $(node_pid "$port")) does not answer PING"
    elif port_open "$REDIS_HOST" "$port"; then
      node_pings "$port" || die "port $port is in use by something that is not a usable Redis server"
      [[ "$(rcli "$port" cluster info)" == *cluster_state:* ]] ||
        die "the Redis server on port $port was not started by stack.sh and has cluster mode disabled"
      log "redis 127.0.0.1:$port: already running (not started by stack.sh); reusing it"
    else
      start_node "$port"
      started=1
    fi
  done
  ((started)) || log "redis nodes 127.0.0.1:$REDIS_BASE_PORT-$REDIS_LAST_PORT: running"
}

# ---------------------------------------------------------------------------------------------
# Redis Cluster

info_field() { sed -n "s/^$1://p" <<<"$2"; }

# Addresses (ip:port) a node knows, sorted.
known_addresses() { rcli "$1" cluster nodes | awk '{ split($2, a, "@"); print a[1] }' | sort; }

expected_addresses() {
  local port
  for port in "${REDIS_PORTS[@]}"; do printf '%s:%s\n' "$REDIS_HOST" "$port"; done | sort
}

# Healthy: every node says ok, covers all slots, knows exactly our six nodes, none failing.
cluster_healthy() {
  local port info nodes expected
  expected="$(expected_addresses)"
  for port in "${REDIS_PORTS[@]}"; do
    info="$(rcli "$port" cluster info)" || return 1
    [[ "$(info_field cluster_state "$info")" == ok ]] || return 1
    [[ "$(info_field cluster_slots_assigned "$info")" == "$ALL_SLOTS" ]] || return 1
    [[ "$(info_field cluster_slots_ok "$info")" == "$ALL_SLOTS" ]] || return 1
    nodes="$(rcli "$port" cluster nodes)" || return 1
    # Field 3: flags; field 8: link state.
    awk '$3 ~ /(^|,)(fail\??|handshake|noaddr)(,|$)/ || $8 != "connected" { bad = 1 } END { exit bad }' \
      <<<"$nodes" || return 1
    [[ "$(known_addresses "$port")" == "$expected" ]] || return 1
  done
}

# healthy | fresh (no node in any cluster yet) | forming (all six know each other; may still be
# converging, e.g. failing over after a crash) | broken (anything else: stale or mixed state).
cluster_assessment() {
  if cluster_healthy; then
    echo healthy
    return
  fi
  local port info fresh=1 forming=1 expected
  expected="$(expected_addresses)"
  for port in "${REDIS_PORTS[@]}"; do
    info="$(rcli "$port" cluster info || true)"
    if [[ "$(info_field cluster_known_nodes "$info")" != 1 || "$(info_field cluster_slots_assigned "$info")" != 0 ]]; then
      fresh=0
    fi
    [[ "$(known_addresses "$port")" == "$expected" ]] || forming=0
  done
  if ((fresh)); then
    echo fresh
  elif ((forming)); then
    echo forming
  else
    echo broken
  fi
}

# wait_until SECONDS CHECK: runs CHECK every 0.25 s until it succeeds (0) or SECONDS pass (1).
wait_until() {
  local seconds=$1 check=$2
  for _ in $(seq 1 $((seconds * 4))); do
    "$check" && return 0
    sleep 0.25
  done
  return 1
}

create_cluster() {
  local port addresses=() create_log="$LOG_DIR/cluster-create-$REDIS_BASE_PORT.log"
  for port in "${REDIS_PORTS[@]}"; do addresses+=("$REDIS_HOST:$port"); done
  log "redis cluster: creating (3 masters, 3 replicas; log $create_log)"
  if ! redis-cli --cluster create "${addresses[@]}" --cluster-replicas 1 --cluster-yes \
    >"$create_log" 2>&1 </dev/null; then
    show_log "$create_log"
    die "redis-cli --cluster create failed"
  fi
}

# Wipes every node's cluster state and data. Only for nodes we started.
reset_cluster() {
  local port
  for port in "${REDIS_PORTS[@]}"; do
    node_pid "$port" >/dev/null ||
      die "the Redis Cluster on ports $REDIS_BASE_PORT-$REDIS_LAST_PORT is broken and node $port was not started by stack.sh; stop those servers (or fix the cluster) and retry"
  done
  log "redis cluster: resetting all nodes (wiping cluster state)"
  for port in "${REDIS_PORTS[@]}"; do
    stop_node "$port" quiet
    rm -rf "$(node_dir "$port")"
  done
  for port in "${REDIS_PORTS[@]}"; do start_node "$port"; done
}

# Every replica has finished its first full sync (link up, no sync in progress) and every primary
# that serves slots has a replica that is online. A new or repaired cluster says cluster_state:ok
# before that; a primary killed in that gap cannot fail over (its replica logs "Disconnected from
# master for longer than allowed"), so `up` waits for this too.
replicas_synced() {
  local port info
  for port in "${REDIS_PORTS[@]}"; do
    info="$(rcli "$port" info replication)" || return 1
    case "$(info_field role "$info")" in
      master)
        if rcli "$port" cluster nodes | awk '$3 ~ /myself/ && NF > 8 { found = 1 } END { exit !found }'; then
          grep -q '^slave[0-9]*:.*state=online' <<<"$info" || return 1
        fi
        ;;
      slave)
        [[ "$(info_field master_link_status "$info")" == up ]] || return 1
        [[ "$(info_field master_sync_in_progress "$info")" == 0 ]] || return 1
        ;;
      *) return 1 ;;
    esac
  done
}

# A healthy cluster whose replicas are in sync, or die.
ensure_cluster() {
  ensure_cluster_ok
  if ! replicas_synced; then
    log "redis cluster: waiting for the replicas to finish syncing from their primaries"
    wait_until "$REPLICA_SYNC_TIMEOUT_S" replicas_synced ||
      die "redis replicas did not finish syncing within $REPLICA_SYNC_TIMEOUT_S s (see 'INFO replication' on 127.0.0.1:$REDIS_BASE_PORT-$REDIS_LAST_PORT and $LOG_DIR)"
    log "redis cluster: replicas in sync"
  fi
}

ensure_cluster_ok() {
  local state
  state="$(cluster_assessment)"
  case "$state" in
    healthy)
      log "redis cluster: ok"
      return 0
      ;;
    forming)
      log "redis cluster: formed but not ok yet; waiting for it to converge"
      if wait_until 20 cluster_healthy; then
        log "redis cluster: ok"
        return 0
      fi
      log "redis cluster: did not become ok within 20 s"
      reset_cluster
      ;;
    broken)
      log "redis cluster: inconsistent state (stale nodes.conf or partial cluster)"
      reset_cluster
      ;;
    fresh) ;;
  esac
  create_cluster
  wait_until 30 cluster_healthy || die "redis cluster did not reach cluster_state:ok on all nodes within 30 s; see $LOG_DIR"
  log "redis cluster: ok"
}

# ---------------------------------------------------------------------------------------------
# Commands

stack_healthy() { port_open localhost "$EMULATOR_PORT" && cluster_healthy && replicas_synced; }

cmd_up() {
  take_lock
  if command -v redis-cli >/dev/null && stack_healthy; then
    log "stack already up: spanner emulator localhost:$EMULATOR_PORT, redis cluster 127.0.0.1:$REDIS_BASE_PORT-$REDIS_LAST_PORT ok, replicas in sync"
    return 0
  fi
  ensure_redis_installed
  check_bus_ports_free
  start_emulator
  ensure_nodes
  ensure_cluster
  wait_emulator
  log "stack up: SPANNER_EMULATOR_HOST=localhost:$EMULATOR_PORT, redis cluster 127.0.0.1:$REDIS_BASE_PORT-$REDIS_LAST_PORT"
}

cmd_down() {
  take_lock
  local port pid
  for port in "${REDIS_PORTS[@]}"; do
    if node_pid "$port" >/dev/null; then
      stop_node "$port"
    else
      rm -f "$(node_dir "$port")/redis.pid"
      ! port_open "$REDIS_HOST" "$port" ||
        log "redis 127.0.0.1:$port: not started by stack.sh; leaving it running"
    fi
  done
  if pid="$(emulator_pid)"; then
    stop_pid "$pid" "spanner emulator"
    log "spanner emulator: stopped (pid $pid)"
  elif port_open localhost "$EMULATOR_PORT"; then
    log "spanner emulator: localhost:$EMULATOR_PORT was not started by stack.sh; leaving it running"
  fi
  rm -f "$EMULATOR_PID_FILE"
  log "stack down"
}

cmd_status() {
  local all_up=1 port pid owner role info
  if port_open localhost "$EMULATOR_PORT"; then
    if pid="$(emulator_pid)"; then owner="pid $pid, stack.sh"; else owner="not started by stack.sh"; fi
    printf '%-26s %-22s up (%s)\n' "spanner emulator" "localhost:$EMULATOR_PORT" "$owner"
  else
    printf '%-26s %-22s down\n' "spanner emulator" "localhost:$EMULATOR_PORT"
    all_up=0
  fi
  if ! command -v redis-cli >/dev/null; then
    printf '%-26s %-22s not installed\n' "redis" "-"
    exit 3
  fi
  for port in "${REDIS_PORTS[@]}"; do
    if node_pings "$port"; then
      role="$(rcli "$port" role | head -n 1)"
      if pid="$(node_pid "$port")"; then owner="pid $pid, stack.sh"; else owner="not started by stack.sh"; fi
      printf '%-26s %-22s up, %s (%s)\n' "redis node" "$REDIS_HOST:$port" "${role:-?}" "$owner"
    else
      printf '%-26s %-22s down\n' "redis node" "$REDIS_HOST:$port"
      all_up=0
    fi
  done
  if cluster_healthy; then
    printf '%-26s %-22s ok (%s slots, %s nodes)\n' "redis cluster" "$REDIS_HOST:$REDIS_BASE_PORT-$REDIS_LAST_PORT" "$ALL_SLOTS" "$REDIS_NODE_COUNT"
    if replicas_synced; then
      printf '%-26s %-22s in sync\n' "redis replicas" "$REDIS_HOST:$REDIS_BASE_PORT-$REDIS_LAST_PORT"
    else
      printf '%-26s %-22s NOT in sync (a replica is still syncing or a primary has none online)\n' "redis replicas" "$REDIS_HOST:$REDIS_BASE_PORT-$REDIS_LAST_PORT"
      all_up=0
    fi
  else
    info=""
    for port in "${REDIS_PORTS[@]}"; do
      info="$(rcli "$port" cluster info || true)"
      [[ -z "$info" ]] || break
    done
    if [[ -z "$info" ]]; then
      printf '%-26s %-22s NOT ok (no node reachable)\n' "redis cluster" "$REDIS_HOST:$REDIS_BASE_PORT-$REDIS_LAST_PORT"
    else
      printf '%-26s %-22s NOT ok (node %s: state %s, %s/%s slots ok, %s known nodes)\n' "redis cluster" \
        "$REDIS_HOST:$REDIS_BASE_PORT-$REDIS_LAST_PORT" "$port" "$(info_field cluster_state "$info")" \
        "$(info_field cluster_slots_ok "$info")" "$ALL_SLOTS" "$(info_field cluster_known_nodes "$info")"
    fi
    all_up=0
  fi
  ((all_up)) || exit 3
}

usage() {
  cat >&2 <<EOF
usage: $(basename "$0") up|down|status
  up      start the Spanner emulator (localhost:$EMULATOR_PORT) and the Redis Cluster
          (127.0.0.1:$REDIS_BASE_PORT-$REDIS_LAST_PORT) unless already running; wait until usable
  down    stop what 'up' started
  status  print what is up (exit 0: all usable, 3: not)
EOF
  exit 2
}

case "${1:-}" in
  up) cmd_up ;;
  down) cmd_down ;;
  status) cmd_status ;;
  *) usage ;;
esac
