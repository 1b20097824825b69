// findings.js - the findings list, filtered by state, rule and party (the query of
// /v1/findings, passed to the server), 50 a page, paged by the server (limit/after: the hash
// carries the cursor, `after`, and the page number for display); Enter on a row opens the
// finding. The total comes from the counts of /v1/stats when it says (no filter, or a state).
import * as api from '../api.js';
import { h, num, when, badge, linkRow, SEVERITIES } from '../ui.js';

export const PAGE = 50;
// The cursors of the pages seen, per filter: trails.get(key)[k] is the `after` of page k + 1,
// so "Previous" works after paging forward (a page opened by a link starts a new trail).
const trails = new Map();

export async function render(main, { query, stats }) {
  const filter = { state: query.get('state') || '', rule: query.get('rule') || '', party: query.get('party') || '' };
  const after = query.get('after') || null;
  const page = after ? Math.max(2, Math.floor(Number(query.get('page'))) || 2) : 1;
  const key = JSON.stringify(filter);
  const trail = trails.get(key) || [null];
  trails.set(key, trail);
  if (trail[page - 1] !== after) { trail.length = page - 1; trail[page - 1] = after; }
  const ask = () => api.findings({ ...filter, limit: PAGE, after });
  let r = await ask();
  let st = stats;
  const body = h('tbody');
  const count = h('p', { 'data-testid': 'findings-count', role: 'status' });
  const pager = h('nav', { class: 'pager', 'aria-label': 'Findings pages' });
  const rules = () => [...new Set([...r.findings.map((f) => f.rule), ...(filter.rule ? [filter.rule] : [])])].sort();
  const href = (p, cursor) => '#/findings' + ((q) => (q.toString() ? '?' + q : ''))(new URLSearchParams({
    ...Object.fromEntries(Object.entries(filter).filter(([, v]) => v)), ...(cursor ? { after: cursor, page: p } : {}) }));
  // The number of findings the filter matches, when /v1/stats has it (counts by state).
  const total = () => {
    if (filter.rule || filter.party || !st.findings) return null;
    const c = st.findings;
    return filter.state ? c[filter.state] ?? 0 : Object.values(c).reduce((a, n) => a + n, 0);
  };
  const fill = () => {
    const list = r.findings, n = total();
    const first = (page - 1) * PAGE + 1;
    count.dataset.count = n ?? '';
    count.dataset.shown = list.length;
    const range = list.length ? `${num(first)} to ${num(first + list.length - 1)}` : 'none';
    const asOf = r.at ? ` as of the witnessed checkpoint of size ${num(r.at.size)}${r.at.time ? ` (${when(r.at.time)})` : ''}` : '';
    count.textContent = n === null ? `Findings ${range}${r.next ? ', more follow' : ''}${asOf}.`
      : `${num(n)} finding${n === 1 ? '' : 's'}${asOf}${n > PAGE || page > 1 ? `; ${range} shown` : ''}.`;
    body.replaceChildren(...list.map((f) => {
      const to = `#/findings/${encodeURIComponent(f.id)}`;
      return linkRow(to,
        h('th', { scope: 'row' }, h('a', { href: to }, f.id)),
        h('td', {}, badge(f.severity || f.state)),
        h('td', {}, f.parties.join(', ')),
        h('td', {}, when(f.due)),
        h('td', { class: 'why' }, f.why));
    }));
    const prevCursor = page > 1 ? trail[page - 2] : undefined;
    const pages = n === null ? null : Math.max(1, Math.ceil(n / PAGE));
    pager.replaceChildren(...(page > 1 || r.next ? [
      page > 1 ? h('a', { href: href(page - 1, prevCursor), rel: 'prev' }, prevCursor === undefined ? '← First page' : '← Previous') : h('a', { 'aria-disabled': 'true' }, '← Previous'),
      h('span', {}, ` page ${page}${pages ? ` of ${pages}` : ''} `),
      r.next ? h('a', { href: href(page + 1, r.next), rel: 'next', 'data-testid': 'findings-next' }, 'Next →') : h('a', { 'aria-disabled': 'true' }, 'Next →')] : []));
  };
  const select = (name, label, options) => h('label', {}, label, ' ',
    h('select', { name }, h('option', { value: '' }, 'any'), options.map((o) => h('option', { value: o, selected: filter[name] === o }, o))));
  const form = h('form', { class: 'filters', role: 'search', 'aria-label': 'Filter findings',
    onsubmit: (e) => {
      e.preventDefault();
      const fd = new FormData(e.target);
      const q = new URLSearchParams([...fd.entries()].filter(([, v]) => v));
      location.hash = `#/findings${q.toString() ? '?' + q : ''}`;
    } },
  select('state', 'State', SEVERITIES),
  h('label', {}, 'Rule ', h('input', { name: 'rule', value: filter.rule, list: 'rules', placeholder: 'e.g. vd11.ch3.reply-48h', size: 22 })),
  h('datalist', { id: 'rules' }, rules().map((x) => h('option', { value: x }))),
  select('party', 'Party', stats.parties || []),
  h('button', { type: 'submit' }, 'Filter'),
  h('a', { href: '#/findings' }, 'Clear'));
  main.replaceChildren(h('h1', {}, 'Findings'), form, count,
    h('table', { class: 'findings', 'data-testid': 'findings' },
      h('thead', {}, h('tr', {}, ['Finding', 'Severity', 'Parties', 'Due', 'Why'].map((c) => h('th', { scope: 'col' }, c)))), body),
    pager);
  fill();
  return {
    async update(s, prev) {
      st = s;
      if (JSON.stringify(s.findings) === JSON.stringify(prev.findings) && s.witnessed?.size === prev.witnessed?.size) return;
      r = await ask(); // the same page (same cursor), as of now
      fill();
    },
  };
}
