#!/usr/bin/env bash
# npm run cluster: Redis, three nodes and nginx in front of them on this machine, to try several
# nodes acting as one (docs/scaling.md). Open the printed URL in two browser tabs: nginx sends
# them to different nodes, and they chat through Redis. Ctrl-C stops everything.
# Installs nginx (Debian) itself when missing, so that `npm run setup` stays lean for tests.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/build.sh
if ! command -v nginx >/dev/null && [ ! -x /usr/sbin/nginx ]; then
  echo "installing nginx (Debian package) for the load balancer"
  if [ "$(id -u)" = 0 ]; then apt-get install -y --no-install-recommends nginx-light || apt-get install -y --no-install-recommends nginx
  else sudo apt-get install -y --no-install-recommends nginx-light || sudo apt-get install -y --no-install-recommends nginx; fi
fi
NGINX=$(command -v nginx || echo /usr/sbin/nginx)

PORT="${PORT:-8080}"
REDIS_PORT="${REDIS_PORT:-6390}"
NODE_PORTS=($((PORT + 1)) $((PORT + 2)) $((PORT + 3)))
run=$(mktemp -d /tmp/switchboard-cluster.XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$run"
}
trap cleanup EXIT INT TERM
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no --loglevel warning &
pids+=($!)
for i in "${!NODE_PORTS[@]}"; do
  # --dev-login from one folder: the three nodes share .switchboard/dev-secret, so a token from
  # any node is valid on every node.
  build/native/switchboard-server --port "${NODE_PORTS[$i]}" --dev-login --static web --package dist \
    --redis "redis://127.0.0.1:$REDIS_PORT" --node-id "node$((i + 1))" --log-level warn &
  pids+=($!)
done

upstreams=""
for p in "${NODE_PORTS[@]}"; do upstreams+="    server 127.0.0.1:$p;"$'\n'; done
mkdir -p "$run/logs"
cat > "$run/nginx.conf" <<CONF
worker_processes 1;
pid $run/nginx.pid;
error_log $run/logs/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path $run/body;
  proxy_temp_path $run/proxy;
  upstream switchboard {
$upstreams  }
  map \$http_upgrade \$connection_upgrade { default upgrade; '' close; }
  server {
    listen 127.0.0.1:$PORT;
    location / {
      proxy_pass http://switchboard;
      proxy_http_version 1.1;
      proxy_set_header Upgrade \$http_upgrade;
      proxy_set_header Connection \$connection_upgrade;
      proxy_set_header Host \$http_host;
      proxy_read_timeout 3600s;
      proxy_send_timeout 3600s;
    }
  }
}
CONF
"$NGINX" -p "$run" -c "$run/nginx.conf" -g 'daemon off;' &
pids+=($!)
sleep 1
echo "Switchboard cluster: Redis :$REDIS_PORT, nodes :${NODE_PORTS[*]}, nginx :$PORT"
echo "Open http://localhost:${PORT}/ in two browser tabs (Ctrl-C stops everything)"
wait -n "${pids[@]}"
