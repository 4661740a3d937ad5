#!/usr/bin/env bash
# Builds the native server and tests (build/native), the wasm client (build/wasm), and lays out
# the npm package in dist/. Incremental: a second run rebuilds only what changed.
set -euo pipefail
cd "$(dirname "$0")/.."

jobs=$(nproc 2>/dev/null || echo 2)
export NODE_PATH=/usr/share/nodejs   # Emscripten 3.1.6's JS optimizer needs acorn from here

if [ ! -f build/native/build.ninja ]; then
  cmake -S . -B build/native -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
fi
cmake --build build/native -j "$jobs"

if [ ! -f build/wasm/build.ninja ]; then
  emcmake cmake -S . -B build/wasm -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
fi
cmake --build build/wasm -j "$jobs"

mkdir -p dist
cp -u build/wasm/switchboard_core.js build/wasm/switchboard_core.wasm dist/
cp -u js/index.js js/rtc.js js/forms.js js/index.d.ts dist/
# The same module as one classic script with the wasm inside (dist/switchboard.js, global
# `Switchboard`), for pages that load their client with <script src> as Skapi's examples do.
if [ ! -f dist/switchboard.js ] || [ -n "$(find dist/index.js dist/rtc.js dist/forms.js dist/switchboard_core.js dist/switchboard_core.wasm -newer dist/switchboard.js)" ]; then
  node_modules/.bin/vite build --config scripts/vite.classic.config.mjs
fi
