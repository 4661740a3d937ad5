// A local stand-in for a push service (RFC 8030), HTTPS with a self-signed certificate made at
// test time; the server under test trusts it through --push-ca-file. For every request it checks
// the VAPID header (RFC 8292: ES256 signature against the server's public key, aud, exp, sub)
// and the headers, decrypts the body (RFC 8291) twice, with the code below and with the http_ece
// package (code we did not write), and records the result. Each endpoint answers as the test
// says: a status code, or 'hang' (never answers).
import crypto from 'node:crypto';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import ece from 'http_ece';

const b64u = (b) => Buffer.from(b).toString('base64url');

// A P-256 key pair and auth secret, as a browser's PushManager would make them.
export function makeSubscriptionKeys() {
  const ecdh = crypto.createECDH('prime256v1');
  ecdh.generateKeys();
  const auth = crypto.randomBytes(16);
  return { ecdh, auth, keys: { p256dh: b64u(ecdh.getPublicKey()), auth: b64u(auth) } };
}

// RFC 8291 decryption with node's crypto (one record, aes128gcm).
export function decryptBody(body, ecdh, auth) {
  const salt = body.subarray(0, 16);
  const rs = body.readUInt32BE(16);
  const idlen = body[20];
  const asPublic = body.subarray(21, 21 + idlen);
  const ct = body.subarray(21 + idlen);
  if (rs < 18 || ct.length > rs) throw new Error('record size');
  const uaPublic = ecdh.getPublicKey();
  const secret = ecdh.computeSecret(asPublic);
  const info = (label, ...parts) => Buffer.concat([Buffer.from(label + '\0'), ...parts]);
  const ikm = Buffer.from(crypto.hkdfSync('sha256', secret, auth, info('WebPush: info', uaPublic, asPublic), 32));
  const cek = Buffer.from(crypto.hkdfSync('sha256', ikm, salt, info('Content-Encoding: aes128gcm'), 16));
  const nonce = Buffer.from(crypto.hkdfSync('sha256', ikm, salt, info('Content-Encoding: nonce'), 12));
  const d = crypto.createDecipheriv('aes-128-gcm', cek, nonce);
  d.setAuthTag(ct.subarray(ct.length - 16));
  const padded = Buffer.concat([d.update(ct.subarray(0, ct.length - 16)), d.final()]);
  let end = padded.length - 1;
  while (end >= 0 && padded[end] === 0) end--;
  if (padded[end] !== 2) throw new Error('not the last record delimiter');
  return padded.subarray(0, end).toString('utf8');
}

// Checks "vapid t=<jwt>, k=<key>"; returns a list of problems (empty: good).
export function checkVapid(header, { publicKey, audience }) {
  const problems = [];
  const m = /^vapid t=([^,\s]+),\s*k=([A-Za-z0-9_-]+)$/.exec(header || '');
  if (!m) return [`bad Authorization header: ${header}`];
  const [, jwt, k] = m;
  if (k !== publicKey) problems.push('k is not the server\'s VAPID key');
  const [h, p, s] = jwt.split('.');
  const head = JSON.parse(Buffer.from(h, 'base64url'));
  const claims = JSON.parse(Buffer.from(p, 'base64url'));
  if (head.alg !== 'ES256') problems.push(`alg ${head.alg}`);
  const point = Buffer.from(k, 'base64url');
  const key = crypto.createPublicKey({
    key: { kty: 'EC', crv: 'P-256', x: b64u(point.subarray(1, 33)), y: b64u(point.subarray(33, 65)) },
    format: 'jwk',
  });
  const ok = crypto.verify('sha256', Buffer.from(`${h}.${p}`), { key, dsaEncoding: 'ieee-p1363' }, Buffer.from(s, 'base64url'));
  if (!ok) problems.push('signature does not verify');
  if (claims.aud !== audience) problems.push(`aud ${claims.aud} != ${audience}`);
  const now = Math.floor(Date.now() / 1000);
  if (!(claims.exp > now && claims.exp <= now + 24 * 3600)) problems.push(`exp ${claims.exp}`);
  if (typeof claims.sub !== 'string' || !/^(mailto:|https:)/.test(claims.sub)) problems.push(`sub ${claims.sub}`);
  return problems;
}

export async function startPushStandin() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sb-push-'));
  const key = path.join(dir, 'key.pem');
  const cert = path.join(dir, 'cert.pem');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
    '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=localhost',
    '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1'], { stdio: 'ignore' });
  const subs = new Map();  // id -> {ecdh, auth, answer}
  const received = [];
  const waiters = new Set();
  const hanging = new Set();
  let vapidKey = null;
  let port = 0;
  const server = https.createServer({ key: fs.readFileSync(key), cert: fs.readFileSync(cert) }, (req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const id = decodeURIComponent(req.url.replace(/^\/push\//, ''));
      const sub = subs.get(id);
      const body = Buffer.concat(chunks);
      const rec = { id, method: req.method, headers: req.headers, problems: [] };
      if (!sub) rec.problems.push('unknown endpoint');
      else {
        rec.problems.push(...checkVapid(req.headers.authorization, { publicKey: vapidKey, audience: `https://localhost:${port}` }));
        if (req.headers['content-encoding'] !== 'aes128gcm') rec.problems.push('content-encoding');
        if (!/^\d+$/.test(req.headers.ttl || '')) rec.problems.push('TTL');
        if (!['very-low', 'low', 'normal', 'high'].includes(req.headers.urgency)) rec.problems.push('Urgency');
        try {
          rec.payload = JSON.parse(decryptBody(body, sub.ecdh, sub.auth));
          const other = ece.decrypt(body, { version: 'aes128gcm', privateKey: sub.ecdh, authSecret: b64u(sub.auth) });
          rec.payloadByHttpEce = JSON.parse(other.toString('utf8'));
        } catch (e) {
          rec.problems.push(`decrypt: ${e.message}`);
        }
      }
      const answer = typeof sub?.answer === 'function' ? sub.answer(rec) : sub?.answer ?? 404;
      rec.status = answer;
      received.push(rec);
      for (const w of waiters) w();
      if (answer === 'hang') {
        hanging.add(res);
        return;
      }
      res.writeHead(answer).end();
    });
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  port = server.address().port;
  return {
    caFile: cert,
    received,
    setVapidKey(k) { vapidKey = k; },
    // A subscription the test can hand to subscribeNotification; `answer`: status or 'hang'
    // (or a function of the record).
    subscription(id, answer = 201) {
      const k = makeSubscriptionKeys();
      subs.set(id, { ...k, answer });
      return { endpoint: `https://localhost:${port}/push/${encodeURIComponent(id)}`, keys: k.keys };
    },
    setAnswer(id, answer) { subs.get(id).answer = answer; },
    // Resolves with the records for `id` once there are at least n (bounded wait).
    async waitFor(id, n = 1, timeout = 15000) {
      const mine = () => received.filter((r) => r.id === id);
      if (mine().length >= n) return mine();
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => { waiters.delete(check); reject(new Error(`push stand-in: ${mine().length} of ${n} for ${id}`)); }, timeout);
        const check = () => {
          if (mine().length < n) return;
          clearTimeout(timer);
          waiters.delete(check);
          resolve(mine());
        };
        waiters.add(check);
      });
    },
    count(id) { return received.filter((r) => r.id === id).length; },
    async stop() {
      for (const res of hanging) res.destroy();
      server.closeAllConnections?.();
      await new Promise((r) => server.close(r));
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
