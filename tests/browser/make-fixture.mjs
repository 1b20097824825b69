// make-fixture.mjs - builds tests/browser/fixture/demo.json, the canned treaty log the fixture
// server answers with until `treatylog serve --treaty` and `treatylog demo` land.
//
// The C2SP data is real: the log is created by the C binary (`treatylog init --registry`,
// `append`, `prove`), its checkpoints are signed by the log key; the witness cosignatures
// (cosignature/v1) are made here with node:crypto using the witness keys from
// `treatylog keygen --witness`, and every resulting tlog-proof is checked by the C binary
// (`treatylog verify-proof --policy`) before it is written. The scenario follows
// /work/shared/reference/domain.md §4 (Ukraine's request of 11 February 2022) plus a few
// Chapter V/VI activities. Usage: node tests/browser/make-fixture.mjs [path/to/treatylog]
import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { cosign, pubOf, seed, signNote, vkey } from './notes.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const T = process.argv[2] || path.join(here, '../../build-web/treatylog');
const W = fs.mkdtempSync(path.join(os.tmpdir(), 'tl-fixture-'));
const run = (...a) => execFileSync(T, a, { cwd: W, encoding: 'utf8' });

const leafHash = (b) => crypto.createHash('sha256').update(Buffer.concat([Buffer.of(0), b])).digest().toString('base64');

// Keys: the operator's log key and three witnesses through the C binary, parties here.
const ORIGIN = 'demo.treatylog.example/log';
const logSeed = seed('log');
run('keygen', ORIGIN, '--out', 'op', '--seed', logSeed.toString('hex'));
const witnesses = ['witness1.demo.example', 'witness2.demo.example', 'witness3.demo.example'].map((name, i) => {
  const sd = seed('w' + i);
  run('keygen', name, '--witness', '--out', 'w' + i, '--seed', sd.toString('hex'));
  const pub = fs.readFileSync(path.join(W, `w${i}.pub`), 'utf8').trim();
  if (pub !== vkey(name, sd, 4)) throw new Error('witness vkey mismatch between C and node');
  return { name, sd, pub, label: 'W' + (i + 1) };
});
const logPub = fs.readFileSync(path.join(W, 'op.pub'), 'utf8').trim();
const policy = `log ${logPub}\n` + witnesses.map((w) => `witness ${w.label} ${w.pub}\n`).join('') +
  `group neutral-witnesses 2 ${witnesses.map((w) => w.label).join(' ')}\nquorum neutral-witnesses\n`;
fs.writeFileSync(path.join(W, 'trust.policy'), policy);

const parties = [['UA', 'Ukraine'], ['RU', 'Russian Federation'], ['PL', 'Poland', ['chair']],
  ['XA', 'Arcadia'], ['XB', 'Borduria'], ['EE', 'Estonia']].map(([code, name, roles]) =>
  ({ code, name, roles: roles || [], sd: seed('party ' + code), key: vkey(code, seed('party ' + code), 1) }));
const P = Object.fromEntries(parties.map((p) => [p.code, p]));
const registry = {
  action: 'genesis',
  parties: parties.map((p) => ({ code: p.code, name: p.name, keys: [p.key], roles: p.roles })),
  witness_policy: policy,
  rulesets: [{ name: 'vd11.rules', sha256: crypto.createHash('sha256').update('vd11.rules fixture').digest('hex') }],
};
// Entry 0, the genesis registry signed by the operator, written here (not by `init
// --registry`) so that its logged time fits the 2022 scenario.
run('init', 'log', '--key', 'op.key');

