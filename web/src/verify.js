// verify.js - what the reader checks without trusting the server: C2SP signed notes
// (Ed25519, type 0x01), cosignature/v1 (type 0x04), checkpoints, tlog-policy quorums,
// c2sp.org/tlog-proof@v1 and RFC 6962 inclusion proofs. Pure functions, no DOM, no fetch.
// Spec summary: /work/shared/reference/c2sp-formats.md (§2.3, §3, §4, §5, §8, §9).
import { ed25519 } from '@noble/curves/ed25519.js';
import { sha256 } from '@noble/hashes/sha2.js';

const te = new TextEncoder();
const td = new TextDecoder('utf-8', { fatal: true });
export const utf8 = (s) => te.encode(s);

export function concat(...parts) {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) { out.set(p, o); o += p.length; }
  return out;
}

const B64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
// Strict standard base64: padded, canonical (no stray trailing bits).
export function b64decode(s) {
  if (typeof s !== 'string' || !B64.test(s)) throw new Error('bad base64');
  const bin = atob(s);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  if (b64encode(out) !== s) throw new Error('non-canonical base64');
  return out;
}
export function b64encode(bytes) {
  let s = '';
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(s);
}
export const hex = (b) => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
const eq = (a, b) => a.length === b.length && a.every((x, i) => x === b[i]);

// RFC 6962 §2.1
export const leafHash = (entry) => sha256(concat(Uint8Array.of(0), entry));
export const nodeHash = (l, r) => sha256(concat(Uint8Array.of(1), l, r));

// RFC 9162 §2.1.3.2, with BigInt so sizes up to 2^63 work.
export function rootFromInclusion(index, size, leaf, proof) {
  let fn = BigInt(index), sn = BigInt(size) - 1n, r = leaf;
  if (fn > sn) throw new Error('index past size');
  for (const p of proof) {
    if (p.length !== 32) throw new Error('proof hash not 32 bytes');
    if (sn === 0n) throw new Error('proof too long');
    if ((fn & 1n) === 1n || fn === sn) {
      r = nodeHash(p, r);
      while ((fn & 1n) === 0n && fn !== 0n) { fn >>= 1n; sn >>= 1n; }
    } else {
      r = nodeHash(r, p);
    }
    fn >>= 1n; sn >>= 1n;
  }
  if (sn !== 0n) throw new Error('proof too short');
  return r;
}
export function verifyInclusion(index, size, leaf, proof, root) {
  try { return eq(rootFromInclusion(index, size, leaf, proof), root); } catch { return false; }
}

const DEC = /^(0|[1-9][0-9]{0,18})$/;
function decimal(s, what) {
  if (!DEC.test(s)) throw new Error(`${what}: not a canonical decimal`);
  const v = BigInt(s);
  if (v > 0x7fffffffffffffffn) throw new Error(`${what}: too large`);
  return v;
}
const keyName = (n) => n.length > 0 && !/[+\s\u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]/u.test(n);

// Signed note (§3.6): text up to the last "\n\n", then signature lines.
export function parseNote(note) {
  if (typeof note !== 'string' || note.length > 65536) throw new Error('note: too large');
  if (/[\u0000-\u0009\u000b-\u001f]/.test(note)) throw new Error('note: control character');
  const i = note.lastIndexOf('\n\n');
  if (i < 0) throw new Error('note: no signatures');
  const text = note.slice(0, i + 1), rest = note.slice(i + 2);
  if (!rest.endsWith('\n')) throw new Error('note: signatures must end with a newline');
  const sigs = rest.slice(0, -1).split('\n').map((line) => {
    if (!line.startsWith('\u2014 ')) throw new Error('note: bad signature line');
    const sp = line.indexOf(' ', 2);
    const name = line.slice(2, sp), b = line.slice(sp + 1);
    if (sp < 0 || !keyName(name)) throw new Error('note: bad key name');
    const raw = b64decode(b);
    if (raw.length < 5) throw new Error('note: short signature');
    const id = ((raw[0] << 24) | (raw[1] << 16) | (raw[2] << 8) | raw[3]) >>> 0;
    return { name, id, raw };
  });
  if (sigs.length > 100) throw new Error('note: over 100 signatures');
  return { text, sigs };
}

const keyId = (name, typeAndKey) => {
  const h = sha256(concat(utf8(name + '\n'), typeAndKey));
  return ((h[0] << 24) | (h[1] << 16) | (h[2] << 8) | h[3]) >>> 0;
};

