// verifypanel.js - how a verification done in the browser is shown: a verdict and its steps.
import { h } from '../ui.js';

export function panel(title, { ok, steps, source, note }) {
  return h('section', { class: `verify ${ok ? 'ok' : 'bad'}`, 'aria-labelledby': 'h-verify', 'data-testid': 'verification' },
    h('h2', { id: 'h-verify' }, title),
    h('p', { class: 'verdict', 'data-testid': 'verdict', 'data-ok': ok ? 'true' : 'false' },
      h('span', { class: 'mark', 'aria-hidden': 'true' }, ok ? '\u2714' : '\u2718'), ok ? ' Verified' : ' Failed'),
    source ? h('p', { class: 'muted' }, `Keys: ${source}. `, h('a', { href: '#/trust' }, 'See or pin the keys')) : null,
    note ? h('p', { class: 'muted' }, note) : null,
    h('ol', { class: 'steps' }, steps.map((s) => h('li', { class: s.ok ? 'ok' : 'bad' },
      h('span', { class: 'mark', 'aria-hidden': 'true' }, s.ok ? '\u2714 ' : '\u2718 '),
      h('span', { class: 'visually-hidden' }, s.ok ? 'passed: ' : 'failed: '),
      s.label, s.detail ? h('span', { class: 'muted' }, ` \u2014 ${s.detail}`) : null))));
}

export const pending = (title) => h('section', { class: 'verify', 'data-testid': 'verification' },
  h('h2', {}, title), h('p', { 'data-testid': 'verdict', 'data-ok': 'pending' }, 'Verifying…'));
