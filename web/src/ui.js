// ui.js - tiny DOM and formatting helpers shared by the views.

// h('a', {href: '#/x', class: 'c'}, 'text', child...) -> element. on* attributes are listeners.
export const h = (tag, attrs, ...children) => make(document.createElement(tag), attrs, children);
// The same for SVG elements (s('a', ...) is an SVG link).
export const s = (tag, attrs, ...children) =>
  make(document.createElementNS('http://www.w3.org/2000/svg', tag), attrs, children);

function make(el, attrs, children) {
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : String(c));
  }
  return el;
}

export const num = (n) => (n === null || n === undefined ? '—' : Number(n).toLocaleString('en'));
export const when = (iso) => (iso ? iso.replace('T', ' ').replace(/(\.\d+)?Z$/, ' UTC') : '—');

export function age(iso, now = Date.now()) {
  if (!iso) return '—';
  let s = Math.round((now - Date.parse(iso)) / 1000);
  const past = s >= 0;
  s = Math.abs(s);
  const units = [[86400 * 365, 'year'], [86400 * 30, 'month'], [86400, 'day'], [3600, 'hour'], [60, 'minute'], [1, 'second']];
  const [d, name] = units.find(([d]) => s >= d) || [1, 'second'];
  const n = Math.floor(s / d);
  const t = `${n} ${name}${n === 1 ? '' : 's'}`;
  return past ? `${t} ago` : `in ${t}`;
}

// Colour family of a message type (also the legend of the timeline).
export const CATEGORIES = [
  ['registry', 'registry', /^registry\./],
  ['ch3', 'risk reduction (Ch. III)', /^vd11\.ch3\./],
  ['ch5', 'notifications (Ch. V)', /^vd11\.ch[45]\./],
  ['ch6', 'observation (Ch. VI)', /^vd11\.ch6\./],
  ['ch9', 'verification (Ch. IX)', /^vd11\.ch9\./],
  ['annual', 'exchanges, calendar (Ch. I, II, VII, VIII, XI)', /^vd11\./],
  ['os', 'Open Skies', /^os\./],
  ['generic', 'generic', /./],
];
export const category = (type) => CATEGORIES.find(([, , re]) => re.test(type || ''))[0];

export const SEVERITIES = ['breach', 'missed', 'late', 'operator-time', 'advisory', 'pending', 'met', 'void'];
export const OPEN = new Set(['breach', 'missed', 'late', 'operator-time', 'advisory', 'pending']);

export const badge = (state) => h('span', { class: `badge s-${state}` }, state);

export const entryName = (row) =>
  row.kind === 'other' || !row.from ? `entry ${row.index} (not a notification)`
    : row.kind === 'registry' || row.serial === null ? `${row.from} (${row.type})` : `${row.from}/${row.serial}`;

export const entryLink = (row) => h('a', { href: `#/entries/${row.index}` }, `#${row.index}`);

export function errorBox(err) {
  return h('p', { class: 'error', role: 'alert' }, `Could not load: ${err.message || err}`);
}

// A table whose body rows open a URL on Enter or click (the first link stays the real target).
export function linkRow(href, ...cells) {
  return h('tr', {
    tabindex: 0, class: 'rowlink', 'data-href': href,
    onkeydown: (e) => { if (e.key === 'Enter' && e.target === e.currentTarget) location.hash = href; },
    onclick: (e) => { if (!e.target.closest('a, button')) location.hash = href; },
  }, ...cells);
}
