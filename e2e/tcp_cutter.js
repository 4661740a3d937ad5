// A TCP proxy between a page and the server that cuts connections through it (the browser sees
// an abnormal close, 1006), for tests of reconnecting clients. `cut()` cuts every connection at
// once; with `cutOn`, a connection is also cut as soon as the server sends it those bytes (say,
// a marker the page posted to itself), so a page can drive its own cuts with no test harness
// call per cycle.
import net from 'node:net';

export async function startCutter(targetPort, { cutOn = null, targetHost = '127.0.0.1' } = {}) {
  const live = new Set();
  const marker = cutOn ? Buffer.from(cutOn) : null;
  let cuts = 0;
  const kill = ({ client, upstream }) => {
    client.resetAndDestroy();
    upstream.destroy();
  };
  const server = net.createServer((client) => {
    const upstream = net.connect(targetPort, targetHost);
    const pair = { client, upstream };
    live.add(pair);
    const drop = () => {
      live.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    client.on('error', drop).on('close', drop);
    upstream.on('error', drop).on('close', drop);
    client.pipe(upstream);
    let tail = Buffer.alloc(0);  // the last bytes seen, so a marker split across reads is found
    upstream.on('data', (chunk) => {
      if (!live.has(pair)) return;
      client.write(chunk);
      if (!marker) return;
      const seen = Buffer.concat([tail, chunk]);
      if (seen.includes(marker)) {
        cuts++;
        live.delete(pair);
        kill(pair);
        return;
      }
      tail = seen.subarray(Math.max(0, seen.length - marker.length + 1));
    });
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: server.address().port,
    cut() {
      for (const pair of live) {
        cuts++;
        kill(pair);
      }
      live.clear();
    },
    get cuts() {
      return cuts;
    },
    get connections() {
      return live.size;
    },
    close() {
      this.cut();
      return new Promise((r) => server.close(r));
    },
  };
}
