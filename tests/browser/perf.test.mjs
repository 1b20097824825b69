// perf.test.mjs - with a 100k-entry log (TL_PERF_URL: the fixture server with --entries
// 100000, or a real server holding that many) the overview and then the timeline are rendered
// within 1 s each, because every list is paged (limit/after) and nothing is downloaded whole.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { api, launch, open } from './lib.mjs';

const BASE = (process.env.TL_PERF_URL || '').replace(/\/$/, '');
const MIN = Number(process.env.TL_PERF_MIN_ENTRIES || 100000);
const BUDGET = Number(process.env.TL_PERF_BUDGET_MS || 1000);

test(`overview and timeline render in <= ${BUDGET} ms with >= ${MIN} entries`, { skip: !BASE && 'TL_PERF_URL not set' }, async () => {
  const st = await api(BASE, '/v1/stats');
  assert.ok(st.size >= MIN, `the log has ${st.size} entries`);
  const browser = await launch();
  try {
    const page = await open(browser, BASE);
    let bytes = 0;
    page.on('response', async (r) => { try { bytes += (await r.body()).length; } catch { /* redirects */ } });
    // A full page load (not a hash change): HTML, assets, stats, the newest entries, the chart.
    // Times are the page's own clock (performance.now(), from navigation start to the moment
    // the view is in the DOM with its data: main[data-rendered-at]); the wall clock around
    // playwright's polling is reported too. The first load also starts chromium's renderer and compiles the code: reported, and held
    // to 3x the budget. The budget applies to the next full load (a reader's second visit or a
    // reload: the browser is warm, the assets are revalidated, every API call is made again).
    const load = async () => {
      await page.goto('about:blank');
      const t = Date.now();
      await page.goto(`${BASE}/#/`);
      await page.waitForSelector('main[data-ready=overview] .chart canvas');
      await page.waitForSelector('[data-testid=latest] tbody tr');
      return [Number(await page.getAttribute('main', 'data-rendered-at')), Date.now() - t];
    };
    const [coldOverview] = await load();
    const [overview, wallOverview] = await load();
    const start = await page.evaluate(() => performance.now());
    const t1 = Date.now();
    await page.click('nav a[data-view=timeline]');
    await page.waitForSelector('main[data-ready=timeline] svg.timeline .point circle');
    const wallTimeline = Date.now() - t1;
    const timeline = Number(await page.getAttribute('main', 'data-rendered-at')) - start;
    const points = await page.locator('svg.timeline .point circle').count();
    console.log(`# ${st.size} entries: overview rendered ${overview} ms after navigation start (wall ${wallOverview} ms; cold browser ${coldOverview} ms), ` +
      `timeline ${timeline.toFixed(0)} ms after the click (wall ${wallTimeline} ms), ${points} points, ${(bytes / 1024).toFixed(0)} KiB transferred`);
    assert.ok(coldOverview <= 3 * BUDGET, `overview in a cold browser took ${coldOverview} ms`);
    assert.ok(overview <= BUDGET, `overview took ${overview} ms`);
    assert.ok(timeline <= BUDGET, `timeline took ${timeline} ms`);
    assert.ok(wallOverview <= 3 * BUDGET && wallTimeline <= 3 * BUDGET, 'wall clock, with the test harness');
    assert.ok(points <= 500, 'the timeline shows a window, not the whole log');
    assert.ok(bytes < 5 * 1024 * 1024, `${bytes} bytes downloaded: nothing is fetched whole`);
    assert.deepEqual(page.foreign, []);
    assert.deepEqual(page.errors, []);
  } finally {
    await browser.close();
  }
});
