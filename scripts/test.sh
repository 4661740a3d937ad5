#!/usr/bin/env bash
# npm test: install what is missing, build, then every test: GoogleTest via ctest, then
# Playwright in headless Chromium against real server processes.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/build.sh

echo "== GoogleTest (ctest)"
ctest --test-dir build/native --output-on-failure -j "$(nproc 2>/dev/null || echo 2)"

echo "== Type check of the published .d.ts (tsc)"
node_modules/.bin/tsc -p tests/types

echo "== Playwright (Chromium)"
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1
npx playwright test
