// make-big-log.mjs - a treaty log of N entries for the 100k performance test against the real
// `treatylog serve` (TL_PERF_URL): a genesis registry and N-1 signed notifications of
// schema-valid templates from six parties, one every 5 minutes, appended with the C binary in
// batches, then indexed (`treatylog reindex`). No witnesses: it measures the query paths.
// Usage: node tests/browser/make-big-log.mjs OUT_DIR [N=100000] [path/to/treatylog]
// then:  treatylog serve --dir OUT_DIR/log --web web/dist
import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const [out, nArg, tArg] = process.argv.slice(2);
if (!out) throw new Error('usage: make-big-log.mjs OUT_DIR [N] [treatylog]');
const N = Number(nArg || 100000);
const T = path.resolve(tArg || path.join(here, '../../build/treatylog'));
const run = (...a) => execFileSync(T, a, { cwd: out, encoding: 'utf8', maxBuffer: 1 << 26 });
fs.mkdirSync(out, { recursive: true });

const seed = (s) => crypto.createHash('sha256').update('treatylog big log ' + s).digest();
const priv = (sd) => crypto.createPrivateKey({ key: Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), sd]), format: 'der', type: 'pkcs8' });
const pub = (sd) => crypto.createPublicKey(priv(sd)).export({ format: 'der', type: 'spki' }).subarray(-32);
const keyId = (name, tk) => crypto.createHash('sha256').update(Buffer.concat([Buffer.from(name + '\n'), tk])).digest().subarray(0, 4);
const vkey = (name, sd) => { const tk = Buffer.concat([Buffer.of(1), pub(sd)]); return `${name}+${keyId(name, tk).toString('hex')}+${tk.toString('base64')}`; };
const sign = (body, name, sd) => {
  const text = body + '\n';
  const sig = crypto.sign(null, Buffer.from(text), priv(sd));
  return `${text}\n\u2014 ${name} ${Buffer.concat([keyId(name, Buffer.concat([Buffer.of(1), pub(sd)])), sig]).toString('base64')}\n`;
};

const ORIGIN = 'big.treatylog.example/log';
run('keygen', ORIGIN, '--out', 'op', '--seed', seed('log').toString('hex'));
const logPub = fs.readFileSync(path.join(out, 'op.pub'), 'utf8').trim();
const parties = ['UA', 'RU', 'PL', 'XA', 'XB', 'EE'];
const registry = { action: 'genesis', parties: parties.map((c) => ({ code: c, name: `Party ${c}`, keys: [vkey(c, seed(c))], roles: [] })),
  witness_policy: `log ${logPub}\nquorum none\n`, rulesets: [] };
run('init', 'log', '--key', 'op.key');
const types = ['vd11.ch3.poc-designation', 'vd11.ch5.notification', 'generic.reminder', 'vd11.ch3.hazardous-incident', 'os.quota-transfer'];
const templates = Object.fromEntries(types.map((t) => [t, JSON.parse(run('notify', 'template', t))]));
const t0 = Date.parse('2024-01-01T00:00:00Z');
const serial = Object.fromEntries(parties.map((p) => [p, 0]));
const tmp = fs.mkdtempSync(path.join(out, 'batch-'));
let files = [];
const flush = () => { if (files.length) run('append', 'log', ...files); for (const f of files) fs.rmSync(f); files = []; };
for (let i = 0; i < N; i++) {
  const logged = t0 + i * 300_000;
  let text;
  if (i === 0) text = sign(`treatylog/registry/v1\n${JSON.stringify(registry)}`, ORIGIN, seed('log'));
  else {
    const from = parties[i % parties.length];
    const n = structuredClone(templates[types[i % types.length]]);
    Object.assign(n, { from, serial: ++serial[from], sent: new Date(logged - 60_000).toISOString().replace('.000Z', 'Z'), refs: [] });
    if (n.body?.activity) n.body.activity = `${from}-BIG-${i}`;
    text = sign(`treatylog/notification/v1\n${JSON.stringify(n)}`, from, seed(from));
  }
  const f = path.join(tmp, String(i));
  fs.writeFileSync(f, `treatylog/entry/v1\nlogged ${logged}\n\n${text}`);
  files.push(f);
  if (files.length === 2000) flush();
}
flush();
fs.rmSync(tmp, { recursive: true });
run('reindex', 'log');
console.log(`big log: ${N} entries in ${out}/log`);
