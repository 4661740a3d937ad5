#!/usr/bin/env bash
# npm test: install what is missing, build, then every test: GoogleTest via ctest, the server
# tests again under ThreadSanitizer (build/tsan), then Playwright in headless Chromium against
# real server processes. SWITCHBOARD_SKIP_TSAN=1 skips the sanitizer run.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/build.sh

echo "== GoogleTest (ctest)"
ctest --test-dir build/native --output-on-failure -j "$(nproc 2>/dev/null || echo 2)"

if [ "${SWITCHBOARD_SKIP_TSAN:-0}" != "1" ]; then
  echo "== Server tests under ThreadSanitizer (build/tsan)"
  if [ ! -f build/tsan/build.ninja ]; then
    cmake -S . -B build/tsan -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSWITCHBOARD_SANITIZE=thread >/dev/null
  fi
  cmake --build build/tsan --target switchboard_server_tests -j "$(nproc 2>/dev/null || echo 2)"
  # halt_on_error: any data race fails the run.
  TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1 ${TSAN_OPTIONS:-}" \
    build/tsan/switchboard_server_tests --gtest_brief=1
fi

echo "== Type check of the published .d.ts (tsc)"
node_modules/.bin/tsc -p tests/types

echo "== Playwright (Chromium)"
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1
npx playwright test
