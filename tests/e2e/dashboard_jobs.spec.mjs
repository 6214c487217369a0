// End-to-end test of the dashboard's job list (issue #16 point 6): server-side paging and
// filters kept in the address, a URL per job and per queue, the detail opened in view, and
// bulk retry / cancel of ticked rows. run.sh starts `robotni serve --no-auth` (mode jobs).
//   ROBOTNI_URL=http://127.0.0.1:PORT [CHROMIUM=/usr/bin/chromium] [E2E_OUT=dir] node dashboard_jobs.spec.mjs
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { launch, rowState, step, waitFor } from './lib.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const BASE = process.env.ROBOTNI_URL;
const OUT = process.env.E2E_OUT || path.join(here, 'out');
assert.ok(BASE, 'ROBOTNI_URL is not set');
mkdirSync(OUT, { recursive: true });

const { page, consoleErrors, close } = await launch();
let failed = false;
const shot = async (name) => {
  await page.screenshot({ path: path.join(OUT, name) });
  step(`screenshot: ${path.join(OUT, name)}`);
};
const rowIds = () => page.$$eval('#jobs tbody tr[data-job-id]', (trs) => trs.map((t) => t.dataset.jobId));
const call = (method, url, body) => page.evaluate(async ([m, u, b]) => {
  const init = { method: m, headers: { 'Content-Type': 'application/json' }, cache: 'no-store' };
  if (b !== undefined) init.body = JSON.stringify(b);
  const r = await fetch(u, init);
  return { status: r.status, body: await r.json().catch(() => null) };
}, [method, url, body]);
const waitJob = async (id, states) => waitFor(async () => {
  const r = await call('GET', `/api/worker/jobs/${id}`);
  return states.includes(r.body && r.body.status);
}, `job #${id} ${states.join(' or ')}`, 30000);
// The rows shown: the given ids, in this order.
const rowsAre = (ids, what) => waitFor(async () => JSON.stringify(await rowIds()) === JSON.stringify(ids), what, 10000);

