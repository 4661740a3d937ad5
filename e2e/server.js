// Starts a real switchboard-server process on a free loopback port for a test worker.
import { test as base, expect } from '@playwright/test';
import { spawn } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

export async function startServer({ port = 0, args: extraArgs = [], staticDir = 'web' } = {}) {
  const args = ['--port', String(port), '--threads', '2', '--dev-login', '--static', staticDir, '--package', 'dist', ...extraArgs];
  const proc = spawn(path.join(root, 'build/native/switchboard-server'), args, {
    cwd: root,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const url = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start:\n${output}`)), 10_000);
    const onData = (chunk) => {
      output += chunk;
      const m = output.match(/listening on (http:\/\/\S+)/);
      if (m) {
        clearTimeout(timer);
        resolve(m[1].replace(/\/$/, ''));
      }
    };
    proc.stdout.on('data', onData);
    proc.stderr.on('data', (c) => (output += c));
    proc.on('exit', (code) => reject(new Error(`server exited (${code}):\n${output}`)));
  });
  return {
    url,
    proc,
    async stop() {
      if (proc.exitCode !== null) return;
      const exited = new Promise((r) => proc.once('exit', r));
      proc.kill('SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 8000))]);
      if (proc.exitCode === null) proc.kill('SIGKILL');
    },
  };
}

// A real redis-server on a free loopback port (no persistence), for the cluster specs.
export async function startRedis() {
  const port = await new Promise((resolve) => {
    const srv = net.createServer().listen(0, '127.0.0.1', () => {
      const p = srv.address().port;
      srv.close(() => resolve(p));
    });
  });
  const proc = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`redis-server did not start:\n${output}`)), 10_000);
    proc.stdout.on('data', (c) => {
      output += c;
      if (/Ready to accept connections/.test(output)) {
        clearTimeout(timer);
        resolve();
      }
    });
    proc.on('exit', (code) => reject(new Error(`redis-server exited (${code}):\n${output}`)));
  });
  return {
    url: `redis://127.0.0.1:${port}`,
    async stop() {
      if (proc.exitCode !== null) return;
      const exited = new Promise((r) => proc.once('exit', r));
      proc.kill('SIGKILL');
      await exited;
    },
  };
}

export const test = base.extend({
  server: [
    async ({}, use) => {
      const s = await startServer();
      await use(s);
      await s.stop();
    },
    { scope: 'worker' },
  ],
});

export { expect };

// Opens a page on the server and connects a Realtime client for `user` inside it. Every event
// the callback gets is pushed onto window.events.
export async function connectUser(context, server, user, { group, options = {} } = {}) {
  const page = await context.newPage();
  page.on('pageerror', (e) => console.log(`[${user}] pageerror`, e.message));
  await page.goto(`${server.url}/blank.html`);
  await page.evaluate(
    async ({ user, group, options }) => {
      const { Realtime, RealtimeError } = await import('/switchboard/index.js');
      window.Realtime = Realtime;
      window.RealtimeError = RealtimeError;
      window.events = [];
      window.tokenFor = async (u) => (await (await fetch(`/dev/token?user=${encodeURIComponent(u)}`)).json()).token;
      window.rt = new Realtime({ ...options, token: () => window.tokenFor(user) });
      await window.rt.connectRealtime((e) => window.events.push(e));
      if (group) await window.rt.joinRealtime({ group });
    },
    { user, group, options },
  );
  return page;
}

// Runs `fn` in the page and returns {code, message} of the error it throws (or {ok: value}).
export async function outcome(page, fn, arg) {
  return page.evaluate(
    async ({ src, arg }) => {
      try {
        // eslint-disable-next-line no-new-func
        return { ok: await new Function('arg', `return (${src})(arg)`)(arg) };
      } catch (e) {
        return { code: e.code, message: e.message, name: e.name };
      }
    },
    { src: fn.toString(), arg },
  );
}

// Waits until the page has received an event matching all fields of `match`; returns it.
export async function waitForEvent(page, match, timeout = 5000) {
  const handle = await page.waitForFunction(
    (m) => window.events.find((e) => Object.entries(m).every(([k, v]) => JSON.stringify(e[k]) === JSON.stringify(v))),
    match,
    { timeout },
  );
  return handle.jsonValue();
}

// Signs `name` into the demo page (web/) in a browser context of its own and joins `room`.
export async function demoLogin(browser, server, name, room) {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(server.url + '/');
  await page.fill('#name', name);
  await page.fill('#room', room);
  await page.click('#login button');
  await expect(page.locator('#status')).toHaveText(`connected as ${name}`);
  await expect(page.locator('#room-title')).toHaveText(`# ${room}`);
  return { page, context };
}
