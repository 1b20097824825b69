// trust.js - which keys the page verifies with. Default: the witness policy (tlog-policy text,
// with the log key) of the genesis registry, entry 0 of the log - or of the evidence file's own
// registry entries, whose inclusion is checked too. The reader can pin a policy instead (kept
// in localStorage); a pinned policy always wins. Every verification shows which one it used.
import * as api from './api.js';
import { parsePolicy, registryOf, splitEntry, b64decode } from './verify.js';

const KEY = 'treatylog.pinned-policy';

export const pinned = () => localStorage.getItem(KEY);
export function pin(text) {
  parsePolicy(text); // throws on a bad policy
  localStorage.setItem(KEY, text.endsWith('\n') ? text : text + '\n');
}
export const unpin = () => localStorage.removeItem(KEY);

let genesis = null;
// The log's genesis registry document (entry 0), fetched once.
export async function registry() {
  if (!genesis) genesis = registryOf((await api.entry(0)).submission);
  return genesis;
}
// The witness policy of the genesis registry.
export const fromLog = async () => (await registry()).witness_policy;

let regItems = null; // {size, items: [{index, submission}]}
// Every registry entry of the log ([{index, submission}]), listed again once the log has
// grown past `at` (an entry the cached list may not cover).
export async function registryEntries(at = 0) {
  if (!regItems || Number(at) >= regItems.size) {
    const items = [];
    let after = null, size = 0;
    for (;;) {
      const r = await api.entries({ type: 'registry.*', limit: 1000, after });
      size = r.size;
      for (const row of r.entries) items.push({ index: row.index, submission: (await api.entry(row.index)).submission });
      if (r.next === null || r.next === undefined || !r.entries.length) break;
      after = r.next;
    }
    regItems = { size, items };
  }
  return regItems.items;
}

// The registry JSON of an evidence file's first registry entry, or null.
export function registryOfEvidence(ev) {
  for (const r of ev.registry || []) {
    try { return registryOf(splitEntry(b64decode(r.entry)).submission); } catch { /* next */ }
  }
  return null;
}

// {policy, text, source, differs}: the pinned policy if any, else the given/registry one.
export async function current(registryText = null) {
  const fallback = registryText ?? (await fromLog().catch(() => null));
  const p = pinned();
  if (p) return { policy: parsePolicy(p), text: p, source: 'pinned by you in this browser', differs: fallback !== null && fallback !== p };
  if (!fallback) throw new Error('no keys: pin a policy on the Keys page');
  return { policy: parsePolicy(fallback), text: fallback, source: registryText ? 'the registry entry inside the evidence file (entry 0)' : 'the log\'s genesis registry (entry 0)', differs: false };
}
