// Test helper (rtc_stress.spec.js): keeps every core busy until killed. One worker thread per
// core spins; the parent says "ready" once they run.
const { Worker, isMainThread } = require('node:worker_threads');
const os = require('node:os');

if (isMainThread) {
  const n = os.availableParallelism ? os.availableParallelism() : os.cpus().length;
  for (let i = 0; i < n; i++) new Worker(__filename);
  if (process.send) process.send('ready');
} else {
  for (;;) Math.sqrt(Math.random());
}
