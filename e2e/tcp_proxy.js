// A TCP proxy between a page and the server, for tests that cut connections: cut() destroys every
// connection through it at once (the browser sees an abnormal close, as when a network drops),
// hold() refuses new ones until release() (the server looks down to the page only).
import net from 'node:net';

export async function startProxy(targetUrl) {
  const target = new URL(targetUrl);
  const conns = new Set();
  let held = false;
  let cuts = 0;
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
    upstream.pipe(client);
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = server.address().port;
  return {
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
      for (const { client, upstream } of [...conns]) {
        client.destroy();
        upstream.destroy();
      }
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