// The scenario. refs name earlier messages by "FROM/SERIAL".
const msgs = [
  ['2022-01-10T09:00:00Z', 'XA', 1, 'vd11.ch7.calendar', [], { year: 2022, nil: false, activities: [{ activity: 'XA-2022-EX01', kind: 'land', start: '2022-03-01', end: '2022-03-10', troops_peak: 10400 }] }],
  ['2022-01-20T10:00:00Z', 'XA', 2, 'vd11.ch5.notification', ['XA/1'], { activity: 'XA-2022-EX01', designation: 'NORTHERN STEP', purpose: 'field training', participants: ['XA'], command_level: 'corps', kind: 'land', without_advance_notice: false, start: '2022-03-01', end: '2022-03-10', troops_peak: 10400, troops_total: 14100, battle_tanks: 120, acv: 410, artillery: 90, in_calendar: true }],
  ['2022-02-09T08:30:00Z', 'RU', 54, 'vd11.ch3.poc-designation', [], { contacts: [{ role: 'duty officer', channel: 'OSCE network' }] }],
  ['2022-02-10T14:00:00Z', 'EE', 30, 'vd11.ch5.notification', [], { activity: 'EE-2022-EX02', designation: 'WINTER CAMP', purpose: 'voluntary notification', participants: ['EE'], command_level: 'brigade', kind: 'land', without_advance_notice: false, start: '2022-02-20', end: '2022-02-27', troops_peak: 3100, troops_total: 3300, in_calendar: false }],
  ['2022-02-11T12:00:00Z', 'UA', 412, 'vd11.ch3.explanation-request', [], { concerning: 'RU', description: 'military activity in areas adjacent to Ukraine and in Crimea', area: { text: 'areas adjacent to Ukraine; Crimea' }, period: '2022-02', questions: ['area', 'end_date', 'designation', 'subordination', 'formations', 'equipment_types'] }],
  ['2022-02-12T09:15:00Z', 'XB', 7, 'generic.acknowledgement', ['UA/412'], { received: '2022-02-12T09:10:00Z' }],
  ['2022-02-13T18:00:00Z', 'UA', 413, 'vd11.ch3.meeting-request', ['UA/412'], { kind: 'all-states', with: 'RU', purpose: 'explanation of activity near Ukraine' }],
  ['2022-02-14T10:00:00Z', 'PL', 88, 'vd11.ch3.meeting-notice', ['UA/413'], { start: '2022-02-15T15:00:00Z', venue: 'Vienna', format: 'joint meeting' }],
  ['2022-02-15T17:30:00Z', 'PL', 89, 'vd11.ch3.meeting-record', ['PL/88', 'UA/413'], { held_start: '2022-02-15T15:00:00Z', held_end: '2022-02-15T17:00:00Z', present: ['UA', 'PL', 'XA', 'XB', 'EE'], absent: ['RU'], summary: 'RU absent' }],
  ['2022-02-16T08:00:00Z', 'XA', 3, 'vd11.ch6.observation-invitation', ['XA/2'], { activity: 'XA-2022-EX01', programme: 'two days', arrival: { time: '2022-03-04T08:00:00Z', place: 'Alpha' }, observers_per_state: 2, reply_by: '2022-02-25' }],
  ['2022-02-17T11:00:00Z', 'XB', 8, 'vd11.ch6.observation-reply', ['XA/3'], { accept: true, observers: 2 }],
  ['2022-02-18T07:45:00Z', 'XB', 9, 'vd11.ch5.notification', [], { activity: 'XB-2022-EX03', designation: 'IRON RIVER', purpose: 'combined arms exercise', participants: ['XB'], command_level: 'army', kind: 'land', without_advance_notice: false, start: '2022-04-05', end: '2022-04-15', troops_peak: 13500, troops_total: 15800, battle_tanks: 210, acv: 500, artillery: 140, in_calendar: false }],
  ['2022-03-11T16:20:00Z', 'XB', 10, 'vd11.ch6.observation-report', ['XA/3', 'XB/8'], { activity: 'XA-2022-EX01', observed_from: '2022-03-04', observed_to: '2022-03-05', observed: { troops: 14800, battle_tanks: 150 }, access_given: true }],
];
// Batches: one `append` (one checkpoint) each, witnessed some seconds after its last entry.
const batches = [[0, 1], [2, 3], [4, 5], [6], [7, 8], [9, 10, 11], [12]];

