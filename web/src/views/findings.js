// findings.js - the findings list, filtered by state, rule and party (the query of
// /v1/findings), shown 50 a page; Enter on a row opens the finding.
import * as api from '../api.js';
import { h, num, when, badge, linkRow, SEVERITIES } from '../ui.js';

const PAGE = 50;

export async function render(main, { query, stats }) {
  const filter = { state: query.get('state') || '', rule: query.get('rule') || '', party: query.get('party') || '' };
  const page = Math.max(0, Number(query.get('page') || 0));
  let r = await api.findings(filter);
  const body = h('tbody');
  const count = h('p', { 'data-testid': 'findings-count', role: 'status' });
  const pager = h('nav', { class: 'pager', 'aria-label': 'Findings pages' });
  const rules = () => [...new Set(r.findings.map((f) => f.rule))].sort();
  const href = (p) => '#/findings?' + new URLSearchParams({ ...Object.fromEntries(Object.entries(filter).filter(([, v]) => v)), ...(p ? { page: p } : {}) });
  const fill = () => {
    const list = r.findings;
    count.dataset.count = list.length;
    count.textContent = `${num(list.length)} finding${list.length === 1 ? '' : 's'}` + (r.at ? ` as of the witnessed checkpoint of size ${num(r.at.size)}${r.at.time ? ` (${when(r.at.time)})` : ''}` : '');
    body.replaceChildren(...list.slice(page * PAGE, (page + 1) * PAGE).map((f) => {
      const to = `#/findings/${encodeURIComponent(f.id)}`;
      return linkRow(to,
        h('th', { scope: 'row' }, h('a', { href: to }, f.id)),
        h('td', {}, badge(f.severity || f.state)),
        h('td', {}, f.parties.join(', ')),
        h('td', {}, when(f.due)),
        h('td', { class: 'why' }, f.why));
    }));
    const pages = Math.ceil(list.length / PAGE);
    pager.replaceChildren(...(pages > 1 ? [
      h('a', { href: href(Math.max(0, page - 1)), 'aria-disabled': page === 0 }, '← Previous'),
      h('span', {}, ` page ${page + 1} of ${pages} `),
      h('a', { href: href(Math.min(pages - 1, page + 1)), 'aria-disabled': page >= pages - 1 }, 'Next →')] : []));
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
      if (JSON.stringify(s.findings) === JSON.stringify(prev.findings)) return;
      r = await api.findings(filter);
      fill();
    },
  };
}
