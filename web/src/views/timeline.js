// timeline.js - a window of entries (the newest 500 by default, paged by index) as points on a
// time axis, one lane per party, coloured by type; refs drawn from the referenced entry to the
// one that answers it; deadlines of findings as diamonds, missed ones in red.
import * as api from '../api.js';
import { h, s, num, when, category, CATEGORIES, entryName, badge } from '../ui.js';

export const WINDOW = 500;
const MISSED = new Set(['missed', 'late', 'breach']);
const LANE = 34, TOP = 16, BOTTOM = 34, LEFT = 88, RIGHT = 20;

function ticks(t0, t1, n) {
  const span = t1 - t0, out = [];
  for (let i = 0; i <= n; i++) out.push(t0 + (span * i) / n);
  const fmt = span < 2 * 86400e3 ? (t) => new Date(t).toISOString().slice(5, 16).replace('T', ' ')
    : (t) => new Date(t).toISOString().slice(0, 10);
  return out.map((t) => [t, fmt(t)]);
}

// Time -> [0,1]: linear in time, or 'even': linear in the rank among the entries' times
// (piecewise linear between them), so bursts of messages stay readable in a long window.
function scale(sorted, t0, t1, even) {
  if (!even || sorted.length < 2) return (t) => (t - t0) / (t1 - t0);
  const n = sorted.length;
  return (t) => {
    if (t <= sorted[0]) return 0.02 - 0.02 * Math.min(1, (sorted[0] - t) / (sorted[n - 1] - sorted[0] || 1));
    if (t >= sorted[n - 1]) return 0.98 + 0.02 * Math.min(1, (t - sorted[n - 1]) / (sorted[n - 1] - sorted[0] || 1));
    let lo = 0, hi = n - 1;
    while (hi - lo > 1) { const m = (lo + hi) >> 1; if (sorted[m] <= t) lo = m; else hi = m; }
    const f = sorted[hi] === sorted[lo] ? 0 : (t - sorted[lo]) / (sorted[hi] - sorted[lo]);
    return 0.02 + (0.96 * (lo + f)) / (n - 1);
  };
}

