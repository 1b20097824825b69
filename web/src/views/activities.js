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

export const PAGE = 500; // activities a page; the chart shows the largest CHART of them
const CHART = 60;

// Rows of `type` logged in [since, until), one page after `after`.
const page = (type, since, until, after = null, limit = PAGE) => api.entries({ type, since, until, after, limit });

// The year shown: ?year=, else the newest year with a notified activity (one small request
// per year, newest first, back to the first year of the log; per_day is sorted).
export async function yearOf(query, stats) {
  const y = Number(query.get('year'));
  if (Number.isInteger(y) && y > 1900) return y;
  const days = stats.per_day || [];
  if (!days.length) return new Date().getUTCFullYear();
  const first = Number(days[0][0].slice(0, 4)), last = Number(days[days.length - 1][0].slice(0, 4));
  for (let yr = last; yr >= first && yr > last - 30; yr--) {
    const r = await page('vd11.ch5.notification', `${yr}-01-01`, `${yr + 1}-01-01`, null, 1);
    if (r.entries.length) return yr;
  }
  return last;
}

export async function render(main, { query, stats }) {
  const year = await yearOf(query, stats);
  const since = `${year}-01-01`, until = `${year + 1}-01-01`;
  const acts = new Map();
  let next = null;
  const figure = h('div', { class: 'scroll-x' });
  const body = h('tbody');
  const count = h('p', { 'data-testid': 'activities-count', 'data-year': year });
  const more = h('button', { type: 'button', onclick: () => load() }, `Next ${PAGE}`);

  // Reports of an activity come after its notification: this year and the next.
  const reportsUntil = `${year + 2}-01-01`;
  const attachReports = async (list) => {
    const ids = new Set(list.map((a) => a.activity));
    const rows = (await Promise.all(REPORTS.map((t) => page(t, since, reportsUntil, null, 1000))))
      .flatMap((r) => r.entries).filter((r) => ids.has(r.activity));
    // A report row may not carry the observed troops (decision 0003 leaves `troops` to the
    // notification's figure): then they come from the report itself, body.observed.
    const obs = await Promise.all(rows.slice(0, 100).map(async (r) => r.troops ?? observedTroops(await api.entry(r.index).catch(() => null))));
    rows.slice(0, 100).forEach((r, i) => {
      const a = acts.get(r.activity);
      a.reports.push(r);
      if (Number.isInteger(obs[i])) a.observed = Math.max(a.observed ?? 0, obs[i]);
    });
  };
  const row = (a) => {
    const diff = a.observed !== null && a.declared ? Math.round(((a.observed - a.declared) / a.declared) * 100) : null;
    return h('tr', { class: diff !== null && Math.abs(diff) > 10 ? 'discrepancy' : '' },
      h('th', { scope: 'row' }, h('a', { href: `#/entries/${a.index}` }, a.activity)),
      h('td', {}, a.from), h('td', {}, `${a.start ?? '?'} to ${a.end ?? '?'}`),
      h('td', { class: 'n' }, num(a.declared)),
      h('td', { class: 'n' }, a.observed === null ? 'no report' : h('a', { href: `#/entries/${a.reports[0].index}` }, num(a.observed))),
      h('td', { class: 'n' }, diff === null ? '—' : `${diff > 0 ? '+' : ''}${diff} %`),
      h('td', {}, THRESHOLDS.filter(([v]) => (a.declared || 0) >= v).map(([, l]) => l).join(', ') || 'none'));
  };
  const redraw = () => {
    const list = [...acts.values()];
    const shown = list.length > CHART ? list.slice().sort((x, y) => (y.declared || 0) - (x.declared || 0)).slice(0, CHART) : list;
    figure.replaceChildren(list.length ? chart(shown, Math.max(360, Math.min(main.clientWidth - 8, 1100))) : h('p', {}, `No activity notified in ${year}.`));
    count.dataset.count = list.length;
    count.textContent = `${num(list.length)} activit${list.length === 1 ? 'y' : 'ies'} notified in ${year}${next !== null ? ' so far (more below)' : ''}` +
      (list.length > CHART ? `; the chart shows the ${CHART} largest.` : '.');
    more.hidden = next === null;
  };
  const load = async () => {
    const r = await page('vd11.ch5.notification', since, until, next);
    next = r.next;
    const fresh = [];
    for (const x of r.entries) {
      if (!x.activity || acts.has(x.activity)) continue;
      const a = { activity: x.activity, from: x.from, index: x.index, start: x.start, end: x.end, declared: x.troops, observed: null, reports: [] };
      acts.set(x.activity, a);
      fresh.push(a);
    }
    await attachReports(fresh);
    body.append(...fresh.map(row));
    redraw();
  };

  const yearLink = (y, label) => h('a', { href: `#/activities?year=${y}` }, label);
  main.replaceChildren(
    h('h1', {}, `Activities ${year}`),
    h('nav', { class: 'pager', 'aria-label': 'Years' }, yearLink(year - 1, `← ${year - 1}`), yearLink(year + 1, `${year + 1} →`)),
    count,
    h('p', { class: 'muted' }, 'Bars: declared peak troops (wide) and the largest observed figure in a report (thin). Lines: the Vienna Document thresholds.'),
    figure,
    h('div', { class: 'scroll-x plain' }, h('table', { 'data-testid': 'activities' },
      h('caption', {}, 'Declared against observed'),
      h('thead', {}, h('tr', {}, ['Activity', 'From', 'Dates', 'Declared', 'Observed', 'Difference', 'Thresholds reached'].map((c) => h('th', { scope: 'col' }, c)))),
      body)),
    more);
  await load();
  const onResize = () => redraw();
  window.addEventListener('resize', onResize);
  return { destroy() { window.removeEventListener('resize', onResize); } };
}
