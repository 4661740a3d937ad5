// node bench/client-cost.mjs: the wasm client's cost per received message against a bare
// JSON.parse loop, in Chromium, with no network (see bench/web/client-cost.html).
import { chromium } from 'playwright-core';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sb-cost-'));
fs.copyFileSync(path.join(root, 'bench/web/client-cost.html'), path.join(dir, 'index.html'));
const server = spawn(path.join(root, 'build/native/switchboard-server'), ['--port', '0', '--dev-login', '--static', dir, '--package', path.join(root, 'dist')]);
const url = await new Promise((res) => server.stdout.on('data', (d) => { const m = String(d).match(/(http:\/\/\S+)/); if (m) res(m[1]); }));
const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync'] });
try {
  const page = await browser.newPage();
  await page.goto(url);
  await page.waitForFunction(() => window.ready);
  const n = Number(process.env.N || 100000);
  const payloads = { small: { text: 'hello there' }, medium: { text: 'x'.repeat(1000), tags: ['a', 'b', 'c'], at: 1700000000000 } };
  await page.evaluate(([n, p]) => window.measure(n, p), [Math.floor(n / 5), payloads.small]);  // warm-up
  for (const [name, p] of Object.entries(payloads)) {
    const r = await page.evaluate(([n, p]) => window.measure(n, p), [n, p]);
    console.log(`${name.padEnd(7)} n=${r.n}  bare ${r.bare_us.toFixed(2)} µs/msg  wasm ${r.wasm_us.toFixed(2)} µs/msg  wasm/bare throughput ${r.ratio.toFixed(2)}x`);
  }
} finally {
  await browser.close();
  server.kill();
  fs.rmSync(dir, { recursive: true, force: true });
}