function draw(all, findings, parties, width, even) {
  const rows = all.filter((r) => r.from && Number.isFinite(r.logged_ms)); // not raw entries
  const lanes = [...parties];
  for (const r of rows) if (!lanes.includes(r.from)) lanes.push(r.from);
  // A deadline sits on the lane of the party that owes it, else on its trigger's lane.
  const laneOf = (f) => f.parties[0] || rows.find((r) => r.index === f.trigger)?.from || 'operator';
  for (const f of findings) for (const p of [...f.parties, laneOf(f)]) if (!lanes.includes(p)) lanes.push(p);
  const lane = (p) => TOP + LANE * lanes.indexOf(p) + LANE / 2;
  const times = rows.map((r) => r.logged_ms).concat(findings.map((f) => Date.parse(f.due)));
  let t0 = Math.min(...times), t1 = Math.max(...times);
  if (!(t1 > t0)) { t0 -= 3600e3; t1 += 3600e3; }
  const pad = (t1 - t0) * 0.02;
  t0 -= pad; t1 += pad;
  const height = TOP + LANE * lanes.length + BOTTOM;
  const sorted = rows.map((r) => r.logged_ms).sort((a, b) => a - b);
  const u = scale(sorted, t0, t1, even);
  const x = (t) => LEFT + u(t) * (width - LEFT - RIGHT);
  const byLeaf = new Map(rows.map((r) => [r.leaf, r]));
  const byIndex = new Map(rows.map((r) => [r.index, r]));
  const pt = (r) => [x(r.logged_ms), lane(r.from)];

  const grid = lanes.map((p) => s('g', { class: 'lane' },
    s('line', { x1: LEFT, x2: width - RIGHT, y1: lane(p), y2: lane(p) }),
    s('text', { x: LEFT - 8, y: lane(p) + 4, 'text-anchor': 'end' }, p)));
  const nt = Math.max(2, Math.floor(width / 160));
  const tickTimes = even && sorted.length > 1
    ? ticks(0, 0, nt).map((_, i) => sorted[Math.round((i * (sorted.length - 1)) / nt)]).map((t) => [t, new Date(t).toISOString().slice(0, 10)])
    : ticks(t0 + pad, t1 - pad, nt);
  const axis = tickTimes.map(([t, label]) => s('g', { class: 'tick' },
    s('line', { x1: x(t), x2: x(t), y1: TOP, y2: height - BOTTOM + 4 }),
    s('text', { x: x(t), y: height - BOTTOM + 18, 'text-anchor': 'middle' }, label)));
  const refs = [];
  for (const r of rows) for (const leaf of r.refs || []) {
    const from = byLeaf.get(leaf);
    if (!from) continue;
    const [x1, y1] = pt(from), [x2, y2] = pt(r);
    refs.push(s('line', { class: 'ref', x1, y1, x2, y2, 'marker-end': 'url(#arrow)' }));
  }
  const deadlines = findings.map((f) => {
    const trig = byIndex.get(f.trigger);
    const dx = x(Date.parse(f.due)), dy = lane(laneOf(f));
    const cls = `deadline ${MISSED.has(f.state) ? 'missed' : ''} s-${f.state}`;
    const sz = MISSED.has(f.state) ? 8 : 6;
    return s('g', { class: cls, 'data-finding': f.id },
      trig ? s('line', { x1: pt(trig)[0], y1: pt(trig)[1], x2: dx, y2: dy }) : null,
      s('a', { href: `#/findings/${encodeURIComponent(f.id)}`, 'aria-label': `deadline ${f.due} of ${f.id}: ${f.state}`, tabindex: -1 },
        s('polygon', { points: `${dx},${dy - sz} ${dx + sz},${dy} ${dx},${dy + sz} ${dx - sz},${dy}` },
          s('title', {}, `${f.rule} due ${when(f.due)}: ${f.state}`))));
  });
  const points = rows.map((r) => {
    const [cx, cy] = pt(r);
    const label = `${entryName(r)} ${r.type} logged ${when(r.logged)}`;
    return s('a', { href: `#/entries/${r.index}`, 'aria-label': label, class: 'point', tabindex: -1 },
      s('circle', { cx, cy, r: 6, class: `c-${category(r.type)}`, 'data-index': r.index }, s('title', {}, label)));
  });
  // One tab stop for the whole chart (the newest point); arrows move between points in log
  // order, Home/End jump to the ends, Enter opens the entry (roving tabindex).
  if (points.length) points[points.length - 1].setAttribute('tabindex', '0');
  const onkeydown = (e) => {
    const i = points.indexOf(e.target.closest('a.point'));
    if (i < 0) return;
    const j = { ArrowLeft: i - 1, ArrowUp: i - 1, ArrowRight: i + 1, ArrowDown: i + 1, Home: 0, End: points.length - 1 }[e.key];
    if (j === undefined || j < 0 || j >= points.length) return;
    e.preventDefault();
    points[i].setAttribute('tabindex', '-1');
    points[j].setAttribute('tabindex', '0');
    points[j].focus();
  };
  return s('svg', { width, height, viewBox: `0 0 ${width} ${height}`, class: 'timeline', role: 'group', onkeydown,
    'aria-label': 'Timeline of entries by party: arrow keys move between entries, Enter opens one' },
    s('defs', {}, s('marker', { id: 'arrow', viewBox: '0 0 10 10', refX: 10, refY: 5, markerWidth: 6, markerHeight: 6, orient: 'auto-start-reverse' },
      s('path', { d: 'M0,0 L10,5 L0,10 z', class: 'arrowhead' }))),
    grid, axis, s('g', { class: 'refs' }, refs), s('g', { class: 'deadlines' }, deadlines), s('g', { class: 'points' }, points));
}

function legend() {
  return h('ul', { class: 'legend' },
    CATEGORIES.map(([k, label]) => h('li', {}, h('span', { class: `swatch c-${k}`, 'aria-hidden': 'true' }), label)),
    h('li', {}, h('span', { class: 'swatch ref-swatch', 'aria-hidden': 'true' }), 'reference (request → answer)'),
    h('li', {}, h('span', { class: 'swatch diamond', 'aria-hidden': 'true' }), 'deadline'),
    h('li', {}, h('span', { class: 'swatch diamond missed', 'aria-hidden': 'true' }), 'missed / late / breach'));
}

