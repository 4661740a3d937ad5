// A symbol-size listing of a wasm module: code bytes per function, largest first, and totals by
// part. Needs the function names: link with --profiling-funcs, e.g.
//   emcmake cmake -S . -B build/wasm-prof -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_EXE_LINKER_FLAGS=--profiling-funcs
//   cmake --build build/wasm-prof && node scripts/wasm_sizes.mjs build/wasm-prof/switchboard_core.wasm 40
import fs from 'node:fs';

const buf = fs.readFileSync(process.argv[2]);
const top = Number(process.argv[3] || 40);
let p = 8;
const uleb = () => {
  let r = 0, shift = 0, b;
  do { b = buf[p++]; r += (b & 0x7f) * 2 ** shift; shift += 7; } while (b & 0x80);
  return r;
};
const names = new Map(), bodies = [], sections = [];
let imported = 0;
while (p < buf.length) {
  const id = buf[p++], len = uleb(), end = p + len;
  let label = String(id);
  if (id === 0) {
    const n = uleb();
    label = buf.toString('utf8', p, p + n);
    p += n;
    while (label === 'name' && p < end) {
      const sub = buf[p++], sublen = uleb(), subend = p + sublen;
      if (sub === 1) for (let c = uleb(); c > 0; c--) { const i = uleb(), l = uleb(); names.set(i, buf.toString('utf8', p, p + l)); p += l; }
      p = subend;
    }
  } else if (id === 2) {  // imports: functions take the first indices
    for (let c = uleb(); c > 0; c--) {
      p += uleb(); p += uleb();
      const kind = buf[p++];
      if (kind === 0) { uleb(); imported++; }
      else if (kind === 1) { p++; if (buf[p++] & 1) { uleb(); uleb(); } else uleb(); }
      else if (kind === 2) { if (buf[p++] & 1) { uleb(); uleb(); } else uleb(); }
      else p += 2;
    }
  } else if (id === 10) {
    for (let c = uleb(), i = 0; i < c; i++) { const l = uleb(); bodies.push([imported + i, l]); p += l; }
  }
  sections.push(`${{ 1: 'type', 2: 'import', 3: 'func', 7: 'export', 10: 'code', 11: 'data' }[id] || label}=${len}`);
  p = end;
}
const PARTS = [
  [/__function::|std::__2::function/, 'std::function'], [/__tree|std::__2::map/, 'std::map'], [/deque|__split_buffer/, 'std::deque'],
  [/^std::__2::vector/, 'std::vector'], [/^sb_/, 'exports (src/wasm/bindings.cpp)'], [/sb::client::RtcSignaling/, 'rtc_signaling'],
  [/sb::client::Pager/, 'pager'], [/sb::client::Core/, 'core'], [/json_text/, 'json_text'], [/sb::protocol/, 'frames'],
  [/sb::wasm/, 'browser_platform'], [/malloc|free|claim_more|attempt_allocate|sbrk/, 'malloc'], [/cxxabi|__cxa|type_info/, 'C++ runtime'],
  [/^std::/, 'other libc++'],
];
const rows = bodies.map(([i, l]) => [names.get(i) || `function ${i}`, l]).sort((a, b) => b[1] - a[1]);
const parts = new Map();
for (const [n, l] of rows) {
  const part = (PARTS.find(([re]) => re.test(n)) || [0, 'other (libc, ...)'])[1];
  parts.set(part, (parts.get(part) || 0) + l);
}
console.log(`sections (bytes): ${sections.join(' ')}`);
console.log(`code: ${rows.reduce((s, r) => s + r[1], 0)} bytes in ${rows.length} functions; by part:`);
for (const [k, v] of [...parts].sort((a, b) => b[1] - a[1])) console.log(`${String(v).padStart(8)}  ${k}`);
console.log(`largest ${top}:`);
for (const [n, l] of rows.slice(0, top)) console.log(`${String(l).padStart(8)}  ${n.length > 140 ? n.slice(0, 137) + '...' : n}`);
