// fixture-server.mjs - a stand-in for `treatylog serve` in treaty mode, for the dashboard's
// browser tests until the real server lands (no dependencies: node:http only).
// Serves web/dist like webstatic.c does (index.html for extension-less paths) and the JSON API
// of decision 0003 from fixture/demo.json (real signed checkpoints, cosignatures and proofs,
// made by make-fixture.mjs with the C binary), plus:
//   GET  /v1/findings/<id>/evidence the evidence file of a finding
//   GET  /v1/proof/inclusion?index=N, /v1/proof?hash=B64, /checkpoint, /v1/checkpoints?from=
//   POST /fixture/append            {"from":"XA","type":"...","troops":N,"activity":"..."}:
//                                    appends a row (not in any checkpoint), returns it
//   POST /fixture/finding            a FINDING object: added to the findings (live test)
// --entries N makes a big log: the fixture's rows, then synthetic rows generated on the fly
// (one every 5 minutes), for the 100k performance test; nothing is materialised.
// Usage: node tests/browser/fixture-server.mjs [--port 0] [--entries N] [--root web/dist]
// Prints "http://127.0.0.1:PORT" on stdout once listening.
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const arg = (name, def) => { const i = process.argv.indexOf(`--${name}`); return i > 0 ? process.argv[i + 1] : def; };
const root = path.resolve(arg('root', path.join(here, '../../web/dist')));
const fx = JSON.parse(fs.readFileSync(path.join(here, 'fixture/demo.json'), 'utf8'));
const BASE = fx.rows.length;
const extraRows = []; // appended by POST /fixture/append
let synthetic = Math.max(0, Number(arg('entries', 0)) - BASE);

const SYN_TYPES = [['vd11.ch5.notification', 0.1], ['vd11.ch3.hazardous-incident', 0.1], ['generic.acknowledgement', 0.3], ['vd11.ch9.inspection-request', 0.1], ['vd11.ch2.defence-planning', 0.2], ['os.flight-notice', 0.2]];
const PARTIES = ['UA', 'RU', 'PL', 'XA', 'XB', 'EE'];
const lastBase = fx.rows[BASE - 1];
function synRow(i) { // entry i >= BASE, deterministic
  const k = i - BASE;
  const logged_ms = lastBase.logged_ms + (k + 1) * 300_000;
  let u = ((k * 2654435761) >>> 0) / 2 ** 32, type = SYN_TYPES[0][0];
  for (const [t, p] of SYN_TYPES) { if (u < p) { type = t; break; } u -= p; }
  const from = PARTIES[k % PARTIES.length];
  const leaf = Buffer.from(`synthetic entry ${i}`.padEnd(32, '.')).subarray(0, 32).toString('base64');
  const act = type === 'vd11.ch5.notification';
  return { index: i, leaf, logged: new Date(logged_ms).toISOString(), logged_ms, kind: 'notification', type, from,
    serial: 1000 + Math.floor(k / PARTIES.length), sent: new Date(logged_ms - 60_000).toISOString().replace('.000Z', 'Z'), to: ['*'], refs: [],
    activity: act ? `${from}-SYN-${k}` : null, start: act ? new Date(logged_ms + 40 * 86400e3).toISOString().slice(0, 10) : null,
    end: act ? new Date(logged_ms + 47 * 86400e3).toISOString().slice(0, 10) : null, troops: act ? 2000 + ((k * 7919) % 42000) : null };
}
const size = () => BASE + synthetic + extraRows.length;
function row(i) {
  if (i < BASE) return fx.rows[i];
  if (i < BASE + synthetic) return synRow(i);
  return extraRows[i - BASE - synthetic];
}

// Per day, computed once for the synthetic part (cheap arithmetic), then kept up to date.
const perDay = new Map();
const countDay = (r) => { const d = r.logged.slice(0, 10); perDay.set(d, (perDay.get(d) || 0) + 1); };
for (let i = 0; i < BASE + synthetic; i++) countDay(row(i));

const lastCp = fx.checkpoints[fx.checkpoints.length - 1];
const states = ['breach', 'missed', 'late', 'advisory', 'pending', 'met', 'void'];
function stats() {
  const f = Object.fromEntries(states.map((s) => [s, 0]));
  for (const x of fx.findings) f[x.severity] = (f[x.severity] || 0) + 1;
  return { size: size(), witnessed: { size: lastCp.size, note: lastCp.first, time: new Date(fx.witness_time_of[lastCp.size] * 1000).toISOString().replace('.000Z', 'Z'), witnesses: fx.witness_names },
    per_day: [...perDay].sort(), parties: PARTIES, findings: f };
}

const dateMs = (s) => (/^\d{4}-\d{2}-\d{2}$/.test(s) ? Date.parse(s + 'T00:00:00Z') : Date.parse(s));
function entries(q) {
  const limit = Math.min(1000, Math.max(1, Number(q.get('limit') || 100)));
  const after = q.has('after') ? Number(q.get('after')) : -1;
  const type = q.get('type'), party = q.get('party'), ref = q.get('ref');
  const since = q.has('since') ? dateMs(q.get('since')) : null, until = q.has('until') ? dateMs(q.get('until')) : null;
  const match = (r) => (!type || (type.endsWith('*') ? r.type.startsWith(type.slice(0, -1)) : r.type === type)) &&
    (!party || r.from === party) && (!ref || r.refs.includes(ref)) && (since === null || r.logged_ms >= since) && (until === null || r.logged_ms < until);
  const out = [];
  let i = after + 1, next = null;
  for (; i < size(); i++) {
    const r = row(i);
    if (!match(r)) continue;
    if (out.length === limit) { next = out[out.length - 1].index; break; }
    out.push(r);
  }
  return { entries: out, next, size: size() };
}
function entryDetail(i) {
  const r = row(i);
  if (!r) return null;
  const d = fx.details[i] || { notification: { type: r.type, from: r.from, serial: r.serial, sent: r.sent, to: r.to, treaty_ref: 'VD11', refs: r.refs, body: {}, remarks: 'synthetic' }, signers: [r.from], submission: '', bounds: { after: { size: lastCp.size, time: stats().witnessed.time }, before: null } };
  return { ...r, ...d, proof: `/v1/proof/inclusion?index=${i}` };
}

