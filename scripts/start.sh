#!/usr/bin/env bash
# npm start: install what the demo needs, build the server and the client (not the tests), and
# run the demo server with the chat page at / and the chat example at /examples/chat/.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --demo
SWITCHBOARD_DEMO=1 bash scripts/build.sh
PORT="${PORT:-8080}"
echo "Switchboard demo: open http://localhost:${PORT}/ in two browser tabs (Ctrl-C stops it)"
# Every connection is a file descriptor: raise the soft limit as far as the hard one allows.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
exec build/demo/switchboard-server --port "$PORT" --dev-login --static web --package dist
