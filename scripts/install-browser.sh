#!/usr/bin/env bash
# What the browser tests (tests/web/test_browser.py) need:
# * headless Chromium: Debian's chromium package, driven by Playwright's Python API (installed with the test
#   extra; `playwright install` is never needed);
# * axe-core, the accessibility engine the tests inject into each main page: the npm package, pinned, installed
#   into a cache folder outside the checkout (its source is never committed). The tests find it at
#   ${HUB_AXE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/integration-hub/axe-core-$AXE_VERSION}/node_modules/axe-core/axe.min.js.
# Idempotent: each part does nothing when it is already there.
set -euo pipefail
AXE_VERSION="4.14.1"
AXE_DIR="${HUB_AXE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/integration-hub/axe-core-$AXE_VERSION}"

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  SUDO="sudo"
fi
if [ ! -x /usr/bin/chromium ]; then
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends chromium
fi

if [ ! -f "$AXE_DIR/node_modules/axe-core/axe.min.js" ]; then
  if ! command -v npm >/dev/null 2>&1; then
    $SUDO apt-get update -q
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends npm
  fi
  mkdir -p "$AXE_DIR"
  npm install --prefix "$AXE_DIR" --no-save --no-audit --no-fund --ignore-scripts "axe-core@$AXE_VERSION" >/dev/null
fi
