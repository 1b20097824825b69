// finding.js - one finding: the rule, the entries with their time bounds, the evidence file to
// download, and the evidence verified here (checkpoint signatures, quorum, inclusion proofs).
import * as api from '../api.js';
import * as trust from '../trust.js';
import { h, num, when, badge } from '../ui.js';
import { verifyEvidence, b64encode, decodeEvidence } from '../verify.js';
import { panel, pending } from './verifypanel.js';

const MAX_BOUNDS = 25; // entries whose bounds are fetched (absence ranges can be long)

function boundsCell(b) {
  return b ? h('span', {}, when(b.time), h('span', { class: 'muted' }, ` (checkpoint ${num(b.size)})`)) : '—';
}

function judge(due, bounds, loggedMs) {
  if (!due) return '';
  const D = Date.parse(due);
  if (bounds.before && Date.parse(bounds.before.time) <= D) return 'before the deadline (proven)';
  if (bounds.after && Date.parse(bounds.after.time) > D) return 'after the deadline (proven)';
  return loggedMs <= D ? 'straddles: before, by logged time' : 'straddles: after, by logged time';
}

export function verifyAll(ev, policy) {
  const steps = [];
  const r = verifyEvidence(ev, policy);
  if (r.error) return { ok: false, steps: [{ label: 'checkpoint parses', ok: false, detail: r.error }] };
  const cp = r.checkpoint;
  steps.push({ label: `checkpoint ${cp.cp.origin} size ${cp.cp.size}`, ok: true, detail: `root ${b64encode(cp.cp.root).slice(0, 16)}…` });
  steps.push({ label: `log signature (${cp.logKey?.split('+')[0]})`, ok: cp.log === 'ok', detail: cp.log });
  for (const w of cp.witnesses)
    steps.push({ label: `cosignature by ${w.name}`, ok: w.status !== 'bad', detail: w.status === 'ok' ? `signed at ${new Date(w.time * 1000).toISOString()}` : w.status });
  steps.push({ label: `witness quorum ${policy.quorum}`, ok: cp.quorum, detail: cp.quorum ? 'met' : 'not met' });
  const have = new Set((ev.entries || []).map((e) => e.index));
  const needed = [...(ev.finding.entries || [])];
  if (ev.finding.range) for (let i = ev.finding.range[0]; i <= ev.finding.range[1]; i++) needed.push(i);
  const missing = needed.filter((i) => !have.has(i));
  steps.push({ label: 'the evidence holds every entry the finding names', ok: missing.length === 0, detail: missing.length ? `missing ${missing.join(', ')}` : `${have.size} entries` });
  for (const x of r.results) steps.push({ label: `${x.kind === 'registry' ? 'registry entry' : 'entry'} #${x.index} included in the checkpoint`, ok: x.ok, detail: x.detail });
  const decoded = decodeEvidence(ev);
  const unsigned = decoded.filter((d) => d.signed === false || d.error);
  steps.push({ label: 'every notification is signed by its sender\u2019s registered key', ok: unsigned.length === 0,
    detail: unsigned.length ? `not: ${unsigned.map((d) => `#${d.index}`).join(', ')}` : `${decoded.filter((d) => d.signed).length} signatures` });
  return { ok: r.ok && missing.length === 0 && unsigned.length === 0, steps, decoded };
}

// What the evidence itself says, decoded in the browser: for an absence finding, the reader
// sees that no entry of the range is the awaited one.
function decodedTable(rows, f) {
  return h('section', { 'aria-labelledby': 'h-decoded' },
    h('h2', { id: 'h-decoded' }, 'The entries of the evidence, decoded here'),
    h('p', { class: 'muted' }, f.range ? `Every entry from #${f.range[0]} to #${f.range[1]}: none may be the awaited message.` : 'The entries the finding rests on.'),
    h('div', { class: 'scroll-x plain' }, h('table', { 'data-testid': 'decoded' },
      h('thead', {}, h('tr', {}, ['Entry', 'Logged', 'From', 'Type', 'Refers to the trigger', 'Signed by its sender'].map((c) => h('th', { scope: 'col' }, c)))),
      h('tbody', {}, rows.map((d) => h('tr', { class: d.signed === false || d.error ? 'missed' : '' },
        h('th', { scope: 'row' }, h('a', { href: `#/entries/${d.index}` }, `#${d.index}`), d.index === f.trigger ? ' (trigger)' : ''),
        h('td', {}, when(d.logged)), h('td', {}, d.from ? `${d.from}/${d.serial}` : '—'),
        h('td', {}, d.error ? h('span', { class: 'error' }, d.error) : h('code', {}, d.type || '—')),
        h('td', {}, d.refsTrigger ? 'yes' : 'no'),
        h('td', {}, d.signed === null ? '—' : d.signed ? '\u2714 yes' : '\u2718 no')))))));
}

export async function render(main, { params }) {
  const id = params[0];
  let ev = null, f = null, evErr = null;
  try {
    ev = await api.evidence(id);
    f = ev.finding;
  } catch (e) {
    evErr = e;
    f = await api.findingById(id);
    if (!f) throw new Error(`no finding ${id}`);
  }
  const bounds = h('tbody');
  const verifyEl = h('div', {}, pending('Verification in this browser'));
  const safe = id.replace(/[^A-Za-z0-9._-]+/g, '_');
  main.replaceChildren(
    h('p', { class: 'crumbs' }, h('a', { href: '#/findings' }, 'Findings'), ' / ', f.rule),
    h('h1', {}, 'Finding ', h('code', {}, f.id), ' ', badge(f.severity || f.state)),
    h('p', { class: 'why' }, f.why),
    h('dl', { class: 'facts' },
      h('dt', {}, 'Rule'), h('dd', {}, h('a', { href: `#/findings?rule=${encodeURIComponent(f.rule)}` }, h('code', {}, f.rule)),
        ev?.ruleset ? h('span', { class: 'muted' }, ` in ${ev.ruleset.name} (sha256 ${ev.ruleset.sha256.slice(0, 12)}…)`) : null),
      h('dt', {}, 'State'), h('dd', { 'data-testid': 'finding-state' }, f.state),
      h('dt', {}, 'Parties'), h('dd', {}, f.parties.join(', ') || '— (the operator or the log as a whole)'),
      h('dt', {}, 'Trigger'), h('dd', {}, h('a', { href: `#/entries/${f.trigger}` }, `entry #${f.trigger}`)),
      h('dt', {}, 'Due'), h('dd', {}, when(f.due)),
      h('dt', {}, 'Parameters'), h('dd', {}, h('code', {}, JSON.stringify(f.params))),
      h('dt', {}, 'Confidence'), h('dd', {}, f.confidence),
      f.range ? [h('dt', {}, 'Range'), h('dd', {}, `entries #${f.range[0]} to #${f.range[1]}: every entry of the range is in the evidence, so the absence can be checked`)] : null),
    h('p', {}, ev ? h('a', { class: 'button', href: api.evidenceUrl(id), download: `evidence-${safe}.json`, 'data-testid': 'download' }, 'Download the evidence file')
      : h('span', { class: 'warn' }, `No evidence file: ${evErr.message}`)),
    h('section', { 'aria-labelledby': 'h-entries' },
      h('h2', { id: 'h-entries' }, 'Entries and their time bounds'),
      h('p', { class: 'muted' }, 'An entry was logged after the last witnessed checkpoint without it and before the first with it (witness times).'),
      h('div', { class: 'scroll-x' }, h('table', { 'data-testid': 'finding-entries' },
        h('thead', {}, h('tr', {}, ['Entry', 'From', 'Type', 'Logged', 'After', 'Before', 'Against the deadline'].map((c) => h('th', { scope: 'col' }, c)))), bounds))),
    verifyEl);

  const idxs = [...new Set([...f.entries, ...(f.range ? [f.range[0], f.range[1]] : [])])].sort((a, b) => a - b);
  const rows = await Promise.all(idxs.slice(0, MAX_BOUNDS).map((i) => api.entry(i).catch(() => null)));
  bounds.replaceChildren(...rows.filter(Boolean).map((e) => h('tr', {},
    h('th', { scope: 'row' }, h('a', { href: `#/entries/${e.index}` }, `#${e.index}`)),
    h('td', {}, e.serial === null ? e.from : `${e.from}/${e.serial}`), h('td', {}, h('code', {}, e.type)),
    h('td', {}, when(e.logged)), h('td', {}, boundsCell(e.bounds?.after)), h('td', {}, boundsCell(e.bounds?.before)),
    h('td', {}, judge(f.due, e.bounds || {}, e.logged_ms)))));
  if (idxs.length > MAX_BOUNDS) bounds.append(h('tr', {}, h('td', { colspan: 7 }, `and ${idxs.length - MAX_BOUNDS} more`)));

  if (!ev) { verifyEl.replaceChildren(panel('Verification in this browser', { ok: false, steps: [{ label: 'evidence file', ok: false, detail: evErr.message }] })); return; }
  try {
    const reg = trust.registryOfEvidence(ev);
    const cur = await trust.current(reg?.witness_policy ?? null);
    const res = verifyAll(ev, cur.policy);
    verifyEl.replaceChildren(panel('Verification in this browser', { ...res, source: cur.source,
      note: `${ev.entries.length} entries and ${ev.registry?.length ?? 0} registry entries checked against one witnessed checkpoint.` }),
    decodedTable(res.decoded || [], f));
  } catch (e) {
    verifyEl.replaceChildren(panel('Verification in this browser', { ok: false, steps: [{ label: 'verification', ok: false, detail: e.message }] }));
  }
}

