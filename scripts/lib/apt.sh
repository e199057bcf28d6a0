# shellcheck shell=bash
# Installing Debian packages from the scripts (redis-server for the stack, chromium for the browser
# tests). Sourced; the caller defines log() and die().
#
#   apt_install LOG PACKAGE...   apt-get update + install, as root or through passwordless sudo,
#                                waiting for a dpkg lock another apt-get holds; output goes to LOG.

# How long apt-get waits for the dpkg lock another apt-get (e.g. unattended-upgrades) holds.
DPKG_LOCK_TIMEOUT_S=600

apt_install() {
  local apt_log=$1
  shift
  command -v apt-get >/dev/null ||
    die "$* not installed and apt-get is not available: install $* and retry"
  if ((EUID != 0)); then
    command -v sudo >/dev/null || die "installing $* needs root (run as root, or install sudo)"
    sudo -n true 2>/dev/null || die "installing $* needs root: run 'sudo apt-get install -y $*' (or this script as root)"
    APT_SUDO=(sudo -n)
  fi
  mkdir -p "$(dirname "$apt_log")"
  : >"$apt_log"
  if ! apt_get "$apt_log" update -q || ! apt_get "$apt_log" install -y -q "$@"; then
    if [[ -s "$apt_log" ]]; then
      printf -- '--- last lines of %s ---\n' "$apt_log" >&2
      tail -n 20 "$apt_log" >&2
    fi
    die "apt-get could not install $*"
  fi
}

# apt_get LOG ARGS...: runs apt-get (through APT_SUDO) with its output appended to LOG. Another
# apt-get (a first boot's unattended upgrade, a second shell) may hold the dpkg or lists lock: rather
# than fail at once, wait up to DPKG_LOCK_TIMEOUT_S for it and say so. `install` waits by itself
# (DPkg::Lock::Timeout); `update` ignores that option, so a refused lock is retried here.
APT_SUDO=()
apt_get() {
  local apt_log=$1 pid said=0 attempt_log deadline=$((SECONDS + DPKG_LOCK_TIMEOUT_S))
  shift
  attempt_log="$(mktemp)"
  while :; do
    : >"$attempt_log"
    "${APT_SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get -o "DPkg::Lock::Timeout=$DPKG_LOCK_TIMEOUT_S" "$@" \
      >"$attempt_log" 2>&1 </dev/null &
    pid=$!
    while kill -0 "$pid" 2>/dev/null; do
      if ((!said)) && grep -qiE 'waiting for cache lock' "$attempt_log"; then
        said=1
        log "apt-get is waiting for a lock another package manager holds (up to ${DPKG_LOCK_TIMEOUT_S} s): $(lock_holder "$attempt_log")"
      fi
      sleep 1
    done
    if wait "$pid"; then
      cat "$attempt_log" >>"$apt_log"
      rm -f "$attempt_log"
      return 0
    fi
    cat "$attempt_log" >>"$apt_log"
    if ! grep -qiE 'could not get lock|unable to lock' "$attempt_log" || ((SECONDS >= deadline)); then
      rm -f "$attempt_log"
      return 1
    fi
    if ((!said)); then
      said=1
      log "apt-get is waiting for a lock another package manager holds (up to ${DPKG_LOCK_TIMEOUT_S} s): $(lock_holder "$attempt_log")"
    fi
    sleep 2
  done
}

lock_holder() { grep -ioE 'could not get lock [^ ]+( it is held by process [0-9]+ \([^)]*\))?' "$1" | tail -n 1 | sed 's/\.$//'; }

