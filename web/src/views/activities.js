// activities.js - the declared size of each notified activity (vd11.ch5.notification) against
// the 9,000 / 13,000 / 40,000 troops lines, and what observers or inspectors reported where a
// report exists (vd11.ch6.observation-report, vd11.ch9.inspection-report, joined by activity).
import * as api from '../api.js';
import { h, s, num } from '../ui.js';

const THRESHOLDS = [[9000, 'notification'], [13000, 'observation'], [40000, 'two years\u2019 notice']];
const REPORTS = ['vd11.ch6.observation-report', 'vd11.ch9.inspection-report'];
const ROW = 30, TOP = 42, LEFT = 128, RIGHT = 24;

function chart(acts, width) {
  const max = Math.max(45000, ...acts.flatMap((a) => [a.declared || 0, a.observed || 0])) * 1.05;
  const x = (v) => LEFT + (v / max) * (width - LEFT - RIGHT);
  const height = TOP + ROW * acts.length + 10;
  return s('svg', { width, height, viewBox: `0 0 ${width} ${height}`, class: 'bars', role: 'img',
    'aria-label': 'Declared and observed troops of each activity against the thresholds' },
  THRESHOLDS.map(([v, label], i) => s('g', { class: 'threshold' },
    s('line', { x1: x(v), x2: x(v), y1: TOP - (i % 2 ? 20 : 6), y2: height - 6 }),
    s('text', { x: x(v), y: TOP - (i % 2 ? 26 : 12), 'text-anchor': 'middle' }, `${num(v)} ${width > 560 ? label : ''}`))),
  acts.map((a, i) => {
    const y = TOP + i * ROW;
    return s('g', { class: 'act' },
      s('text', { x: LEFT - 8, y: y + 16, 'text-anchor': 'end' }, a.activity),
      s('rect', { class: 'declared', x: LEFT, y: y + 4, width: Math.max(1, x(a.declared || 0) - LEFT), height: 14 }, s('title', {}, `${a.activity}: declared ${num(a.declared)}`)),
      a.observed !== null ? s('rect', { class: 'observed', x: LEFT, y: y + 19, width: Math.max(1, x(a.observed) - LEFT), height: 6 }, s('title', {}, `${a.activity}: observed ${num(a.observed)}`)) : null);
  }));
}

export const observedTroops = (e) => {
  const o = e?.notification?.body?.observed;
  return Number.isInteger(o?.troops) ? o.troops : Number.isInteger(o?.personnel) ? o.personnel : null;
};

async function all(type, limit = 1000, pages = 5) {
  const out = [];
  let after = null, next = null;
  for (let i = 0; i < pages; i++) {
    const r = await api.entries({ type, after, limit });
    out.push(...r.entries);
    next = r.next;
    if (r.next === null || !r.entries.length) break;
    after = r.entries[r.entries.length - 1].index;
  }
  return { rows: out, more: next !== null };
}

export async function render(main) {
  const [notes, ...reports] = await Promise.all([all('vd11.ch5.notification'), ...REPORTS.map((t) => all(t))]);
  const acts = new Map();
  for (const r of notes.rows) {
    if (!r.activity) continue;
    acts.set(r.activity, { activity: r.activity, from: r.from, index: r.index, start: r.start, end: r.end, declared: r.troops, observed: null, reports: [] });
  }
  // A report row may not carry the observed troops (decision 0003 leaves `troops` to the
  // notification's figure): then they come from the report itself, body.observed.
  const joined = reports.flatMap((x) => x.rows).filter((r) => acts.has(r.activity));
  const observed = await Promise.all(joined.slice(0, 100).map(async (r) => r.troops ?? observedTroops(await api.entry(r.index).catch(() => null))));
  joined.slice(0, 100).forEach((r, i) => {
    const a = acts.get(r.activity);
    a.reports.push(r);
    if (observed[i] !== null && observed[i] !== undefined) a.observed = Math.max(a.observed ?? 0, observed[i]);
  });
  const list = [...acts.values()];
  const figure = h('div', { class: 'scroll-x' });
  const redraw = () => figure.replaceChildren(list.length ? chart(list, Math.max(360, Math.min(main.clientWidth - 8, 1100))) : h('p', {}, 'No notified activities.'));
  main.replaceChildren(
    h('h1', {}, 'Activities'),
    h('p', { 'data-testid': 'activities-count', 'data-count': list.length }, `${num(list.length)} notified activities${notes.more ? ' (first pages only)' : ''}.`),
    h('p', { class: 'muted' }, 'Bars: declared peak troops (wide) and the largest observed figure in a report (thin). Lines: the Vienna Document thresholds.'),
    figure,
    h('div', { class: 'scroll-x plain' }, h('table', { 'data-testid': 'activities' },
      h('caption', {}, 'Declared against observed'),
      h('thead', {}, h('tr', {}, ['Activity', 'From', 'Dates', 'Declared', 'Observed', 'Difference', 'Thresholds reached'].map((c) => h('th', { scope: 'col' }, c)))),
      h('tbody', {}, list.map((a) => {
        const diff = a.observed !== null && a.declared ? Math.round(((a.observed - a.declared) / a.declared) * 100) : null;
        return h('tr', { class: diff !== null && Math.abs(diff) > 10 ? 'discrepancy' : '' },
          h('th', { scope: 'row' }, h('a', { href: `#/entries/${a.index}` }, a.activity)),
          h('td', {}, a.from), h('td', {}, `${a.start ?? '?'} to ${a.end ?? '?'}`),
          h('td', { class: 'n' }, num(a.declared)),
          h('td', { class: 'n' }, a.observed === null ? 'no report' : h('a', { href: `#/entries/${a.reports[0].index}` }, num(a.observed))),
          h('td', { class: 'n' }, diff === null ? '—' : `${diff > 0 ? '+' : ''}${diff} %`),
          h('td', {}, THRESHOLDS.filter(([v]) => (a.declared || 0) >= v).map(([, l]) => l).join(', ') || 'none'));
      })))));
  redraw();
  const onResize = () => redraw();
  window.addEventListener('resize', onResize);
  return { destroy() { window.removeEventListener('resize', onResize); } };
}