const rows = [], details = {}, bytesOf = {}, byName = {};
const iso = (ms) => new Date(ms).toISOString();
{
  const logged = Date.parse('2022-01-03T09:00:00Z');
  const sub = signNote(`treatylog/registry/v1\n${JSON.stringify(registry)}`, [{ name: ORIGIN, sd: logSeed }]);
  const e0 = Buffer.from(`treatylog/entry/v1\nlogged ${logged}\n\n${sub}`);
  fs.writeFileSync(path.join(W, 'e0'), e0);
  bytesOf[0] = e0;
  rows.push({ index: 0, leaf: leafHash(e0), logged: iso(logged), logged_ms: logged, kind: 'registry', type: 'registry.genesis', from: 'operator', serial: null, sent: null, to: ['*'], refs: [], activity: null, start: null, end: null, troops: null });
  details[0] = { notification: registry, signers: [], submission: sub };
}
const cps = []; // witnessed checkpoints: {size, first, last}
let idx = 1;
const wtime = (ms) => Math.floor(ms / 1000) + 20;
for (const [bi, batch] of batches.entries()) {
  const files = bi === 0 ? ['e0'] : [];
  for (const m of batch) {
    const [sent, from, serial, type, refNames, body] = msgs[m];
    const loggedMs = Date.parse(sent) + 60_000;
    const refs = refNames.map((r) => byName[r]);
    const notification = { type, from, serial, sent, to: ['*'], treaty_ref: 'VD11', refs, body, remarks: '' };
    const sub = signNote(`treatylog/notification/v1\n${JSON.stringify(notification)}`, [{ name: from, sd: P[from].sd }]);
    const entry = Buffer.from(`treatylog/entry/v1\nlogged ${loggedMs}\n\n${sub}`);
    fs.writeFileSync(path.join(W, `e${idx}`), entry);
    files.push(`e${idx}`);
    bytesOf[idx] = entry;
    byName[`${from}/${serial}`] = leafHash(entry);
    const observed = body.observed?.troops;
    rows.push({ index: idx, leaf: leafHash(entry), logged: iso(loggedMs), logged_ms: loggedMs, kind: 'notification', type, from, serial, sent, to: ['*'], refs, activity: body.activity ?? null, start: body.start ?? body.observed_from ?? null, end: body.end ?? body.observed_to ?? null, troops: body.troops_peak ?? observed ?? null });
    details[idx] = { notification, signers: [from], submission: sub };
    idx++;
  }
  run('append', 'log', ...files);
  const note = fs.readFileSync(path.join(W, 'log/checkpoint'), 'utf8');
  const t = wtime(rows[rows.length - 1].logged_ms);
  let first = cosign(cosign(note, witnesses[0], t), witnesses[1], t + 1);
  let last = cosign(cosign(note, witnesses[0], t + 3600), witnesses[1], t + 3601);
  if (bi === batches.length - 1) first = cosign(first, witnesses[2], t + 2), last = cosign(last, witnesses[2], t + 3602);
  cps.push({ size: idx, first, last });
}
const size = idx;
const finalCp = cps[cps.length - 1].first;
const witnessTime = (n) => { // largest cosignature time among the quorum's cosignatures
  const times = [...n.matchAll(/^\u2014 (\S+) (\S+)$/gm)].filter((m) => witnesses.some((w) => w.name === m[1]))
    .map((m) => Number(Buffer.from(m[2], 'base64').readBigUInt64BE(4)));
  return Math.max(...times);
};
for (const r of rows) {
  const after = [...cps].reverse().find((c) => c.size <= r.index);
  const before = cps.find((c) => c.size > r.index);
  const b = (c) => c ? { size: c.size, time: new Date(witnessTime(c.first) * 1000).toISOString().replace('.000Z', 'Z') } : null;
  details[r.index].bounds = { after: b(after), before: b(before) };
  details[r.index].proof = `/v1/proof/inclusion?index=${r.index}`;
}

// Inclusion proofs from the C binary against the final size; each checked by C under the policy.
const proofs = {};
for (let i = 0; i < size; i++) {
  const p = run('prove', 'log', '--index', String(i), '--size', String(size));
  const head = p.slice(0, p.indexOf('\n\n') + 1);
  const tp = head + '\n' + finalCp;
  fs.writeFileSync(path.join(W, `p${i}`), tp);
  fs.writeFileSync(path.join(W, `x${i}`), bytesOf[i]);
  run('verify-proof', '--vkey', 'op.pub', '--policy', 'trust.policy', `p${i}`, `x${i}`);
  proofs[i] = tp;
}
const proofHashes = (i) => proofs[i].split('\n\n')[0].split('\n').slice(2);
const evItem = (i) => ({ index: i, entry: bytesOf[i].toString('base64'), proof: proofHashes(i) });

