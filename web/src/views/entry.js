// entry.js - one entry: the decoded notification, its signers (their signatures checked here
// with the keys the registry gave them at that index), logged time and witness bounds, refs both ways, and
// its inclusion proof verified in the browser.
import * as api from '../api.js';
import * as trust from '../trust.js';
import { h, num, when, entryName } from '../ui.js';
import { parseNote, parseVkey, parseTlogProof, partyKeysAt, verifyInclusionOf, verifyNoteSig, utf8 } from '../verify.js';
import { panel, pending } from './verifypanel.js';

async function refLink(leaf) {
  const i = await api.indexOfLeaf(leaf).catch(() => null);
  return h('li', {}, i === null ? h('code', {}, leaf) : h('a', { href: `#/entries/${i}` }, `#${i}`), ' ', h('code', { class: 'muted' }, leaf.slice(0, 12) + '…'));
}

// Party signatures on the submission, with the keys each party had at this entry's index:
// the registry entries before it (genesis, add, remove, rotate), each applied only if the
// operator key of the policy signed it (partyKeysAt).
async function signerSteps(e, policy) {
  const note = parseNote(e.submission);
  if (e.kind === 'registry') {
    return policy.logs.map((k) => ({ label: `operator signature (${k.name})`, ok: verifyNoteSig(note, k) === 'ok' }));
  }
  const keys = partyKeysAt(await trust.registryEntries(e.index), e.index, policy.logs);
  const steps = [];
  for (const code of e.signers || []) {
    const res = (keys.get(code) || []).map((k) => { try { return verifyNoteSig(note, parseVkey(k)); } catch { return 'bad'; } });
    const ok = res.includes('ok');
    steps.push({ label: `signature by ${code}`, ok, detail: ok ? `a key ${code} held at entry #${e.index} (registry)` : (keys.has(code) ? 'no valid signature by a key it held then' : `${code} was not a registered party at entry #${e.index}`) });
  }
  return steps;
}

