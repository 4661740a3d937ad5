// Plain baseline: a minimal relay on `ws` (Node). Same protocol as uws.mjs: a Set of sockets
// per group and per user, the outgoing message serialised once and sent to each member.
import { WebSocketServer } from 'ws';
import { verify, options } from './jwt.mjs';

const { port, secret } = options();
const groups = new Map(); // name -> Set<ws>
const users = new Map();  // user -> Set<ws>
const add = (m, k, ws) => { let s = m.get(k); if (!s) m.set(k, (s = new Set())); s.add(ws); };
const del = (m, k, ws) => { const s = m.get(k); if (s && s.delete(ws) && s.size === 0) m.delete(k); };
const sendAll = (set, obj) => {
  if (!set) return;
  const data = Buffer.from(JSON.stringify(obj));
  for (const ws of set) ws.send(data, { binary: false });
};

const wss = new WebSocketServer({
  host: '127.0.0.1', port, perMessageDeflate: false, maxPayload: 64 * 1024,
  verifyClient: (info, cb) => {
    const user = verify(new URL(info.req.url, 'http://x').searchParams.get('token'), secret);
    if (!user) return cb(false, 401);
    info.req.user = user;
    cb(true);
  },
});
wss.on('connection', (ws, req) => {
  const user = req.user;
  let group = null;
  add(users, user, ws);
  ws.send(JSON.stringify({ t: 'welcome', user }));
  ws.on('message', (data) => {
    let f;
    try { f = JSON.parse(data); } catch { return; }
    if (f.t === 'pub') {
      if (f.g === group) sendAll(groups.get(group), { t: 'msg', g: group, s: user, m: f.m });
    } else if (f.t === 'priv') {
      sendAll(users.get(f.u), { t: 'prv', g: group || '', s: user, m: f.m });
    } else if (f.t === 'join') {
      if (group) del(groups, group, ws);
      group = typeof f.g === 'string' && f.g ? f.g : null;
      if (group) add(groups, group, ws);
      ws.send('{"t":"ok"}');
    }
  });
  ws.on('close', () => { if (group) del(groups, group, ws); del(users, user, ws); });
});
wss.on('listening', () => console.log(`ws peer listening on ${port}`));
