// A TCP proxy between a page and the server, for tests of reconnecting clients: cut() resets
// every connection through it at once (the browser sees an abnormal close, 1006, as when a
// network drops), hold() refuses new ones until release() (the server looks down to the page
// only). With `cutOn`, a connection is also cut as soon as the server sends it those bytes (say,
// a marker the page posted to itself), so a page can drive its own cuts with no test harness
// call per cycle.
import net from 'node:net';

export async function startProxy(targetUrl, { cutOn = null } = {}) {
  const target = new URL(targetUrl);
  const conns = new Set();
  const marker = cutOn ? Buffer.from(cutOn) : null;
  let held = false;
  let cuts = 0;
  const kill = ({ client, upstream }) => {
    client.resetAndDestroy();
    upstream.destroy();
  };
  const server = net.createServer((client) => {
    if (held) {
      client.destroy();
      return;
    }
    const upstream = net.connect(Number(target.port), target.hostname);
    const pair = { client, upstream };
    conns.add(pair);
    const drop = () => {
      conns.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    client.on('error', drop).on('close', drop);
    upstream.on('error', drop).on('close', drop);
    client.pipe(upstream);
    let tail = Buffer.alloc(0);  // the last bytes seen, so a marker split across reads is found
    upstream.on('data', (chunk) => {
      if (!conns.has(pair)) return;
      client.write(chunk);
      if (!marker) return;
      const seen = Buffer.concat([tail, chunk]);
      if (seen.includes(marker)) {
        cuts++;
        conns.delete(pair);
        kill(pair);
        return;
      }
      tail = seen.subarray(Math.max(0, seen.length - marker.length + 1));
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = server.address().port;
  return {
    port,
    url: `http://127.0.0.1:${port}`,
    wsUrl: `ws://127.0.0.1:${port}/realtime`,
    // Connections open right now (the page's WebSocket, once connected).
    get open() {
      return conns.size;
    },
    get cuts() {
      return cuts;
    },
    cut() {
      if (conns.size) cuts++;
      for (const pair of conns) kill(pair);
      conns.clear();
    },
    hold() {
      held = true;
    },
    release() {
      held = false;
    },
    async stop() {
      this.cut();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
