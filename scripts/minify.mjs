// Minifies the package's JavaScript into dist/ (scripts/build.sh): the Emscripten glue and the
// JS layer, with rolldown's minifier (oxc), which vite already brings. Usage:
//   node scripts/minify.mjs <src> <dest> [<src> <dest> ...]   (a pair is skipped when dest is newer)
import fs from 'node:fs';
import { minifySync } from 'rolldown/utils';

const args = process.argv.slice(2);
for (let i = 0; i + 1 < args.length; i += 2) {
  const [src, dest] = [args[i], args[i + 1]];
  if (fs.existsSync(dest) && fs.statSync(dest).mtimeMs >= fs.statSync(src).mtimeMs) continue;
  const r = minifySync(src, fs.readFileSync(src, 'utf8'), { module: true, compress: true, mangle: true });
  if (r.errors && r.errors.length) throw new Error(`minify ${src}: ${r.errors.map((e) => e.message).join('; ')}`);
  fs.writeFileSync(dest, r.code);
}
