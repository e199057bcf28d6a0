#!/usr/bin/env bash
# The reference web client (web/): its dependencies, its build, and its browser tests.
#
#   scripts/web.sh setup              npm ci when web/node_modules is missing or stale, and Debian's
#                                     chromium for the browser tests (installed with apt-get if missing)
#   scripts/web.sh build              setup's npm part, then `npm run build` when a source changed
#                                     (web/dist is what scripts/run.sh serves at http://localhost:8080/)
#   scripts/web.sh test [ARGS...]     setup, then the Playwright tests (ARGS go to `playwright test`),
#                                     against a service that web/playwright.config.ts starts with
#                                     scripts/run.sh on CHAT_WEB_TEST_HTTP_PORT (18080) and
#                                     CHAT_WEB_TEST_GRPC_PORT (15051), on the local stack of the port settings
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
  if CHROMIUM_PATH="$(chromium_path)"; then
    export CHROMIUM_PATH
    return 0
  fi
  [[ -z "${CHROMIUM_PATH:-}" ]] || die "CHROMIUM_PATH=$CHROMIUM_PATH is not an executable"
  local apt_log="${TMPDIR:-/tmp}/chatservice-web-apt.log"
  log "chromium not found; installing Debian's chromium with apt-get (log: $apt_log)"
  apt_install "$apt_log" chromium
  CHROMIUM_PATH="$(chromium_path)" || die "apt-get finished but no chromium executable was found"
  export CHROMIUM_PATH
  log "installed $("$CHROMIUM_PATH" --version 2>/dev/null | head -n 1)"
}

# Builds when web/dist is missing or older than anything it is built from.
build() {
  ensure_packages
  local stamp="$WEB/dist/index.html"
  if [[ -f "$stamp" ]] && [[ -z "$(find "$WEB/src" "$WEB/proto" "$WEB/index.html" "$WEB/package-lock.json" "$WEB/vite.config.ts" \
    "$WEB/tsconfig.json" "$WEB/buf.gen.yaml" "$ROOT/protos/chat" -newer "$stamp" -not -path "$WEB/src/gen/*" -print -quit)" ]]; then
    return 0
  fi
  log "building the web client (npm run build)"
  (cd "$WEB" && npm run --silent build) || die "the web client's build failed"
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
