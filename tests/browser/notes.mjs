// notes.mjs - signed notes made in node (node:crypto Ed25519) for the browser tests' fixtures:
// deterministic keys from a seed string, vkeys, signature lines (type 0x01) and witness
// cosignatures (cosignature/v1, type 0x04), as the C2SP signed-note spec writes them.
import crypto from 'node:crypto';

// A 32-byte Ed25519 seed derived from a label.
export const seed = (s) => crypto.createHash('sha256').update('treatylog fixture ' + s).digest();
export const privKey = (sd) => crypto.createPrivateKey({
  key: Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), sd]), format: 'der', type: 'pkcs8' });
export const pubOf = (sd) => crypto.createPublicKey(privKey(sd)).export({ format: 'der', type: 'spki' }).subarray(-32);
export const keyId = (name, typeKey) => crypto.createHash('sha256').update(Buffer.concat([Buffer.from(name + '\n'), typeKey])).digest().subarray(0, 4);
// The vkey "<name>+<hex id>+<base64(type || public key)>".
export function vkey(name, sd, type) {
  const tk = Buffer.concat([Buffer.of(type), pubOf(sd)]);
  return `${name}+${keyId(name, tk).toString('hex')}+${tk.toString('base64')}`;
}
// A signed note of `body` (its text is body + "\n") by each of signers: [{name, sd}].
export function signNote(body, signers) {
  const text = body + '\n';
  let out = text + '\n';
  for (const s of signers) {
    const id = keyId(s.name, Buffer.concat([Buffer.of(1), pubOf(s.sd)]));
    const sig = crypto.sign(null, Buffer.from(text), privKey(s.sd));
    out += `\u2014 ${s.name} ${Buffer.concat([id, sig]).toString('base64')}\n`;
  }
  return out;
}
// `note` with a cosignature/v1 line by witness w ({name, sd}) at Unix time t appended.
export function cosign(note, w, t) {
  const text = note.slice(0, note.lastIndexOf('\n\n') + 1);
  const id = keyId(w.name, Buffer.concat([Buffer.of(4), pubOf(w.sd)]));
  const ts = Buffer.alloc(8); ts.writeBigUInt64BE(BigInt(t));
  const sig = crypto.sign(null, Buffer.from(`cosignature/v1\ntime ${t}\n${text}`), privKey(w.sd));
  return note + `\u2014 ${w.name} ${Buffer.concat([id, ts, sig]).toString('base64')}\n`;
}