export async function render(main, { params, stats }) {
  const i = Number(params[0]);
  const e = await api.entry(i);
  const n = e.notification || {};
  const verifyEl = h('div', {}, pending('Verification in this browser'));
  const refs = h('ul', { class: 'plain' });
  const answers = h('ul', { class: 'plain' });
  main.replaceChildren(
    h('p', { class: 'crumbs' }, h('a', { href: '#/timeline' }, 'Timeline'), ' / entry'),
    h('h1', {}, `Entry #${e.index}: ${entryName(e)}`),
    h('nav', { class: 'pager', 'aria-label': 'Neighbouring entries' },
      i > 0 ? h('a', { href: `#/entries/${i - 1}` }, `← #${i - 1}`) : null,
      i + 1 < stats.size ? h('a', { href: `#/entries/${i + 1}` }, `#${i + 1} →`) : null),
    h('dl', { class: 'facts', 'data-testid': 'entry-facts' },
      h('dt', {}, 'Type'), h('dd', {}, h('code', { 'data-testid': 'entry-type' }, e.type)),
      h('dt', {}, 'From'), h('dd', {}, e.from, e.serial !== null ? ` (serial ${e.serial})` : ''),
      h('dt', {}, 'Signers'), h('dd', { 'data-testid': 'entry-signers' }, (e.signers || []).join(', ') || (e.kind === 'registry' ? 'the operator' : '—')),
      h('dt', {}, 'To'), h('dd', {}, (e.to || []).join(', ')),
      h('dt', {}, 'Treaty reference'), h('dd', {}, n.treaty_ref || '—'),
      h('dt', {}, 'Sent (sender\u2019s claim)'), h('dd', {}, when(e.sent)),
      h('dt', {}, 'Logged (operator\u2019s clock)'), h('dd', { 'data-testid': 'entry-logged' }, when(e.logged)),
      h('dt', {}, 'Logged after'), h('dd', {}, e.bounds?.after ? `${when(e.bounds.after.time)} (witnessed checkpoint of size ${num(e.bounds.after.size)})` : '—'),
      h('dt', {}, 'Logged before'), h('dd', {}, e.bounds?.before ? `${when(e.bounds.before.time)} (witnessed checkpoint of size ${num(e.bounds.before.size)})` : 'not yet in a witnessed checkpoint'),
      e.activity ? [h('dt', {}, 'Activity'), h('dd', {}, `${e.activity}, ${e.start ?? '?'} to ${e.end ?? '?'}, ${num(e.troops)} troops`)] : null,
      h('dt', {}, 'Leaf hash'), h('dd', {}, h('code', {}, e.leaf))),
    h('section', { 'aria-labelledby': 'h-refs' }, h('h2', { id: 'h-refs' }, 'References'),
      h('h3', {}, 'This entry answers or amends'), refs, h('h3', {}, 'Answered or referenced by'), answers),
    h('section', { 'aria-labelledby': 'h-body' }, h('h2', { id: 'h-body' }, 'Notification'),
      n.remarks ? h('p', {}, h('strong', {}, 'Remarks: '), n.remarks) : null,
      h('pre', { class: 'json', 'data-testid': 'entry-json' }, JSON.stringify(e.kind === 'registry' ? n : n.body ?? n, null, 2)),
      h('details', {}, h('summary', {}, 'The signed submission, byte for byte'), h('pre', { class: 'note' }, e.submission))),
    verifyEl);

  const [refItems, ans] = await Promise.all([
    Promise.all((e.refs || []).map(refLink)),
    api.entries({ ref: e.leaf, limit: 100 }).catch(() => ({ entries: [] })),
  ]);
  refs.replaceChildren(...(refItems.length ? refItems : [h('li', {}, 'nothing')]));
  answers.replaceChildren(...(ans.entries.length ? ans.entries.map((r) => h('li', {}, h('a', { href: `#/entries/${r.index}` }, `#${r.index}`), ` ${entryName(r)} `, h('code', {}, r.type))) : [h('li', {}, 'nothing yet')]));

  const w = (await api.stats().catch(() => stats)).witnessed; // fresh: its note is used below
  if (!w || w.size <= e.index) {
    verifyEl.replaceChildren(h('section', { class: 'verify', 'data-testid': 'verification' },
      h('h2', {}, 'Verification in this browser'),
      h('p', { class: 'verdict', 'data-testid': 'verdict', 'data-ok': 'pending' }, 'Not yet in a witnessed checkpoint'),
      h('p', { class: 'muted' }, 'The inclusion proof is checked once a witnessed checkpoint contains this entry (the log asks its witnesses every few seconds); reload then.')));
    return;
  }
  if (!e.submission) {
    verifyEl.replaceChildren(h('section', { class: 'verify', 'data-testid': 'verification' },
      h('h2', {}, 'Verification in this browser'),
      h('p', { class: 'verdict', 'data-testid': 'verdict', 'data-ok': 'n/a' }, 'Not a notification'),
      h('p', { class: 'muted' }, 'A raw entry: its bytes are not in the API answer; fetch its tile and proof to check it (treatylog verify-proof).')));
    return;
  }
  try {
    const cur = await trust.current();
    // Against the newest witnessed checkpoint, whose cosignatures the quorum needs.
    const proofText = await api.text(`${e.proof}${e.proof.includes('?') ? '&' : '?'}size=${w.size}`);
    const p = parseTlogProof(proofText);
    const bytes = utf8(`treatylog/entry/v1\nlogged ${e.logged_ms}\n\n${e.submission}`);
    // The proof's checkpoint may carry the log signature only; the cosigned note of the same
    // size is the witnessed one of /v1/stats (verified here like any other: same root or fail).
    const sameSize = (a, b) => a.split('\n', 2)[1] === b.split('\n', 2)[1];
    const note = w.note && sameSize(w.note, p.note) ? w.note : p.note;
    const res = verifyInclusionOf(bytes, p.index, p.proof, note, cur.policy, e.leaf);
    if (p.index !== BigInt(e.index)) res.steps.unshift({ label: 'proof is for this entry', ok: false, detail: `index ${p.index}` });
    const sig = await signerSteps(e, cur.policy).catch((err) => [{ label: 'signatures', ok: false, detail: err.message }]);
    const steps = [...sig, ...res.steps];
    verifyEl.replaceChildren(panel('Verification in this browser', { ok: steps.every((s) => s.ok), steps, source: cur.source,
      note: 'The entry bytes are rebuilt from the logged time and the submission; their RFC 6962 leaf hash is proven into a signed, witnessed checkpoint.' }),
    h('details', {}, h('summary', {}, 'The tlog-proof'), h('pre', { class: 'note' }, proofText)));
  } catch (err) {
    verifyEl.replaceChildren(panel('Verification in this browser', { ok: false, steps: [{ label: 'inclusion proof', ok: false, detail: err.message }] }));
  }
}
