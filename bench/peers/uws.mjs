// uWebSockets.js peer (the near-limit anchor): topic pub/sub, a topic per group and per user.
// Protocol (shared with ws.mjs): {"t":"join","g"} -> {"t":"ok"}; {"t":"pub","g","m"} ->
// {"t":"msg","g","s","m"} to the group's members; {"t":"priv","u","m"} -> {"t":"prv","g","s","m"}.
import { createRequire } from 'node:module';
import { verify, options } from './jwt.mjs';

const uWS = createRequire(import.meta.url)('@trufflesuite/uws-js-unofficial');
const { port, secret } = options();
const decoder = new TextDecoder();

const app = uWS.App();
app
  .ws('/*', {
    compression: uWS.DISABLED,
    maxPayloadLength: 64 * 1024,
    maxBackpressure: 4 * 1024 * 1024, // Switchboard's default outgoing limit
    idleTimeout: 60,
    upgrade: (res, req, context) => {
      const user = verify(new URLSearchParams(req.getQuery() || '').get('token'), secret);
      if (!user) {
        res.writeStatus('401 Unauthorized').end();
        return;
      }
      res.upgrade({ user, group: null }, req.getHeader('sec-websocket-key'),
        req.getHeader('sec-websocket-protocol'), req.getHeader('sec-websocket-extensions'), context);
    },
    open: (ws) => {
      const d = ws.getUserData();
      ws.subscribe('user:' + d.user);
      ws.send(JSON.stringify({ t: 'welcome', user: d.user }));
    },
    message: (ws, data) => {
      let f;
      try { f = JSON.parse(decoder.decode(data)); } catch { return; }
      const d = ws.getUserData();
      if (f.t === 'pub') {
        if (f.g !== d.group) return;
        app.publish('group:' + f.g, JSON.stringify({ t: 'msg', g: f.g, s: d.user, m: f.m }));
      } else if (f.t === 'priv') {
        app.publish('user:' + f.u, JSON.stringify({ t: 'prv', g: d.group || '', s: d.user, m: f.m }));
      } else if (f.t === 'join') {
        if (d.group) ws.unsubscribe('group:' + d.group);
        d.group = typeof f.g === 'string' && f.g ? f.g : null;
        if (d.group) ws.subscribe('group:' + d.group);
        ws.send('{"t":"ok"}');
      }
    },
  })
  .listen('127.0.0.1', port, (token) => {
    if (!token) { console.error('uws peer: cannot listen'); process.exit(1); }
    console.log(`uws peer listening on ${port}`);
  });
