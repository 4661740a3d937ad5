// The npm package as a user gets it: `npm pack`, install the tarball into a fresh app, bundle it
// with Vite, serve the bundle from a real server, and chat through it in Chromium.
import { test, expect, startServer, waitForEvent } from './server.js';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const run = (cmd, args, cwd) => execFileSync(cmd, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

test.describe.configure({ mode: 'serial' });
let app, server, files;

test.beforeAll(async () => {
  test.setTimeout(180_000);
  const tmp = fs.mkdtempSync(path.join(root, 'e2e', '.tmp-pack-'));
  const packed = JSON.parse(run('npm', ['pack', '--json', '--pack-destination', tmp], root))[0];
  files = packed.files.map((f) => f.path).sort();
  app = path.join(tmp, 'app');
  fs.mkdirSync(app);
  fs.writeFileSync(path.join(app, 'package.json'), JSON.stringify({ name: 'fixture-app', private: true, type: 'module' }));
  fs.writeFileSync(path.join(app, 'index.html'), '<!doctype html><meta charset="utf-8"><title>fixture</title><script type="module" src="/main.js"></script>\n');
  fs.writeFileSync(path.join(app, 'main.js'), `
import { Realtime } from 'switchboard-realtime';
window.startChat = async (user, group) => {
  window.events = [];
  window.rt = new Realtime({ token: async () => (await (await fetch('/dev/token?user=' + user)).json()).token });
  await window.rt.connectRealtime((e) => window.events.push(e));
  await window.rt.joinRealtime({ group });
};
document.body.dataset.ready = '1';
`);
  fs.copyFileSync(path.join(root, 'tests/types/consumer.ts'), path.join(app, 'consumer.ts'));
  fs.writeFileSync(path.join(app, 'tsconfig.json'), JSON.stringify({
    compilerOptions: { target: 'ES2020', module: 'ESNext', moduleResolution: 'Bundler', lib: ['ES2020', 'DOM'], strict: true, noEmit: true },
    files: ['consumer.ts'],
  }));
  run('npm', ['install', '--no-audit', '--no-fund', '--no-package-lock', path.join(tmp, packed.filename)], app);
  run(process.execPath, [path.join(root, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.json'], app);
  run(process.execPath, [path.join(root, 'node_modules/vite/bin/vite.js'), 'build', '--logLevel', 'warn'], app);
  server = await startServer({ staticDir: path.join(app, 'dist') });
});

test.afterAll(async () => {
  if (server) await server.stop();
  if (app) fs.rmSync(path.dirname(app), { recursive: true, force: true });
});

test('the tarball ships only the module, its wasm and its types', () => {
  expect(files).toEqual(['README.md', 'dist/forms.js', 'dist/index.d.ts', 'dist/index.js', 'dist/notifications.js', 'dist/rtc.js', 'dist/switchboard.js', 'dist/switchboard_core.js', 'dist/switchboard_core.wasm', 'package.json']);
});

test('a Vite-bundled app chats through the installed package', async ({ context }) => {
  const assets = fs.readdirSync(path.join(app, 'dist', 'assets'));
  expect(assets.some((f) => f.endsWith('.wasm'))).toBe(true);
  const pages = [];
  for (const user of ['alice', 'bob']) {
    const page = await context.newPage();
    await page.goto(server.url + '/');
    await page.waitForSelector('body[data-ready="1"]', { state: 'attached' });
    await page.evaluate((u) => window.startChat(u, 'bundled'), user);
    pages.push(page);
  }
  await pages[0].evaluate(() => window.rt.postRealtime({ via: 'vite' }, 'bundled'));
  const ev = await waitForEvent(pages[1], { type: 'message', sender: 'alice' });
  expect(ev.message).toEqual({ via: 'vite' });
});