const TYPES = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8', '.map': 'application/json', '.json': 'application/json', '.svg': 'image/svg+xml', '.png': 'image/png', '.txt': 'text/plain; charset=utf-8' };
function staticFile(res, p) {
  const parts = p.split('/').filter(Boolean);
  if (parts.some((c) => c.startsWith('.'))) return send(res, 404, 'not found');
  let file = path.join(root, ...parts);
  if (!parts.length || !path.extname(file)) file = path.join(root, 'index.html');
  fs.readFile(file, (err, data) => {
    if (err) return send(res, 404, 'treatylog: not found\n');
    // The headers of serve (src/net/http.c), CSP included, so the tests hold the page to it.
    res.writeHead(200, { 'Content-Type': TYPES[path.extname(file)] || 'application/octet-stream',
      'Cache-Control': parts[0] === 'assets' ? 'public, max-age=31536000, immutable' : 'no-cache',
      'Content-Security-Policy': "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'" });
    res.end(data);
  });
}
function send(res, status, body, type = 'text/plain; charset=utf-8') {
  res.writeHead(status, { 'Content-Type': type, 'Cache-Control': 'no-store' });
  res.end(body);
}
const json = (res, obj) => send(res, 200, JSON.stringify(obj), 'application/json');

const server = http.createServer((req, res) => {
  const u = new URL(req.url, 'http://x');
  const q = u.searchParams, p = u.pathname;
  if (req.method === 'POST' && p === '/fixture/append') {
    let body = '';
    req.on('data', (c) => { body += c; });
    req.on('end', () => {
      let o;
      try { o = JSON.parse(body || '{}'); } catch { return send(res, 400, 'treatylog: bad JSON\n'); }
      const prev = row(size() - 1);
      const i = size(), logged_ms = prev.logged_ms + 60_000;
      const r = { index: i, leaf: Buffer.from(`appended entry ${i}`.padEnd(32, '.')).subarray(0, 32).toString('base64'), logged: new Date(logged_ms).toISOString(), logged_ms,
        kind: 'notification', type: o.type || 'generic.acknowledgement', from: o.from || 'XA', serial: o.serial ?? 900 + i, sent: new Date(logged_ms - 30_000).toISOString().replace('.000Z', 'Z'),
        to: ['*'], refs: o.refs || [], activity: o.activity ?? null, start: o.start ?? null, end: o.end ?? null, troops: o.troops ?? null };
      extraRows.push(r);
      countDay(r);
      json(res, r);
    });
    return;
  }
  if (req.method === 'POST' && p === '/fixture/finding') { // a FINDING (decision 0003) to list
    let body = '';
    req.on('data', (c) => { body += c; });
    req.on('end', () => {
      try { fx.findings.push(JSON.parse(body)); } catch { return send(res, 400, 'treatylog: bad JSON\n'); }
      json(res, { findings: fx.findings.length });
    });
    return;
  }
  if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, 'treatylog: method not allowed\n');
  if (p === '/fixture/ping') return json(res, { fixture: true });
  if (p === '/v1/stats') return json(res, stats());
  if (p === '/v1/entries') return json(res, entries(q));
  let m;
  if ((m = /^\/v1\/entries\/(0|[1-9]\d*)$/.exec(p))) {
    const d = entryDetail(Number(m[1]));
    return d ? json(res, d) : send(res, 404, 'treatylog: no such entry\n');
  }
  if (p === '/v1/findings') {
    const f = fx.findings.filter((x) => (!q.get('state') || x.state === q.get('state')) && (!q.get('rule') || x.rule === q.get('rule')) && (!q.get('party') || x.parties.includes(q.get('party'))));
    return json(res, { findings: f, at: { size: lastCp.size, time: stats().witnessed.time } });
  }
  if ((m = /^\/v1\/findings\/(.+)\/evidence$/.exec(p))) {
    const ev = fx.evidence[decodeURIComponent(m[1])];
    if (!ev) return send(res, 404, 'treatylog: no such finding\n');
    res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Disposition': 'attachment; filename="evidence.json"' });
    return res.end(JSON.stringify(ev));
  }
  if (p === '/v1/proof/inclusion') {
    const t = fx.proofs[q.get('index')];
    return t ? send(res, 200, t) : send(res, 404, 'treatylog: no proof (not in the fixture\'s checkpoint)\n');
  }
  if (p === '/v1/proof') {
    const r = fx.rows.find((x) => x.leaf === q.get('hash'));
    return r ? send(res, 200, fx.proofs[r.index]) : send(res, 404, 'treatylog: unknown leaf\n');
  }
  if (p === '/checkpoint') return send(res, 200, lastCp.first);
  if (p === '/v1/checkpoints') {
    const from = Number(q.get('from') || 0);
    return json(res, { checkpoints: fx.checkpoints.filter((c) => c.size >= from), next: null });
  }
  if (p.startsWith('/v1/') || p.startsWith('/tile/')) return send(res, 404, 'treatylog: not found\n');
  return staticFile(res, p);
});
server.listen(Number(arg('port', 0)), '127.0.0.1', () => {
  console.log(`http://127.0.0.1:${server.address().port}`);
});
