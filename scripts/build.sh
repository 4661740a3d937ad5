#!/usr/bin/env bash
# Builds the native server and tests (build/native), the wasm client (build/wasm), and lays out
# the npm package in dist/. Incremental: a second run rebuilds only what changed.
# SWITCHBOARD_DEMO=1 (npm start) builds the server alone in build/demo instead of build/native.
set -euo pipefail
cd "$(dirname "$0")/.."

jobs=$(nproc 2>/dev/null || echo 2)
export NODE_PATH=/usr/share/nodejs   # Emscripten 3.1.6's JS optimizer needs acorn from here

if [ "${SWITCHBOARD_DEMO:-0}" = "1" ]; then
  # npm start: the server alone (build/demo), quietly; the tests are not built.
  if [ ! -f build/demo/build.ninja ]; then
    cmake -S . -B build/demo -G Ninja -DCMAKE_BUILD_TYPE=Release -DSWITCHBOARD_TESTS=OFF >/dev/null
  fi
  cmake --build build/demo -j "$jobs" --target switchboard-server | grep -v -e '^\[' -e '^ninja: no work' || true
else
  if [ ! -f build/native/build.ninja ]; then
    cmake -S . -B build/native -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
  fi
  cmake --build build/native -j "$jobs"
fi

if [ ! -f build/wasm/build.ninja ]; then
  emcmake cmake -S . -B build/wasm -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
fi
cmake --build build/wasm -j "$jobs"

mkdir -p dist
# Size (docs/benchmarks.md, Bundle size): binaryen's wasm-opt once more over emcc's output, and
# the glue and JS layer minified (scripts/minify.mjs).
if [ ! -f dist/switchboard_core.wasm ] || [ build/wasm/switchboard_core.wasm -nt dist/switchboard_core.wasm ]; then
  wasm-opt -Oz --strip-producers build/wasm/switchboard_core.wasm -o dist/switchboard_core.wasm
fi
node scripts/minify.mjs build/wasm/switchboard_core.js dist/switchboard_core.js \
  js/index.js dist/index.js js/rtc.js dist/rtc.js js/forms.js dist/forms.js js/notifications.js dist/notifications.js
cp -u js/index.d.ts dist/
# The same module as one classic script with the wasm inside (dist/switchboard.js, global
# `Switchboard`), for pages that load their client with <script src> as Skapi's examples do.
if [ ! -f dist/switchboard.js ] || [ -n "$(find dist/index.js dist/rtc.js dist/forms.js dist/notifications.js dist/switchboard_core.js dist/switchboard_core.wasm -newer dist/switchboard.js)" ]; then
  node_modules/.bin/vite build --config scripts/vite.classic.config.mjs
fi
