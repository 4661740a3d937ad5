// The browser section's "client's own cost" table alone (bench/web/client-cost.html, the same
// page, payloads and measure() that bench/run.mjs uses), without the servers and the rest of
// the run: a quick before/after for client changes. Serves the page and a dist directory itself.
//   node bench/client_cost.mjs [distDir=dist] [messages=100000] [rounds=3]
import http from 'node:http';
import fs from 'node:fs';
import path from 'node:path';
import { chromium } from '@playwright/test';

const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const dist = path.resolve(process.argv[2] || path.join(ROOT, 'dist'));
const N = Number(process.argv[3] || 100000), ROUNDS = Number(process.argv[4] || 3);
const PAYLOADS = {  // as COST_PAYLOADS in bench/run.mjs
  'small (~30 B)': { text: 'hello there' },
  'medium (~1 KB)': { text: 'x'.repeat(1000), tags: ['a', 'b', 'c'], at: 1700000000000 },
};
const html = fs.readFileSync(path.join(ROOT, 'bench/web/client-cost.html'));
const server = http.createServer((req, res) => {
  const u = req.url.split('?')[0];
  const file = u.startsWith('/switchboard/') ? path.join(dist, path.basename(u)) : null;
  if (u === '/cost.html') res.setHeader('content-type', 'text/html'), res.end(html);
  else if (file && fs.existsSync(file))
    res.setHeader('content-type', file.endsWith('.wasm') ? 'application/wasm' : 'text/javascript'), res.end(fs.readFileSync(file));
  else res.statusCode = 404, res.end();
});
await new Promise((r) => server.listen(0, '127.0.0.1', r));
const browser = await chromium.launch({ executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium', args: ['--no-sandbox', '--disable-gpu'] });
try {
  const page = await browser.newPage();
  await page.goto(`http://127.0.0.1:${server.address().port}/cost.html`);
  await page.waitForFunction(() => window.ready === true);
  await page.evaluate(([n]) => window.measure(n, { text: 'warm-up' }), [Math.floor(N / 5)]);
  for (let r = 0; r < ROUNDS; r++)
    for (const [name, p] of Object.entries(PAYLOADS)) {
      const x = await page.evaluate(([n, p]) => window.measure(n, p), [N, p]);
      console.log(`${name}: bare ${x.bare_us.toFixed(2)} us/msg, wasm ${x.wasm_us.toFixed(2)} us/msg, ratio ${x.ratio.toFixed(2)}x`);
    }
} finally {
  await browser.close();
  server.close();
}
