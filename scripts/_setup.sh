# Shared set-up for scripts/serve and scripts/test: a venv with the package, a Chromium, and Xvfb
# (the default browser_mode runs a headed Chromium on a virtual display on Linux without a display).
# Usage: source scripts/_setup.sh; setup_venv [EXTRAS]; ensure_chromium; ensure_xvfb
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"

log() { printf 'lmarena-bridge setup: %s\n' "$*" >&2; }

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else return 1; fi
}

apt_install() {
  command -v apt-get >/dev/null || return 1
  log "installing $* with apt-get"
  as_root apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq "$@" >/dev/null
}

setup_venv() {
  local extras="${1:-}" spec="$ROOT" stamp
  [ -n "$extras" ] && spec="$ROOT[$extras]"
  if [ ! -x "$VENV/bin/python" ]; then
    log "creating $VENV"
    "${PYTHON:-python3}" -m venv "$VENV"
  fi
  stamp="$(cat "$ROOT/pyproject.toml" | sha256sum | cut -c1-16)-$extras"
  if [ "$(cat "$VENV/.lmarena-bridge-installed" 2>/dev/null)" != "$stamp" ]; then
    log "installing the package${extras:+ with [$extras]}"
    "$VENV/bin/python" -m pip install -q --upgrade pip >/dev/null
    "$VENV/bin/python" -m pip install -q -e "$spec"
    echo "$stamp" > "$VENV/.lmarena-bridge-installed"
  fi
}

have_chromium() {
  (cd "$ROOT" && "$VENV/bin/python" -m browser >/dev/null 2>&1)
}

ensure_chromium() {
  have_chromium && return 0
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    apt_install chromium || true
  else
    log "installing Playwright's Chromium"
    "$VENV/bin/python" -m playwright install chromium || apt_install chromium || true
  fi
  if ! have_chromium; then
    log "no Chromium could be installed: install Chromium or Chrome and set LMARENA_BRIDGE_BROWSER to its path"
    return 1
  fi
}

ensure_xvfb() {
  # Where it is used: Linux without a display (elsewhere the bridge runs full-Chromium headless);
  # `ensure_xvfb always` also with a display (the headed tests start their own Xvfb).
  [ "$(uname -s)" = Linux ] || return 0
  [ "${1:-}" = always ] || [ -z "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ] || return 0
  command -v Xvfb >/dev/null && return 0
  if ! apt_install xvfb; then
    log "no Xvfb (install the xvfb package): the browser will run headless instead of on a virtual display"
  fi
  return 0
}
