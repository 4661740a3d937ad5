#!/usr/bin/env bash
# Installs what the build and the tests need, and nothing that is already there.
# Debian packages via apt-get (needs root or sudo), npm packages via `npm ci`. `--demo`: only
# what npm start needs (no test tools, no browsers).
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(
  build-essential cmake ninja-build pkg-config
  emscripten                                  # wasm client (3.1.6 on Debian 12)
  binaryen                                    # wasm-opt: scripts/build.sh shrinks the wasm module
  clang libclang-rt-14-dev                    # fuzzers: clang 14 and its libFuzzer/ASan runtimes
  libboost1.81-dev libssl-dev openssl         # Beast/Asio server, OpenSSL for JWT and Web Push; openssl CLI: e2e push stand-in cert
  nlohmann-json3-dev libcli11-dev
  libgtest-dev libbenchmark-dev
  libhiredis-dev redis-server                 # Redis broker (scale-out) and its tests
  chromium                                    # Playwright drives Debian's Chromium
  firefox-esr                                 # the Firefox e2e stage (puppeteer-core, WebDriver BiDi)
)
# `setup.sh --demo` (npm start): only what building and running the demo needs.
if [ "${1:-}" = "--demo" ]; then
  APT_PACKAGES=(build-essential cmake ninja-build pkg-config emscripten binaryen libboost1.81-dev libssl-dev libhiredis-dev
                nlohmann-json3-dev libcli11-dev)
fi

missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing Debian packages: ${missing[*]}"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# npm packages: reinstall only when the lock file changed since the last install.
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 PUPPETEER_SKIP_DOWNLOAD=1
stamp=node_modules/.switchboard-lock
if [ ! -f "$stamp" ] || ! cmp -s package-lock.json "$stamp"; then
  echo "setup: npm ci"
  npm ci --no-audit --no-fund --loglevel=error
  cp package-lock.json "$stamp"
fi
