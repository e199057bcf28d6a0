#!/usr/bin/env bash
# The test command: makes sure the local stack is up, then runs every test in the solution.
#   scripts/test.sh [dotnet test arguments...]   e.g. scripts/test.sh -- --filter-namespace 'ChatService.Tests.Cache'
# Ports follow SPANNER_EMULATOR_PORT and REDIS_CLUSTER_PORTS, as in stack.sh (the tests read them too).
# The stack is left running afterwards (scripts/stack.sh down stops it). global.json opts `dotnet test`
# into Microsoft.Testing.Platform, which the xunit.v3 projects need.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$ROOT/scripts/stack.sh" up

cd "$ROOT"
exec dotnet test ChatService.sln -c Release "$@"
