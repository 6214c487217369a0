// End-to-end test of the dashboard's Schedules card: run.sh starts `robotni serve` with a
// config whose schedule enqueues a fakejob every 2 seconds (`*/2 * * * * *`). The card lists
// it; Pause stops its jobs (checked through the API for a few ticks) and Resume starts them
// again. Screenshots: schedules-paused.png, schedules.png.
//   ROBOTNI_URL=http://127.0.0.1:PORT [CHROMIUM=/usr/bin/chromium] [E2E_OUT=dir] node schedules.spec.mjs
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
const ROW = '#schedules tr[data-schedule="e2e-tick"]';

// The schedule's jobs so far, through the API from the page.
const jobCount = () => page.evaluate(async () => {
  const r = await fetch('/api/worker/jobs?type=fakejob&limit=1000', { cache: 'no-store' });
  return (await r.json()).jobs.length;
});
const cell = (n) => page.locator(`${ROW} td`).nth(n).textContent();

try {
  await page.goto(`${BASE}/?poll=300`, { waitUntil: 'domcontentloaded' });
  await page.waitForSelector(`#schedules-card:not([hidden]) ${ROW}`);
  assert.equal(await cell(1), 'fakejob');
  assert.equal(await cell(2), '*/2 * * * * *');
  assert.equal(await cell(3), 'Europe/Helsinki');
  assert.equal(await cell(4), 'active');
  assert.notEqual(await cell(6), '-', 'an active schedule shows its next run');
  await waitFor(async () => (await jobCount()) > 0, 'a job of the schedule');
  step(`schedule e2e-tick listed, active, enqueueing (${await jobCount()} job(s))`);

  await page.click(`${ROW} button[data-action="pause"]`);
  await page.waitForSelector(`${ROW}.paused button[data-action="resume"]`);
  assert.equal(await cell(4), 'paused');
  assert.equal(await cell(6), '-', 'a paused schedule has no next run');
  const atPause = await jobCount();
  await page.screenshot({ path: path.join(OUT, 'schedules-paused.png'), fullPage: true });
  step(`paused from the card; screenshot: ${path.join(OUT, 'schedules-paused.png')}`);
  await new Promise((r) => setTimeout(r, 4500));  // two ticks or more
  assert.equal(await jobCount(), atPause, 'a paused schedule enqueued a job');
  step(`no job while paused (${atPause} before, ${atPause} after 4.5 s)`);

  await page.click(`${ROW} button[data-action="resume"]`);
  await page.waitForSelector(`${ROW}:not(.paused) button[data-action="pause"]`);
  assert.equal(await cell(4), 'active');
  await waitFor(async () => (await jobCount()) > atPause, 'a job after resume', 15000);
  await page.waitForSelector('#jobs tr[data-type="fakejob"]');
  await page.screenshot({ path: path.join(OUT, 'schedules.png'), fullPage: true });
  step(`resumed: jobs again (${await jobCount()}); screenshot: ${path.join(OUT, 'schedules.png')}`);
  // The feature probes' 405s are expected (dashboard.spec.mjs filters them the same way).
  const errors = consoleErrors.filter((m) => !/status of (404|405)/.test(m));
  assert.deepEqual(errors, [], 'no errors in the page console');
  step('PASS');
} catch (e) {
  failed = true;
  console.error(e);
  await page.screenshot({ path: path.join(OUT, 'schedules-failure.png'), fullPage: true }).catch(() => {});
} finally {
  await close();
}
process.exit(failed ? 1 : 0);
