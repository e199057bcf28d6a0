#!/usr/bin/env bash
# The test command: makes sure the local stack is up, then runs every test: the solution's (.NET) and
# the web client's in a real browser (scripts/web.sh test: Playwright driving Debian's chromium against
# the service started as scripts/run.sh starts it; installs chromium and the npm packages if missing).
#   scripts/test.sh                               everything
#   scripts/test.sh [dotnet test arguments...]    only `dotnet test` with those arguments,
#                                                 e.g. scripts/test.sh -- --filter-namespace 'ChatService.Tests.Cache'
# Ports follow SPANNER_EMULATOR_PORT and REDIS_CLUSTER_PORTS, as in stack.sh (the tests read them too).
# The stack is left running afterwards (scripts/stack.sh down stops it). global.json opts `dotnet test`
# into Microsoft.Testing.Platform, which the xunit.v3 projects need.
#
# One run at a time per stack: the fault tests kill and pause Redis nodes, which would fail another
# run's tests on the same ports, so a second run (from any clone) waits for the first. Run suites side
# by side on different ports instead (SPANNER_EMULATOR_PORT=19010 REDIS_CLUSTER_PORTS=21000 ...).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PORTS_LOG_TAG=test
# shellcheck source=lib/ports.sh
source "$ROOT/scripts/lib/ports.sh"
check_port_plan

mkdir -p "$STACK_DIR"
run_lock="$STACK_DIR/test-run-$EMULATOR_PORT-$REDIS_BASE_PORT.lock"
exec 8>"$run_lock"
if ! flock -n 8; then
  echo "[test] another test run is using the stack on ports $EMULATOR_PORT and $REDIS_BASE_PORT-$REDIS_LAST_PORT; waiting for it to finish"
  flock 8
fi

"$ROOT/scripts/stack.sh" up

cd "$ROOT"
if (($# > 0)); then
  exec dotnet test ChatService.sln -c Release "$@"
fi

# Both suites run even when the first fails; the exit code is the first failure's.
status=0
dotnet test ChatService.sln -c Release || status=$?
echo "[test] browser tests (scripts/web.sh test)"
web_status=0
"$ROOT/scripts/web.sh" test || web_status=$?
echo "[test] .NET tests exited with $status; browser tests exited with $web_status"
((status != 0)) && exit "$status"
exit "$web_status"