const byIdx = (name) => rows.find((r) => r.leaf === byName[name]).index;
const F = (id, rule, state, parties, trigger, entries, due, why, params, range = null, confidence = 'C') =>
  ({ id, rule, state, severity: state, parties, trigger, entries, due, why, params, confidence, range });
const ua412 = byIdx('UA/412'), ua413 = byIdx('UA/413'), pl88 = byIdx('PL/88'), pl89 = byIdx('PL/89');
const findings = [
  F(`vd11.ch3.reply-48h/${ua412}`, 'vd11.ch3.reply-48h', 'missed', ['RU'], ua412,
    Array.from({ length: ua413 - ua412 + 1 }, (_, k) => ua412 + k), '2022-02-13T12:01:00Z',
    'no vd11.ch3.explanation-reply from RU referencing UA/412 by 2022-02-13T12:01:00Z', { hours: 48 }, [ua412, ua413]),
  F(`vd11.ch3.share-all/${ua412}`, 'vd11.ch3.share-all', 'met', ['UA'], ua412, [ua412], null, 'UA/412 is addressed to all participating States', {}),
  F(`vd11.ch3.meeting-48h/${ua413}`, 'vd11.ch3.meeting-48h', 'met', ['PL'], ua413, [ua413, pl88, pl89], '2022-02-15T18:01:00Z',
    'meeting held 2022-02-15T15:00:00Z, within 48 h of UA/413', { hours: 48 }),
  F(`vd11.ch3.attendance/${pl89}`, 'vd11.ch3.attendance', 'breach', ['RU'], pl89, [pl89], null,
    'RU absent from the meeting recorded by PL/89', {}),
  F(`vd11.ch6.observation-threshold/${byIdx('XB/9')}`, 'vd11.ch6.observation-threshold', 'pending', ['XB'], byIdx('XB/9'), [byIdx('XB/9')], '2022-02-24T07:46:00Z',
    'XB-2022-EX03 declares 13,500 troops (>= 13,000): an observation invitation is due 42 days before the start', { troops: 13000, days: 42 }),
  F(`vd11.ch6.declared-vs-observed/${byIdx('XB/10')}`, 'vd11.ch6.declared-vs-observed', 'advisory', ['XA'], byIdx('XB/10'), [byIdx('XA/2'), byIdx('XB/10')], null,
    'XA-2022-EX01: declared 10,400 troops, XB observed 14,800 (+42 %)', { tolerance_pct: 10 }, null, 'PC'),
];
const evidence = {};
for (const f of findings) {
  const idxs = f.range ? Array.from({ length: f.range[1] - f.range[0] + 1 }, (_, k) => f.range[0] + k) : f.entries;
  evidence[f.id] = { format: 'treatylog/evidence/v1', finding: f,
    ruleset: { name: 'vd11.rules', sha256: crypto.createHash('sha256').update('vd11.rules fixture').digest('hex') },
    checkpoint: finalCp, entries: [...new Set([...idxs, ...f.entries])].sort((a, b) => a - b).map(evItem), registry: [evItem(0)] };
}
const out = { generated_by: 'tests/browser/make-fixture.mjs', origin: ORIGIN, policy, rows, details, checkpoints: cps, proofs, findings, evidence,
  witness_names: witnesses.map((w) => w.name), witness_time_of: Object.fromEntries(cps.map((c) => [c.size, witnessTime(c.first)])) };
fs.mkdirSync(path.join(here, 'fixture'), { recursive: true });
fs.writeFileSync(path.join(here, 'fixture/demo.json'), JSON.stringify(out, null, 1) + '\n');
fs.rmSync(W, { recursive: true, force: true });
console.log(`fixture: ${size} entries, ${cps.length} witnessed checkpoints, ${findings.length} findings`);
