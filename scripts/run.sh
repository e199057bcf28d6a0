#!/usr/bin/env bash
# Runs the service locally against the local stack (started when needed), in the foreground.
#   scripts/run.sh [dotnet run arguments...]     e.g. scripts/run.sh -- --Logging:LogLevel:Default=Debug
#
# Ports (scripts/lib/ports.sh): SPANNER_EMULATOR_PORT (9010), REDIS_CLUSTER_PORTS (7000-7005),
# CHAT_GRPC_PORT (50051, gRPC over h2c) and CHAT_HTTP_PORT (8080: the web client, gRPC-Web, health,
# /metrics). A second stack and service can run beside the default one, e.g.
#   SPANNER_EMULATOR_PORT=19010 REDIS_CLUSTER_PORTS=21000 CHAT_GRPC_PORT=50052 CHAT_HTTP_PORT=8081 scripts/run.sh
# Settings already in the environment (Spanner__*, Redis__Endpoints, ASPNETCORE_ENVIRONMENT,
# WebClient__Root) win. The web client (web/) is built first when Node.js is there (scripts/web.sh). The
# launch profile (Properties/launchSettings.json, for IDEs) is not used, so nothing here is overridden.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PORTS_LOG_TAG=run
# shellcheck source=lib/ports.sh
source "$ROOT/scripts/lib/ports.sh"
check_port_plan

for port in "$GRPC_PORT" "$HTTP_PORT"; do
  if port_open 127.0.0.1 "$port"; then
    printf '[run] error: port %s is already in use (another ChatService?); set CHAT_GRPC_PORT / CHAT_HTTP_PORT to free ports\n' "$port" >&2
    exit 2
  fi
done

"$ROOT/scripts/stack.sh" up

redis_endpoints=""
for port in "${REDIS_PORTS[@]}"; do
  redis_endpoints+="${redis_endpoints:+,}$REDIS_HOST:$port"
done

# The emulator named by the port settings; a SPANNER_EMULATOR_HOST from the environment would point
# the service at another emulator than the one stack.sh just checked, so it is replaced.
export SPANNER_EMULATOR_HOST="localhost:$EMULATOR_PORT"
export Spanner__ProjectId="${Spanner__ProjectId:-local-project}"
export Spanner__InstanceId="${Spanner__InstanceId:-local-instance}"
export Spanner__DatabaseId="${Spanner__DatabaseId:-chat}"
export Redis__Endpoints="${Redis__Endpoints:-$redis_endpoints}"
export Kestrel__Endpoints__Grpc__Url="http://0.0.0.0:$GRPC_PORT"
export Kestrel__Endpoints__Http__Url="http://0.0.0.0:$HTTP_PORT"
export ASPNETCORE_ENVIRONMENT="${ASPNETCORE_ENVIRONMENT:-Development}"

# The reference web client, served at / (WebClient:Root). Built first when a source changed; without
# Node.js the service still runs, without the page.
if [[ -n "${WebClient__Root:-}" ]]; then
  echo "[run] web client from $WebClient__Root: http://localhost:$HTTP_PORT/"
elif ! command -v npm >/dev/null; then
  echo "[run] Node.js/npm not found: the web client is not built or served (the API works without it)"
elif "$ROOT/scripts/web.sh" build; then
  export WebClient__Root="$ROOT/web/dist"
  echo "[run] web client: http://localhost:$HTTP_PORT/"
else
  echo "[run] the web client could not be built (see above); the service runs without it"
fi

cd "$ROOT"
echo "[run] gRPC localhost:$GRPC_PORT, HTTP localhost:$HTTP_PORT; SPANNER_EMULATOR_HOST=$SPANNER_EMULATOR_HOST Spanner=$Spanner__ProjectId/$Spanner__InstanceId/$Spanner__DatabaseId Redis=$Redis__Endpoints"
exec dotnet run --project src/ChatService -c Release --no-launch-profile "$@"