// vkey "<name>+<8 hex>+<base64(type||pubkey)>" (§3.3); type 0x01 (log) or 0x04 (cosigner).
export function parseVkey(s) {
  s = s.trim();
  const a = s.indexOf('+'), b = s.indexOf('+', a + 1);
  if (a <= 0 || b < 0) throw new Error('vkey: want name+id+key');
  const name = s.slice(0, a), idHex = s.slice(a + 1, b), raw = b64decode(s.slice(b + 1));
  if (!keyName(name) || !/^[0-9a-f]{8}$/.test(idHex)) throw new Error('vkey: bad name or id');
  if (raw.length !== 33 || (raw[0] !== 1 && raw[0] !== 4)) throw new Error('vkey: not an Ed25519 key');
  const id = parseInt(idHex, 16);
  if (keyId(name, raw) !== id) throw new Error('vkey: key id does not match');
  return { name, id, idHex, type: raw[0], pub: raw.slice(1), text: s };
}

export function parseCheckpoint(text) {
  const lines = text.split('\n');
  if (lines.length < 4 || lines[lines.length - 1] !== '') throw new Error('checkpoint: too few lines');
  const [origin, size, root] = lines;
  if (!origin) throw new Error('checkpoint: empty origin');
  const r = b64decode(root);
  if (r.length !== 32) throw new Error('checkpoint: root not 32 bytes');
  return { origin, size: decimal(size, 'checkpoint size'), root: r };
}

const sigFor = (note, key) => note.sigs.find((s) => s.name === key.name && s.id === key.id);

// Ed25519 over the note text: 'ok', 'bad' (present, wrong) or 'absent'.
export function verifyNoteSig(note, key) {
  const s = sigFor(note, key);
  if (!s) return 'absent';
  if (key.type !== 1 || s.raw.length !== 68) return 'bad';
  return ed25519.verify(s.raw.slice(4), utf8(note.text), key.pub) ? 'ok' : 'bad';
}

// cosignature/v1 (§5): {status, time} with time in Unix seconds.
export function verifyCosig(note, key) {
  const s = sigFor(note, key);
  if (!s) return { status: 'absent' };
  if (key.type !== 4 || s.raw.length !== 76) return { status: 'bad' };
  let t = 0n;
  for (let i = 4; i < 12; i++) t = (t << 8n) | BigInt(s.raw[i]);
  if (t > 0x7fffffffffffffffn) return { status: 'bad' };
  const msg = utf8(`cosignature/v1\ntime ${t}\n${note.text}`);
  return { status: ed25519.verify(s.raw.slice(12), msg, key.pub) ? 'ok' : 'bad', time: Number(t) };
}

// tlog-policy (§9): log, witness, group, quorum lines.
export function parsePolicy(text) {
  const p = { logs: [], witnesses: new Map(), groups: new Map(), quorum: null };
  for (const raw of text.split('\n')) {
    const f = raw.trim().split(/[ \t]+/);
    if (f[0] === '' || f[0].startsWith('#')) continue;
    if (f[0] === 'log') p.logs.push(parseVkey(f[1]));
    else if (f[0] === 'witness') {
      if (p.witnesses.has(f[1]) || p.groups.has(f[1])) throw new Error(`policy: ${f[1]} twice`);
      p.witnesses.set(f[1], parseVkey(f[2]));
    } else if (f[0] === 'group') {
      const members = f.slice(3);
      for (const m of members) if (!p.witnesses.has(m) && !p.groups.has(m)) throw new Error(`policy: unknown member ${m}`);
      const k = f[2] === 'all' ? members.length : f[2] === 'any' ? 1 : Number(decimal(f[2], 'group k'));
      if (k < 1 || k > members.length) throw new Error('policy: bad k');
      p.groups.set(f[1], { k, members });
    } else if (f[0] === 'quorum') {
      if (p.quorum !== null) throw new Error('policy: two quorum lines');
      if (f[1] !== 'none' && !p.witnesses.has(f[1]) && !p.groups.has(f[1])) throw new Error('policy: unknown quorum');
      p.quorum = f[1];
    } else throw new Error(`policy: unknown line "${f[0]}"`);
  }
  if (p.quorum === null) throw new Error('policy: no quorum line');
  if (!p.logs.length) throw new Error('policy: no log key');
  return p;
}

export function quorumMet(policy, satisfied) {
  const sat = (name) => {
    if (name === 'none') return true;
    if (policy.witnesses.has(name)) return satisfied.has(name);
    const g = policy.groups.get(name);
    return g.members.filter(sat).length >= g.k;
  };
  return sat(policy.quorum);
}

