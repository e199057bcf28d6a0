#!/usr/bin/env bash
# The test command: makes sure the local stack is up, then runs every test in the solution.
#   scripts/test.sh [dotnet test arguments...]   e.g. scripts/test.sh --filter "FullyQualifiedName~Cache"
# The stack is left running afterwards (scripts/stack.sh down stops it).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$ROOT/scripts/stack.sh" up

cd "$ROOT"
# xunit.v3 4.x test projects run on Microsoft.Testing.Platform, which `dotnet test` on the .NET 10 SDK
# only drives when global.json opts in; without it every project fails with "Testing with VSTest target
# is no longer supported".
if ! grep -q '"runner"[[:space:]]*:[[:space:]]*"Microsoft.Testing.Platform"' global.json 2>/dev/null; then
  echo '[test] warning: global.json has no "test": { "runner": "Microsoft.Testing.Platform" }; dotnet test will refuse xunit.v3 projects' >&2
fi
exec dotnet test ChatService.sln -c Release "$@"
