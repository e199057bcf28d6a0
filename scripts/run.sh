#!/usr/bin/env bash
# Runs the service locally against the local stack (started when needed), in the foreground.
#   scripts/run.sh [dotnet run arguments...]     e.g. scripts/run.sh -- --Logging:LogLevel:Default=Debug
# The service listens for gRPC (h2c) on :50051 and plain HTTP on :8080. Any of the variables below
# that is already set in the environment wins.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$ROOT/scripts/stack.sh" up

emulator_port="${SPANNER_EMULATOR_PORT:-9010}"
redis_base_port="${REDIS_CLUSTER_PORTS:-7000}"
redis_endpoints=""
for ((port = redis_base_port; port < redis_base_port + 6; port++)); do
  redis_endpoints+="${redis_endpoints:+,}127.0.0.1:$port"
done

export SPANNER_EMULATOR_HOST="${SPANNER_EMULATOR_HOST:-localhost:$emulator_port}"
export Spanner__ProjectId="${Spanner__ProjectId:-local-project}"
export Spanner__InstanceId="${Spanner__InstanceId:-local-instance}"
export Spanner__DatabaseId="${Spanner__DatabaseId:-chat}"
export Redis__Endpoints="${Redis__Endpoints:-$redis_endpoints}"
export ASPNETCORE_ENVIRONMENT="${ASPNETCORE_ENVIRONMENT:-Development}"

cd "$ROOT"
echo "[run] SPANNER_EMULATOR_HOST=$SPANNER_EMULATOR_HOST Spanner=$Spanner__ProjectId/$Spanner__InstanceId/$Spanner__DatabaseId Redis=$Redis__Endpoints"
exec dotnet run --project src/ChatService -c Release "$@"