// A checkpoint note under a policy: the log signature, each witness, the quorum.
export function verifyCheckpoint(noteText, policy) {
  const note = parseNote(noteText);
  const cp = parseCheckpoint(note.text);
  const logKey = policy.logs.find((k) => k.name === cp.origin) || policy.logs[0];
  const log = logKey ? verifyNoteSig(note, logKey) : 'absent';
  const witnesses = [];
  const satisfied = new Set();
  for (const [name, key] of policy.witnesses) {
    const r = verifyCosig(note, key);
    witnesses.push({ name, key: key.text, ...r });
    if (r.status === 'ok') satisfied.add(name);
  }
  const bad = log === 'bad' || witnesses.some((w) => w.status === 'bad');
  const quorum = quorumMet(policy, satisfied);
  return { cp, note, log, logKey: logKey?.text, witnesses, quorum, ok: log === 'ok' && quorum && !bad };
}

// c2sp.org/tlog-proof@v1 (§8).
export function parseTlogProof(text) {
  const lines = text.split('\n');
  if (lines[0] !== 'c2sp.org/tlog-proof@v1') throw new Error('tlog-proof: bad header');
  let i = 1, extra = null;
  if (lines[i]?.startsWith('extra ')) extra = b64decode(lines[i++].slice(6));
  if (!lines[i]?.startsWith('index ')) throw new Error('tlog-proof: no index line');
  const index = decimal(lines[i++].slice(6), 'index');
  const proof = [];
  for (; i < lines.length && lines[i] !== ''; i++) {
    const h = b64decode(lines[i]);
    if (h.length !== 32) throw new Error('tlog-proof: hash not 32 bytes');
    proof.push(h);
  }
  if (proof.length > 63 || i >= lines.length) throw new Error('tlog-proof: bad proof lines');
  return { extra, index, proof, note: lines.slice(i + 1).join('\n') };
}

// The witness policy of a registry entry (treatylog/entry/v1 + treatylog/registry/v1 note).
export function splitEntry(bytes) {
  const s = td.decode(bytes);
  const m = /^treatylog\/entry\/v1\nlogged (0|[1-9][0-9]*)\n\n/.exec(s);
  if (!m) throw new Error('entry: bad treatylog/entry/v1 header');
  return { logged: Number(m[1]), submission: s.slice(m[0].length) };
}
export function registryOf(submission) {
  const note = parseNote(submission);
  const [head, json] = note.text.split('\n');
  if (head !== 'treatylog/registry/v1') throw new Error('not a registry entry');
  return JSON.parse(json);
}

// The parties' keys in force for the entry at log index `at`: the registry entries before it
// (`items`: [{index, submission}], any order) applied in log order as tl_registry_apply does
// (formats.md#registry), as far as keys go: an entry counts only if one of `opKeys` (parsed
// vkeys: the policy's log keys) signed it; genesis only first and once; `add` only of codes not
// registered, `remove` and `rotate` only of registered ones, a `rotate` only if each rotated
// party's key then current also signed it; an entry that fails any check changes nothing.
// Returns a Map from party code to its vkey strings.
export function partyKeysAt(items, at, opKeys) {
  const keys = new Map();
  let started = false;
  const ordered = [...items].sort((a, b) => Number(a.index) - Number(b.index));
  for (const it of ordered) {
    if (Number(it.index) >= Number(at)) break;
    let note, doc;
    try {
      note = parseNote(it.submission);
      doc = registryOf(it.submission);
    } catch { continue; }
    if (!opKeys.some((k) => verifyNoteSig(note, k) === 'ok')) continue;
    const parties = Array.isArray(doc.parties) ? doc.parties : [];
    const codes = parties.map((p) => p?.code);
    if (codes.some((c) => typeof c !== 'string') || new Set(codes).size !== codes.length) continue;
    const signedByCurrent = (code) => (keys.get(code) || []).some((k) => {
      try { return verifyNoteSig(note, parseVkey(k)) === 'ok'; } catch { return false; }
    });
    const hasKeys = (p) => Array.isArray(p.keys) && p.keys.length > 0;
    switch (doc.action) {
      case 'genesis':
        if (started || !parties.length || !parties.every(hasKeys)) continue;
        break;
      case 'add':
        if (!started || !parties.every((p) => !keys.has(p.code) && hasKeys(p))) continue;
        break;
      case 'remove':
        if (!started || !codes.every((c) => keys.has(c))) continue;
        break;
      case 'rotate':
        if (!started || !parties.every((p) => keys.has(p.code) && hasKeys(p) && signedByCurrent(p.code))) continue;
        break;
      default:
        continue;
    }
    started = true;
    for (const p of parties) {
      if (doc.action === 'remove') keys.delete(p.code);
      else keys.set(p.code, [...p.keys]);
    }
  }
  return keys;
}

