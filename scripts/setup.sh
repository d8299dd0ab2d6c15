#!/usr/bin/env bash
# Sets Brender up on a Debian machine, idempotently and quickly when already done:
#   system packages (Blender, ffmpeg, Chromium, Xvfb, Python) when missing, moto_server and
#   cfn-lint for the AWS tests when missing (pip, into .tools/python), Node 24 (npm's node@24
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
# Python runs the add-on's unit tests, moto_server and cfn-lint; Debian's needs python3-venv for a venv.
command -v python3 >/dev/null 2>&1 || missing+=(python3)
command -v python3 >/dev/null 2>&1 && python3 -c "import ensurepip, venv" >/dev/null 2>&1 || missing+=(python3-venv)
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]} (Debian packages)"
  as_root apt-get update -q
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}"
fi

# The AWS tests run moto_server and cfn-lint (Python): from PATH when this machine has them, else
# from the project's own venv (.tools/python), where the tests also look. Debian's Python refuses a
# plain `pip install` (PEP 668), so a venv it is.
tools=.tools/python
has() { command -v "$1" >/dev/null 2>&1 || [ -x "${PYENV_ROOT:-$HOME/.pyenv}/shims/$1" ] || [ -x "$tools/bin/$1" ]; }
if ! has moto_server || ! has cfn-lint; then
  echo "setup: installing moto[server] and cfn-lint into $tools (pip)"
  # Only the AWS tests need them: rendering does not, so a failure here is a warning, not the end of the setup.
  { python3 -m venv "$tools" && "$tools/bin/python" -m pip install --quiet --disable-pip-version-check "moto[server]" cfn-lint; } \
    || echo "setup: warning: could not install moto[server] and cfn-lint into $tools; the AWS tests fail until they are (pip install \"moto[server]\" cfn-lint)"
fi

# npm ci only when the lock file changed since the last install.
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ] || [ ! -x node_modules/node/bin/node ]; then
  echo "setup: installing npm dependencies (this brings Node 24)"
  npm ci --no-audit --no-fund
fi
npm run --silent build
echo "setup: ready ($(node_modules/node/bin/node --version), $(blender --version 2>/dev/null | head -n 1), $(ffmpeg -version | head -n 1 | cut -d' ' -f1-3))"
