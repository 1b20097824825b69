// build.mjs - bundles the dashboard into dist/: assets/app-<hash>.js and .css (esbuild, with
// uPlot and @noble from node_modules), and index.html pointing at them. Called by
// scripts/build-web.sh; no network at run time, everything is in dist/.
import * as esbuild from 'esbuild';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const out = path.join(here, 'dist');
// dist/ is updated in place, never removed: a running `serve` holds it open (webstatic keeps a
// directory fd). New assets have new hashed names; index.html is replaced atomically; stale
// assets are removed last.
fs.mkdirSync(path.join(out, 'assets'), { recursive: true });
const r = await esbuild.build({
  absWorkingDir: here,
  entryPoints: { app: 'src/main.js', style: 'style.css' },
  bundle: true, splitting: true, chunkNames: 'chunk-[hash]', minify: true, sourcemap: true, format: 'esm', target: ['es2020'],
  outdir: 'dist/assets', entryNames: '[name]-[hash]', metafile: true, legalComments: 'linked', logLevel: 'warning',
});
const outputs = Object.entries(r.metafile.outputs);
const find = (entry, ext) => outputs.find(([f, o]) => o.entryPoint === entry && f.endsWith(ext))[0].replace(/^dist\//, '');
let html = fs.readFileSync(path.join(here, 'index.html'), 'utf8');
html = html.replace('assets/app.css', find('style.css', '.css')).replace('assets/app.js', find('src/main.js', '.js'));
fs.writeFileSync(path.join(out, '.index.html.tmp'), html);
fs.renameSync(path.join(out, '.index.html.tmp'), path.join(out, 'index.html'));
const keep = new Set(outputs.map(([f]) => path.basename(f)));
for (const f of fs.readdirSync(path.join(out, 'assets'))) if (!keep.has(f)) fs.rmSync(path.join(out, 'assets', f));
const size = outputs.filter(([f]) => !f.endsWith('.map')).reduce((n, [, o]) => n + o.bytes, 0);
console.log(`web: dist/ built (${outputs.length} files, ${(size / 1024).toFixed(0)} KiB without maps)`);
