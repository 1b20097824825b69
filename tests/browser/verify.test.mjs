// verify.test.mjs - the dashboard's verifier (web/src/verify.js) in node against the fixture,
// whose proofs the C binary checked: everything verifies, and every kind of tampering fails.
// Run: node --test tests/browser/verify.test.mjs
import assert from 'node:assert/strict';
import fs from 'node:fs';
import test from 'node:test';
import * as v from '../../web/src/verify.js';

const fx = JSON.parse(fs.readFileSync(new URL('./fixture/demo.json', import.meta.url)));
const policy = v.parsePolicy(fx.policy);

test('policy from the genesis registry', () => {
  const ev = Object.values(fx.evidence)[0];
  const reg = v.registryOf(v.splitEntry(v.b64decode(ev.registry[0].entry)).submission);
  assert.equal(reg.witness_policy, fx.policy);
  assert.equal(policy.witnesses.size, 3);
  assert.equal(policy.quorum, 'neutral-witnesses');
});

test('every evidence file verifies', () => {
  for (const ev of Object.values(fx.evidence)) {
    const r = v.verifyEvidence(ev, policy);
    assert.ok(r.ok, JSON.stringify(r.results));
    assert.equal(r.checkpoint.log, 'ok');
    assert.deepEqual(r.checkpoint.witnesses.map((w) => w.status), ['ok', 'ok', 'ok']);
  }
});

test('every tlog-proof verifies', () => {
  for (const [i, text] of Object.entries(fx.proofs)) {
    const p = v.parseTlogProof(text);
    assert.equal(p.index, BigInt(i));
    const d = fx.details[i], row = fx.rows[i];
    const entry = v.utf8(`treatylog/entry/v1\nlogged ${row.logged_ms}\n\n${d.submission}`);
    const r = v.verifyInclusionOf(entry, p.index, p.proof, p.note, policy, row.leaf);
    assert.ok(r.ok, JSON.stringify(r.steps));
  }
});

test('tampering fails', () => {
  const ev = structuredClone(Object.values(fx.evidence)[0]);
  const flip = (s) => { const b = v.b64decode(s); b[0] ^= 1; return v.b64encode(b); };
  const bad1 = structuredClone(ev); bad1.entries[0].proof[0] = flip(bad1.entries[0].proof[0]);
  assert.equal(v.verifyEvidence(bad1, policy).ok, false);
  const bad2 = structuredClone(ev); bad2.entries[1].entry = flip(bad2.entries[1].entry);
  assert.equal(v.verifyEvidence(bad2, policy).ok, false);
  const bad3 = structuredClone(ev); bad3.checkpoint = bad3.checkpoint.replace(/\n14\n/, '\n15\n');
  const r3 = v.verifyEvidence(bad3, policy);
  assert.equal(r3.ok, false);
  assert.equal(r3.checkpoint.log, 'bad');
  const bad4 = structuredClone(ev); // drop two cosignatures: quorum 2-of-3 not met
  bad4.checkpoint = bad4.checkpoint.split('\n').filter((l) => !/witness[12]/.test(l)).join('\n');
  const r4 = v.verifyEvidence(bad4, policy);
  assert.equal(r4.ok, false);
  assert.equal(r4.checkpoint.quorum, false);
  assert.equal(v.verifyInclusion(0, 1, new Uint8Array(32), [], new Uint8Array(32)), true);
  assert.throws(() => v.b64decode('AB=='.replace('B', 'C').replace('==', '=')));
  assert.throws(() => v.parseVkey(fx.policy.split('\n')[0].slice(4).replace(/\+[0-9a-f]{8}\+/, '+00000000+')));
});

test('evidence entries decode, reference the trigger where they answer it, and are signed', () => {
  const f = fx.findings.find((x) => x.range);
  const d = v.decodeEvidence(fx.evidence[f.id]);
  assert.equal(d.length, f.range[1] - f.range[0] + 1);
  assert.ok(d.every((x) => x.signed === true && !x.error), JSON.stringify(d));
  assert.ok(d.some((x) => x.refsTrigger), 'the meeting request refers to the request');
  const ev = structuredClone(fx.evidence[f.id]); // a submission re-signed by nobody: unsigned
  const e = Buffer.from(ev.entries[1].entry, 'base64').toString();
  ev.entries[1].entry = Buffer.from(e.replace('"serial":', '"serial":1')).toString('base64');
  assert.equal(v.decodeEvidence(ev)[1].signed, false);
});