// The whole check of one entry: leaf hash, inclusion against the checkpoint, checkpoint
// signatures under the policy. Every step is reported; ok only if all pass.
export function verifyInclusionOf(entryBytes, index, proof, checkpointNote, policy, wantLeaf) {
  const steps = [];
  const step = (label, ok, detail = '') => { steps.push({ label, ok, detail }); return ok; };
  let cpr;
  try {
    cpr = verifyCheckpoint(checkpointNote, policy);
  } catch (e) {
    step('checkpoint parses', false, e.message);
    return { ok: false, steps };
  }
  step(`log signature (${cpr.logKey?.split('+')[0] ?? 'no key'})`, cpr.log === 'ok', cpr.log);
  for (const w of cpr.witnesses)
    step(`cosignature ${w.name}`, w.status !== 'bad', w.status + (w.time ? ` at ${new Date(w.time * 1000).toISOString()}` : ''));
  step(`witness quorum (${policy.quorum})`, cpr.quorum);
  const leaf = leafHash(entryBytes);
  if (wantLeaf) step('leaf hash matches the listed one', b64encode(leaf) === wantLeaf);
  step(`inclusion of entry ${index} in tree of size ${cpr.cp.size}`,
    verifyInclusion(index, cpr.cp.size, leaf, proof, cpr.cp.root));
  return { ok: steps.every((s) => s.ok), steps, checkpoint: cpr };
}

// An evidence file (decision 0003): every entry and registry entry against its checkpoint.
export function verifyEvidence(ev, policy) {
  const results = [];
  let cpr = null;
  try { cpr = verifyCheckpoint(ev.checkpoint, policy); } catch (e) {
    return { ok: false, error: e.message, results };
  }
  for (const [kind, list] of [['entry', ev.entries || []], ['registry', ev.registry || []]]) {
    for (const it of list) {
      let ok = false, detail = '';
      try {
        const proof = it.proof.map(b64decode);
        ok = verifyInclusion(it.index, cpr.cp.size, leafHash(b64decode(it.entry)), proof, cpr.cp.root);
        if (!ok) detail = 'inclusion proof does not lead to the checkpoint root';
      } catch (e) { detail = e.message; }
      results.push({ kind, index: it.index, ok, detail });
    }
  }
  const ok = cpr.ok && results.length > 0 && results.every((r) => r.ok);
  return { ok, checkpoint: cpr, results };
}

// The entries of an evidence file decoded here, not taken from the API: for each, the logged
// time, sender, serial, type, whether it references the trigger, and whether its submission
// is signed by a key the evidence's registry entries give its sender (any key the party ever
// had in them: genesis, add, rotate).
export function decodeEvidence(ev) {
  const keys = new Map(); // party code -> [vkey]
  for (const r of ev.registry || []) {
    try {
      const reg = registryOf(splitEntry(b64decode(r.entry)).submission);
      for (const p of reg.parties || []) if (p.keys) keys.set(p.code, [...(keys.get(p.code) || []), ...p.keys]);
    } catch { /* not a registry entry: ignored */ }
  }
  const trigger = (ev.entries || []).find((e) => e.index === ev.finding?.trigger);
  const triggerLeaf = trigger ? b64encode(leafHash(b64decode(trigger.entry))) : null;
  return (ev.entries || []).map((e) => {
    const out = { index: e.index, logged: null, from: null, serial: null, type: null, refsTrigger: false, signed: null, error: null };
    try {
      const { logged, submission } = splitEntry(b64decode(e.entry));
      out.logged = new Date(logged).toISOString();
      const note = parseNote(submission);
      const [head, json] = note.text.split('\n');
      if (head !== 'treatylog/notification/v1') { out.type = head; return out; }
      const n = JSON.parse(json);
      Object.assign(out, { from: n.from, serial: n.serial, type: n.type, refsTrigger: !!triggerLeaf && (n.refs || []).includes(triggerLeaf) });
      out.signed = (keys.get(n.from) || []).some((k) => { try { return verifyNoteSig(note, parseVkey(k)) === 'ok'; } catch { return false; } });
    } catch (err) { out.error = err.message; }
    return out;
  });
}
