#!/usr/bin/env bash
# Sets Brender up on a Debian machine, idempotently and quickly when already done:
#   system packages (Blender, ffmpeg, Chromium, Xvfb) when missing, moto_server and
#   cfn-lint for the AWS tests when missing (pip), Node 24 (npm's node@24
#   package, a dev dependency, so an older system Node is fine), the npm
#   dependencies, and the build.
set -euo pipefail
cd "$(dirname "$0")/.."

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

missing=()
command -v blender >/dev/null 2>&1 || missing+=(blender)
command -v ffmpeg >/dev/null 2>&1 || missing+=(ffmpeg)
# The web UI's end-to-end tests drive Debian's Chromium.
[ -x /usr/bin/chromium ] || missing+=(chromium)
# The Blender add-on's window test (and its README screenshot) run Blender under Xvfb.
command -v xvfb-run >/dev/null 2>&1 || missing+=(xvfb)
command -v npm >/dev/null 2>&1 || missing+=(nodejs npm)
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]} (Debian packages)"
  as_root apt-get update -q
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}"
fi

# The AWS tests run moto_server and cfn-lint (Python). This machine's Python has them;
# elsewhere they are installed with pip when it can, else the tests that need them say how.
has() { command -v "$1" >/dev/null 2>&1 || [ -x "${PYENV_ROOT:-$HOME/.pyenv}/shims/$1" ]; }
if ! has moto_server || ! has cfn-lint; then
  if command -v python3 >/dev/null 2>&1 && python3 -m pip --version >/dev/null 2>&1; then
    echo "setup: installing moto[server] and cfn-lint (pip)"
    python3 -m pip install --quiet "moto[server]" cfn-lint \
      || echo "setup: warning: pip could not install moto[server] and cfn-lint; the AWS tests will fail until they are installed"
  else
    echo "setup: warning: no python3 with pip; install moto[server] and cfn-lint for the AWS tests"
  fi
fi

# npm ci only when the lock file changed since the last install.
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ] || [ ! -x node_modules/node/bin/node ]; then
  echo "setup: installing npm dependencies (this brings Node 24)"
  npm ci --no-audit --no-fund
fi
npm run --silent build
echo "setup: ready ($(node_modules/node/bin/node --version), $(blender --version 2>/dev/null | head -n 1), $(ffmpeg -version | head -n 1 | cut -d' ' -f1-3))"
