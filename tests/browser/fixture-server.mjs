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
//   GET  /v1/findings                paged like serve: limit, after, next; from/to window
// --entries N makes a big log: the fixture's rows, then synthetic rows generated on the fly
// (one every 5 minutes), for the 100k performance test; nothing is materialised but a
// finding per synthetic inspection request.
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
// With --entries: a synthetic finding for every synthetic inspection request (a reply due in
// 36 h; met, missed or pending), so that a big log has many findings (~10,000 for 100k).
const synFindings = [], synCounts = {};
for (let i = BASE; i < BASE + synthetic; i++) {
  const r = synRow(i);
  if (r.type !== 'vd11.ch9.inspection-request') continue;
  const state = ['met', 'missed', 'pending'][i % 3];
  const other = PARTIES[(PARTIES.indexOf(r.from) + 1) % PARTIES.length];
  synFindings.push({ id: `vd11.ch9.inspection-reply/${i}`, rule: 'vd11.ch9.inspection-reply', state, severity: state, parties: [other], trigger: i, entries: [i],
    due: new Date(r.logged_ms + 36 * 3600e3).toISOString().replace('.000Z', 'Z'), why: `${other} owes a reply to ${r.from}/${r.serial} within 36 hours (synthetic)`,
    params: { hours: 36 }, confidence: 'C', range: null });
  synCounts[state] = (synCounts[state] || 0) + 1;
}
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
  for (const x of fx.findings) f[x.state] = (f[x.state] || 0) + 1; // by state, as serve counts
  for (const [k, n] of Object.entries(synCounts)) f[k] = (f[k] || 0) + n;
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
// GET /v1/findings as serve answers it (src/net/findings.c): in order of trigger, rule id (byte
// order), sub-number; filters state, rule, party; the window from..to on the trigger index;
// pages of `limit` (default 100, at most 1000) after the cursor `after` (a finding id, compared
// by that key), `next` the id of the page's last finding when more follow, else null.
const findingKey = (id) => {
  const m = /^([a-z0-9][a-z0-9.-]{0,63})\/(0|[1-9]\d*)(?:\/([1-9]\d*))?$/.exec(id || '');
  if (!m || (m[3] && Number(m[3]) > 2 ** 32 - 1)) return null;
  return [BigInt(m[2]), m[1], Number(m[3] || 0)];
};
const cmpKey = (a, b) => (a[0] !== b[0] ? (a[0] < b[0] ? -1 : 1) : a[1] !== b[1] ? (Buffer.compare(Buffer.from(a[1]), Buffer.from(b[1]))) : a[2] - b[2]);
let sorted = null; // [key, finding] in order; redone when POST /fixture/finding adds one
const allFindings = () => {
  if (!sorted || sorted.n !== fx.findings.length) {
    sorted = fx.findings.concat(synFindings).map((f) => [findingKey(f.id), f]).sort((a, b) => cmpKey(a[0], b[0]));
    sorted.n = fx.findings.length;
  }
  return sorted;
};
function findings(q) {
  const dec = /^(0|[1-9]\d{0,19})$/;
  let limit = 100, after = null, from = 0n, to = 2n ** 64n - 1n;
  if (q.has('limit')) {
    if (!dec.test(q.get('limit')) || Number(q.get('limit')) < 1 || Number(q.get('limit')) > 1000) return { error: 'limit: must be a number from 1 to 1000' };
    limit = Number(q.get('limit'));
  }
  if (q.has('after') && !(after = findingKey(q.get('after')))) return { error: 'after: must be the next of the previous page (a finding id: <rule>/<trigger>[/<n>])' };
  for (const k of ['from', 'to']) {
    if (!q.has(k)) continue;
    if (!dec.test(q.get(k)) || BigInt(q.get(k)) >= 2n ** 64n) return { error: `${k}: must be an entry index (a decimal number)` };
    if (k === 'from') from = BigInt(q.get(k)); else to = BigInt(q.get(k));
  }
  if (to < from) return { error: 'to: must not be below from' };
  const state = q.get('state'), rule = q.get('rule'), party = q.get('party');
  const out = [];
  let next = null;
  for (const [key, x] of allFindings()) {
    if (key[0] < from) continue;
    if (key[0] > to) break;
    if (after && cmpKey(key, after) <= 0) continue;
    if ((state && x.state !== state) || (rule && x.rule !== rule) || (party && !x.parties.includes(party))) continue;
    if (out.length === limit) { next = out[out.length - 1].id; break; }
    out.push(x);
  }
  return { findings: out, next, at: { size: lastCp.size, time: stats().witnessed.time } };
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
    const r = findings(q);
    if (r.error) return send(res, 400, JSON.stringify(r), 'application/json');
    return json(res, r);
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