// TL_EVIDENCE_DIR=<treatylog demo dir>/evidence: every evidence file `serve` wrote verifies
// with the browser's code, keys from its own registry entries, as the finding page does it.
test('evidence files written by treatylog verify as the finding page verifies them', { skip: !process.env.TL_EVIDENCE_DIR && 'TL_EVIDENCE_DIR not set' }, async () => {
  const { verifyAll } = await import('../../web/src/views/finding.js');
  const dir = process.env.TL_EVIDENCE_DIR;
  const files = fs.readdirSync(dir).filter((f) => f.endsWith('.json'));
  assert.ok(files.length > 0);
  for (const f of files) {
    const ev = JSON.parse(fs.readFileSync(`${dir}/${f}`, 'utf8'));
    const reg = v.registryOf(v.splitEntry(v.b64decode(ev.registry[0].entry)).submission);
    const r = verifyAll(ev, v.parsePolicy(reg.witness_policy));
    assert.ok(r.ok, `${f}: ${JSON.stringify(r.steps.filter((s) => !s.ok))}`);
  }
});

// Key rotation: the entry page checks a signature with the keys the party held at that index.
test('partyKeysAt follows genesis, add, rotate and remove, and refuses what the log would refuse', async () => {
  const { seed, signNote, vkey } = await import('./notes.mjs');
  const op = { name: 'rot.example/log', sd: seed('rot op') };
  const opKeys = [v.parseVkey(vkey(op.name, op.sd, 1))];
  const k = (label) => ({ sd: seed(label) });
  const XA1 = k('XA 1'), XA2 = k('XA 2'), XB1 = k('XB 1'), XC1 = k('XC 1'), evil = k('evil');
  const pub = (code, key) => vkey(code, key.sd, 1);
  const reg = (doc, extra = []) => signNote(`treatylog/registry/v1\n${JSON.stringify(doc)}`, [op, ...extra]);
  const party = (code, key) => ({ code, name: `Party ${code}`, keys: [pub(code, key)] });
  const items = [
    { index: 0, submission: reg({ action: 'genesis', parties: [party('XA', XA1), party('XB', XB1)], witness_policy: 'x', rulesets: [] }) },
    // rotate XA to key 2, signed by the operator and by XA's current key
    { index: 5, submission: reg({ action: 'rotate', parties: [{ code: 'XA', keys: [pub('XA', XA2)] }] }, [{ name: 'XA', sd: XA1.sd }]) },
    // a rotation of XB without XB's signature: refused, changes nothing
    { index: 6, submission: reg({ action: 'rotate', parties: [{ code: 'XB', keys: [pub('XB', evil)] }] }) },
    // a rotation of XB signed by XB but not by the operator: refused
    { index: 7, submission: signNote(`treatylog/registry/v1\n${JSON.stringify({ action: 'rotate', parties: [{ code: 'XB', keys: [pub('XB', evil)] }] })}`, [{ name: 'XB', sd: XB1.sd }]) },
    { index: 8, submission: reg({ action: 'add', parties: [party('XC', XC1)] }) },
    // adding a registered code again: refused
    { index: 9, submission: reg({ action: 'add', parties: [party('XC', evil)] }) },
    { index: 12, submission: reg({ action: 'remove', parties: [{ code: 'XB' }] }) },
  ];
  const at = (i) => v.partyKeysAt(items, i, opKeys);
  const signed = (code, key, i) => {
    const n = v.parseNote(signNote(`treatylog/notification/v1\n{"from":"${code}"}`, [{ name: code, sd: key.sd }]));
    return (at(i).get(code) || []).some((s) => v.verifyNoteSig(n, v.parseVkey(s)) === 'ok');
  };
  assert.deepEqual([...at(3).keys()], ['XA', 'XB']);
  assert.equal(signed('XA', XA1, 3), true, 'genesis key before the rotation');
  assert.equal(signed('XA', XA2, 3), false, 'the new key is not in force before its entry');
  assert.equal(signed('XA', XA2, 6), true, 'the new key after the rotation');
  assert.equal(signed('XA', XA1, 6), false, 'the rotated-out key no longer counts');
  assert.equal(signed('XA', XA2, 5), false, 'the rotation applies to the entries after it, not itself');
  assert.equal(signed('XB', XB1, 10), true, 'the unsigned and the operator-less rotations changed nothing');
  assert.equal(signed('XB', evil, 10), false);
  assert.equal(signed('XC', XC1, 10), true, 'added at 8');
  assert.equal(signed('XC', evil, 10), false, 'the second add of XC was refused');
  assert.equal(at(13).has('XB'), false, 'removed at 12');
  assert.equal(signed('XA', XA2, 13), true);
  // order of the list does not matter; without the operator's key nothing applies
  assert.deepEqual([...v.partyKeysAt([...items].reverse(), 13, opKeys).keys()], [...at(13).keys()]);
  assert.equal(v.partyKeysAt(items, 13, [v.parseVkey(vkey('other.example/log', seed('other'), 1))]).size, 0);
  // a second genesis is refused
  const two = [...items, { index: 20, submission: reg({ action: 'genesis', parties: [party('XD', evil)], witness_policy: 'x', rulesets: [] }) }];
  assert.equal(v.partyKeysAt(two, 21, opKeys).has('XD'), false);
});
