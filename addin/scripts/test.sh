#!/usr/bin/env bash
# The add-in's tests: node unit tests, then the end-to-end browser test against the real service.
# Called by `make test-addin` (and so by `make test`). Installs what is missing: the npm packages
# (npm ci from the committed package-lock.json) and Debian's Chromium. Exits non-zero on failure.
#
# Env: MISDIRECT_E2E_WORLD / MISDIRECT_E2E_MODEL reuse a generated world / trained bundle
#      (otherwise the e2e test makes a small one in a temp folder);
#      ADDIN_SKIP_E2E=1 runs the unit tests only.
set -euo pipefail

ADDIN_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
ROOT="$(cd "$ADDIN_DIR/.." && pwd)"
cd "$ADDIN_DIR"
start=$(date +%s)

command -v node >/dev/null || { echo "node is required (Node.js 20+)" >&2; exit 1; }

# npm packages: reinstall when the lock file changed since the last install.
if [ ! -f node_modules/.package-lock.json ] || ! cmp -s package-lock.json node_modules/.misdirect-lock; then
  echo "== npm ci"
  npm ci --no-audit --no-fund --loglevel=error
  cp package-lock.json node_modules/.misdirect-lock
fi

CHROMIUM_PATH="${CHROMIUM_PATH:-/usr/bin/chromium}"
if [ "${ADDIN_SKIP_E2E:-0}" != "1" ] && [ ! -x "$CHROMIUM_PATH" ]; then
  echo "== installing Debian's chromium"
  if [ "$(id -u)" -eq 0 ]; then SUDO=""; else SUDO="sudo"; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium >/dev/null
fi

echo "== add-in unit tests"
MISDIRECT_E2E=0 node --test test/

if [ "${ADDIN_SKIP_E2E:-0}" = "1" ]; then
  echo "== end-to-end test skipped (ADDIN_SKIP_E2E=1)"
else
  [ -x "$ROOT/.venv/bin/misdirect" ] || { echo "missing $ROOT/.venv/bin/misdirect: run make install" >&2; exit 1; }
  echo "== add-in end-to-end test (service + Chromium)"
  MISDIRECT_E2E=1 CHROMIUM_PATH="$CHROMIUM_PATH" node --test test/e2e/
fi
echo "== add-in tests done in $(( $(date +%s) - start )) s"
