// overview.js - log size, the latest witnessed checkpoint (witnesses, age), entries per day
// (uPlot bars), findings by severity, the newest entries.
import uPlot from 'uplot';
import * as api from '../api.js';
import { h, num, when, age, SEVERITIES, OPEN, badge, entryLink, entryName } from '../ui.js';

function checkpointBlock(w) {
  if (!w) return h('p', { 'data-testid': 'witnessed' }, 'No witnessed checkpoint yet.');
  return h('div', { 'data-testid': 'witnessed' },
    h('dl', { class: 'facts' },
      h('dt', {}, 'Size'), h('dd', { 'data-testid': 'witnessed-size' }, num(w.size)),
      h('dt', {}, 'Witness time'), h('dd', {}, when(w.time)),
      h('dt', {}, 'Age'), h('dd', { 'data-testid': 'witnessed-age', 'data-time': w.time }, age(w.time)),
      h('dt', {}, 'Witnesses'), h('dd', {}, h('ul', { class: 'inline', 'data-testid': 'witness-list' },
        (w.witnesses || []).map((n) => h('li', {}, n))))),
    h('details', {}, h('summary', {}, 'The checkpoint note'), h('pre', { class: 'note' }, w.note || '')));
}

function severityTable(f) {
  f = f || {};
  const keys = [...SEVERITIES, ...Object.keys(f).filter((k) => !SEVERITIES.includes(k))];
  const row = (k) => h('tr', {},
    h('th', { scope: 'row' }, h('a', { href: `#/findings?state=${encodeURIComponent(k)}` }, badge(k))),
    h('td', { class: 'n', 'data-severity': k }, num(f[k] ?? 0)));
  return h('table', { class: 'compact', 'data-testid': 'severity-table' },
    h('caption', {}, 'Findings by severity'),
    h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Open'), h('th', { scope: 'col', class: 'n' }, 'Findings'))),
    h('tbody', {}, keys.filter((k) => OPEN.has(k) || !['met', 'void'].includes(k)).map(row)),
    h('tbody', { class: 'closed' }, h('tr', {}, h('th', { scope: 'colgroup', colspan: 2 }, 'Closed')),
      keys.filter((k) => ['met', 'void'].includes(k)).map(row)));
}

function perDayChart(el, perDay) {
  el.replaceChildren();
  if (!perDay?.length) { el.append(h('p', {}, 'No entries yet.')); return null; }
  const xs = perDay.map(([d]) => Date.parse(d + 'T00:00:00Z') / 1000);
  const ys = perDay.map(([, n]) => n);
  const width = Math.max(280, el.clientWidth || 600);
  return new uPlot({
    width, height: 200, legend: { show: false }, cursor: { y: false },
    scales: { x: { time: true }, y: { range: (u, lo, hi) => [0, Math.max(1, Math.ceil(hi * 1.1))] } },
    axes: [{ stroke: '#444' }, { stroke: '#444', size: 50 }],
    series: [{}, { label: 'entries', fill: 'rgba(31,95,191,0.35)', stroke: '#1f5fbf', paths: uPlot.paths.bars({ size: [0.9, 40] }), points: { show: false } }],
  }, [xs, ys], el);
}

export async function render(main, { stats }) {
  let st = stats;
  const sizeEl = h('p', { class: 'big', 'data-testid': 'log-size' }, num(st.size));
  const cpEl = h('div', {}, checkpointBlock(st.witnessed));
  const sevEl = h('div', {}, severityTable(st.findings));
  const openCount = () => Object.entries(st.findings || {}).filter(([k]) => OPEN.has(k)).reduce((a, [, n]) => a + n, 0);
  const openEl = h('p', { class: 'big', 'data-testid': 'open-findings' }, num(openCount()));
  const chartEl = h('div', { class: 'chart', role: 'img', 'aria-label': 'Entries per day' });
  const daysEl = h('p', { class: 'muted', 'data-testid': 'days' });
  const latestEl = h('tbody', {});
  const latestTable = h('table', { 'data-testid': 'latest' },
    h('caption', {}, 'Newest entries'),
    h('thead', {}, h('tr', {}, ['Entry', 'Logged', 'From', 'Type'].map((c) => h('th', { scope: 'col' }, c)))), latestEl);

  main.replaceChildren(
    h('h1', {}, 'Overview'),
    h('div', { class: 'cards' },
      h('section', { class: 'card', 'aria-labelledby': 'h-size' }, h('h2', { id: 'h-size' }, 'Log size'), sizeEl, h('p', { class: 'muted' }, 'entries, registry included')),
      h('section', { class: 'card', 'aria-labelledby': 'h-open' }, h('h2', { id: 'h-open' }, 'Open findings'), openEl, h('p', { class: 'muted' }, h('a', { href: '#/findings' }, 'All findings'))),
      h('section', { class: 'card wide', 'aria-labelledby': 'h-cp' }, h('h2', { id: 'h-cp' }, 'Latest witnessed checkpoint'), cpEl)),
    h('div', { class: 'cards' },
      h('section', { class: 'card wide', 'aria-labelledby': 'h-day' }, h('h2', { id: 'h-day' }, 'Entries per day'), chartEl, daysEl),
      h('section', { class: 'card', 'aria-labelledby': 'h-sev' }, h('h2', { id: 'h-sev' }, 'Findings'), sevEl)),
    h('section', { 'aria-labelledby': 'h-latest' }, h('h2', { id: 'h-latest', class: 'visually-hidden' }, 'Newest entries'), h('div', { class: 'scroll-x plain' }, latestTable)));

  let plot = null;
  const draw = () => {
    plot?.destroy();
    plot = perDayChart(chartEl, st.per_day);
    const d = st.per_day || [];
    daysEl.textContent = d.length ? `${d.length} days from ${d[0][0]} to ${d[d.length - 1][0]}; at most ${Math.max(...d.map(([, n]) => n))} a day` : '';
  };
  const newest = () => (st.size ? api.window_(st.size - 1, 10) : Promise.resolve({ entries: [] }));
  let pending = newest(); // in flight while the chart is drawn
  const latest = async () => {
    const r = await (pending || newest());
    pending = null;
    latestEl.replaceChildren(...r.entries.slice().reverse().map((row) =>
      h('tr', {}, h('td', {}, entryLink(row)), h('td', {}, when(row.logged)), h('td', {}, entryName(row)), h('td', {}, h('code', {}, row.type)))));
  };
  draw();
  await latest();
  const tick = setInterval(() => {
    const a = main.querySelector('[data-testid=witnessed-age]');
    if (a) a.textContent = age(a.dataset.time);
  }, 1000);
  const onResize = () => draw();
  window.addEventListener('resize', onResize);
  return {
    async update(s) {
      st = s;
      sizeEl.textContent = num(st.size);
      openEl.textContent = num(openCount());
      cpEl.replaceChildren(checkpointBlock(st.witnessed));
      sevEl.replaceChildren(severityTable(st.findings));
      draw();
      await latest();
    },
    destroy() { clearInterval(tick); window.removeEventListener('resize', onResize); plot?.destroy(); },
  };
}