try {
  await page.goto(`${BASE}/?poll=300`, { waitUntil: 'domcontentloaded' });
  await page.waitForSelector('#live:not(.down)');

  // Nine finished jobs: seven adds (done) and two fakejobs that fail at once (BAD_DELAY).
  const batch = await call('POST', '/api/worker/jobs/batch', { jobs: [
    ...[1, 2, 3, 4, 5, 6, 7].map((x) => ({ type: 'add', params: { x, y: 100 } })),
    { type: 'fakejob', params: { delay_seconds: -1 } }, { type: 'fakejob', params: { delay_seconds: -2 } }] });
  assert.equal(batch.status, 202, JSON.stringify(batch.body));
  const ids = batch.body.jobs.map((j) => j.job_id);
  for (const id of ids) await waitJob(id, ['done', 'failed']);
  const newest = [...ids].reverse();
  const [addIds, badIds] = [ids.slice(0, 7), ids.slice(7)];
  step(`submitted ${ids.length} jobs: ${ids.join(', ')}`);

  // 1. Pages of 3 from the server: Older / Newer walk them, the cursor is in the address.
  await page.goto(`${BASE}/?poll=300&limit=3`, { waitUntil: 'domcontentloaded' });
  await rowsAre(newest.slice(0, 3), 'the newest 3 jobs');
  assert.match(await page.textContent('#jobs-total'), /9 matches/);
  assert.ok(await page.isDisabled('#page-prev'), 'no newer page on the first');
  await page.click('#page-next');
  await rowsAre(newest.slice(3, 6), 'the second page');
  assert.match(page.url(), /cursor=o\d+/);
  await shot('jobs-page2.png');
  await page.click('#page-next');
  await rowsAre(newest.slice(6, 9), 'the third page');
  assert.ok(await page.isDisabled('#page-next'), 'no older page after the last');
  await page.click('#page-prev');
  await rowsAre(newest.slice(3, 6), 'the second page again, from Newer');
  await page.goBack();
  await rowsAre(newest.slice(6, 9), 'the third page again, from the browser\'s Back');
  step('paged 3 at a time both ways; the page is in the address');

  // 2. Filters: state, text in the params and in the error, a time range; each in the address,
  // and the address alone gives the same view.
  await page.goto(`${BASE}/?poll=300`, { waitUntil: 'domcontentloaded' });
  await rowsAre(newest, 'all nine');
  await page.selectOption('#filter-state', 'failed');
  await rowsAre([...badIds].reverse(), 'the two failed jobs');
  assert.match(page.url(), /state=failed/);
  await page.selectOption('#filter-state', '');
  await page.fill('#filter-q', 'BAD_DELAY');
  await page.press('#filter-q', 'Enter');
  await rowsAre([...badIds].reverse(), 'the two jobs whose error says BAD_DELAY');
  await page.fill('#filter-q', '"x":3,');
  await page.press('#filter-q', 'Enter');
  await rowsAre([addIds[2]], 'the add job with x=3 (text in its params)');
  const filtered = page.url();
  assert.match(filtered, /q=%22x%22%3A3%2C/);
  await shot('jobs-filter-text.png');
  await page.goto(filtered, { waitUntil: 'domcontentloaded' });
  await rowsAre([addIds[2]], 'the same view from its address');
  assert.equal(await page.inputValue('#filter-q'), '"x":3,', 'the filter bar shows the address\'s filter');
  await page.click('#filter-clear');
  await rowsAre(newest, 'all nine after Clear');
  await page.fill('#filter-until', '2001-01-01T00:00:00');
  await page.dispatchEvent('#filter-until', 'change');
  await page.waitForSelector('#jobs-empty:not([hidden])');
  assert.match(page.url(), /until=2001-01-0/);
  await page.fill('#filter-until', '');
  await page.fill('#filter-since', '2001-01-01T00:00:00');
  await page.dispatchEvent('#filter-since', 'change');
  await rowsAre(newest, 'all nine since 2001');
  step('filters by state, text in params and error, time range; the address restores a view');

  // 3. A URL per job: opening it shows the job's detail in the viewport (a panel fixed to it).
  const one = addIds[4];
  await page.goto(`${BASE}/?poll=300#/jobs/${one}`, { waitUntil: 'domcontentloaded' });
  await page.waitForSelector('#detail-card:not([hidden])');
  await waitFor(async () => (await page.textContent('#detail-id')) === '#' + one, 'the detail of the linked job');
  await waitFor(async () => /105/.test(await page.textContent('#detail-result')), 'its result');
  const box = await page.locator('#detail-card').boundingBox();
  const vp = page.viewportSize();
  assert.ok(box.y >= 0 && box.y < 10 && box.y + box.height <= vp.height + 1,
    `the detail panel is in view (top ${box.y}, height ${box.height}, viewport ${vp.height})`);
  await page.mouse.wheel(0, 2000);
  assert.ok((await page.locator('#detail-card').boundingBox()).y < 10, 'it stays in view when the page scrolls');
  await shot('job-detail.png');
  await page.keyboard.press('Escape');
  await page.waitForSelector('#detail-card', { state: 'hidden' });
  assert.ok(!page.url().includes('#'), `Escape closes it and drops the #/jobs/ (${page.url()})`);
  await page.click(`#jobs tr[data-job-id="${addIds[1]}"] td.mono a`);
  await waitFor(async () => (await page.textContent('#detail-id')) === '#' + addIds[1], 'the clicked job');
  assert.ok(page.url().endsWith(`#/jobs/${addIds[1]}`), page.url());
  step(`#/jobs/${one} opens its detail in view; a row link sets the address`);

  // 4. A URL per queue.
  await page.goto(`${BASE}/?poll=300#/queues/add`, { waitUntil: 'domcontentloaded' });
  await page.waitForSelector('#queue-card:not([hidden])');
  await waitFor(async () => (await page.locator('#queue-jobs tr[data-job-id]').count()) === 7, 'the queue\'s 7 jobs');
  await waitFor(async () => (await page.textContent('#queue-summary dd[data-count="done"]')) === '7', '7 done');
  await shot('queue-detail.png');
  await page.click('#queue-all');
  await rowsAre([...addIds].reverse(), 'the queue\'s jobs in the list');
  assert.match(page.url(), /type=add/);
  step('#/queues/add shows the queue; "All its jobs" filters the list by it');

  // 5. Bulk cancel and retry: three long fakejobs and a done add ticked; the add cannot be
  // cancelled and the bar says so.
  const long = await call('POST', '/api/worker/jobs/batch', { jobs: [1, 2, 3].map(() => ({ type: 'fakejob', params: { delay_seconds: 60, min_seconds: 60 } })) });
  const longIds = long.body.jobs.map((j) => j.job_id);
  await page.goto(`${BASE}/?poll=300`, { waitUntil: 'domcontentloaded' });
  for (const id of [...longIds, addIds[0]]) {
    await page.waitForSelector(`#jobs tr[data-job-id="${id}"]`);
    await page.click(`#jobs tr[data-job-id="${id}"] td.pick input`);
  }
  assert.match(await page.textContent('#bulk-count'), /4 selected/);
  await shot('bulk-selected.png');
  await page.click('#bulk-cancel');
  await waitFor(async () => /of 4 done/.test(await page.textContent('#bulk-result')), 'the bulk result');
  const res = await page.textContent('#bulk-result');
  assert.match(res, /Cancel: 3 of 4 done; not done: #\d+: /, res);
  assert.ok(res.includes('#' + addIds[0]), `the done job is named: ${res}`);
  for (const id of longIds) await waitFor(async () => ['cancelled', 'failed'].includes(await rowState(page, id)), `#${id} cancelled`, 20000);
  await shot('bulk-cancelled.png');
  step(`bulk cancel: ${res}`);
  for (const id of longIds) await page.click(`#jobs tr[data-job-id="${id}"] td.pick input`);
  await page.click('#bulk-retry');
  await waitFor(async () => /Retry: 3 of 3 done/.test(await page.textContent('#bulk-result')), 'the retry result');
  for (const id of longIds) await waitFor(async () => ['queued', 'running'].includes(await rowState(page, id)), `#${id} queued again`, 10000);
  step('bulk retry: the three are queued again');
  // The page's checkbox ticks every row of the page.
  const rows = await page.locator('#jobs tbody tr[data-job-id]').count();
  await page.click('#pick-all');
  await waitFor(async () => (await page.textContent('#bulk-count')) === `${rows} selected`, `${rows} selected`, 5000);
  await page.click('#bulk-clear');
  step(`the page's checkbox ticked all ${rows} rows`);
  // Cleanup: the three cancelled again.
  for (const id of longIds) await call('DELETE', `/api/worker/jobs/${id}`);
  for (const id of longIds) await waitJob(id, ['cancelled', 'failed', 'done']);

  // Expected: 409s from the bulk cancel of a done job and of finished jobs; 404 log probes; 405 probes.
  const errors = consoleErrors.filter((m) => !/status of (404|405|409)/.test(m));
  assert.deepEqual(errors, [], 'no errors in the page console');
  step('PASS');
} catch (e) {
  failed = true;
  console.error('[e2e] FAIL:', e.message);
  await page.screenshot({ path: path.join(OUT, 'jobs-failure.png'), fullPage: true }).catch(() => {});
} finally {
  await close();
}
process.exit(failed ? 1 : 0);
