// api.js - the JSON API of decision 0003, same origin only.

export class HttpError extends Error {
  constructor(status, text) { super(`HTTP ${status}: ${text.slice(0, 200)}`); this.status = status; }
}

const sleep = (ms) => new Promise((ok) => setTimeout(ok, ms));

// 503 (e.g. findings still being computed after a start) is retried a few times.
async function get(path, as = 'json') {
  for (let attempt = 0; ; attempt++) {
    const r = await fetch(path, { headers: { Accept: as === 'json' ? 'application/json' : 'text/plain' } });
    if (r.status === 503 && attempt < 6) { await sleep(500); continue; }
    if (!r.ok) throw new HttpError(r.status, await r.text());
    return as === 'json' ? r.json() : r.text();
  }
}

const qs = (params) => {
  const u = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== null && v !== undefined && v !== '') u.set(k, v);
  const s = u.toString();
  return s ? `?${s}` : '';
};

export const stats = () => get('/v1/stats');
// {entries, next, size}; after = index (results have index > after), limit <= 1000.
export const entries = (params) => get(`/v1/entries${qs(params)}`);
export const entry = (i) => get(`/v1/entries/${i}`);
// One page of findings: {findings, next, at}; params: state, rule, party (filters), from, to
// (the trigger index window, inclusive), limit (1..1000, default 100), after (the `next` of the
// previous page: the id of its last finding).
export const findings = (params = {}) => get(`/v1/findings${qs(params)}`);
export const FINDINGS_LIMIT = 1000;
// Every finding matching params, page by page; for bounded queries only (a window).
export async function findingsAll(params = {}) {
  const out = [];
  let r, after = null;
  do {
    r = await findings({ ...params, limit: FINDINGS_LIMIT, after });
    out.push(...r.findings);
    after = r.next;
  } while (after !== null && after !== undefined && r.findings.length);
  return { findings: out, at: r.at };
}
// One finding by id ("<rule>/<trigger>[/<n>]"): the findings of its rule and trigger only.
export async function findingById(id) {
  const m = /^([^/]+)\/(\d+)(?:\/\d+)?$/.exec(id);
  if (!m) return null;
  const r = await findingsAll({ rule: m[1], from: m[2], to: m[2] });
  return r.findings.find((f) => f.id === id) || null;
}
// The evidence file of a finding (the id's '/' kept as path separators; the server takes the
// id as everything between /v1/findings/ and /evidence).
export const evidenceUrl = (id) => `/v1/findings/${id.split('/').map(encodeURIComponent).join('/')}/evidence`;
export const evidence = (id) => get(evidenceUrl(id));
export const text = (path) => get(path, 'text');
// The index of an entry by leaf hash, from the tlog-proof of /v1/proof?hash= (docs/api.md).
export async function indexOfLeaf(leaf) {
  const t = await text(`/v1/proof${qs({ hash: leaf })}`);
  const m = /\nindex (\d+)\n/.exec(t);
  return m ? Number(m[1]) : null;
}

// The newest `count` entries ending at index `last` (inclusive), one request.
export function window_(last, count) {
  const first = Math.max(0, last - count + 1);
  return entries({ after: first > 0 ? first - 1 : null, limit: Math.min(1000, last - first + 1) });
}
