#!/usr/bin/env bash
# npm test: install what is missing, build, then every test: GoogleTest via ctest, the server
# tests again under ThreadSanitizer (build/tsan), every native test under AddressSanitizer and
# UndefinedBehaviorSanitizer (build/asan), each fuzzer for a few seconds (scripts/fuzz.sh,
# SWITCHBOARD_FUZZ_SECONDS, default 8), a type check of the published .d.ts, then Playwright in
# headless Chromium against real server processes, then the core e2e subset and the chat example
# in headless Firefox (e2e/firefox/run.mjs). SWITCHBOARD_SKIP_TSAN=1, SWITCHBOARD_SKIP_ASAN=1
# and SWITCHBOARD_SKIP_FUZZ=1 skip those stages. Any failure stops the run with a non-zero
# status; a full pass ends with one "N passed, 0 failed" line over all suites (a fuzzer that ran
# clean counts as one).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/build.sh
jobs=$(nproc 2>/dev/null || echo 2)
logs=build/test-logs
mkdir -p "$logs"

echo "== GoogleTest (ctest)"
ctest --test-dir build/native --output-on-failure -j "$jobs" | tee "$logs/ctest.txt"
ctest_n=$(sed -n 's/.*tests passed, 0 tests failed out of \([0-9]*\).*/\1/p' "$logs/ctest.txt")

tsan_n=0
if [ "${SWITCHBOARD_SKIP_TSAN:-0}" != "1" ]; then
  echo "== Server tests under ThreadSanitizer (build/tsan)"
  if [ ! -f build/tsan/build.ninja ]; then
    cmake -S . -B build/tsan -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSWITCHBOARD_SANITIZE=thread >/dev/null
  fi
  cmake --build build/tsan --target switchboard_server_tests -j "$jobs"
  # halt_on_error: any data race fails the run.
  TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1 ${TSAN_OPTIONS:-}" \
    build/tsan/switchboard_server_tests --gtest_brief=1 | tee "$logs/tsan.txt"
  tsan_n=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) tests\?\./\1/p' "$logs/tsan.txt")
fi

asan_n=0
if [ "${SWITCHBOARD_SKIP_ASAN:-0}" != "1" ]; then
  echo "== Native tests under AddressSanitizer + UndefinedBehaviorSanitizer (build/asan)"
  if [ ! -f build/asan/build.ninja ]; then
    cmake -S . -B build/asan -G Ninja -DCMAKE_BUILD_TYPE=Debug -DSWITCHBOARD_SANITIZE=address,undefined >/dev/null
  fi
  cmake --build build/asan --target switchboard_tests -j "$jobs"
  ASAN_OPTIONS="halt_on_error=1:detect_leaks=1 ${ASAN_OPTIONS:-}" \
  UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1 ${UBSAN_OPTIONS:-}" \
    build/asan/switchboard_tests --gtest_brief=1 | tee "$logs/asan.txt"
  asan_n=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) tests\?\./\1/p' "$logs/asan.txt")
fi

fuzz_n=0
if [ "${SWITCHBOARD_SKIP_FUZZ:-0}" != "1" ]; then
  echo "== Fuzzers, briefly (build/fuzz; npm run fuzz runs them for longer)"
  FUZZ_SECONDS=${SWITCHBOARD_FUZZ_SECONDS:-8} bash scripts/fuzz.sh | tee "$logs/fuzz.txt"
  fuzz_n=$(sed -n 's/^fuzz: \([0-9]*\) clean.*/\1/p' "$logs/fuzz.txt")
fi

echo "== Type check of the published .d.ts (tsc)"
node_modules/.bin/tsc -p tests/types

echo "== Playwright (Chromium)"
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1
PLAYWRIGHT_JSON_OUTPUT_NAME="$logs/playwright.json" npx playwright test --reporter=list,json
pw_n=$(node -e 'const s = require(process.argv[1]).stats; console.log(s.expected + s.flaky)' "$(pwd)/$logs/playwright.json")

echo "== Firefox (firefox-esr, puppeteer-core over WebDriver BiDi): core subset and the chat example"
node --test --test-reporter=spec --test-reporter-destination=stdout \
  --test-reporter=tap --test-reporter-destination="$logs/firefox.tap" e2e/firefox/run.mjs
ff_n=$(sed -n 's/^# pass \([0-9]*\)$/\1/p' "$logs/firefox.tap")

echo
echo "ctest ${ctest_n:-0}, ThreadSanitizer ${tsan_n:-0}, ASan+UBSan ${asan_n:-0}, fuzzers ${fuzz_n:-0}, Playwright ${pw_n:-0}, Firefox ${ff_n:-0}"
echo "$(( ${ctest_n:-0} + ${tsan_n:-0} + ${asan_n:-0} + ${fuzz_n:-0} + ${pw_n:-0} + ${ff_n:-0} )) passed, 0 failed"
