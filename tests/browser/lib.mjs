// lib.mjs - shared by the browser tests: Debian chromium through playwright-core (installed
// with the dashboard's node packages in web/node_modules), the API, and the origin guard.
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const require = createRequire(new URL('../../web/package.json', import.meta.url));
const { chromium } = require('playwright-core');
export const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export async function launch() {
  return chromium.launch({ executablePath: process.env.CHROMIUM || '/usr/bin/chromium', headless: true, args: ['--no-sandbox'] });
}

// A page that records every request leaving the server's origin and every page error.
export async function open(browser, base, viewport = { width: 1280, height: 900 }) {
  const context = await browser.newContext({ viewport, deviceScaleFactor: 1, reducedMotion: 'reduce' });
  const page = await context.newPage();
  const origin = new URL(base).origin;
  page.foreign = [];
  page.errors = [];
  page.on('request', (r) => {
    const u = r.url();
    if (!u.startsWith(origin + '/') && !u.startsWith('data:') && !u.startsWith('blob:')) page.foreign.push(u);
  });
  page.on('pageerror', (e) => page.errors.push(e.message));
  // Every /v1/findings request the page makes, and every answer longer than its page limit
  // (the `limit` asked for, default 100, never over 1000): nothing is fetched whole.
  page.findingsRequests = [];
  page.oversize = [];
  page.checks = [];
  page.on('request', (r) => {
    const u = new URL(r.url());
    if (u.origin === origin && u.pathname === '/v1/findings') page.findingsRequests.push(u);
  });
  page.on('response', (r) => {
    const u = new URL(r.url());
    if (u.origin !== origin || u.pathname !== '/v1/findings' || r.status() !== 200) return;
    page.checks.push(r.json().then((b) => {
      const limit = Math.min(1000, Number(u.searchParams.get('limit') || 100));
      if (!Array.isArray(b.findings) || b.findings.length > limit) page.oversize.push(`${u.search}: ${b.findings?.length} findings`);
    }, () => { /* the page went away */ }));
  });
  page.on('console', (m) => { if (/Content Security Policy/i.test(m.text())) page.errors.push(m.text()); });
  return page;
}

// A fresh load of a view (not a same-document hash change).
export async function view(page, base, hash, ready) {
  await page.goto('about:blank');
  await page.goto(`${base}/${hash}`);
  await page.waitForSelector(`main[data-ready="${ready}"]`, { timeout: 10_000 });
}

export async function api(base, p) {
  const r = await fetch(base + p);
  if (!r.ok) throw new Error(`${p}: HTTP ${r.status}`);
  return r.json();
}

// Every entry matching the query, through the paging of decision 0003.
export async function allEntries(base, params) {
  const out = [];
  let after = null;
  for (;;) {
    const q = new URLSearchParams({ ...params, limit: '1000', ...(after !== null ? { after: String(after) } : {}) });
    const r = await api(base, `/v1/entries?${q}`);
    out.push(...r.entries);
    if (r.next === null || !r.entries.length) return out;
    after = r.entries[r.entries.length - 1].index;
  }
}

export const num = (n) => Number(n).toLocaleString('en');

// Every finding matching the query, through the paging of /v1/findings (limit/after/next).
export async function allFindings(base, params = {}) {
  const out = [];
  let after = null;
  for (;;) {
    const q = new URLSearchParams({ ...params, limit: '1000', ...(after !== null ? { after } : {}) });
    const r = await api(base, `/v1/findings?${q}`);
    out.push(...r.findings);
    if (r.next === null || r.next === undefined || !r.findings.length) return out;
    after = r.next;
  }
}
