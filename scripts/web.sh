#!/usr/bin/env bash
# The reference web client (web/): its dependencies, its build, and its browser tests.
#
#   scripts/web.sh setup              npm ci when web/node_modules is missing or stale, and Debian's
#                                     chromium for the browser tests (installed with apt-get if missing)
#   scripts/web.sh build              setup's npm part, then `npm run build` when a source changed
#                                     (web/dist is what scripts/run.sh serves at http://localhost:8080/)
#   scripts/web.sh test [ARGS...]     setup, then the Playwright tests (ARGS go to `playwright test`),
#                                     against a service that web/playwright.config.ts starts with
#                                     scripts/run.sh on the local stack of the port settings. Its ports,
#                                     and the static host's: CHAT_WEB_TEST_HTTP_PORT, CHAT_WEB_TEST_GRPC_PORT,
#                                     CHAT_WEB_TEST_STATIC_PORT, else the first free ones from 18080,
#                                     15051 and 18081 up that the stack's ports leave alone
#
# Needs Node.js 20+ with npm. Playwright's own browser download is skipped: the tests drive the
# chromium that CHROMIUM_PATH names, else Debian's (/usr/lib/chromium/chromium).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
WEB="$ROOT/web"

log() { printf '[web] %s\n' "$*"; }
die() {
  printf '[web] error: %s\n' "$*" >&2
  exit 1
}
# shellcheck source=lib/apt.sh
source "$ROOT/scripts/lib/apt.sh"
PORTS_LOG_TAG=web
# shellcheck source=lib/ports.sh
source "$ROOT/scripts/lib/ports.sh"

export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm_config_fund=false npm_config_audit=false npm_config_update_notifier=false

ensure_node() {
  command -v node >/dev/null && command -v npm >/dev/null ||
    die "Node.js 20+ with npm is needed for the web client; install it (https://nodejs.org) and retry"
  local major
  major="$(node -p 'process.versions.node.split(".")[0]')"
  ((major >= 20)) || die "Node.js $(node --version) is too old for the web client; it needs 20 or newer"
}

# npm ci when node_modules does not match package-lock.json (npm records what it installed in
# node_modules/.package-lock.json).
ensure_packages() {
  ensure_node
  if [[ -f "$WEB/node_modules/.package-lock.json" && ! "$WEB/package-lock.json" -nt "$WEB/node_modules/.package-lock.json" ]]; then
    return 0
  fi
  log "installing the web client's packages (npm ci)"
  (cd "$WEB" && npm ci --no-progress --loglevel=error) || die "npm ci failed in $WEB"
}

chromium_path() {
  local candidate
  for candidate in "${CHROMIUM_PATH:-}" /usr/lib/chromium/chromium "$(command -v chromium 2>/dev/null || true)"; do
    if [[ -n "$candidate" && -x "$candidate" ]]; then
      printf '%s\n' "$candidate"
      return 0
    fi
  done
  return 1
}

ensure_chromium() {
  if [[ -n "${CHROMIUM_PATH:-}" && ! -x "$CHROMIUM_PATH" ]]; then
    die "CHROMIUM_PATH=$CHROMIUM_PATH is not an executable"
  fi
  if CHROMIUM_PATH="$(chromium_path)"; then
    export CHROMIUM_PATH
    return 0
  fi
  local apt_log="${TMPDIR:-/tmp}/chatservice-web-apt.log"
  log "chromium not found; installing Debian's chromium with apt-get (log: $apt_log)"
  apt_install "$apt_log" chromium
  CHROMIUM_PATH="$(chromium_path)" || die "apt-get finished but no chromium executable was found"
  export CHROMIUM_PATH
  log "installed $("$CHROMIUM_PATH" --version 2>/dev/null | head -n 1)"
}

# Builds when web/dist is missing, older than anything it is built from, or was built with another
# VITE_CHAT_API_URL (a production build into the same directory must not be served by run.sh).
build() {
  ensure_packages
  local stamp="$WEB/dist/.built-with" settings
  settings="VITE_CHAT_API_URL=${VITE_CHAT_API_URL:-}"
  if [[ -f "$stamp" && "$(cat "$stamp")" == "$settings" ]] &&
    [[ -z "$(find "$WEB/src" "$WEB/proto" "$WEB/index.html" "$WEB/package.json" "$WEB/package-lock.json" "$WEB/vite.config.ts" \
      "$WEB/tsconfig.json" "$WEB/buf.gen.yaml" "$ROOT/protos/chat" "$WEB"/.env* -newer "$stamp" -not -path "$WEB/src/gen/*" -print -quit 2>/dev/null)" ]]; then
    return 0
  fi
  log "building the web client (npm run build)"
  (cd "$WEB" && npm run --silent build) || die "the web client's build failed"
  printf '%s\n' "$settings" >"$stamp"
}

# test_port VAR DEFAULT: VAR's port when set (checked), else the first port from DEFAULT up that is
# free and that the stack (the emulator, the Redis nodes and their bus ports) and the ports picked
# before do not use. Exported, for playwright.config.ts.
PICKED_PORTS=()
test_port() {
  local name=$1 port=${!1:-} taken candidate
  local reserved=("$EMULATOR_PORT" "${REDIS_PORTS[@]}" "${PICKED_PORTS[@]}")
  for candidate in "${REDIS_PORTS[@]}"; do reserved+=($((candidate + REDIS_BUS_OFFSET))); done
  if [[ -n "$port" ]]; then
    is_port_number "$port" || die "$name=$port is not a port number"
    for taken in "${reserved[@]}"; do
      [[ "$taken" != "$port" ]] || die "$name=$port is one of the local stack's ports (or another test port); choose another"
    done
  else
    port=$2
    while :; do
      candidate=1
      for taken in "${reserved[@]}"; do [[ "$taken" != "$port" ]] || candidate=0; done
      if ((candidate)) && ! port_open 127.0.0.1 "$port"; then
        break
      fi
      port=$((port + 1))
    done
  fi
  PICKED_PORTS+=("$port")
  export "$name=$port"
}

case "${1:-}" in
  setup)
    ensure_packages
    ensure_chromium
    log "ready: node $(node --version), $("$CHROMIUM_PATH" --version 2>/dev/null | head -n 1)"
    ;;
  build)
    build
    ;;
  test)
    shift
    check_port_plan
    test_port CHAT_WEB_TEST_HTTP_PORT 18080
    test_port CHAT_WEB_TEST_GRPC_PORT 15051
    test_port CHAT_WEB_TEST_STATIC_PORT 18081
    log "test service on ports $CHAT_WEB_TEST_HTTP_PORT (HTTP) and $CHAT_WEB_TEST_GRPC_PORT (gRPC); static host on $CHAT_WEB_TEST_STATIC_PORT"
    ensure_packages
    ensure_chromium
    cd "$WEB"
    exec npx playwright test "$@"
    ;;
  *)
    sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'
    exit 2
    ;;
esac