export async function render(main, { query, stats }) {
  let st = stats;
  const follow = !query.has('last');
  let last = follow ? st.size - 1 : Math.min(Number(query.get('last')), st.size - 1);
  const noFindings = { findings: [] }; // a server without a ruleset answers 404
  // Only the findings whose trigger is in the window (from..to on the trigger index), paged.
  const windowFindings = (from, to) => (to >= from ? api.findingsAll({ from, to }).catch(() => noFindings) : noFindings);
  let shown = [Math.max(0, last - WINDOW + 1), last]; // the window the findings are of
  const [win, fr] = await Promise.all([last >= 0 ? api.window_(last, WINDOW) : { entries: [] }, windowFindings(...shown)]);
  let rows = win.entries;
  let winFindings = fr.findings;

  const figure = h('div', { class: 'scroll-x' });
  const count = h('p', { 'data-testid': 'timeline-count' });
  const nav = h('nav', { class: 'pager', 'aria-label': 'Timeline pages' });
  const list = h('tbody');
  const dl = h('tbody');
  const inWindow = () => {
    const idx = new Set(rows.map((r) => r.index));
    return winFindings.filter((f) => f.due && idx.has(f.trigger)).sort((a, b) => Date.parse(a.due) - Date.parse(b.due));
  };
  let even = localStorage.getItem('treatylog.timeline-even') === '1';
  const go = (l) => { location.hash = l === null ? '#/timeline' : `#/timeline?last=${l}`; };
  const spacing = h('div', { class: 'buttons', role: 'group', 'aria-label': 'Horizontal axis' });
  const redraw = () => {
    const first = rows.length ? rows[0].index : 0, lastIdx = rows.length ? rows[rows.length - 1].index : -1;
    count.textContent = rows.length ? `${num(rows.length)} entries shown, #${first} to #${lastIdx} of ${num(st.size)}` : 'No entries.';
    count.dataset.count = rows.length;
    const fs = inWindow();
    figure.replaceChildren(rows.length ? draw(rows, fs, st.parties || [], Math.max(640, main.clientWidth - 8), even) : h('p', {}, 'Nothing to draw.'));
    spacing.replaceChildren(...[[false, 'Time scale'], [true, 'Even spacing']].map(([v, label]) => h('button', {
      type: 'button', 'aria-pressed': String(even === v),
      onclick: () => { even = v; localStorage.setItem('treatylog.timeline-even', v ? '1' : '0'); redraw(); },
    }, label)));
    if (follow) figure.scrollLeft = figure.scrollWidth; // on a narrow screen, start at the newest
    nav.replaceChildren(
      h('button', { type: 'button', disabled: first === 0, onclick: () => go(Math.max(first - 1, 0)) }, `← Earlier ${WINDOW}`),
      h('button', { type: 'button', disabled: lastIdx >= st.size - 1, onclick: () => go(Math.min(lastIdx + WINDOW, st.size - 1)) }, `Later ${WINDOW} →`),
      h('button', { type: 'button', disabled: follow, onclick: () => go(null) }, 'Newest (live)'));
    list.replaceChildren(...rows.slice().reverse().map((r) => h('tr', {},
      h('td', {}, h('a', { href: `#/entries/${r.index}` }, `#${r.index}`)), h('td', {}, when(r.logged)), h('td', {}, entryName(r)),
      h('td', {}, h('span', { class: `swatch c-${category(r.type)}`, 'aria-hidden': 'true' }), ' ', h('code', {}, r.type)), h('td', { class: 'n' }, (r.refs || []).length))));
    if (!fs.length) dl.replaceChildren(h('tr', {}, h('td', { colspan: 4, class: 'muted' }, 'No deadline falls in this window.')));
    else dl.replaceChildren(...fs.map((f) => h('tr', { class: MISSED.has(f.state) ? 'missed' : '' },
      h('td', {}, h('a', { href: `#/findings/${encodeURIComponent(f.id)}` }, f.id)), h('td', {}, when(f.due)), h('td', {}, badge(f.state)), h('td', {}, f.parties.join(', ')))));
  };

  main.replaceChildren(
    h('h1', {}, 'Timeline'),
    h('p', { class: 'muted' }, follow ? `The newest ${WINDOW} entries, following the log live.` : `A window of up to ${WINDOW} entries ending at #${last}.`),
    count, nav, spacing, legend(), figure,
    h('h2', {}, 'Deadlines in this window'),
    h('div', { class: 'scroll-x plain' }, h('table', { 'data-testid': 'deadlines' }, h('thead', {}, h('tr', {}, ['Finding', 'Due', 'State', 'Parties'].map((c) => h('th', { scope: 'col' }, c)))), dl)),
    h('details', {}, h('summary', {}, 'The entries of this window as a table'),
      h('div', { class: 'scroll-x plain' }, h('table', {}, h('thead', {}, h('tr', {}, ['Entry', 'Logged', 'From', 'Type', 'Refs'].map((c) => h('th', { scope: 'col' }, c)))), list))));
  redraw();
  const onResize = () => redraw();
  window.addEventListener('resize', onResize);
  return {
    async update(s, prev) {
      st = s;
      const findingsChanged = JSON.stringify(s.findings) !== JSON.stringify(prev.findings);
      if (follow && rows.length < WINDOW + 1000 && s.size > prev.size) {
        let after = rows.length ? rows[rows.length - 1].index : -1;
        for (;;) {
          const r = await api.entries({ after: after >= 0 ? after : null, limit: 1000 });
          rows.push(...r.entries);
          if (!r.entries.length || r.next === null) break;
          after = r.entries[r.entries.length - 1].index;
        }
        rows = rows.slice(-WINDOW);
      }
      const now = rows.length ? [rows[0].index, rows[rows.length - 1].index] : shown;
      if (findingsChanged || now[0] !== shown[0] || now[1] !== shown[1]) {
        winFindings = (await windowFindings(...now)).findings;
        shown = now;
      }
      redraw();
    },
    destroy() { window.removeEventListener('resize', onResize); },
  };
}
