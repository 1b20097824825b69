// main.js - hash router (#/findings/ID), the views, and live updates: /v1/stats is polled
// every second; when the log grows or the findings change, the current view is told.
import * as api from './api.js';
import { h, errorBox } from './ui.js';
import * as overview from './views/overview.js';
import * as timeline from './views/timeline.js';

// The overview and the timeline are in the main bundle; the other views load on first use
// (separate chunks), so the first page does not wait for the verifier's code.
const routes = [
  [/^\/?$/, async () => overview, 'overview'],
  [/^\/timeline$/, async () => timeline, 'timeline'],
  [/^\/activities$/, () => import('./views/activities.js'), 'activities'],
  [/^\/findings$/, () => import('./views/findings.js'), 'findings'],
  [/^\/findings\/(.+)$/, () => import('./views/finding.js'), 'findings'],
  [/^\/entries\/(\d+)$/, () => import('./views/entry.js'), 'timeline'],
  [/^\/trust$/, () => import('./views/trust.js'), 'trust'],
];

const main = document.getElementById('main');
const live = document.getElementById('live');
let current = null; // {view, update?, destroy?}
let lastStats = null;
let generation = 0;

function parseHash() {
  const raw = location.hash.replace(/^#/, '');
  const q = raw.indexOf('?');
  const path = decodeURIComponent(q < 0 ? raw : raw.slice(0, q));
  const query = new URLSearchParams(q < 0 ? '' : raw.slice(q + 1));
  return { path, query };
}

async function show() {
  if (location.hash === '#main') { main.focus(); return; } // the skip link
  const { path, query } = parseHash();
  const found = routes.find(([re]) => re.test(path));
  const my = ++generation;
  current?.destroy?.();
  current = null;
  for (const a of document.querySelectorAll('nav a')) {
    if (found && a.dataset.view === found[2]) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  main.replaceChildren(h('p', { class: 'loading' }, 'Loading…'));
  if (!found) { main.replaceChildren(h('h1', {}, 'Not found'), h('p', {}, h('a', { href: '#/' }, 'Overview'))); return; }
  const [re, load] = found;
  const params = re.exec(path).slice(1);
  try {
    const [view, st] = await Promise.all([load(), lastStats || api.stats()]);
    lastStats = st;
    const ctl = await view.render(main, { params, query, stats: st, stale: () => my !== generation });
    if (my !== generation) { ctl?.destroy?.(); return; }
    current = ctl || {};
    main.dataset.ready = found[2];
    main.dataset.renderedAt = Math.round(performance.now()); // ms since navigation start
  } catch (e) {
    if (my === generation) main.replaceChildren(errorBox(e));
  }
}

// Live updates: poll /v1/stats; tell the view about a new size or new findings counts.
async function poll() {
  try {
    const st = await api.stats();
    const prev = lastStats;
    lastStats = st;
    if (prev && (st.size !== prev.size || JSON.stringify(st.findings) !== JSON.stringify(prev.findings) ||
        st.witnessed?.size !== prev.witnessed?.size)) {
      const n = st.size - prev.size;
      if (n > 0) live.textContent = `${n} new ${n === 1 ? 'entry' : 'entries'} (log size ${st.size.toLocaleString('en')})`;
      await current?.update?.(st, prev);
    }
    document.body.classList.remove('offline');
  } catch {
    document.body.classList.add('offline');
    live.textContent = 'Server not answering; retrying…';
  } finally {
    setTimeout(poll, 1000);
  }
}

window.addEventListener('hashchange', () => { show(); main.focus({ preventScroll: true }); });
show();
setTimeout(poll, 1000);
