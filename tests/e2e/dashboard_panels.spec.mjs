// End-to-end test of the dashboard's worker panel and throughput chart (issue #16 point 6):
// each runner slot busy with its job or idle; finished attempts per minute drawn with the
// vendored Chart.js, whose licence is served next to it. run.sh starts `robotni serve
// --no-auth` (mode panels).
//   ROBOTNI_URL=http://127.0.0.1:PORT [CHROMIUM=/usr/bin/chromium] [E2E_OUT=dir] node dashboard_panels.spec.mjs
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { launch, step, waitFor } from './lib.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const BASE = process.env.ROBOTNI_URL;
const OUT = process.env.E2E_OUT || path.join(here, 'out');
assert.ok(BASE, 'ROBOTNI_URL is not set');
mkdirSync(OUT, { recursive: true });

const { page, consoleErrors, close } = await launch();
let failed = false;
const call = (method, url, body) => page.evaluate(async ([m, u, b]) => {
  const init = { method: m, headers: { 'Content-Type': 'application/json' }, cache: 'no-store' };
  if (b !== undefined) init.body = JSON.stringify(b);
  const r = await fetch(u, init);
  const text = await r.text();
  let json = null;
  try { json = JSON.parse(text); } catch { /* not JSON */ }
  return { status: r.status, type: r.headers.get('content-type'), text, body: json };
}, [method, url, body]);

try {
  await page.goto(`${BASE}/?poll=300`, { waitUntil: 'domcontentloaded' });
  await page.waitForSelector('#live:not(.down)');

  // 1. Chart.js and its licence come from the binary, next to the page.
  const lib = await call('GET', '/dashboard/chart.min.js');
  assert.equal(lib.status, 200);
  assert.match(lib.type, /^text\/javascript/);
  assert.match(lib.text.slice(0, 200), /Chart\.js v\d/);
  const lic = await call('GET', '/dashboard/chart.min.js.LICENSE.txt');
  assert.equal(lic.status, 200);
  assert.match(lic.type, /^text\/plain/);
  assert.match(lic.text, /MIT/);
  assert.ok(await page.evaluate(() => typeof window.Chart === 'function'), 'Chart.js loaded under the CSP');
  step('Chart.js and its licence are served; the page loaded it');

  // 2. Worker panel: idle slots, then a slot busy with a long job, then idle again.
  await page.waitForSelector('#workers tr[data-slot="0"]');
  const slots = await page.locator('#workers tr[data-slot]').count();
  assert.ok(slots >= 1, 'a row per runner slot');
  const sub = await call('POST', '/api/worker/jobs', { type: 'fakejob', params: { delay_seconds: 60, min_seconds: 60 } });
  const longId = sub.body.job_id;
  await page.waitForSelector(`#workers tr[data-busy="true"][data-job-id="${longId}"]`, { timeout: 20000 });
  const row = page.locator(`#workers tr[data-job-id="${longId}"]`);
  assert.match(await row.textContent(), /busy/);
  assert.match(await row.textContent(), /fakejob/);
  assert.match(await page.textContent('#workers-summary'), new RegExp(`1 of ${slots} busy`));
  step(`worker panel: ${slots} slots, one busy with #${longId}`);

  // 3. Throughput: three adds done and a fakejob failed this minute show in the chart.
  const batch = await call('POST', '/api/worker/jobs/batch', { jobs: [
    ...[1, 2, 3].map((x) => ({ type: 'add', params: { x, y: 1 } })), { type: 'fakejob', params: { delay_seconds: -1 } }] });
  assert.equal(batch.status, 202);
  await waitFor(async () => Number(await page.getAttribute('#chart-card', 'data-done')) >= 3 &&
    Number(await page.getAttribute('#chart-card', 'data-failed')) >= 1, 'the chart to count 3 done and 1 failed', 30000);
  assert.equal(await page.getAttribute('#chart-card', 'data-drawn'), 'true');
  const tp = await call('GET', '/api/worker/throughput');
  assert.equal(tp.body.minutes.length, 60, 'the last 60 minutes');
  const last = tp.body.minutes[59];
  assert.ok(last.done >= 3 && last.failed >= 1, `this minute: ${JSON.stringify(last)}`);
  // The canvas has something drawn on it (not all transparent).
  const inked = await page.evaluate(() => {
    const c = document.getElementById('throughput-chart');
    const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    let n = 0;
    for (let i = 3; i < d.length; i += 4) if (d[i]) n++;
    return n;
  });
  assert.ok(inked > 100, `the chart is drawn (${inked} pixels)`);
  await page.locator('#chart-card').scrollIntoViewIfNeeded();
  await page.screenshot({ path: path.join(OUT, 'panels.png') });
  step(`chart: ${JSON.stringify(last)}; screenshot ${path.join(OUT, 'panels.png')}`);

  // 4. Cancelled, the long job leaves its slot idle.
  await call('DELETE', `/api/worker/jobs/${longId}`);
  await page.waitForSelector(`#workers tr[data-job-id="${longId}"]`, { state: 'detached', timeout: 20000 });
  await waitFor(async () => /^0 of/.test(await page.textContent('#workers-summary')), 'every slot idle', 20000);
  step('the slot is idle again after the cancel');

  const errors = consoleErrors.filter((m) => !/status of (404|405)/.test(m));
  assert.deepEqual(errors, [], 'no errors in the page console');
  step('PASS');
} catch (e) {
  failed = true;
  console.error('[e2e] FAIL:', e.message);
  await page.screenshot({ path: path.join(OUT, 'panels-failure.png'), fullPage: true }).catch(() => {});
} finally {
  await close();
}
process.exit(failed ? 1 : 0);
