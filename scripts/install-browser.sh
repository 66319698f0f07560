#!/usr/bin/env bash
# Headless Chromium for the browser tests (tests/web/test_browser.py): Debian's chromium package, driven by
# Playwright's Python API (installed with the test extra; `playwright install` is never needed).
# Idempotent: does nothing when /usr/bin/chromium is there.
set -euo pipefail
if [ -x /usr/bin/chromium ]; then
  exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  SUDO="sudo"
fi
$SUDO apt-get update -q
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends chromium
