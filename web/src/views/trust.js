// trust.js (view) - the keys the page verifies with, and a place to pin your own policy.
import * as trust from '../trust.js';
import { h } from '../ui.js';
import { parsePolicy } from '../verify.js';

function describe(policy) {
  return h('div', { class: 'scroll-x plain' }, h('table', { 'data-testid': 'keys' },
    h('thead', {}, h('tr', {}, ['Role', 'Name', 'Key ID', 'Verifier key'].map((c) => h('th', { scope: 'col' }, c)))),
    h('tbody', {},
      policy.logs.map((k) => h('tr', {}, h('th', { scope: 'row' }, 'log'), h('td', {}, k.name), h('td', {}, h('code', {}, k.idHex)), h('td', { class: 'key' }, h('code', {}, k.text)))),
      [...policy.witnesses].map(([n, k]) => h('tr', {}, h('th', { scope: 'row' }, 'witness'), h('td', {}, `${n} (${k.name})`), h('td', {}, h('code', {}, k.idHex)), h('td', { class: 'key' }, h('code', {}, k.text))))),
    h('tfoot', {}, h('tr', {}, h('th', { scope: 'row' }, 'quorum'), h('td', { colspan: 3 }, policy.quorum,
      ...[...policy.groups].map(([n, g]) => ` \u00b7 group ${n}: ${g.k} of ${g.members.join(', ')}`))))));
}

export async function render(main) {
  const draw = async () => {
    let cur = null, err = null;
    try { cur = await trust.current(); } catch (e) { err = e; }
    const logPolicy = await trust.fromLog().catch(() => null);
    const ta = h('textarea', { id: 'policy', rows: 8, spellcheck: 'false', 'aria-describedby': 'policy-help' }, trust.pinned() || logPolicy || '');
    const msg = h('p', { role: 'status' });
    main.replaceChildren(
      h('h1', {}, 'Keys'),
      h('p', {}, 'Every verification on these pages runs in your browser: Ed25519 over the checkpoint note (the log key), ',
        'cosignature/v1 of each witness, the quorum of the witness policy, then RFC 6962 inclusion proofs of the entries against the checkpoint root.'),
      err ? h('p', { class: 'error', role: 'alert' }, err.message) : h('section', { 'aria-labelledby': 'h-used' },
        h('h2', { id: 'h-used' }, 'Keys in use'),
        h('p', { 'data-testid': 'policy-source' }, `Source: ${cur.source}.`),
        cur.differs ? h('p', { class: 'warn' }, 'Your pinned policy differs from the log\u2019s registry policy.') : null,
        describe(cur.policy)),
      h('section', { 'aria-labelledby': 'h-pin' },
        h('h2', { id: 'h-pin' }, 'Pin a policy'),
        h('p', { id: 'policy-help' }, 'By default the keys come from the log\u2019s own genesis registry (entry 0), which is only as good as your trust in that first entry. ',
          'Paste the log and witness keys you got from an independent source, as a C2SP tlog-policy (log, witness, group, quorum lines), and pin them: they are kept in this browser and used instead.'),
        h('label', { for: 'policy' }, 'Witness policy (tlog-policy)'), ta,
        h('div', { class: 'buttons' },
          h('button', { type: 'button', onclick: () => {
            try { parsePolicy(ta.value); trust.pin(ta.value); draw(); } catch (e) { msg.textContent = `Not pinned: ${e.message}`; }
          } }, 'Pin this policy'),
          h('button', { type: 'button', disabled: !trust.pinned(), onclick: () => { trust.unpin(); draw(); } }, 'Use the registry\u2019s policy')),
        msg));
  };
  await draw();
}
