# shellcheck shell=bash
# The local ports, from the environment, and the checks that keep them apart. Sourced by stack.sh and
# run.sh, so both agree on every port and refuse the same bad settings.
#
#   SPANNER_EMULATOR_PORT   the emulator's gRPC port (9010)
#   REDIS_CLUSTER_PORTS     the first of the 6 Redis Cluster ports (7000: 7000-7005); each node also
#                           listens on its port + 10000 for the cluster bus (17000-17005)
#   CHAT_GRPC_PORT          the service's gRPC port under run.sh (50051)
#   CHAT_HTTP_PORT          the service's HTTP port under run.sh (8080: gRPC-Web, health, /metrics)

# Where stack.sh keeps pid files, node state and logs: one place for the user on this machine, not
# per clone, since the ports are the machine's (see stack.sh). The tests compute the same path.
STACK_DIR="${CHAT_STACK_DIR:-${XDG_STATE_HOME:-${HOME:-/tmp}/.local/state}/chatservice-stack}"

EMULATOR_PORT="${SPANNER_EMULATOR_PORT:-9010}"
REDIS_BASE_PORT="${REDIS_CLUSTER_PORTS:-7000}"
GRPC_PORT="${CHAT_GRPC_PORT:-50051}"
HTTP_PORT="${CHAT_HTTP_PORT:-8080}"
REDIS_HOST=127.0.0.1
REDIS_NODE_COUNT=6
REDIS_BUS_OFFSET=10000

ports_error() {
  printf '[%s] error: %s\n' "${PORTS_LOG_TAG:-stack}" "$*" >&2
  exit 2
}

# Decimal without a leading zero: bash would read 07000 as octal while the tests read it as 7000.
is_port_number() { [[ "$1" =~ ^[1-9][0-9]{0,4}$ ]] && (($1 <= 65535)); }

# Exits with a clear message when a setting is not a port, or when two ports of the plan (emulator,
# Redis data ports, their cluster-bus ports, the service's two ports) are the same. Then sets
# REDIS_PORTS (an array of the six node ports) and REDIS_LAST_PORT.
check_port_plan() {
  local name value
  for name in SPANNER_EMULATOR_PORT:"$EMULATOR_PORT" REDIS_CLUSTER_PORTS:"$REDIS_BASE_PORT" \
    CHAT_GRPC_PORT:"$GRPC_PORT" CHAT_HTTP_PORT:"$HTTP_PORT"; do
    value="${name#*:}"
    is_port_number "$value" || ports_error "${name%%:*}=$value is not a port number (1-65535, decimal, no leading zero)"
  done
  ((REDIS_BASE_PORT + REDIS_NODE_COUNT - 1 + REDIS_BUS_OFFSET <= 65535)) ||
    ports_error "REDIS_CLUSTER_PORTS=$REDIS_BASE_PORT is too high: the cluster-bus ports (port + $REDIS_BUS_OFFSET) of its $REDIS_NODE_COUNT nodes must stay below 65536; use a port up to $((65535 - REDIS_BUS_OFFSET - REDIS_NODE_COUNT + 1))"

  local -A owner=()
  claim() {
    local port=$1 what=$2
    if [[ -n "${owner[$port]:-}" ]]; then
      ports_error "port $port would be both the ${owner[$port]} and the $what; change SPANNER_EMULATOR_PORT, REDIS_CLUSTER_PORTS, CHAT_GRPC_PORT or CHAT_HTTP_PORT so they do not overlap (each Redis node also uses its port + $REDIS_BUS_OFFSET)"
    fi
    owner[$port]=$what
  }
  claim "$EMULATOR_PORT" "Spanner emulator port (SPANNER_EMULATOR_PORT)"
  claim "$GRPC_PORT" "service gRPC port (CHAT_GRPC_PORT)"
  claim "$HTTP_PORT" "service HTTP port (CHAT_HTTP_PORT)"
  local i
  for ((i = 0; i < REDIS_NODE_COUNT; i++)); do
    claim $((REDIS_BASE_PORT + i)) "Redis node port $((REDIS_BASE_PORT + i)) (REDIS_CLUSTER_PORTS=$REDIS_BASE_PORT)"
    claim $((REDIS_BASE_PORT + i + REDIS_BUS_OFFSET)) "cluster-bus port of Redis node $((REDIS_BASE_PORT + i))"
  done
  unset -f claim

  REDIS_PORTS=()
  for ((i = 0; i < REDIS_NODE_COUNT; i++)); do REDIS_PORTS+=($((REDIS_BASE_PORT + i))); done
  REDIS_LAST_PORT=$((REDIS_BASE_PORT + REDIS_NODE_COUNT - 1))
}

# True when something accepts TCP connections on host:port.
port_open() { (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; }
